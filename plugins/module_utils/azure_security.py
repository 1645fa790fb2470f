# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Azure network security groups from the port matrix: one NSG per node role, on that role's subnet.

Same shape as ``aws_security``: ``describe()``, ``changes()``, ``absent()``. Rules are compared
by name and content; the NSG is written whole (its rules inline) when they differ, keeping rules
the platform did not make unless ``purge_rules`` is set.
"""

from __future__ import annotations

from ansible_collections.hybrid.cluster.plugins.module_utils.aws_network import Change, NetworkError
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import OWNERSHIP_TAG, call, is_owned, wait_for_lro
from ansible_collections.hybrid.cluster.plugins.module_utils.azure_network import get_or_none, rest_form, subnet_body, names as network_names
from ansible_collections.hybrid.cluster.plugins.module_utils.ports import ROLES

ROLE_TAG = "hybrid-cluster-role"
OWN_RULE_PREFIX = "hc-"
_COMPARED = ("priority", "direction", "access", "protocol", "sourceAddressPrefix", "sourceAddressPrefixes", "sourcePortRange",
             "destinationAddressPrefixes", "destinationPortRanges", "description")


def nsg_name(plan, role):
    return "%s-%s-nsg" % (plan["name"], role.replace("_", "-"))


def rest_rule(rule):
    """A rule from ``ports.azure_rules`` in REST form."""
    properties = {
        "priority": rule["priority"],
        "direction": rule["direction"],
        "access": rule["access"],
        "protocol": rule["protocol"],
        "sourcePortRange": rule["source_port_range"],
        "destinationAddressPrefixes": list(rule["destination_address_prefixes"]),
        "destinationPortRanges": list(rule["destination_port_ranges"]),
        "description": rule["description"],
    }
    if "source_address_prefix" in rule:
        properties["sourceAddressPrefix"] = rule["source_address_prefix"]
    else:
        properties["sourceAddressPrefixes"] = list(rule["source_address_prefixes"])
    return {"name": rule["name"], "properties": properties}


def _comparable(rule):
    properties = rule.get("properties") or {}
    result = {}
    for key in _COMPARED:
        value = properties.get(key)
        if value in (None, [], ""):
            continue
        result[key] = sorted(value) if isinstance(value, list) else value
    return result


def describe(clients, plan, resource_group):
    """The platform's NSGs and which node subnets use them."""
    found = {"nsgs": {}, "subnets": {}}
    for role in ROLES:
        nsg = get_or_none(clients.network.network_security_groups.get, resource_group, nsg_name(plan, role))
        if nsg is None:
            continue
        rules = {r["name"]: r for r in (rest_form(nsg).get("properties") or {}).get("securityRules") or []}
        found["nsgs"][role] = {"id": nsg.id, "name": nsg.name, "tags": dict(nsg.tags or {}), "rules": rules}
    vnet = get_or_none(clients.network.virtual_networks.get, resource_group, network_names(plan)["vnet"])
    for subnet in (vnet.subnets if vnet is not None else None) or []:
        body = rest_form(subnet)
        found["subnets"][subnet.name] = {"nsg": ((body.get("properties") or {}).get("networkSecurityGroup") or {}).get("id"), "body": body}
    return found


def summary(state):
    """Rules per role as readable lines, for diffs and results."""
    result = {}
    for role, nsg in sorted(state["nsgs"].items()):
        lines = []
        for name, rule in sorted(nsg["rules"].items(), key=lambda kv: (kv[1].get("properties") or {}).get("priority", 0)):
            p = rule.get("properties") or {}
            sources = p.get("sourceAddressPrefixes") or [p.get("sourceAddressPrefix")]
            lines.append("%s %s %s %s %s from %s (%s)" % (p.get("priority"), p.get("access"), p.get("protocol"),
                                                          ",".join(p.get("destinationPortRanges") or [p.get("destinationPortRange") or "*"]),
                                                          p.get("direction"), ",".join(s for s in sources if s), name))
        result[role] = lines
    return result


def changes(clients, plan, resource_group, location, current, rules, tags, timeout=1800, purge_rules=True):
    """Steps that create or rewrite NSGs and attach each to its role's subnets."""
    network = clients.network
    steps = []
    wanted_state = {"nsgs": {}, "subnets": {}}
    for role in ROLES:
        name = nsg_name(plan, role)
        have = current["nsgs"].get(role)
        if have is not None and not is_owned(have["tags"], plan["name"]):
            raise NetworkError("the network security group %s exists but does not carry the tag %s=%s; it is left alone"
                               % (name, OWNERSHIP_TAG, plan["name"]))
        wanted_rules = {r["name"]: rest_rule(r) for r in rules[role]}
        if have is not None and not purge_rules:
            for rule_name, rule in have["rules"].items():
                if not rule_name.startswith(OWN_RULE_PREFIX):
                    wanted_rules.setdefault(rule_name, rule)
        wanted_tags = dict(tags or {})
        wanted_tags.update({OWNERSHIP_TAG: plan["name"], ROLE_TAG: "nsg-" + role})
        wanted_state["nsgs"][role] = {"rules": wanted_rules}
        same_rules = have is not None and {k: _comparable(v) for k, v in have["rules"].items()} == {k: _comparable(v) for k, v in wanted_rules.items()}
        if have is None or not same_rules or have["tags"] != wanted_tags:
            body = {"location": location, "tags": wanted_tags,
                    "properties": {"securityRules": [{"name": k, "properties": v["properties"]} for k, v in sorted(wanted_rules.items())]}}
            detail = {"rules": len(wanted_rules)}
            if have is not None:
                detail["added"] = sorted(set(wanted_rules) - set(have["rules"]))
                detail["removed"] = sorted(set(have["rules"]) - set(wanted_rules))
            steps.append(Change("create" if have is None else "update", "network-security-group", name,
                                lambda name=name, body=body: wait_for_lro(call(network.network_security_groups.begin_create_or_update,
                                                                               resource_group, name, body), timeout, "NSG %s" % name),
                                detail))
    nsg_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/networkSecurityGroups/%s"
    vnet_name = network_names(plan)["vnet"]
    for subnet in plan["azure"]["subnets"]:
        if subnet["role"] not in ROLES:
            continue
        wanted_id = nsg_id % (clients.subscription_id, resource_group, nsg_name(plan, subnet["role"]))
        have = current["subnets"].get(subnet["name"])
        if have is None:
            raise NetworkError("subnet %s is not in VNet %s; run hybrid.cluster.cloud_network first" % (subnet["name"], vnet_name))
        if (have["nsg"] or "").lower() == wanted_id.lower():
            continue

        def attach(subnet=subnet["name"], have=have, wanted_id=wanted_id):
            body = subnet_body(have["body"])
            body.pop("name", None)
            body["properties"]["networkSecurityGroup"] = {"id": wanted_id}
            wait_for_lro(call(network.subnets.begin_create_or_update, resource_group, vnet_name, subnet, body), timeout, "subnet %s" % subnet)
        steps.append(Change("attach", "network-security-group", nsg_name(plan, subnet["role"]), attach, {"subnet": subnet["name"]}))
    return steps, wanted_state


def absent(clients, plan, resource_group, current, timeout=1800):
    """Steps that detach the platform's NSGs from subnets and delete them."""
    network = clients.network
    steps = []
    owned = {role: nsg for role, nsg in current["nsgs"].items() if is_owned(nsg["tags"], plan["name"])}
    owned_ids = {nsg["id"].lower() for nsg in owned.values()}
    vnet_name = network_names(plan)["vnet"]
    for subnet_name, subnet in sorted(current["subnets"].items()):
        if (subnet["nsg"] or "").lower() in owned_ids:
            def detach(subnet_name=subnet_name, subnet=subnet):
                body = subnet_body(subnet["body"])
                body.pop("name", None)
                body["properties"].pop("networkSecurityGroup", None)
                wait_for_lro(call(network.subnets.begin_create_or_update, resource_group, vnet_name, subnet_name, body), timeout,
                             "subnet %s" % subnet_name)
            steps.append(Change("detach", "network-security-group", subnet_name, detach))
    for role in sorted(owned):
        name = owned[role]["name"]
        steps.append(Change("delete", "network-security-group", name, lambda name=name: wait_for_lro(call(
            network.network_security_groups.begin_delete, resource_group, name), timeout, "NSG %s" % name)))
    return steps
