"""A Milvus collection as the index (setting `store`: milvus://HOST:PORT/COLLECTION), shared by
the write side (ingest/milvus_write.py) and the read side (search/milvus_store.py).

Three collections per name:

    <name>_passages   one row per passage: its fields, its vector, and its keyword text with a
                      server-side BM25 function (sparse field) for keyword candidates
    <name>_sentences  one row per sentence: its passage's row, its number there, its vector
    <name>_meta       small key/value rows: the manifest (the same typed Manifest as an index
                      folder's, in chunks, named by the "manifest" row, which is written last
                      and so commits an ingest), extracted texts of web pages, PDFs and Word
                      files (in chunks), and per-word counts (typo repair) and per-term passage
                      counts (the share of the question's words a passage has)

A passage's row is its primary key, given by ingest from a counter kept in the manifest, and a
document's rows are consecutive (manifest.store["documents"]: source -> [first, stop)), so the
read side numbers passages exactly as it does for an index folder. Rows not in the manifest
(left by an ingest killed before its commit, or of documents replaced since) are never served
and are deleted by the next ingest.

Credentials come from the environment (MILVUS_TOKEN, or MILVUS_USER and MILVUS_PASSWORD), never
from the address, and are never logged.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass

from .errors import SettingsError, StoreUnavailable

SCHEME = "milvus://"
KEEPALIVE_MS = 600_000  # gRPC keepalive: milvus-lite refuses pings more often than every 10 minutes
CALL_TIMEOUT = 5.0  # seconds before a call to a server that does not answer gives up
TEXT_LIMIT = 65_535  # Milvus' longest VARCHAR, in bytes
CHUNK_CHARS = 16_000  # characters per meta value chunk (at most 4 bytes each)
MANIFEST_KEY = "manifest"
BATCH = 1000  # rows per insert, and ids per `row in [...]` query


@dataclass(frozen=True)
class Address:
    host: str
    port: int
    collection: str

    @property
    def uri(self) -> str:
        return f"http://{self.host}:{self.port}"

    def name(self, part: str) -> str:
        return f"{self.collection}_{part}"

    def __str__(self) -> str:
        return f"{SCHEME}{self.host}:{self.port}/{self.collection}"


ADDRESS = re.compile(r"milvus://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})/([A-Za-z_][A-Za-z0-9_]{0,200})")


def parse_address(value: str) -> Address | None:
    """The Milvus address of the setting `store`; None for '' (the local index folder)."""
    value = (value or "").strip()
    if not value:
        return None
    if "@" in value:
        raise SettingsError("The store address must not hold a user name or password: give "
                            "them as MILVUS_TOKEN, or MILVUS_USER and MILVUS_PASSWORD, in the environment.")
    match = ADDRESS.fullmatch(value)
    if not match:
        raise SettingsError(f"The setting store is {value!r}; use milvus://HOST:PORT/COLLECTION "
                            "(e.g. milvus://127.0.0.1:19530/essays), or leave it empty for the local index folder.")
    host, port, collection = match.groups()
    return Address(host, int(port), collection)


def credentials(environ=None) -> dict:
    environ = os.environ if environ is None else environ
    if environ.get("MILVUS_TOKEN"):
        return {"token": environ["MILVUS_TOKEN"]}
    if environ.get("MILVUS_USER"):
        return {"user": environ["MILVUS_USER"], "password": environ.get("MILVUS_PASSWORD", "")}
    return {}


def down(address: Address, exc: BaseException) -> StoreUnavailable:
    return StoreUnavailable(
        f"The Milvus server at {address.host}:{address.port} does not answer "
        f"({exc.__class__.__name__}). Start it (or check the setting store, ESSAYS_STORE), "
        "then ask again: nothing was lost.")


def connect(address: Address):
    """A client of the server at `address`; StoreUnavailable when it does not answer."""
    from pymilvus import MilvusClient

    # pymilvus logs its reconnection attempts with tracebacks; the front ends say it in one line
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=address.uri, timeout=CALL_TIMEOUT, **credentials(),
                            grpc_options={"grpc.keepalive_time_ms": KEEPALIVE_MS,
                                          "grpc.keepalive_timeout_ms": 20_000,
                                          # a server that comes back is reached within 2 s (gRPC's
                                          # default backoff grows to 2 minutes while it is down)
                                          "grpc.initial_reconnect_backoff_ms": 500,
                                          "grpc.max_reconnect_backoff_ms": 2_000})
    except Exception as exc:  # noqa: BLE001 - refused, unreachable, auth: one message
        raise down(address, exc) from exc


UNREACHABLE = ("fail connecting", "unavailable", "deadline exceeded", "connection refused",
               "connection reset", "channel closed", "socket closed", "not ready")


def is_connection_error(exc: BaseException) -> bool:
    """Whether a pymilvus (or gRPC) error means the server cannot be reached, not that a request
    was refused (only the message's start is read: the rest may quote the request)."""
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {"ConnectError", "MilvusUnavailableException", "ConnectionNotExistException"}:
        return True
    code = getattr(exc, "code", None)
    if callable(code):  # grpc.RpcError
        try:
            return code().name in ("UNAVAILABLE", "DEADLINE_EXCEEDED")
        except Exception:  # noqa: BLE001
            return False
    head = str(getattr(exc, "message", None) or exc)[:160].lower()
    return any(w in head for w in UNREACHABLE)


RETRIES = (0.5, 1.0, 2.0, 4.0)  # seconds before each new try of a call that could not reach the server
UNREACHABLE_TRIES = 2  # tries again after a connection error (the first calls after a restart reconnect)


def reaching(client, address: Address, call):
    """call(), tried again when the server cannot be reached (twice, within 1.5 s: a client's
    first calls after the server comes back reconnect) or holds the collections released (a
    restarted server loads nothing until asked: loaded, then tried again for a few seconds);
    then StoreUnavailable."""
    for attempt, wait in enumerate(RETRIES + (None,)):
        try:
            return call()
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - pymilvus and grpc raise many kinds
            released = is_released(exc)
            if not (released or is_connection_error(exc)):
                raise
            if wait is None or (not released and attempt >= UNREACHABLE_TRIES):
                raise down(address, exc) from exc
            time.sleep(wait)
            if released:
                try:
                    load_collections(client, address)
                except Exception:  # noqa: BLE001 - not back yet: the next try says so
                    pass


def literal(text: str) -> str:
    """A string literal for a Milvus filter (its parser takes no \\u escapes: text stays as it is)."""
    return json.dumps(text, ensure_ascii=False)


def strings_filter(field: str, values: list[str]) -> str:
    return f"{field} in [{', '.join(literal(v) for v in values)}]"


def ranges_filter(ranges) -> str:
    """Rows in any of the [first, stop) ranges (numbers only: nothing to escape)."""
    return " or ".join(f"(row >= {int(a)} and row < {int(b)})" for a, b in ranges)


# --- the collections -----------------------------------------------------------------------------

def create_collections(client, address: Address, dimension: int) -> None:
    """The three collections, empty, with their indexes, loaded (any old ones dropped first)."""
    from pymilvus import DataType, Function, FunctionType

    drop_collections(client, address)
    s = client.create_schema(auto_id=False)
    s.add_field("row", DataType.INT64, is_primary=True)
    for name, length in (("id", 512), ("source", 4096), ("title", 4096), ("section", 4096),
                         ("question", 4096), ("kind", 32)):
        s.add_field(name, DataType.VARCHAR, max_length=length)
    for name in ("paragraph", "paragraph_end", "start", "end", "page"):
        s.add_field(name, DataType.INT64)
    s.add_field("text", DataType.VARCHAR, max_length=TEXT_LIMIT)
    s.add_field("sentences", DataType.VARCHAR, max_length=TEXT_LIMIT)
    # the passage's keyword terms as the local index makes them (stemmed, no stop words), each
    # written so that Milvus' tokenizer keeps it whole (`keyword_field`): its BM25 (same k1 and b)
    # then counts exactly the terms the local index counts
    s.add_field("keywords", DataType.VARCHAR, max_length=TEXT_LIMIT, enable_analyzer=True,
                analyzer_params={"type": "standard"})
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                            input_field_names=["keywords"], output_field_names=["sparse"]))
    idx = client.prepare_index_params()
    idx.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    idx.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                  params={"bm25_k1": 1.5, "bm25_b": 0.75})
    idx.add_index("source", index_type="INVERTED")
    client.create_collection(address.name("passages"), schema=s, index_params=idx, consistency_level="Strong")

    s = client.create_schema(auto_id=False)
    s.add_field("key", DataType.INT64, is_primary=True)
    s.add_field("row", DataType.INT64)
    s.add_field("number", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dimension)
    idx = client.prepare_index_params()
    idx.add_index("vector", index_type="AUTOINDEX", metric_type="IP")
    idx.add_index("row", index_type="INVERTED")
    client.create_collection(address.name("sentences"), schema=s, index_params=idx, consistency_level="Strong")

    s = client.create_schema(auto_id=False)
    s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=1024)
    s.add_field("value", DataType.VARCHAR, max_length=TEXT_LIMIT)
    s.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field
    idx = client.prepare_index_params()
    idx.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_collection(address.name("meta"), schema=s, index_params=idx, consistency_level="Strong")


def drop_collections(client, address: Address) -> None:
    for part in ("passages", "sentences", "meta"):
        if client.has_collection(address.name(part)):
            client.drop_collection(address.name(part))


def has_collections(client, address: Address) -> bool:
    return all(client.has_collection(address.name(p)) for p in ("passages", "sentences", "meta"))


def load_collections(client, address: Address) -> None:
    """Load the collections into the query nodes' memory (a restarted server holds them
    released); collections already loaded (e.g. by an operator, with replicas) are left as they are."""
    for part in ("passages", "sentences", "meta"):
        state = client.get_load_state(address.name(part)).get("state")
        if getattr(state, "name", str(state)) != "Loaded":
            client.load_collection(address.name(part))


def is_released(exc: BaseException) -> bool:
    """Whether a pymilvus error means a collection is not loaded (after a server restart)."""
    text = str(exc).lower()
    return "released" in text or "not loaded" in text


# --- small values in the meta collection -----------------------------------------------------------

def meta_rows(values: dict[str, str]) -> list[dict]:
    return [{"key": k, "value": v, "unused": [0.0, 0.0]} for k, v in values.items()]


def chunks(key: str, text: str) -> dict[str, str]:
    """A long value as meta rows "<key>:0", "<key>:1", …"""
    parts = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)] or [""]
    return {f"{key}:{n}": part for n, part in enumerate(parts)}


def read_meta(client, address: Address, keys: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for at in range(0, len(keys), BATCH):
        part = keys[at:at + BATCH]
        for r in client.query(address.name("meta"), filter=strings_filter("key", part),
                              output_fields=["key", "value"]):
            out[r["key"]] = r["value"]
    return out


def read_chunks(client, address: Address, key: str, n: int) -> str:
    found = read_meta(client, address, [f"{key}:{i}" for i in range(n)])
    if len(found) != n:
        raise ValueError(f"{key} has {len(found)} of its {n} parts")
    return "".join(found[f"{key}:{i}"] for i in range(n))


def write_chunks(client, address: Address, key: str, text: str) -> int:
    """Write a long value in chunks; the number of chunks."""
    rows = chunks(key, text)
    upsert_meta(client, address, rows)
    return len(rows)


def upsert_meta(client, address: Address, values: dict[str, str]) -> None:
    rows = meta_rows(values)
    for at in range(0, len(rows), BATCH):
        client.upsert(address.name("meta"), rows[at:at + BATCH])


def read_pointer(client, address: Address) -> dict | None:
    """The committed build: {"build": id, "chunks": n}, or None before the first ingest."""
    found = read_meta(client, address, [MANIFEST_KEY]).get(MANIFEST_KEY)
    return json.loads(found) if found else None


def read_manifest_json(client, address: Address) -> tuple[str, dict] | None:
    """(build id, manifest JSON) of the committed build, or None when there is none."""
    pointer = read_pointer(client, address)
    if pointer is None:
        return None
    text = read_chunks(client, address, f"{MANIFEST_KEY}:{pointer['build']}", int(pointer["chunks"]))
    return str(pointer["build"]), json.loads(text)


def counts_of(client, address: Address, keys: list[str]) -> dict[str, int]:
    """The integer meta values of these keys (vocabulary counts), 0 where absent."""
    found = read_meta(client, address, keys)
    return {k: int(found.get(k, 0)) for k in keys}


def text_key(sha256: str) -> str:
    return f"text:{sha256}"


# --- passages as Milvus rows -----------------------------------------------------------------------

PASSAGE_FIELDS = ["row", "id", "source", "title", "section", "question", "kind", "paragraph",
                  "paragraph_end", "start", "end", "text", "sentences", "page"]


def keyword_field(terms: list[str]) -> str:
    """Keyword terms as the text Milvus' BM25 function reads: each in hexadecimal, one token
    for its standard tokenizer (which would split "__init__" or "add_argument" at underscores
    and count other terms than the local index)."""
    return " ".join(t.encode("utf-8").hex() for t in terms)


SENTENCE_BITS = 16  # a sentence's key: its passage's row, shifted, plus its number there


def sentence_key(row: int, number: int) -> int:
    """The primary key of a passage's sentence, so that a passage's sentences are read by key."""
    if not 0 <= number < 1 << SENTENCE_BITS:
        raise ValueError(f"a passage has more than {1 << SENTENCE_BITS} sentences")
    return (int(row) << SENTENCE_BITS) | number


def passage_values(row: int, p, terms: list[str], vector) -> dict:
    """A passage as a row of the passages collection (`terms`: its keyword terms)."""
    values = {"row": row, "id": p.id, "source": p.source, "title": p.title or "", "section": p.section or "",
              "question": p.question or "", "kind": p.kind or "", "paragraph": p.paragraph,
              "paragraph_end": p.paragraph_end, "start": p.start, "end": p.end, "text": p.text,
              "sentences": json.dumps([list(s) for s in p.sentences]),
              "page": -1 if p.page is None else p.page, "keywords": keyword_field(terms),
              "vector": [float(x) for x in vector]}
    if any(len(values[k].encode("utf-8")) > TEXT_LIMIT for k in ("text", "sentences", "keywords")):
        raise ValueError(f"a passage of {p.source} is longer than Milvus keeps in one field ({TEXT_LIMIT} bytes)")
    return values


def passage_of(values: dict):
    """A Passage from a row of the passages collection."""
    from .passage import Passage

    return Passage(values["id"], values["source"], values["title"], values["section"], values["question"],
                   values["kind"], int(values["paragraph"]), int(values["paragraph_end"]),
                   int(values["start"]), int(values["end"]), values["text"],
                   tuple(tuple(s) for s in json.loads(values["sentences"])),
                   None if int(values["page"]) < 0 else int(values["page"]))


def rows_filter(rows, field: str = "row") -> list[str]:
    """`row in [...]` filters for these rows (or other integer keys), BATCH at a time."""
    rows = [int(r) for r in rows]
    return [f"{field} in {rows[at:at + BATCH]}" for at in range(0, len(rows), BATCH)]


def read_passages(client, address: Address, rows) -> dict[int, object]:
    """row -> Passage for those of `rows` the collection holds."""
    out = {}
    for expr in rows_filter(rows):
        for r in client.query(address.name("passages"), filter=expr, output_fields=PASSAGE_FIELDS):
            out[int(r["row"])] = passage_of(r)
    return out
