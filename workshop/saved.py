"""Baskets that last: handout baskets saved on the server in one SQLite file.

Each saved basket has two unguessable ids: the owner's id (carried in the owner's address; it
allows changes) and a share id (for "copy a link to this basket"; it only reads). The items are
kept as the JSON of `Basket.to_list()`, whole passages included, so a passage later gone from
the index still has its quote and citation data.

Every call opens its own connection (Streamlit serves sessions from several threads; several
server processes may share the file), the file is in WAL mode with a busy timeout, and each
write is one transaction: a save replaces the whole row, so the last save wins and a save of an
older state never leaves a mixed one. Baskets not changed for `keep_days` are deleted when a
store opens and by `expire()`.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from core.errors import BasketStoreProblem
from workshop.basket import MAX_NOTE_CHARS, Basket

DEFAULT_TITLE = "Workshop handout"
MAX_TITLE_CHARS = 200
MAX_STYLE_CHARS = 40
MAX_ITEMS = 500
ID_BYTES = 24  # secrets.token_urlsafe(24): 32 characters, 192 random bits
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{32}")
BUSY_SECONDS = 10.0
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS baskets (id TEXT PRIMARY KEY, share_id TEXT NOT NULL UNIQUE, "
    "title TEXT NOT NULL, style TEXT NOT NULL, items TEXT NOT NULL, updated TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS baskets_updated ON baskets (updated)",
)
COLUMNS = "id, share_id, title, style, items, updated"


class UnknownBasket(BasketStoreProblem, KeyError):
    """No basket can be changed with this id: unknown, expired, or a (read-only) share id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class SavedBasket:
    id: str  # the owner's id: unguessable, carried in the owner's address; allows changes
    share_id: str  # a second unguessable id for "copy a link to this basket": read-only
    basket: Basket
    title: str  # the handout title
    style: str  # the citation style chosen for the handout
    updated: str  # ISO time of the last change (UTC)
    read_only: bool  # True when opened by share_id


def new_id() -> str:
    """A fresh unguessable id (random, never sequential or derived from the time)."""
    return secrets.token_urlsafe(ID_BYTES)


def valid_id(some_id) -> bool:
    """Whether `some_id` has the form of an id (checked before any query)."""
    return isinstance(some_id, str) and ID_PATTERN.fullmatch(some_id) is not None


def stamp(moment: datetime | None = None) -> str:
    """`moment` (default: now) as fixed-width ISO text in UTC, so that texts sort as times.
    A moment without a time zone is taken as UTC."""
    moment = moment or datetime.now(timezone.utc)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def problem(path: Path, err: Exception) -> BasketStoreProblem:
    """The domain error for a database error, with what to do about it."""
    detail = str(err) or type(err).__name__
    text = detail.lower()
    if "locked" in text or "busy" in text:
        return BasketStoreProblem(
            f"The saved-baskets file {path} is busy: another server process held it for over "
            f"{BUSY_SECONDS:g} seconds ({detail}). Try again in a moment.")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return BasketStoreProblem(
            f"The saved-baskets file {path} is damaged or not a SQLite database ({detail}). Move "
            f"it away (for example rename it to {path.name}.broken) and reload the page: saved "
            f"baskets will start empty. Or set ESSAYS_BASKETS_FILE to another file.")
    return BasketStoreProblem(
        f"The saved-baskets file {path} cannot be read or written ({detail}). Let the server's "
        f"user read and write the file and its folder, or set ESSAYS_BASKETS_FILE to another "
        f"file; moving the file away starts with no saved baskets.")


def create_file(path: Path) -> None:
    """Create the database file (0600) and its folder (0700) where they do not exist yet;
    an existing file or folder is left as it is."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)  # whatever the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, 0o600)


def limited(basket: Basket) -> list[dict]:
    """The basket's items as JSON-able dicts, notes cut to MAX_NOTE_CHARS; a basket of more
    than MAX_ITEMS quotes is refused."""
    if not isinstance(basket, Basket):
        raise TypeError(f"a saved basket holds a Basket, not {type(basket).__name__}")
    if len(basket) > MAX_ITEMS:
        raise BasketStoreProblem(
            f"This basket has {len(basket)} quotes; a saved basket holds at most {MAX_ITEMS}. "
            f"Remove some quotes (or start a second basket) and save again.")
    items = basket.to_list()
    for d in items:
        d["note"] = d["note"][:MAX_NOTE_CHARS]
    return items


class BasketStore:
    """The saved baskets in one SQLite file."""

    def __init__(self, path: Path, keep_days: int):
        """Open the database at `path`, creating it (and its folder) if needed, then delete the
        baskets not changed for `keep_days` days (0: keep them forever). BasketStoreProblem,
        with what to do, when the file cannot be used; the file is never deleted."""
        if type(keep_days) is not int or keep_days < 0:
            raise ValueError(f"keep_days must be a whole number of days, 0 or more, not {keep_days!r}")
        self.path = Path(path)
        self.keep_days = keep_days
        try:
            create_file(self.path)
        except OSError as err:
            raise problem(self.path, err) from err
        with self.connection() as con:
            con.execute("PRAGMA journal_mode=WAL")
            with con:
                for statement in SCHEMA:
                    con.execute(statement)
        self.expire()

    @contextmanager
    def connection(self):
        """A connection of its own for one call (never creating the file); database errors come
        out as BasketStoreProblem."""
        address = "file:" + quote(str(self.path.absolute())) + "?mode=rw"
        try:
            con = sqlite3.connect(address, uri=True, timeout=BUSY_SECONDS)
        except sqlite3.Error as err:
            raise problem(self.path, err) from err
        try:
            yield con
        except sqlite3.Error as err:
            raise problem(self.path, err) from err
        finally:
            con.close()

    def cutoff(self, now: datetime | None = None) -> str:
        """The stamp before which a basket has expired ("" when baskets never expire)."""
        if not self.keep_days:
            return ""
        moment = datetime.fromisoformat(stamp(now))
        return stamp(moment - timedelta(days=self.keep_days))

    def saved(self, row, read_only: bool) -> SavedBasket:
        basket_id, share_id, title, style, items, updated = row
        try:
            data = json.loads(items)
        except ValueError as err:
            raise problem(self.path, sqlite3.DatabaseError(f"basket items are corrupt: {err}")) from err
        return SavedBasket(basket_id, share_id, Basket.from_list(data), title, style, updated, read_only)

    def create(self, basket: Basket | None = None, title: str = DEFAULT_TITLE,
               style: str = "plain") -> SavedBasket:
        """A new saved basket (empty unless `basket` is given), opened by its owner."""
        items = json.dumps(limited(basket if basket is not None else Basket()), ensure_ascii=False)
        title, style = str(title)[:MAX_TITLE_CHARS], str(style)[:MAX_STYLE_CHARS]
        with self.connection() as con:
            for attempt in range(3):
                basket_id, share_id = new_id(), new_id()
                if basket_id == share_id:
                    continue
                row = (basket_id, share_id, title, style, items, stamp())
                try:
                    with con:
                        con.execute(f"INSERT INTO baskets ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row)
                except sqlite3.IntegrityError:  # an id already taken: draw again
                    continue
                return self.saved(row, read_only=False)
        raise BasketStoreProblem("No new basket id could be drawn; try again.")

    def open(self, some_id: str) -> SavedBasket | None:
        """The basket with this owner id (read_only False) or share id (read_only True); None
        for an unknown, malformed or expired id (a malformed one never reaches the database)."""
        if not valid_id(some_id):
            return None
        with self.connection() as con:
            row = con.execute(f"SELECT {COLUMNS} FROM baskets WHERE (id = ? OR share_id = ?) "
                              f"AND updated >= ?", (some_id, some_id, self.cutoff())).fetchone()
        return None if row is None else self.saved(row, read_only=row[0] != some_id)

    def save(self, basket_id: str, basket: Basket, title: str, style: str) -> SavedBasket:
        """Replace the basket's items, title and style in one transaction (the last save wins).
        UnknownBasket for an unknown or expired id, or for a share id (which only reads)."""
        items = json.dumps(limited(basket), ensure_ascii=False)
        title, style = str(title)[:MAX_TITLE_CHARS], str(style)[:MAX_STYLE_CHARS]
        if not valid_id(basket_id):
            raise UnknownBasket("This basket address is not valid: open the basket from its full "
                                "link, or start a new basket.")
        row_values = (title, style, items, stamp(), basket_id, self.cutoff())
        with self.connection() as con:
            with con:
                changed = con.execute("UPDATE baskets SET title = ?, style = ?, items = ?, updated = ? "
                                      "WHERE id = ? AND updated >= ?", row_values).rowcount
                row = con.execute(f"SELECT {COLUMNS} FROM baskets WHERE id = ?", (basket_id,)).fetchone()
            shared = not changed and con.execute("SELECT 1 FROM baskets WHERE share_id = ?",
                                                 (basket_id,)).fetchone() is not None
        if shared:
            raise UnknownBasket("This basket was opened from a shared link and is read-only: make "
                                "a copy to change it.")
        if not changed:
            raise UnknownBasket("This basket is no longer kept (unknown or expired): start a new "
                                "basket, or save this one as a new basket.")
        return self.saved(row, read_only=False)

    def copy(self, some_id: str) -> SavedBasket:
        """A new basket (new ids, opened by its owner) with the same items, title and style as
        the basket with this owner or share id; UnknownBasket when there is none."""
        original = self.open(some_id)
        if original is None:
            raise UnknownBasket("There is no basket to copy at this address (unknown or expired).")
        return self.create(original.basket, original.title, original.style)

    def expire(self, now: datetime | None = None) -> int:
        """Delete the baskets not changed for keep_days days before `now` (default: the current
        time); how many were deleted. Nothing expires when keep_days is 0."""
        if not self.keep_days:
            return 0
        with self.connection() as con:
            with con:
                return con.execute("DELETE FROM baskets WHERE updated < ?", (self.cutoff(now),)).rowcount
