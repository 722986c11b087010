"""Records of the org: in memory for speed, written through to SQLite when ``--state`` is given.

Writes happen in a ``Transaction`` under one org-wide lock: every change keeps an undo entry,
so an allOrNone request or a failed record can be rolled back exactly, and the list of changes
of a committed transaction goes to the event bus in one call (one CDC transaction). Reads take
no lock; they see committed dicts that writers replace rather than mutate.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from .changes import Change
from .ids import IdFactory
from .schema import ObjectDef, Schema
from .values import now_stamp

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS devorg_record (
    id      TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    data    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS devorg_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def _unique_key(fdef, value) -> object:
    if isinstance(value, str) and not fdef.case_sensitive:
        return value.lower()
    return value


class Store:
    """All records, indexed by id, by object and by unique/external-id field value."""

    def __init__(self, schema: Schema, state_path: Path | None = None) -> None:
        self.schema = schema
        self.lock = threading.RLock()
        self.records: dict[str, dict] = {}
        self.sobject_of: dict[str, str] = {}
        self.by_object: dict[str, dict[str, dict]] = {name: {} for name in schema.objects}
        self._index: dict[tuple[str, str], dict[object, set[str]]] = {}
        self._indexed: dict[str, list[tuple[object, dict[object, set[str]]]]] = {}
        for obj in schema.objects.values():
            for fdef in obj.fields.values():
                if fdef.unique or fdef.external_id:
                    index: dict[object, set[str]] = {}
                    self._index[(obj.name, fdef.name)] = index
                    self._indexed.setdefault(obj.name, []).append((fdef, index))
        self.write_counts: Counter[str] = Counter()
        self.ids = IdFactory()
        self.db: sqlite3.Connection | None = None
        self.state_path = state_path
        if state_path is not None:
            state_path.parent.mkdir(parents=True, exist_ok=True)
            state_path.touch(mode=0o600, exist_ok=True)
            state_path.chmod(0o600)  # it holds the connected app's secret and live sessions
            self.db = sqlite3.connect(str(state_path), check_same_thread=False, timeout=10)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA_SQL)
            self.db.commit()
            self._load()

    # -- persistence -----------------------------------------------------------------------

    def _load(self) -> None:
        assert self.db is not None
        for _rid, sobject, data in self.db.execute("SELECT id, sobject, data FROM devorg_record"):
            if sobject not in self.by_object:
                continue  # object no longer in the package
            self._put(sobject, json.loads(data))
        row = self.db.execute("SELECT value FROM devorg_meta WHERE key = 'id_counter'").fetchone()
        if row:
            self.ids.advance_to(int(row[0]))

    def meta_get(self, key: str) -> str | None:
        if self.db is None:
            return None
        with self.lock:
            row = self.db.execute("SELECT value FROM devorg_meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def meta_set(self, key: str, value: str) -> None:
        if self.db is None:
            return
        with self.lock, self.db:
            self.db.execute(
                "INSERT INTO devorg_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _persist(self, touched: dict[str, str | None]) -> None:
        if self.db is None or not touched:
            return
        upserts = []
        deletes = []
        for rid, sobject in touched.items():
            rec = self.records.get(rid)
            if rec is None:
                deletes.append((rid,))
            else:
                upserts.append((rid, sobject, json.dumps(rec)))
        with self.db:
            if upserts:
                self.db.executemany(
                    "INSERT INTO devorg_record (id, sobject, data) VALUES (?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET data = excluded.data",
                    upserts,
                )
            if deletes:
                self.db.executemany("DELETE FROM devorg_record WHERE id = ?", deletes)
            self.db.execute(
                "INSERT INTO devorg_meta (key, value) VALUES ('id_counter', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(self.ids.counter),),
            )

    # -- raw index maintenance (callers hold the lock) ------------------------------------

    def _put(self, sobject: str, rec: dict) -> None:
        rid = rec["Id"]
        old = self.records.get(rid)
        if old is not None:
            self._unindex(sobject, old)
        self.records[rid] = rec
        self.sobject_of[rid] = sobject
        self.by_object[sobject][rid] = rec
        self._reindex(sobject, rec)

    def _remove(self, rid: str) -> None:
        old = self.records.pop(rid, None)
        sobject = self.sobject_of.pop(rid, None)
        if old is not None and sobject is not None:
            self.by_object[sobject].pop(rid, None)
            self._unindex(sobject, old)

    def _reindex(self, sobject: str, rec: dict) -> None:
        if rec.get("IsDeleted"):
            return
        for fdef, index in self._indexed.get(sobject, ()):
            value = rec.get(fdef.name)
            if value is None or value == "":
                continue
            index.setdefault(_unique_key(fdef, value), set()).add(rec["Id"])

    def _unindex(self, sobject: str, rec: dict) -> None:
        for fdef, index in self._indexed.get(sobject, ()):
            value = rec.get(fdef.name)
            if value is None or value == "":
                continue
            key = _unique_key(fdef, value)
            ids = index.get(key)
            if ids is not None:
                ids.discard(rec["Id"])
                if not ids:
                    del index[key]

    # -- reads ------------------------------------------------------------------------------

    def get(self, rid: str) -> dict | None:
        return self.records.get(rid)

    def object_of(self, rid: str) -> str | None:
        return self.sobject_of.get(rid)

    def find_by(self, obj: ObjectDef, field_name: str, value: object) -> list[str]:
        """Ids of live records whose unique/external-id field equals ``value``."""
        with self.lock:
            return self._find_by(obj, field_name, value)

    def _find_by(self, obj: ObjectDef, field_name: str, value: object) -> list[str]:
        fdef = obj.fields[field_name]
        index = self._index.get((obj.name, field_name))
        if index is None:
            key = _unique_key(fdef, value)
            return [
                rid
                for rid, rec in self.by_object[obj.name].items()
                if not rec.get("IsDeleted") and _unique_key(fdef, rec.get(field_name)) == key
            ]
        return sorted(index.get(_unique_key(fdef, value), ()))

    def iter_object(self, sobject: str, include_deleted: bool = False) -> Iterator[dict]:
        for rec in list(self.by_object[sobject].values()):
            if include_deleted or not rec.get("IsDeleted"):
                yield rec

    def counts(self) -> dict[str, int]:
        return {
            name: sum(1 for r in recs.values() if not r.get("IsDeleted"))
            for name, recs in self.by_object.items()
            if recs
        }

    # -- writes -----------------------------------------------------------------------------

    def begin(self) -> Transaction:
        """Start a write transaction. The caller must hold ``self.lock`` until commit/rollback."""
        return Transaction(self)

    def reset(self) -> None:
        with self.lock:
            self.records.clear()
            self.sobject_of.clear()
            for recs in self.by_object.values():
                recs.clear()
            for index in self._index.values():
                index.clear()
            self.write_counts.clear()
            if self.db is not None:
                with self.db:
                    self.db.execute("DELETE FROM devorg_record")


class Transaction:
    """Changes applied immediately (so later records in a batch see earlier ones) with undo."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._undo: list[tuple[str, str, dict | None]] = []  # (id, sobject, previous record)
        self.changes: list[Change] = []
        self._touched: dict[str, str] = {}
        self._stamp: str | None = None

    def now(self) -> str:
        """One timestamp per transaction: its records share LastModifiedDate, as in Salesforce."""
        if self._stamp is None:
            self._stamp = now_stamp()
        return self._stamp

    def savepoint(self) -> tuple[int, int]:
        return len(self._undo), len(self.changes)

    def rollback_to(self, point: tuple[int, int]) -> None:
        undo_len, changes_len = point
        while len(self._undo) > undo_len:
            rid, sobject, previous = self._undo.pop()
            if previous is None:
                self.store._remove(rid)
            else:
                self.store._put(sobject, previous)
        del self.changes[changes_len:]

    def rollback(self) -> None:
        self.rollback_to((0, 0))
        self._touched.clear()

    def _record(self, rid: str, sobject: str) -> None:
        self._undo.append((rid, sobject, self.store.records.get(rid)))
        self._touched[rid] = sobject

    def insert(self, sobject: str, rec: dict) -> None:
        self._record(rec["Id"], sobject)
        self.store._put(sobject, rec)
        self.changes.append(Change(sobject, "CREATE", rec["Id"], None, rec))

    def update(self, sobject: str, before: dict, after: dict) -> None:
        self._record(after["Id"], sobject)
        self.store._put(sobject, after)
        self.changes.append(Change(sobject, "UPDATE", after["Id"], before, after))

    def soft_delete(self, sobject: str, before: dict, after: dict) -> None:
        self._record(after["Id"], sobject)
        self.store._put(sobject, after)
        self.changes.append(Change(sobject, "DELETE", after["Id"], before, None))

    def undelete(self, sobject: str, before: dict, after: dict) -> None:
        self._record(after["Id"], sobject)
        self.store._put(sobject, after)
        self.changes.append(Change(sobject, "UNDELETE", after["Id"], before, after))

    def hard_delete(self, sobject: str, rid: str) -> None:
        before = self.store.records.get(rid)
        self._record(rid, sobject)
        self.store._remove(rid)
        if before is not None and not before.get("IsDeleted"):
            self.changes.append(Change(sobject, "DELETE", rid, before, None))

    def commit(self) -> list[Change]:
        touched = {rid: s for rid, s in self._touched.items()}
        self.store._persist(touched)
        for change in self.changes:
            self.store.write_counts[change.record_id] += 1
        changes = self.changes
        self._undo.clear()
        self._touched.clear()
        self.changes = []
        return changes
