"""Microsoft.Resources: the subscription, resource groups and the generic resource list."""

import re

from .arm import ArmError, Change, ResourceType, Response, bad_request

_FILTER_TERM = re.compile(r"(tagName|tagValue|resourceType|name)\s+eq\s+'((?:[^']|'')*)'", re.IGNORECASE)


class ResourceGroup(ResourceType):
    type_name = "Microsoft.Resources/resourceGroups"
    etag = False
    lro_put = False
    delete_headers = ("Location",)
    top_level_keys = ("managedBy",)
    pending_state = "Succeeded"

    def decorate(self, arm, record, view, expand):
        view["properties"] = {"provisioningState": "Deleting" if record.get("deleting") else "Succeeded"}


def parse_filter(text):
    """``$filter`` terms this emulator understands, as a dict (tagName, tagValue, resourceType, name)."""
    if not text:
        return {}
    terms = {m.group(1).lower(): m.group(2).replace("''", "'") for m in _FILTER_TERM.finditer(text)}
    if not terms:
        raise bad_request("InvalidFilterInQueryString", "Invalid $filter '%s' specified in the query string." % text)
    return terms


def matches_filter(record, view_type, terms):
    tags = record.get("tags") or {}
    if "tagname" in terms:
        key = next((k for k in tags if k.lower() == terms["tagname"].lower()), None)
        if key is None:
            return False
        if "tagvalue" in terms and tags[key] != terms["tagvalue"]:
            return False
    if "resourcetype" in terms and view_type.lower() != terms["resourcetype"].lower():
        return False
    if "name" in terms and record["name"].lower() != terms["name"].lower():
        return False
    return True


class ResourceGroups:
    """Handlers for paths outside the ``providers`` grammar."""

    def __init__(self, arm):
        self.arm = arm
        self.type = arm.register(ResourceGroup())
        arm.special.append((self.match, self.dispatch))

    @staticmethod
    def match(lowered):
        if not lowered or lowered[0] != "subscriptions":
            return None
        if len(lowered) == 1:
            return ("subscriptions",)
        if len(lowered) == 2:
            return ("subscription",)
        if len(lowered) == 3 and lowered[2] == "resourcegroups":
            return ("groups",)
        if len(lowered) == 3 and lowered[2] == "resources":
            return ("resources",)
        if len(lowered) == 4 and lowered[2] == "resourcegroups":
            return ("group",)
        if len(lowered) == 5 and lowered[2] == "resourcegroups" and lowered[4] == "resources":
            return ("resources",)
        return None

    def dispatch(self, arm, request, match):
        kind = match[0]
        if kind == "subscriptions":
            return Response(200, {"value": [self.subscription_view()]})
        if request.segments[1].lower() != arm.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % request.segments[1])
        if kind == "subscription":
            return Response(200, self.subscription_view())
        if request.method != "GET" and kind != "group":
            raise ArmError(405, "MethodNotAllowed", "The collection does not support %s." % request.method)
        if kind == "groups":
            terms = parse_filter(request.query.get("$filter"))
            groups = [r for r in arm.store.of_type(self.type.key, "/subscriptions/" + arm.subscription_id)
                      if not r.get("deleting") and matches_filter(r, self.type.type_name, terms)]
            return arm.paged(request, [arm.view(g) for g in groups])
        if kind == "resources":
            return self.resources(request)
        return self.group(request)

    def subscription_view(self):
        sub = self.arm.subscription_id
        return {"id": "/subscriptions/" + sub, "subscriptionId": sub, "tenantId": self.arm.tenant_id,
                "displayName": "hybrid.cluster emulated subscription", "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                         "spendingLimit": "Off"},
                "authorizationSource": "RoleBased"}

    def group(self, request):
        arm = self.arm
        name = request.segments[3]
        rid = "/subscriptions/%s/resourceGroups/%s" % (arm.subscription_id, name)
        existing = arm.store.get(rid)
        method = request.method
        if method in ("GET", "HEAD"):
            if existing is None or existing.get("deleting"):
                if method == "HEAD":
                    return Response(404)
                raise ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % name)
            return Response(204 if method == "HEAD" else 200, None if method == "HEAD" else arm.view(existing))
        if method == "PUT":
            if existing is not None and existing.get("deleting"):
                raise ArmError(409, "ResourceGroupBeingDeleted", "The resource group '%s' is in deprovisioning state and "
                               "cannot perform this operation." % existing["name"])
            body = request.json_object()
            record = arm.build_record(request, self.type, existing["id"] if existing else rid, name, body, existing, Change())
            record["ready_at"] = request.now
            arm.store.put(record)
            return Response(200 if existing else 201, arm.view(record))
        if method == "PATCH":
            if existing is None or existing.get("deleting"):
                raise ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % name)
            body = request.json_object()
            if "tags" in body:
                existing["tags"] = body["tags"]
            return Response(200, arm.view(existing))
        if method == "DELETE":
            if existing is None:
                raise ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % name)
            return arm.start_delete(request, self.type, existing)
        raise ArmError(405, "MethodNotAllowed", "The resource does not support %s." % method)

    def resources(self, request):
        """GET .../resources: top-level tracked resources (no children, no groups), with $filter."""
        arm = self.arm
        scope = "/subscriptions/" + arm.subscription_id
        if len(request.segments) == 5:
            group = arm.store.get("%s/resourceGroups/%s" % (scope, request.segments[3]), include_deleting=False)
            if group is None:
                raise ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % request.segments[3])
            scope = group["id"]
        terms = parse_filter(request.query.get("$filter"))
        items = []
        for record in list(arm.store.records.values()):
            rtype = arm.types[record["type_key"]]
            if record.get("deleting") or rtype is self.type or rtype.parent_key is not None or not rtype.tracked:
                continue
            if not record["id"].lower().startswith(scope.lower() + "/"):
                continue
            view_type = rtype.api_type or rtype.type_name
            if not matches_filter(record, view_type, terms):
                continue
            item = {"id": record["id"], "name": record["name"], "type": view_type, "location": record.get("location")}
            if record.get("tags") is not None:
                item["tags"] = record["tags"]
            for key in ("sku", "kind", "zones"):
                if key in (record.get("top") or {}):
                    item[key] = record["top"][key]
            if request.query.get("$expand") and "provisioningState" in request.query["$expand"]:
                item["provisioningState"] = arm.provisioning_state(record)
            items.append(item)
        return arm.paged(request, items)
