"""In-memory state of the emulated subscription: resource records, operations and settings.

Records are keyed by the lower-cased resource id (ARM ids are case-insensitive); the record keeps
the id with the casing it was created with. One re-entrant lock guards everything: the server holds
it for the whole handling of an ARM request, so handlers see a consistent snapshot.

The ids a record references (nested ``{"id": ...}`` under ``properties``) are indexed when the
record is put, so that back-references cost the number of referrers, not the number of records.
A record's properties are therefore never edited once it is stored: a change puts a new record.
"""

import copy
import threading
import time

DEFAULT_SETTINGS = {
    "page_size": 100,          # items per list page before a nextLink
    "poll_retry_after": 1,     # Retry-After (s) on in-progress operation status; 0 leaves it out
    "delays": {},              # lower-cased resource type -> {"put": s, "delete": s}
}


def walk_ids(value, path=()):
    """Yield ``(path, id)`` for every nested dict holding a string ``id``."""
    if isinstance(value, dict):
        ident = value.get("id")
        if isinstance(ident, str) and path:
            yield path, ident
        for key, item in value.items():
            if key != "id":
                yield from walk_ids(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_ids(item, path + (index,))


def _id_prefixes(ident):
    """``ident`` and every part of it that ends before a ``/`` (what a reference is found under)."""
    yield ident
    start = ident.find("/")
    while start != -1:
        yield ident[:start]
        start = ident.find("/", start + 1)


class Store:
    """Resource records, long-running operations and emulator settings."""

    def __init__(self):
        self.lock = threading.RLock()
        self.records = {}
        self.operations = {}
        self.settings = copy.deepcopy(DEFAULT_SETTINGS)
        self._clear_index()

    def reset(self):
        with self.lock:
            self.records = {}
            self.operations = {}
            self.settings = copy.deepcopy(DEFAULT_SETTINGS)
            self._clear_index()

    # ---------------------------------------------------------------- reference index
    def _clear_index(self):
        self._position = {}   # key -> insertion number (the order of self.records)
        self._next_position = 0
        self._refs = {}       # key -> [(path, lower-cased id)] referenced by the record's properties
        self._referrers = {}  # lower-cased id or id prefix -> keys of the records referencing it

    def _index(self, key, record):
        refs = [(path, ident.lower()) for path, ident in walk_ids(record.get("properties") or {}, ("properties",))]
        self._refs[key] = refs
        for _path, ident in refs:
            for prefix in _id_prefixes(ident):
                self._referrers.setdefault(prefix, set()).add(key)

    def _unindex(self, key):
        for _path, ident in self._refs.pop(key, ()):
            for prefix in _id_prefixes(ident):
                keys = self._referrers.get(prefix)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._referrers[prefix]

    # ---------------------------------------------------------------- records
    def get(self, rid, include_deleting=True):
        record = self.records.get(rid.lower().rstrip("/"))
        if record is not None and record.get("deleting") and not include_deleting:
            return None
        return record

    def put(self, record):
        key = record["id"].lower()
        if key in self.records:
            self._unindex(key)
        else:
            self._position[key] = self._next_position
            self._next_position += 1
        self.records[key] = record
        self._index(key, record)

    def _pop(self, key):
        record = self.records.pop(key, None)
        if record is not None:
            self._unindex(key)
            del self._position[key]
        return record

    def subtree(self, rid):
        key = rid.lower().rstrip("/")
        prefix = key + "/"
        return [r for k, r in self.records.items() if k == key or k.startswith(prefix)]

    def remove_subtree(self, rid):
        removed = self.subtree(rid)
        for record in removed:
            self._pop(record["id"].lower())
        return removed

    def children(self, parent_id, type_key):
        prefix = parent_id.lower() + "/"
        depth = parent_id.count("/") + 2
        return [r for k, r in self.records.items()
                if k.startswith(prefix) and r["type_key"] == type_key and r["id"].count("/") == depth]

    def of_type(self, type_key, scope_prefix):
        prefix = scope_prefix.lower().rstrip("/") + "/"
        return [r for k, r in self.records.items() if r["type_key"] == type_key and k.startswith(prefix)]

    def referrers(self, target_id, exclude_prefix=None):
        """``(record, path)`` for every stored reference to ``target_id`` or to something under it.

        Records under ``exclude_prefix`` (normally the target's own subtree) are skipped.
        """
        target = target_id.lower()
        exclude = (exclude_prefix or target_id).lower()
        found = []
        for key in sorted(self._referrers.get(target, ()), key=self._position.__getitem__):
            if key == exclude or key.startswith(exclude + "/"):
                continue
            for path, ident in self._refs[key]:
                if ident == target or ident.startswith(target + "/"):
                    found.append((self.records[key], path))
        return found

    # ---------------------------------------------------------------- settings
    def delay(self, type_key, operation):
        entry = self.settings["delays"].get(type_key) or self.settings["delays"].get("*") or {}
        return float(entry.get(operation, 0.0))

    def set_delay(self, type_key, seconds, operation=None):
        entry = self.settings["delays"].setdefault(type_key.lower(), {})
        for op in ([operation] if operation else ["put", "delete"]):
            entry[op] = float(seconds)

    # ---------------------------------------------------------------- operations
    def add_operation(self, operation):
        self.operations[operation["id"]] = operation
        return operation

    def finish_due(self, now=None):
        """Apply deletions whose operation time has come."""
        now = time.time() if now is None else now
        for operation in self.operations.values():
            if operation["kind"] == "delete" and not operation.get("applied") and now >= operation["ready_at"]:
                self.remove_subtree(operation["resource_id"])
                operation["applied"] = True
