"""Control interface for tests: reset, seed, dump, faults, delays, settings and the request log.

The same operations are Python methods (used in-process by AzureEmulator) and HTTP endpoints under
``/_emulator`` (used by other processes: ansible-playbook runs, the demo):

=======  ==========================  ==================================================================
GET      /_emulator/health           ``{"status": "ok", "subscription_id": ..., "tenant_id": ...}``
POST     /_emulator/reset            forget all resources, operations, faults, delays and settings
POST     /_emulator/seed             body ``{"resources": [{"id": ..., "location": ..., ...}], "strict": true}``
GET      /_emulator/state            every resource as the API shows it (write-only secrets left out)
GET      /_emulator/faults           the fault rules; POST adds one (body = rule), DELETE clears all
DELETE   /_emulator/faults/{id}      remove one rule
GET      /_emulator/settings         page size, poll Retry-After, delays, usage limits; POST updates them
POST     /_emulator/delays           body ``{"resource_type": "Microsoft.Network/virtualNetworkGateways",
                                     "seconds": 2, "operation": "put"}`` (operation optional: both)
GET      /_emulator/requests         the request log; ``?since=<seq>`` for newer entries; DELETE clears it
=======  ==========================  ==================================================================
"""

import json

from . import usages
from .arm import ArmError, Change, Request, parse_provider_path


class Control:
    """Operations on the emulator state; see the module docstring for the HTTP mapping."""

    def __init__(self, emulator_state):
        self.state = emulator_state  # object with store, arm, faults, identity, app (request log), base_url

    # ---------------------------------------------------------------- python interface
    def reset(self):
        with self.state.store.lock:
            self.state.store.reset()
        self.state.faults.clear()
        self.state.app.log.clear()

    def seed(self, resources, strict=True):
        """Create resources as if they had been created long ago (no delay, no faults, no log entry).

        ``resources`` is a list of ARM bodies, each with its ``id``; parents must come before their
        children (a missing resource group is created in the resource's location). With ``strict``
        False, ids referenced by a resource need not exist (handy for replaying published examples).
        Returns the ids written.
        """
        if isinstance(resources, dict):
            strict = resources.get("strict", strict)
            resources = resources.get("resources", [])
        written = []
        arm = self.state.arm
        with self.state.store.lock:
            for item in resources:
                item = dict(item)
                rid = item.pop("id", None)
                if not rid:
                    raise ValueError("every seeded resource needs an id")
                request = Request("PUT", rid, {"api-version": "seed"}, {}, b"", self.state.base_url)
                segments = [s for s in rid.split("/") if s]
                if len(segments) == 4 and segments[2].lower() == "resourcegroups":
                    self._seed_group(request, segments[3], item)
                    written.append(rid)
                    continue
                path = parse_provider_path(segments)
                if path is None or not path.names or path.tail:
                    raise ValueError("not a resource id: %s" % rid)
                rtype = arm.type_for(path.type_key())
                if rtype is None:
                    raise ValueError("the emulator has no resource type %s" % path.type_key())
                if path.resource_group is not None and arm.store.get(path.scope, include_deleting=False) is None:
                    self._seed_group(request, path.resource_group, {"location": item.get("location") or "westeurope"})
                if rtype.tracked and not item.get("location"):
                    item["location"] = "westeurope"
                try:
                    response = arm.write(request, rtype, path, item, seeding=not strict)
                except ArmError as exc:
                    raise ValueError("cannot seed %s: %s %s" % (rid, exc.code, exc.message)) from exc
                record = arm.store.get(response.body["id"])
                for entry in arm.store.subtree(record["id"]):
                    entry["ready_at"] = 0
                written.append(record["id"])
        return written

    def _seed_group(self, request, name, body):
        arm = self.state.arm
        rid = "/subscriptions/%s/resourceGroups/%s" % (arm.subscription_id, name)
        existing = arm.store.get(rid)
        record = arm.build_record(request, arm.types["microsoft.resources/resourcegroups"], existing["id"] if existing else rid,
                                  name, {"location": body.get("location") or "westeurope", "tags": body.get("tags")},
                                  existing, Change())
        record["ready_at"] = 0
        arm.store.put(record)

    def dump(self):
        arm = self.state.arm
        with self.state.store.lock:
            records = sorted(self.state.store.records.values(), key=lambda r: (r["id"].count("/"), r["id"].lower()))
            return {
                "subscription_id": arm.subscription_id,
                "resources": [arm.view(r) for r in records],
                "operations": len(self.state.store.operations),
                "settings": json.loads(json.dumps(self.state.store.settings)),
                "faults": self.state.faults.rules(),
            }

    def set_fault(self, **spec):
        return self.state.faults.add(**spec).id

    def clear_faults(self):
        self.state.faults.clear()

    def remove_fault(self, rule_id):
        return self.state.faults.remove(rule_id)

    def set_delay(self, resource_type, seconds, operation=None):
        with self.state.store.lock:
            self.state.store.set_delay(resource_type, seconds, operation)

    def configure(self, **settings):
        allowed = {"page_size", "poll_retry_after"}
        unknown = set(settings) - allowed - {"delays", usages.SETTING}
        if unknown:
            raise ValueError("unknown settings: %s" % ", ".join(sorted(unknown)))
        with self.state.store.lock:
            for key in allowed & set(settings):
                self.state.store.settings[key] = int(settings[key])
            if usages.SETTING in settings:
                usages.configure(self.state.store, settings[usages.SETTING])
            for type_name, entry in (settings.get("delays") or {}).items():
                for operation, seconds in entry.items():
                    self.state.store.set_delay(type_name, seconds, operation)
            return json.loads(json.dumps(self.state.store.settings))

    def requests(self, since=0):
        return self.state.app.log.entries(since)

    def clear_requests(self):
        self.state.app.log.clear()

    # ---------------------------------------------------------------- http interface
    def handle_http(self, method, subpath, query, body):
        try:
            payload = json.loads(body) if body else {}
        except ValueError:
            return 400, {}, {"error": {"code": "InvalidJson", "message": "body is not JSON"}}
        try:
            return self._route(method, subpath.rstrip("/") or "/", query, payload)
        except (ValueError, TypeError) as exc:
            return 400, {}, {"error": {"code": "InvalidControlRequest", "message": str(exc)}}

    def _route(self, method, subpath, query, payload):
        ok = (200, {})
        if subpath == "/health" and method == "GET":
            return ok + ({"status": "ok", "subscription_id": self.state.arm.subscription_id,
                          "tenant_id": self.state.identity.tenant_id, "client_id": self.state.identity.client_id},)
        if subpath == "/reset" and method == "POST":
            self.reset()
            return ok + ({"reset": True},)
        if subpath == "/seed" and method == "POST":
            resources = payload if isinstance(payload, list) else payload.get("resources", [])
            strict = True if isinstance(payload, list) else payload.get("strict", True)
            return ok + ({"ids": self.seed(resources, strict)},)
        if subpath == "/state" and method == "GET":
            return ok + (self.dump(),)
        if subpath == "/faults":
            if method == "GET":
                return ok + ({"faults": self.state.faults.rules()},)
            if method == "POST":
                return ok + ({"id": self.set_fault(**payload)},)
            if method == "DELETE":
                self.clear_faults()
                return ok + ({"faults": []},)
        if subpath.startswith("/faults/") and method == "DELETE":
            return ok + ({"removed": self.remove_fault(subpath.split("/", 2)[2])},)
        if subpath == "/settings":
            if method == "GET":
                return ok + (self.configure(),)
            if method == "POST":
                return ok + (self.configure(**payload),)
        if subpath == "/delays" and method == "POST":
            self.set_delay(payload["resource_type"], payload["seconds"], payload.get("operation"))
            return ok + (self.configure(),)
        if subpath == "/requests":
            if method == "GET":
                return ok + ({"requests": self.requests(int(query.get("since", 0)))},)
            if method == "DELETE":
                self.clear_requests()
                return ok + ({"requests": []},)
        return 404, {}, {"error": {"code": "NotFound", "message": "no control endpoint %s %s" % (method, subpath)}}
