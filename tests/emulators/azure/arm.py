"""Azure Resource Manager semantics shared by every resource type.

``ResourceType`` describes one type (table-driven: flags plus a few hooks); ``Arm`` routes a request
path to a type and runs the generic operations on the store: create-or-update as a long-running
operation (201/200 with ``Azure-AsyncOperation``), get, list with ``nextLink`` pages, patch (tags),
delete (202 with polling, 204 when absent), referential integrity, in-use checks, etags and ARM
error bodies.
"""

import copy
import json
import time
import uuid
from urllib.parse import urlencode

from .store import walk_ids

FAILED_STATES = ("Failed", "Canceled")
# Top-level keys the engine manages itself (everything else of a seeded body is kept as given).
_RECORD_KEYS = ("id", "name", "type", "location", "tags", "properties", "etag", "runtime", "powerState")


class ArmError(Exception):
    """An ARM error response: ``{"error": {"code", "message", "target"?, "details"?}}``."""

    def __init__(self, status, code, message, target=None, details=None, headers=None):
        super().__init__("%s %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details
        self.headers = headers or {}

    def body(self):
        error = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        if self.details:
            error["details"] = self.details
        return {"error": error}


def bad_request(code, message, target=None):
    return ArmError(400, code, message, target)


class Response:
    """Status, headers and a JSON-able body (``None`` for no body)."""

    def __init__(self, status, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = headers or {}


class Request:
    """What the handlers need from an HTTP request."""

    def __init__(self, method, path, query, headers, body, base_url):
        self.method = method
        self.path = path
        self.segments = [s for s in path.split("/") if s]
        self.query = query
        self.headers = headers
        self.raw_body = body
        self.base_url = base_url
        self.now = time.time()

    @property
    def api_version(self):
        return self.query.get("api-version")

    def json_object(self):
        if not self.raw_body:
            raise bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                                                       "the body is empty.")
        try:
            value = json.loads(self.raw_body)
        except ValueError as exc:
            raise bad_request("InvalidRequestContent", "The request content was invalid and could not be "
                                                       "deserialized: %s" % exc) from exc
        if not isinstance(value, dict):
            raise bad_request("InvalidRequestContent", "The request content must be a JSON object.")
        return value


class ArmPath:
    """A parsed ``/subscriptions/{s}[/resourceGroups/{g}]/providers/{ns}/{type}/{name}/...`` path."""

    def __init__(self, subscription, resource_group, namespace, types, names, tail):
        self.subscription = subscription
        self.resource_group = resource_group
        self.namespace = namespace
        self.types = types
        self.names = names
        self.tail = tail

    @property
    def scope(self):
        scope = "/subscriptions/%s" % self.subscription
        if self.resource_group is not None:
            scope += "/resourceGroups/%s" % self.resource_group
        return scope

    def type_key(self, count=None):
        count = len(self.types) if count is None else count
        return "/".join([self.namespace] + self.types[:count]).lower()

    def resource_id(self, count=None, canonical=None):
        """Id of the resource made of the first ``count`` type/name pairs (canonical type casing if given)."""
        count = len(self.names) if count is None else count
        types = canonical or self.types
        parts = [self.scope, "providers", self.namespace]
        for index in range(count):
            parts += [types[index], self.names[index]]
        return "/".join(parts)


def parse_provider_path(segments):
    """ArmPath for ``subscriptions/{s}[/resourcegroups/{g}]/providers/{ns}/...`` segments, else None."""
    if len(segments) < 4 or segments[0].lower() != "subscriptions":
        return None
    index = 2
    group = None
    if segments[index].lower() == "resourcegroups":
        if len(segments) < 6:
            return None
        group = segments[index + 1]
        index += 2
    if segments[index].lower() != "providers" or len(segments) < index + 3:
        return None
    namespace = segments[index + 1]
    rest = segments[index + 2:]
    types = rest[0::2]
    names = rest[1::2]
    tail = None
    if len(types) > len(names):
        tail = types.pop()
    return ArmPath(segments[1], group, namespace, types, names, tail)


def new_etag():
    return 'W/"%s"' % uuid.uuid4()


def find_by_id(value, ident):
    """The nested dict whose ``id`` equals ``ident`` (case-insensitive), or None."""
    ident = ident.lower()
    if isinstance(value, dict):
        if isinstance(value.get("id"), str) and value["id"].lower() == ident:
            return value
        values = value.values()
    elif isinstance(value, list):
        values = value
    else:
        return None
    for item in values:
        found = find_by_id(item, ident)
        if found is not None:
            return found
    return None


class Change:
    """Records to write and ids to remove, committed together after every check passed.

    ``pending`` maps the lower-cased id of a parent being written to its new record, so that inline
    children validate against the new parent and against their new siblings only.
    """

    def __init__(self):
        self.puts = []
        self.deletes = []
        self.pending = {}
        self.seeding = False

    def siblings(self, arm, record):
        """Other children of the same type under the same parent, as they will be after the change."""
        parent_id = record["id"].rsplit("/", 2)[0]
        if parent_id.lower() in self.pending:
            return [r for r in self.puts if r["type_key"] == record["type_key"]
                    and r["id"].rsplit("/", 2)[0].lower() == parent_id.lower() and r["id"].lower() != record["id"].lower()]
        return [r for r in arm.store.children(parent_id, record["type_key"])
                if r["id"].lower() != record["id"].lower() and not r.get("deleting")]

    def parent(self, arm, record):
        parent_id = record["id"].rsplit("/", 2)[0]
        return self.pending.get(parent_id.lower()) or arm.store.get(parent_id)


class ResourceType:
    """One ARM resource type. Subclasses override the hooks; most types only set flags.

    * ``tracked``: has location and tags (top-level resources); children inherit location.
    * ``inline``: property name -> child type name for children that are also written inline by
      the parent (VNet ``subnets``, NSG ``securityRules``, route table ``routes``).
    * ``secret_properties``: write-only properties kept out of every response and the state dump.
    * ``in_use``: ``(code, message)`` for deleting something still referenced elsewhere.
    * ``subresources``: path word after the resource -> handler ``f(arm, request, record)``.
    * ``collections``: path word after the resource -> ``f(arm, request, record)`` returning the
      records listed there (paged, then shown with ``Arm.view``).
    * ``top_level_keys``: top-level request keys stored besides location/tags/properties.
    """

    type_name = None
    tracked = True
    etag = True
    readonly = False
    lro_put = True
    delete_headers = ("Azure-AsyncOperation", "Location")
    inline = {}
    secret_properties = ()
    in_use = None
    pending_state = "Updating"
    api_type = None
    top_level_keys = ("sku", "zones", "kind", "identity", "plan", "extendedLocation")
    read_only_properties = ("resourceGuid",)
    list_all = True

    def __init__(self):
        self.key = self.type_name.lower()
        parts = self.type_name.split("/")
        self.namespace = parts[0]
        self.path_types = parts[1:]
        self.parent_key = "/".join(parts[:-1]).lower() if len(parts) > 2 else None
        self.subresources = {}
        self.collections = {}

    # ---------------------------------------------------------------- hooks
    def normalize(self, body):
        """The request body as the service reads it (before references are checked)."""
        return body

    def prepare(self, arm, change, request, record, body, existing):
        """Validate ``body`` and fill ``record['properties']`` (defaults, computed values)."""

    def decorate(self, arm, record, view, expand):
        """Add computed (read-only) fields to a response ``view``."""

    def check_delete(self, arm, record):
        """Refuse the deletion of something still in use (generic: any stored reference from outside)."""
        if not self.in_use:
            return
        refs = arm.store.referrers(record["id"])
        if refs:
            code, message = self.in_use  # pylint: disable=unpacking-non-sequence
            user = refs[0][0]["id"]
            ip_config = arm.ip_configuration_id(refs[0][0], refs[0][1])
            raise bad_request(code, message.format(name=record["name"], id=record["id"], user=ip_config or user))

    def location_of(self, arm, record):
        return record.get("location") or "westeurope"


class Arm:
    """Routing and the generic operations."""

    def __init__(self, store, subscription_id, tenant_id, faults=None):
        self.store = store
        self.subscription_id = subscription_id
        self.tenant_id = tenant_id
        self.faults = faults
        self.types = {}
        self.special = []  # (matcher, handler) for paths outside the provider grammar

    def register(self, resource_type):
        self.types[resource_type.key] = resource_type
        return resource_type

    def type_for(self, type_key):
        return self.types.get(type_key.lower())

    # ---------------------------------------------------------------- state helpers
    def provisioning_state(self, record, now=None):
        now = time.time() if now is None else now
        if record.get("deleting"):
            return "Deleting"
        if now < record.get("ready_at", 0):
            return record.get("pending_state", "Updating")
        if record.get("lro_error"):
            return "Failed"
        return "Succeeded"

    def is_ready(self, record):
        return self.provisioning_state(record) == "Succeeded"

    def location_of(self, record):
        while record is not None:
            if record.get("location"):
                return record["location"]
            parent = record["id"].rsplit("/", 2)[0]
            record = self.store.get(parent)
        return "westeurope"

    def view(self, record, expand=None):
        """The response body for a record (computed fields added, secrets left out)."""
        rtype = self.types[record["type_key"]]
        view = {"name": record["name"], "id": record["id"]}
        if rtype.etag:
            view["etag"] = record["etag"]
        view["type"] = rtype.api_type or rtype.type_name
        if rtype.tracked:
            view["location"] = record.get("location")
            if record.get("tags") is not None:
                view["tags"] = copy.deepcopy(record["tags"])
        for key, value in (record.get("top") or {}).items():
            view[key] = copy.deepcopy(value)
        properties = copy.deepcopy(record.get("properties") or {})
        properties["provisioningState"] = self.provisioning_state(record)
        for prop, child_type in rtype.inline.items():
            children = [c for c in self.store.children(record["id"], child_type.lower()) if not c.get("deleting")]
            properties[prop] = [self.view(c) for c in children]
        view["properties"] = properties
        rtype.decorate(self, record, view, expand)
        return view

    def resolve(self, ident):
        """True when ``ident`` names a resource or an inline part of one (an ip configuration)."""
        record = self.store.get(ident, include_deleting=False)
        if record is not None:
            return True
        parts = ident.rstrip("/").split("/")
        for cut in range(len(parts) - 2, 4, -2):
            parent = self.store.get("/".join(parts[:cut]), include_deleting=False)
            if parent is not None:
                return find_by_id(self.view(parent), ident) is not None
        return False

    def check_references(self, rid, body):
        own = rid.lower()
        for _path, ident in walk_ids(body.get("properties") or {}, ("properties",)):
            lowered = ident.lower()
            if lowered == own or lowered.startswith(own + "/") or not lowered.startswith("/subscriptions/"):
                continue
            if not self.resolve(ident):
                raise bad_request(
                    "InvalidResourceReference",
                    "Resource %s referenced by resource %s was not found. Please make sure that the referenced "
                    "resource exists, and that both resources are in the same region." % (ident, rid))

    def ip_configuration_id(self, record, path):
        """Id of the ip configuration holding a reference at ``path`` of ``record``, if any."""
        if "ipConfigurations" not in path:
            return None
        index = path.index("ipConfigurations")
        container = record
        for key in path[:index + 2]:
            container = container[key]
        return container.get("id") or "%s/ipConfigurations/%s" % (record["id"], container.get("name"))

    def back_refs(self, target_id, types, field):
        """``[{"id": referrer}]`` for records of ``types`` whose ``field`` references ``target_id``."""
        refs = []
        for record, path in self.store.referrers(target_id):
            if record["type_key"] in types and path[-1] == field and not record.get("deleting"):
                if {"id": record["id"]} not in refs:
                    refs.append({"id": record["id"]})
        return refs

    def ip_configuration_refs(self, target_id, types):
        """``[{"id": ipconfig}]`` of the ip configurations (of records of ``types``) that reference ``target_id``."""
        refs = []
        for record, path in self.store.referrers(target_id):
            if record["type_key"] in types and path[-1] in ("subnet", "publicIPAddress"):
                ident = self.ip_configuration_id(record, path)
                if ident and ident.lower().startswith(record["id"].lower()):
                    refs.append({"id": ident})
        return refs

    def new_operation(self, request, record, kind, delay, error=None):
        op_id = str(uuid.uuid4())
        namespace = self.types[record["type_key"]].namespace
        operation = {
            "id": op_id, "kind": kind, "resource_id": record["id"], "created": request.now,
            "ready_at": request.now + delay, "error": error, "namespace": namespace,
            "location": self.location_of(record), "api_version": request.api_version or "2026-03-01",
        }
        return self.store.add_operation(operation)

    def operation_headers(self, request, operation, which=("Azure-AsyncOperation",)):
        base = "%s/subscriptions/%s/providers/%s/locations/%s" % (
            request.base_url, self.subscription_id, operation["namespace"], operation["location"])
        query = "?" + urlencode({"api-version": operation["api_version"]})
        headers = {}
        if "Azure-AsyncOperation" in which:
            headers["Azure-AsyncOperation"] = "%s/operations/%s%s" % (base, operation["id"], query)
        if "Location" in which:
            headers["Location"] = "%s/operationResults/%s%s" % (base, operation["id"], query)
        return headers

    # ---------------------------------------------------------------- errors
    def not_found(self, rtype, rid, path):
        if rtype.parent_key is None:
            return ArmError(404, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found. For more "
                            "details please go to https://aka.ms/ARMResourceNotFoundFix"
                            % (rtype.type_name, path.names[-1], path.resource_group))
        return ArmError(404, "NotFound", "Resource %s not found." % rid)

    def require_scope(self, path):
        if path.subscription.lower() != self.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % path.subscription)
        if path.resource_group is not None:
            group = self.store.get("/subscriptions/%s/resourceGroups/%s" % (path.subscription, path.resource_group),
                                   include_deleting=False)
            if group is None:
                raise ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % path.resource_group)
            return group
        return None

    def require_parents(self, path, count):
        """Records of the first ``count`` ancestors named in ``path`` (404 when one is missing)."""
        parents = []
        for index in range(1, count + 1):
            rtype = self.type_for(path.type_key(index))
            rid = path.resource_id(index, rtype.path_types if rtype else None)
            record = self.store.get(rid, include_deleting=False)
            if record is None:
                if index == 1 and count > 1:
                    raise ArmError(404, "ParentResourceNotFound", "Can not perform requested operation on nested resource. "
                                   "Parent resource '%s' not found." % path.names[0])
                raise self.not_found(rtype, rid, path) if rtype else ArmError(404, "NotFound", "Resource %s not found." % rid)
            parents.append(record)
        return parents

    # ---------------------------------------------------------------- generic operations
    def canonical_id(self, rtype, path):
        group = self.require_scope(path)
        rid = path.resource_id(canonical=rtype.path_types)
        if group is not None:
            rid = group["id"] + rid[len(path.scope):]
        existing = self.store.get(rid)
        return existing["id"] if existing else rid

    def get(self, request, rtype, path):
        self.require_scope(path)
        if len(path.names) > 1:
            self.require_parents(path, len(path.names) - 1)
        rid = path.resource_id(canonical=rtype.path_types)
        record = self.store.get(rid)
        if record is None:
            raise self.not_found(rtype, rid, path)
        return Response(200, self.view(record, request.query.get("$expand")))

    def put(self, request, rtype, path):
        if rtype.readonly:
            raise ArmError(405, "MethodNotAllowed", "The resource type '%s' does not support this operation." % rtype.type_name)
        return self.write(request, rtype, path, request.json_object())

    def write(self, request, rtype, path, body, seeding=False):
        """Create or update the resource at ``path`` from ``body``; ``seeding`` skips timing, faults and checks of ids."""
        rid = self.canonical_id(rtype, path)
        if len(path.names) > 1:
            self.require_parents(path, len(path.names) - 1)
        existing = self.store.get(rid)
        if not seeding:
            self.check_preconditions(request, existing)
        if existing is not None and existing.get("deleting"):
            raise ArmError(409, "AnotherOperationInProgress", "Operation on resource %s cannot be performed because "
                           "it is being deleted." % rid)
        change = Change()
        change.seeding = seeding
        record = self.build_record(request, rtype, rid, path.names[-1], body, existing, change)
        if rtype.inline:
            self.sync_inline(request, rtype, record, body, existing, change)
        delay = 0.0 if seeding else self.store.delay(rtype.key, "put")
        fail = None if seeding else self.failure_fault(request, rtype)
        if fail and not rtype.lro_put:
            raise ArmError(400, fail["code"], fail["message"])
        for item in [record] + change.puts:
            item["ready_at"] = request.now + delay
            item["lro_error"] = fail
        for rid_gone in change.deletes:
            self.store.remove_subtree(rid_gone)
        self.store.put(record)
        for item in change.puts:
            self.store.put(item)
        status = 200 if existing is not None else 201
        headers = {}
        if rtype.lro_put and not seeding:
            operation = self.new_operation(request, record, "put", delay, fail)
            headers = self.operation_headers(request, operation)
        return Response(status, self.view(record), headers)

    def build_record(self, request, rtype, rid, name, body, existing, change):
        """A new record for ``rid`` from ``body`` (inline children are handled by sync_inline)."""
        body = rtype.normalize(body)
        if not change.seeding:
            self.check_references(rid, body)
        record = {
            "id": rid, "name": existing["name"] if existing else name, "type_key": rtype.key,
            "etag": new_etag(), "created": existing["created"] if existing else request.now,
            "pending_state": rtype.pending_state if existing is None else "Updating",
            "secrets": dict(existing.get("secrets") or {}) if existing else {},
            "runtime": copy.deepcopy(existing.get("runtime") or {}) if existing else {},
        }
        if rtype.tracked:
            location = body.get("location")
            if not location:
                raise bad_request("LocationRequired", "The location property is required for this definition.")
            location = location.replace(" ", "").lower()
            if existing is not None and existing.get("location") and existing["location"] != location:
                raise bad_request("InvalidResourceLocation", "The resource '%s' already exists in location '%s' in resource "
                                  "group '%s'. A resource with the same name cannot be created in location '%s'. Please "
                                  "select a new resource name." % (name, existing["location"], rid.split("/")[4], location))
            record["location"] = location
            tags = body.get("tags")
            if tags is not None and not isinstance(tags, dict):
                raise bad_request("InvalidRequestFormat", "Cannot parse the request: tags must be an object.")
            record["tags"] = tags
        record["top"] = {k: copy.deepcopy(v) for k, v in body.items()
                         if k in rtype.top_level_keys or (change.seeding and k not in _RECORD_KEYS)}
        properties = copy.deepcopy(body.get("properties") or {})
        if not isinstance(properties, dict):
            raise bad_request("InvalidRequestFormat", "Cannot parse the request: properties must be an object.")
        properties.pop("provisioningState", None)
        for prop in tuple(rtype.inline) + (() if change.seeding else tuple(rtype.read_only_properties)):
            properties.pop(prop, None)
        if existing is not None and "resourceGuid" in (existing.get("properties") or {}):
            properties["resourceGuid"] = existing["properties"]["resourceGuid"]
        for secret in rtype.secret_properties:
            if secret in properties:
                record["secrets"][secret] = properties.pop(secret)
        record["properties"] = properties
        try:
            rtype.prepare(self, change, request, record, body, existing)
        except ArmError:
            if not change.seeding:
                raise
        return record

    def sync_inline(self, request, rtype, record, body, existing, change):
        """Children written inline by the parent: create/update those listed, delete the others."""
        properties = body.get("properties") or {}
        change.pending[record["id"].lower()] = record
        for prop, child_type_name in rtype.inline.items():
            child_type = self.types[child_type_name.lower()]
            wanted = properties.get(prop) or []
            if not isinstance(wanted, list):
                raise bad_request("InvalidRequestFormat", "Cannot parse the request: %s must be a list." % prop)
            seen = set()
            for item in wanted:
                name = (item or {}).get("name")
                if not name:
                    raise bad_request("InvalidRequestFormat", "Every item of %s needs a name." % prop)
                if name.lower() in seen:
                    raise bad_request("InvalidRequestFormat", "%s '%s' is listed twice." % (prop, name))
                seen.add(name.lower())
                child_id = "%s/%s/%s" % (record["id"], child_type.path_types[-1], name)
                child_existing = self.store.get(child_id)
                child = self.build_record(request, child_type, child_id, name, item, child_existing, change)
                change.puts.append(child)
            if existing is not None:
                for child in self.store.children(record["id"], child_type.key):
                    if child["name"].lower() not in seen:
                        child_type.check_delete(self, child)
                        change.deletes.append(child["id"])

    def patch(self, request, rtype, path):
        """Update tags (and other top-level keys); answers 200 with the resource."""
        self.require_scope(path)
        rid = path.resource_id(canonical=rtype.path_types)
        record = self.store.get(rid, include_deleting=False)
        if record is None:
            raise self.not_found(rtype, rid, path)
        body = request.json_object()
        self.check_preconditions(request, record)
        if "tags" in body:
            record["tags"] = body["tags"]
        for key in rtype.top_level_keys:
            if key in body:
                record.setdefault("top", {})[key] = body[key]
        record["etag"] = new_etag()
        return Response(200, self.view(record))

    def delete(self, request, rtype, path):
        self.require_scope(path)
        rid = path.resource_id(canonical=rtype.path_types)
        record = self.store.get(rid)
        if record is None:
            return Response(204)
        self.check_preconditions(request, record)
        if record.get("deleting"):
            return Response(202, None, self.operation_headers(request, self.new_operation(request, record, "delete", 0),
                                                              rtype.delete_headers))
        rtype.check_delete(self, record)
        return self.start_delete(request, rtype, record)

    def start_delete(self, request, rtype, record):
        delay = self.store.delay(rtype.key, "delete")
        for item in self.store.subtree(record["id"]):
            item["deleting"] = True
        operation = self.new_operation(request, record, "delete", delay)
        if delay <= 0:
            self.store.remove_subtree(record["id"])
            operation["applied"] = True
        return Response(202, None, self.operation_headers(request, operation, rtype.delete_headers))

    def list(self, request, rtype, path, parent=None):
        if parent is not None:
            records = self.store.children(parent["id"], rtype.key)
        else:
            self.require_scope(path)
            if rtype.parent_key is not None:
                raise bad_request("InvalidResourceType", "The resource type '%s' is a nested type." % rtype.type_name)
            if path.resource_group is None and not rtype.list_all:
                raise bad_request("InvalidResourceType", "The resource type '%s' cannot be listed by subscription."
                                  % rtype.type_name)
            scope = path.scope if path.resource_group is None else self.require_scope(path)["id"]
            records = self.store.of_type(rtype.key, scope)
        expand = request.query.get("$expand")
        if str(request.query.get("statusOnly", "")).lower() == "true":
            expand = "instanceView"
        return self.paged(request, [r for r in records if not r.get("deleting")], lambda r: self.view(r, expand))

    def paged(self, request, items, render=None):
        """One page of ``items`` (``render`` turns each item of that page into its response body)."""
        size = max(1, int(self.store.settings["page_size"]))
        token = request.query.get("$skiptoken", "0")
        try:
            start = int(token)
        except ValueError as exc:
            raise bad_request("InvalidSkipToken", "The skip token '%s' is not valid." % token) from exc
        page = items[start:start + size]
        body = {"value": [render(item) for item in page] if render else page}
        if start + size < len(items):
            query = dict(request.query)
            query["$skiptoken"] = str(start + size)
            body["nextLink"] = "%s%s?%s" % (request.base_url, request.path, urlencode(query))
        return Response(200, body)

    def check_preconditions(self, request, record):
        if_match = request.headers.get("If-Match")
        if if_match and if_match != "*" and (record is None or record.get("etag") != if_match):
            raise ArmError(412, "PreconditionFailed", "The condition specified using HTTP conditional header(s) is not met.")
        if if_match == "*" and record is None:
            raise ArmError(412, "PreconditionFailed", "The resource does not exist.")
        if request.headers.get("If-None-Match") == "*" and record is not None:
            raise ArmError(412, "PreconditionFailed", "The resource already exists.")

    def failure_fault(self, request, rtype):
        if self.faults is None:
            return None
        rules = self.faults.pick(request.method, request.path, rtype.type_name, kinds=("fail_operation",))
        if not rules:
            return None
        rule = rules[0]
        return {"code": rule.code or "InternalServerError",
                "message": rule.message or "An error occurred while the operation was running (injected)."}

    # ---------------------------------------------------------------- operations status
    def operation_status(self, request, op_id, results):
        operation = self.store.operations.get(op_id)
        if operation is None:
            raise ArmError(404, "OperationNotFound", "The operation '%s' could not be found." % op_id)
        done = request.now >= operation["ready_at"]
        retry_after = int(self.store.settings.get("poll_retry_after") or 0)
        if not done:
            headers = {"Retry-After": str(retry_after)} if retry_after > 0 else {}
            if results:
                headers.update(self.operation_headers(request, operation, ("Location",)))
                return Response(202, None, headers)
            return Response(200, {"name": op_id, "status": "InProgress", "startTime": _iso(operation["created"])}, headers)
        if results:
            if operation["error"]:
                raise ArmError(400, operation["error"]["code"], operation["error"]["message"])
            record = self.store.get(operation["resource_id"], include_deleting=False)
            if operation["kind"] == "delete" or record is None:
                return Response(204)
            return Response(200, self.view(record))
        body = {"name": op_id, "status": "Failed" if operation["error"] else "Succeeded",
                "startTime": _iso(operation["created"]), "endTime": _iso(operation["ready_at"])}
        if operation["error"]:
            body["error"] = dict(operation["error"])
        return Response(200, body)

    # ---------------------------------------------------------------- routing
    def handle(self, request):
        segments = request.segments
        lowered = [s.lower() for s in segments]
        for matcher, handler in self.special:
            match = matcher(lowered)
            if match is not None:
                return handler(self, request, match)
        path = parse_provider_path(segments)
        if path is None:
            raise ArmError(404, "NotFound", "No HTTP resource was found that matches the request URI '%s'." % request.path)
        if path.resource_group is None and path.tail is None and len(path.types) == 2 \
                and path.types[0].lower() == "locations" and path.types[1].lower() in ("operations", "operationresults"):
            if path.subscription.lower() != self.subscription_id.lower():
                raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % path.subscription)
            return self.operation_status(request, path.names[1], path.types[1].lower() == "operationresults")
        return self.route(request, path)

    def route(self, request, path):
        method = request.method
        if not path.names:  # collection at subscription or resource group scope
            rtype = self.type_for(path.type_key(0) + "/" + path.tail.lower())
            if rtype is None:
                raise self.unknown_type(path.namespace, path.tail)
            if method != "GET":
                raise ArmError(405, "MethodNotAllowed", "The collection does not support %s." % method)
            return self.list(request, rtype, path)
        rtype = self.type_for(path.type_key())
        if rtype is None:
            raise self.unknown_type(path.namespace, "/".join(path.types))
        if path.tail is None:
            handler = {"GET": self.get, "PUT": self.put, "DELETE": self.delete, "PATCH": self.patch}.get(method)
            if handler is None:
                raise ArmError(405, "MethodNotAllowed", "The resource does not support %s." % method)
            return handler(request, rtype, path)
        tail = path.tail.lower()
        child_type = self.type_for(path.type_key() + "/" + tail)
        self.require_scope(path)
        parents = self.require_parents(path, len(path.names))
        record = parents[-1]
        if child_type is not None and method == "GET":
            return self.list(request, child_type, path, parent=record)
        if tail in rtype.collections and method == "GET":
            return self.paged(request, rtype.collections[tail](self, request, record), self.view)
        if tail in rtype.subresources:
            return rtype.subresources[tail](self, request, record)
        raise self.unknown_type(path.namespace, "/".join(path.types + [path.tail]))

    @staticmethod
    def unknown_type(namespace, type_path):
        return bad_request("InvalidResourceType", "The resource type '%s' could not be found in the namespace '%s'."
                           % (type_path, namespace))


def _iso(timestamp):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp)) + ".%06dZ" % int((timestamp % 1) * 1e6)


def iso_time(timestamp):
    return _iso(timestamp)
