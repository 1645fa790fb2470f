# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure half of the platform's network: resource group, VNet, subnets, route table.

Same shape as ``aws_network``: ``desired()``, ``describe()``, ``changes()``, ``absent()`` and
``apply()``. Resources are found by name in the resource group and only touched when they carry
the ownership tag; subnets (which take no tags in Azure) belong to the owned VNet and are
managed as child resources, so what other modules attach to them (NSGs) is kept.
"""

from __future__ import annotations

from ansible_collections.hybrid.cluster.plugins.module_utils.aws_network import Change, NetworkError
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import (
    OWNERSHIP_TAG,
    AzureClientError,
    call,
    error_code,
    is_owned,
    wait_for_lro,
)

ROLE_TAG = "hybrid-cluster-role"
GATEWAY_SUBNET = "GatewaySubnet"


def names(plan):
    """Azure resource names derived from the platform name."""
    return {"vnet": "%s-vnet" % plan["name"], "route_table": "%s-nodes" % plan["name"]}


def desired(plan, location, resource_group, tags=None):
    """The wanted Azure network from the plan."""
    name = plan["name"]
    extra = dict(tags or {})

    def tagged(role):
        result = dict(extra)
        result.update({OWNERSHIP_TAG: name, ROLE_TAG: role})
        return result

    resource_names = names(plan)
    subnets = {}
    for subnet in plan["azure"]["subnets"]:
        subnets[subnet["name"]] = {"cidr": subnet["cidr"], "route_table": subnet["name"] != GATEWAY_SUBNET}
    return {
        "resource_group": {"name": resource_group, "location": location, "tags": tagged("resource-group")},
        "route_table": {"name": resource_names["route_table"], "tags": tagged("route-table")},
        "vnet": {"name": resource_names["vnet"], "cidrs": [plan["azure"]["network"]], "tags": tagged("vnet")},
        "subnets": subnets,
    }


def get_or_none(func, *args):
    """The resource, or None when Azure answers 404."""
    try:
        return call(func, *args)
    except AzureClientError as exc:
        cause = exc.__cause__
        if getattr(cause, "status_code", None) == 404 or error_code(cause) in ("ResourceNotFound", "ResourceGroupNotFound", "NotFound"):
            return None
        raise


def rest_form(model):
    """A model as its REST JSON: msrest models (older SDKs) serialize(), newer ones as_dict() already is."""
    serialize = getattr(model, "serialize", None)
    return serialize() if callable(serialize) else model.as_dict()


def describe(clients, plan, resource_group):
    """What exists under the platform's names; ``owned`` says whether it carries the ownership tag."""
    resource_names = names(plan)
    found = {"resource_group": None, "route_table": None, "vnet": None, "subnets": {}}
    group = get_or_none(clients.resource.resource_groups.get, resource_group)
    if group is None:
        return found
    found["resource_group"] = {"name": group.name, "location": group.location, "tags": dict(group.tags or {})}
    table = get_or_none(clients.network.route_tables.get, resource_group, resource_names["route_table"])
    if table is not None:
        found["route_table"] = {"id": table.id, "name": table.name, "tags": dict(table.tags or {})}
    vnet = get_or_none(clients.network.virtual_networks.get, resource_group, resource_names["vnet"])
    if vnet is not None:
        found["vnet"] = {"id": vnet.id, "name": vnet.name, "cidrs": list(vnet.address_space.address_prefixes or []),
                         "tags": dict(vnet.tags or {}), "location": vnet.location}
        for subnet in vnet.subnets or []:
            found["subnets"][subnet.name] = {
                "cidr": subnet.address_prefix or (subnet.address_prefixes or [None])[0],
                "route_table": bool(subnet.route_table) and subnet.route_table.id.lower().endswith("/" + resource_names["route_table"].lower()),
                "body": rest_form(subnet),
            }
    return found


def summary(state):
    """The state without ids and bodies, for diffs."""
    result = {}
    for key in ("resource_group", "route_table", "vnet"):
        item = state.get(key)
        result[key] = None if item is None else {k: v for k, v in item.items() if k in ("name", "location", "tags", "cidrs")}
    result["subnets"] = {k: {"cidr": v["cidr"], "route_table": v["route_table"]} for k, v in (state.get("subnets") or {}).items()}
    return result


def _check_owned(item, kind, plan):
    if item is not None and not is_owned(item["tags"], plan["name"]):
        raise NetworkError("the %s %s exists but does not carry the tag %s=%s; it was not made by this platform, so it is left alone. "
                           "Rename the platform or remove that %s" % (kind, item["name"], OWNERSHIP_TAG, plan["name"], kind))


def changes(clients, plan, current, wanted, location, timeout=1800, purge_subnets=True):
    """Steps that turn ``current`` into ``wanted``."""
    network = clients.network
    group_name = wanted["resource_group"]["name"]
    steps = []
    _check_owned(current["route_table"], "route table", plan)
    _check_owned(current["vnet"], "virtual network", plan)

    if current["resource_group"] is None:
        steps.append(Change("create", "resource-group", group_name, lambda: call(
            clients.resource.resource_groups.create_or_update, group_name,
            {"location": location, "tags": wanted["resource_group"]["tags"]})))

    table = wanted["route_table"]
    if current["route_table"] is None or current["route_table"]["tags"] != table["tags"]:
        action = "create" if current["route_table"] is None else "tag"
        steps.append(Change(action, "route-table", table["name"], lambda: wait_for_lro(call(
            network.route_tables.begin_create_or_update, group_name, table["name"],
            {"location": location, "tags": table["tags"], "properties": {"disableBgpRoutePropagation": False}}), timeout, "route table")))

    vnet = wanted["vnet"]
    have = current["vnet"]
    if have is None or sorted(have["cidrs"]) != sorted(vnet["cidrs"]) or have["tags"] != vnet["tags"]:
        def put_vnet():
            body = {"location": location, "tags": vnet["tags"], "properties": {"addressSpace": {"addressPrefixes": vnet["cidrs"]}}}
            if have is not None:
                # Keep the subnets as they are: a VNet PUT without them would try to delete them.
                body["properties"]["subnets"] = [subnet_body(s["body"]) for s in current["subnets"].values()]
            wait_for_lro(call(network.virtual_networks.begin_create_or_update, group_name, vnet["name"], body), timeout, "virtual network")
        detail = {"cidrs": vnet["cidrs"]}
        steps.append(Change("create" if have is None else "update", "virtual-network", vnet["name"], put_vnet, detail))

    table_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/routeTables/%s" % (
        clients.subscription_id, group_name, table["name"])
    for key, subnet in sorted(wanted["subnets"].items()):
        existing = current["subnets"].get(key)
        if existing and existing["cidr"] == subnet["cidr"] and existing["route_table"] == subnet["route_table"]:
            continue

        def put_subnet(key=key, subnet=subnet, existing=existing):
            body = subnet_body(existing["body"]) if existing else {"properties": {}}
            body.pop("name", None)
            properties = body["properties"]
            properties["addressPrefix"] = subnet["cidr"]
            properties.pop("addressPrefixes", None)
            if subnet["route_table"]:
                properties["routeTable"] = {"id": table_id}
            else:
                properties.pop("routeTable", None)
            wait_for_lro(call(network.subnets.begin_create_or_update, group_name, vnet["name"], key, body), timeout, "subnet %s" % key)
        steps.append(Change("create" if existing is None else "update", "subnet", key, put_subnet, {"cidr": subnet["cidr"]}))
    if purge_subnets:
        for key in sorted(set(current["subnets"]) - set(wanted["subnets"])):
            steps.append(Change("delete", "subnet", key, lambda key=key: wait_for_lro(call(
                network.subnets.begin_delete, group_name, vnet["name"], key), timeout, "subnet %s" % key)))
    return steps


# Writable subnet properties kept when a subnet or its VNet is written again (REST names).
_SUBNET_KEEP = ("addressPrefix", "addressPrefixes", "networkSecurityGroup", "routeTable", "serviceEndpoints",
                "delegations", "privateEndpointNetworkPolicies", "privateLinkServiceNetworkPolicies")


def subnet_body(body):
    """A subnet's writable properties from its REST form (``serialize()``); references reduced to their id."""
    properties = {}
    for key in _SUBNET_KEEP:
        value = (body.get("properties") or {}).get(key)
        if value in (None, [], {}):
            continue
        if isinstance(value, dict) and "id" in value:
            value = {"id": value["id"]}
        properties[key] = value
    return {"name": body.get("name"), "properties": properties}


def absent(clients, plan, current, timeout=1800, warnings=None):
    """Steps that remove what the platform owns: the VNet (and its subnets), the route table, and
    the resource group when the platform created it and nothing else is left in it."""
    network = clients.network
    steps = []
    group = current["resource_group"]
    if group is None:
        return steps
    group_name = group["name"]
    if current["vnet"] is not None and is_owned(current["vnet"]["tags"], plan["name"]):
        steps.append(Change("delete", "virtual-network", current["vnet"]["name"], lambda: wait_for_lro(call(
            network.virtual_networks.begin_delete, group_name, current["vnet"]["name"]), timeout, "virtual network")))
    if current["route_table"] is not None and is_owned(current["route_table"]["tags"], plan["name"]):
        steps.append(Change("delete", "route-table", current["route_table"]["name"], lambda: wait_for_lro(call(
            network.route_tables.begin_delete, group_name, current["route_table"]["name"]), timeout, "route table")))
    if is_owned(group["tags"], plan["name"]) and group["tags"].get(ROLE_TAG) == "resource-group":
        def delete_group_if_empty():
            left = list(call(clients.resource.resources.list_by_resource_group, group_name))
            if left:
                if warnings is not None:
                    warnings.append("resource group %s still holds %d resources the platform did not make (%s); it is kept"
                                    % (group_name, len(left), ", ".join(sorted(r.name for r in left)[:5])))
                return
            wait_for_lro(call(clients.resource.resource_groups.begin_delete, group_name), timeout, "resource group")
        steps.append(Change("delete", "resource-group", group_name, delete_group_if_empty))
    return steps
