"""Saved baskets: a real SQLite file in tmp_path, round trips of whole passages, owner and share
ids, copies, expiry, unguessable ids, damaged files, threads saving at once, file permissions."""
from __future__ import annotations

import os
import re
import sqlite3
import stat
import threading
import time
from datetime import datetime, timedelta

import pytest

from core.errors import BasketStoreProblem, SettingsError
from core.passage import Passage
from core.settings import DEFAULT_INDEX, Settings
from workshop.basket import MAX_NOTE_CHARS, Basket, BasketItem
from workshop.saved import (DEFAULT_TITLE, MAX_ITEMS, MAX_TITLE_CHARS, BasketStore, SavedBasket,
                            UnknownBasket, stamp)


def passage(n: int, text: str, source: str = "essays/trust.md", page: int | None = None) -> Passage:
    """A passage built by hand: two sentences, at offset 1000*n of its file."""
    start = 1000 * n
    cut = text.index(". ") + 1
    return Passage(id=f"{source}#{n}", source=source, title="On trust", section=f"Part {n}",
                   question="Why trust?" if n % 2 else "", kind="body", paragraph=n,
                   paragraph_end=n + 1, start=start, end=start + len(text), text=text,
                   sentences=((start, start + cut), (start + cut + 1, start + len(text))), page=page)


P1 = passage(1, "Walls keep out the cold. They also keep out the people who would warm us.")
P2 = passage(2, "Trust is built slowly — «pas à pas». It can be lost in a day.", page=7,
             source="books/heart.pdf")
P3 = passage(3, "A kind word costs nothing. Yet it is rarely spent.")


def full_basket() -> Basket:
    basket = Basket()
    basket.add(BasketItem.from_passage(P1, P1.start + 25, P1.end, note="start here ✓"))
    basket.add(BasketItem.from_passage(P2, note="p. 7\nread aloud"))
    basket.add(BasketItem.from_passage(P3, P3.start, P3.start + 26))
    return basket


@pytest.fixture
def store(tmp_path) -> BasketStore:
    return BasketStore(tmp_path / "baskets.sqlite3", keep_days=90)


def test_create_open_save_round_trip_keeps_every_field(tmp_path, store):
    made = store.create()
    assert isinstance(made, SavedBasket) and not made.read_only
    assert (len(made.basket), made.title, made.style) == (0, DEFAULT_TITLE, "plain")
    assert store.open(made.id) == made

    basket = full_basket()
    time.sleep(0.002)
    saved = store.save(made.id, basket, "Trust — a handout", "apa")
    assert (saved.id, saved.share_id, saved.read_only) == (made.id, made.share_id, False)
    assert saved.updated > made.updated and datetime.fromisoformat(saved.updated).utcoffset() == timedelta(0)

    # a fresh store on the same file (another process, a restart) reads exactly what was saved
    back = BasketStore(tmp_path / "baskets.sqlite3", keep_days=90).open(made.id)
    assert back == saved
    assert back.basket == basket and back.basket.items[1].passage == P2  # page, sentences, all
    assert back.basket.items[1].passage.page == 7
    assert [i.quote for i in back.basket] == [i.quote for i in basket]
    assert back.basket.items[0].quote == "They also keep out the people who would warm us."
    assert [i.note for i in back.basket] == ["start here ✓", "p. 7\nread aloud", ""]
    assert (back.title, back.style) == ("Trust — a handout", "apa")

    # the passages live in the saved basket itself: an index without them does not matter
    created = store.create(basket, "Second", "markdown")
    assert store.open(created.id).basket == basket


def test_share_id_opens_read_only_and_cannot_save(store):
    made = store.save(store.create().id, full_basket(), "Ours", "apa")
    shared = store.open(made.share_id)
    assert shared.read_only and (shared.id, shared.share_id) == (made.id, made.share_id)
    assert (shared.basket, shared.title, shared.style) == (made.basket, "Ours", "apa")

    with pytest.raises(UnknownBasket, match="read-only") as err:
        store.save(made.share_id, Basket(), "Vandalised", "plain")
    assert isinstance(err.value, KeyError) and isinstance(err.value, BasketStoreProblem)
    assert store.open(made.id) == made  # nothing changed

    with pytest.raises(UnknownBasket, match="no longer kept"):
        store.save("A" * 32, Basket(), "x", "plain")  # well formed, never issued
    with pytest.raises(UnknownBasket, match="not valid"):
        store.save("../../etc/passwd", Basket(), "x", "plain")


def test_copy_makes_new_ids_with_the_same_content(store):
    made = store.save(store.create().id, full_basket(), "Original", "markdown")
    for source in (made.id, made.share_id):  # an owner copies; so does anyone with the link
        copy = store.copy(source)
        assert not copy.read_only
        assert {copy.id, copy.share_id}.isdisjoint({made.id, made.share_id})
        assert copy.id != copy.share_id
        assert (copy.basket, copy.title, copy.style) == (made.basket, "Original", "markdown")

    store.save(copy.id, Basket(), "Changed", "plain")  # changing the copy leaves the original
    assert store.open(made.id) == made
    with pytest.raises(UnknownBasket):
        store.copy("B" * 32)


def test_baskets_expire_after_keep_days_without_changes(tmp_path, store):
    old = store.create(full_basket())
    time.sleep(0.002)
    new = store.create()
    old_time = datetime.fromisoformat(old.updated)

    assert store.expire(now=old_time + timedelta(days=89)) == 0
    assert store.expire(now=old_time + timedelta(days=90, microseconds=1)) == 1  # only the older
    assert store.open(old.id) is None and store.open(old.share_id) is None
    assert store.open(new.id) == new
    with pytest.raises(UnknownBasket):
        store.save(old.id, Basket(), "too late", "plain")

    forever = BasketStore(tmp_path / "forever.sqlite3", keep_days=0)
    kept = forever.create()
    assert forever.expire(now=datetime.now() + timedelta(days=36500)) == 0
    assert forever.open(kept.id) == kept


def test_an_old_basket_is_gone_when_the_store_opens(tmp_path, store):
    old, fresh = store.create(full_basket()), store.create()
    with sqlite3.connect(tmp_path / "baskets.sqlite3") as con:  # as if last changed 100 days ago
        con.execute("UPDATE baskets SET updated = ? WHERE id = ?",
                    (stamp(datetime.fromisoformat(old.updated) - timedelta(days=100)), old.id))
    assert store.open(old.id) is None  # expired, even before it is deleted

    BasketStore(tmp_path / "baskets.sqlite3", keep_days=90)
    with sqlite3.connect(tmp_path / "baskets.sqlite3") as con:
        assert [r[0] for r in con.execute("SELECT id FROM baskets")] == [fresh.id]


def test_ids_are_unguessable(store):
    made = [store.create() for _ in range(150)]
    ids = [m.id for m in made] + [m.share_id for m in made]
    assert len(set(ids)) == len(ids)  # distinct, owner and share ids included
    assert all(len(i) >= 22 and re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)
    # random, not counted or taken from the clock: ids made in the same moment share no start
    assert len({i[:6] for i in ids}) == len(ids)
    stamp_digits = re.sub(r"\D", "", made[0].updated)[:10]
    assert not any(stamp_digits in i for i in ids)


def test_a_malformed_id_is_none_without_touching_the_database(tmp_path):
    folder = tmp_path / "store"
    store = BasketStore(folder / "baskets.sqlite3", keep_days=90)
    made = store.create()
    for f in folder.iterdir():  # no database at all now: any query would fail
        f.unlink()
    folder.rmdir()
    for bad in ("", "short", made.id + "x", made.id[:-1] + "/", "' OR 1=1 --" + "x" * 21, None, 42,
                made.id[:-1] + "é"):
        assert store.open(bad) is None
    assert not folder.exists()  # nothing was created or opened
    with pytest.raises(BasketStoreProblem, match="cannot be read or written"):
        store.open(made.id)  # a well-formed id does reach the database


def test_a_damaged_file_is_a_domain_error_and_is_kept(tmp_path):
    broken = tmp_path / "baskets.sqlite3"
    junk = b"these are not the baskets you are looking for\n" * 200
    broken.write_bytes(junk)
    with pytest.raises(BasketStoreProblem) as err:
        BasketStore(broken, keep_days=90)
    says = str(err.value)
    assert "not a SQLite database" in says and "Move it away" in says and "start empty" in says
    assert broken.read_bytes() == junk

    folder_in_the_way = tmp_path / "dir.sqlite3"
    folder_in_the_way.mkdir()
    with pytest.raises(BasketStoreProblem, match="cannot be read or written"):
        BasketStore(folder_in_the_way, keep_days=90)
    assert folder_in_the_way.is_dir()


def test_an_unreadable_file_is_a_domain_error_and_is_kept(tmp_path, monkeypatch):
    import workshop.saved as saved

    path = tmp_path / "baskets.sqlite3"
    made = BasketStore(path, keep_days=90).create(full_basket())
    real_connect = sqlite3.connect

    def connect(address, *args, **kwargs):  # what SQLite says to a user who may not read it
        if str(path) in str(address):      # (the tests run as root, who reads everything)
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(address, *args, **kwargs)

    path.chmod(0)
    monkeypatch.setattr(saved.sqlite3, "connect", connect)
    try:
        with pytest.raises(BasketStoreProblem, match="read and write"):
            BasketStore(path, keep_days=90)
    finally:
        monkeypatch.undo()
        path.chmod(0o600)
    assert BasketStore(path, keep_days=90).open(made.id) == made


def test_two_threads_saving_the_same_basket_leave_a_readable_basket(tmp_path, store):
    made = store.create()
    states = {"A": Basket(items=full_basket().items[:2]), "B": Basket(items=full_basket().items[2:])}
    start, failures = threading.Barrier(2), []

    def saver(title: str) -> None:
        try:
            start.wait()
            for n in range(40):
                store.save(made.id, states[title], title, "apa" if title == "A" else "plain")
                seen = store.open(made.id)
                assert seen.basket == states[seen.title]  # never a mix of two saves
        except Exception as err:  # noqa: BLE001 - reported by the test below
            failures.append(err)

    threads = [threading.Thread(target=saver, args=(t,)) for t in states]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    last = store.open(made.id)
    assert last.title in states and last.basket == states[last.title]
    assert last.style == ("apa" if last.title == "A" else "plain")
    with sqlite3.connect(tmp_path / "baskets.sqlite3") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert con.execute("SELECT count(*) FROM baskets").fetchone() == (1,)


@pytest.mark.parametrize("umask", [0o022, 0o000, 0o200],  # whatever the umask lets through
                         ids=["umask022", "umask000", "umask200"])
def test_a_new_file_and_folder_are_private(tmp_path, umask):
    before = stat.S_IMODE(tmp_path.stat().st_mode)
    path = tmp_path / "private" / "baskets.sqlite3"
    old_umask = os.umask(umask)
    try:
        BasketStore(path, keep_days=90).create(full_basket())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists():  # SQLite's own files take the database's permissions
            assert stat.S_IMODE(extra.stat().st_mode) & 0o077 == 0
    assert stat.S_IMODE(tmp_path.stat().st_mode) == before  # a folder it did not create: as it was


def test_titles_notes_and_basket_size_are_limited(store):
    made = store.create()
    long_note = Basket(items=[BasketItem(P1, P1.start, P1.end, "n" * (MAX_NOTE_CHARS + 50))])
    saved = store.save(made.id, long_note, "T" * 5000, "plain")
    assert saved.title == "T" * MAX_TITLE_CHARS and store.open(made.id).title == saved.title
    assert store.open(made.id).basket.items[0].note == "n" * MAX_NOTE_CHARS

    many = Basket()
    for n in range(MAX_ITEMS + 1):
        many.add(BasketItem.from_passage(passage(n + 10, "One sentence here. And a second one.")))
    with pytest.raises(BasketStoreProblem, match=f"at most {MAX_ITEMS}"):
        store.save(made.id, many, "Too many", "plain")
    with pytest.raises(BasketStoreProblem, match=f"at most {MAX_ITEMS}"):
        store.create(many)
    assert store.open(made.id) == saved  # the refused save changed nothing
    many.items.pop()
    assert len(store.save(made.id, many, "Just enough", "plain").basket) == MAX_ITEMS


def test_settings_for_saved_baskets(tmp_path):
    s = Settings.from_env({})
    assert s.baskets_path() == DEFAULT_INDEX / "baskets.sqlite3" and s.basket_days == 90
    s = Settings.from_env({"ESSAYS_INDEX_DIR": str(tmp_path / "idx"), "ESSAYS_BASKET_DAYS": "0"})
    assert s.baskets_path() == tmp_path / "idx" / "baskets.sqlite3" and s.basket_days == 0
    s = Settings.from_env({"ESSAYS_BASKETS_FILE": "/srv/b.sqlite3"})
    assert str(s.baskets_path()) == "/srv/b.sqlite3"
    assert "basket_days" not in s.index_settings() and "baskets_file" not in s.index_settings()
    with pytest.raises(SettingsError, match="basket_days is -1"):
        Settings.from_env({"ESSAYS_BASKET_DAYS": "-1"})
    with pytest.raises(SettingsError, match="not a whole number"):
        Settings.from_env({"ESSAYS_BASKET_DAYS": "ninety"})
