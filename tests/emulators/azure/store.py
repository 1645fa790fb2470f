"""In-memory state of the emulated subscription: resource records, operations and settings.

Records are keyed by the lower-cased resource id (ARM ids are case-insensitive); the record keeps
the id with the casing it was created with. One re-entrant lock guards everything: the server holds
it for the whole handling of an ARM request, so handlers see a consistent snapshot.
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


class Store:
    """Resource records, long-running operations and emulator settings."""

    def __init__(self):
        self.lock = threading.RLock()
        self.records = {}
        self.operations = {}
        self.settings = copy.deepcopy(DEFAULT_SETTINGS)

    def reset(self):
        with self.lock:
            self.records = {}
            self.operations = {}
            self.settings = copy.deepcopy(DEFAULT_SETTINGS)

    # ---------------------------------------------------------------- records
    def get(self, rid, include_deleting=True):
        record = self.records.get(rid.lower().rstrip("/"))
        if record is not None and record.get("deleting") and not include_deleting:
            return None
        return record

    def put(self, record):
        self.records[record["id"].lower()] = record

    def subtree(self, rid):
        key = rid.lower().rstrip("/")
        prefix = key + "/"
        return [r for k, r in self.records.items() if k == key or k.startswith(prefix)]

    def remove_subtree(self, rid):
        removed = self.subtree(rid)
        for record in removed:
            self.records.pop(record["id"].lower(), None)
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
        for key, record in self.records.items():
            if key == exclude or key.startswith(exclude + "/"):
                continue
            for path, ident in walk_ids(record.get("properties") or {}, ("properties",)):
                ident = ident.lower()
                if ident == target or ident.startswith(target + "/"):
                    found.append((record, path))
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
