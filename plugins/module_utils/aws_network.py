# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS half of the platform's network: VPC, subnets, route table, internet gateway.

Same shape as ``azure_network``: ``desired()`` builds the wanted state from the address plan,
``describe()`` reads what exists (found by the ownership tags, never by name alone),
``changes()`` compares the two into a list of ``Change`` steps, and ``apply()`` runs them. In
check mode the steps are listed and nothing is called. ``absent()`` lists the steps that remove
everything the platform owns, in dependency order.
"""

from __future__ import annotations

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import (
    OWNER_TAG_KEY,
    diff_tags,
    owner_filters,
    tag_specifications,
    tags_from_aws,
    tags_to_aws,
)

ROLE_TAG_KEY = "hybrid-cluster-role"


class NetworkError(ValueError):
    """The cloud holds something the plan cannot reach by changing it in place."""


class Change:
    """One step: what it does (for reports and check mode) and how (a callable, run in order)."""

    def __init__(self, action, kind, name, run, detail=None):
        self.action = action
        self.kind = kind
        self.name = name
        self.run = run
        self.detail = detail or {}

    def to_dict(self):
        result = {"action": self.action, "resource": self.kind, "name": self.name}
        if self.detail:
            result["detail"] = self.detail
        return result


def _zone(region, zone):
    return zone if len(zone) > 1 else region + zone


def desired(plan, region, internet_gateway=False, tags=None):
    """The wanted AWS network from the plan: ``{vpc, subnets, route_table, internet_gateway}``."""
    name = plan["name"]
    extra = dict(tags or {})

    def tagged(resource_name, role):
        result = dict(extra)
        result.update({"Name": resource_name, OWNER_TAG_KEY: name, ROLE_TAG_KEY: role})
        return result

    section = plan["aws"]
    subnets = {}
    for subnet in section["subnets"]:
        subnets[subnet["name"]] = {"cidr": subnet["cidr"], "zone": _zone(region, subnet.get("zone") or "a"),
                                   "tags": tagged(subnet["name"], subnet["role"])}
    return {
        "vpc": {"cidr": section["network"], "tags": tagged("%s-vpc" % name, "vpc")},
        "subnets": subnets,
        "route_table": {"tags": tagged("%s-nodes" % name, "route-table"), "subnets": sorted(subnets)},
        "internet_gateway": {"tags": tagged("%s-igw" % name, "internet-gateway")} if internet_gateway else None,
    }


def describe(ec2, name):
    """What the platform owns in this region, found by the ownership tag."""
    found = {"vpc": None, "subnets": {}, "route_table": None, "internet_gateway": None}
    vpcs = ec2.collect("describe_vpcs", "Vpcs", Filters=owner_filters(name, {"tag:" + ROLE_TAG_KEY: "vpc"}))
    if len(vpcs) > 1:
        raise NetworkError("%d VPCs carry %s=%s: %s; remove the extra ones" % (len(vpcs), OWNER_TAG_KEY, name, ", ".join(v["VpcId"] for v in vpcs)))
    if not vpcs:
        return found
    vpc = vpcs[0]
    vpc_id = vpc["VpcId"]
    found["vpc"] = {"id": vpc_id, "cidr": vpc["CidrBlock"], "tags": tags_from_aws(vpc.get("Tags"))}
    subnet_ids = {}
    for subnet in ec2.collect("describe_subnets", "Subnets", Filters=owner_filters(name, {"vpc-id": vpc_id})):
        tags = tags_from_aws(subnet.get("Tags"))
        key = tags.get("Name") or subnet["SubnetId"]
        found["subnets"][key] = {"id": subnet["SubnetId"], "cidr": subnet["CidrBlock"], "zone": subnet["AvailabilityZone"], "tags": tags}
        subnet_ids[subnet["SubnetId"]] = key
    tables = ec2.collect("describe_route_tables", "RouteTables", Filters=owner_filters(name, {"vpc-id": vpc_id}))
    if tables:
        table = tables[0]
        found["route_table"] = {
            "id": table["RouteTableId"],
            "tags": tags_from_aws(table.get("Tags")),
            "associations": {subnet_ids.get(a["SubnetId"], a["SubnetId"]): a["RouteTableAssociationId"]
                             for a in table.get("Associations") or [] if a.get("SubnetId")},
            "default_route": any(r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("GatewayId", "").startswith("igw-")
                                 for r in table.get("Routes") or []),
        }
    gateways = ec2.collect("describe_internet_gateways", "InternetGateways", Filters=owner_filters(name))
    for gateway in gateways:
        attached = [a["VpcId"] for a in gateway.get("Attachments") or []]
        found["internet_gateway"] = {"id": gateway["InternetGatewayId"], "tags": tags_from_aws(gateway.get("Tags")),
                                     "attached": vpc_id in attached}
    return found


def summary(state):
    """The state without cloud ids, for diffs."""
    if state is None:
        return None
    result = {"vpc": None, "subnets": {}, "route_table": None, "internet_gateway": None}
    if state.get("vpc"):
        result["vpc"] = {"cidr": state["vpc"]["cidr"], "tags": state["vpc"]["tags"]}
    for key, subnet in (state.get("subnets") or {}).items():
        result["subnets"][key] = {"cidr": subnet["cidr"], "zone": subnet["zone"], "tags": subnet["tags"]}
    table = state.get("route_table")
    if table:
        result["route_table"] = {"tags": table["tags"], "subnets": sorted(table.get("associations") or table.get("subnets") or [])}
    if state.get("internet_gateway"):
        result["internet_gateway"] = {"tags": state["internet_gateway"]["tags"]}
    return result


def _tag_changes(ec2, kind, name, resource_id_ref, current_tags, wanted_tags):
    to_set, to_remove = diff_tags(current_tags, wanted_tags)
    changes = []
    if to_set:
        changes.append(Change("tag", kind, name, lambda: ec2.create_tags(Resources=[resource_id_ref()], Tags=tags_to_aws(to_set)),
                              {"set": sorted(to_set)}))
    if to_remove:
        changes.append(Change("untag", kind, name, lambda: ec2.delete_tags(Resources=[resource_id_ref()], Tags=[{"Key": k} for k in to_remove]),
                              {"remove": to_remove}))
    return changes


def changes(ec2, current, wanted, purge_subnets=True):
    """Steps that turn ``current`` into ``wanted``; fails on what cannot change in place."""
    steps = []
    ids = {"vpc": (current["vpc"] or {}).get("id"), "subnets": {k: v["id"] for k, v in current["subnets"].items()},
           "route_table": (current["route_table"] or {}).get("id"),
           "internet_gateway": (current["internet_gateway"] or {}).get("id")}

    # VPC
    if current["vpc"] is None:
        def create_vpc():
            result = ec2.create_vpc(CidrBlock=wanted["vpc"]["cidr"], TagSpecifications=tag_specifications("vpc", wanted["vpc"]["tags"]))
            ids["vpc"] = result["Vpc"]["VpcId"]
            ec2.wait("vpc_available", VpcIds=[ids["vpc"]])
        steps.append(Change("create", "vpc", wanted["vpc"]["tags"]["Name"], create_vpc, {"cidr": wanted["vpc"]["cidr"]}))
    else:
        if current["vpc"]["cidr"] != wanted["vpc"]["cidr"]:
            raise NetworkError("VPC %s has CIDR %s but the plan says %s; AWS cannot change a VPC's primary CIDR. Keep the plan's "
                               "ranges stable, or remove the network (state: absent) and create it again"
                               % (current["vpc"]["id"], current["vpc"]["cidr"], wanted["vpc"]["cidr"]))
        steps += _tag_changes(ec2, "vpc", wanted["vpc"]["tags"]["Name"], lambda: ids["vpc"], current["vpc"]["tags"], wanted["vpc"]["tags"])

    # Subnets
    for key, subnet in sorted(wanted["subnets"].items()):
        have = current["subnets"].get(key)
        if have is None:
            def create_subnet(key=key, subnet=subnet):
                result = ec2.create_subnet(VpcId=ids["vpc"], CidrBlock=subnet["cidr"], AvailabilityZone=subnet["zone"],
                                           TagSpecifications=tag_specifications("subnet", subnet["tags"]))
                ids["subnets"][key] = result["Subnet"]["SubnetId"]
            steps.append(Change("create", "subnet", key, create_subnet, {"cidr": subnet["cidr"], "zone": subnet["zone"]}))
            continue
        if (have["cidr"], have["zone"]) != (subnet["cidr"], subnet["zone"]):
            raise NetworkError("subnet %s (%s) is %s in %s but the plan says %s in %s; AWS cannot move a subnet. Keep the plan's "
                               "ranges stable, or delete the subnet first" % (key, have["id"], have["cidr"], have["zone"], subnet["cidr"], subnet["zone"]))
        steps += _tag_changes(ec2, "subnet", key, lambda key=key: ids["subnets"][key], have["tags"], subnet["tags"])
    if purge_subnets:
        for key, have in sorted(current["subnets"].items()):
            if key not in wanted["subnets"]:
                steps.append(Change("delete", "subnet", key, lambda have=have: ec2.delete_subnet(SubnetId=have["id"]), {"cidr": have["cidr"]}))

    # Route table and its associations
    table_name = wanted["route_table"]["tags"]["Name"]
    associations = dict((current["route_table"] or {}).get("associations") or {})
    if current["route_table"] is None:
        def create_table():
            result = ec2.create_route_table(VpcId=ids["vpc"], TagSpecifications=tag_specifications("route-table", wanted["route_table"]["tags"]))
            ids["route_table"] = result["RouteTable"]["RouteTableId"]
        steps.append(Change("create", "route-table", table_name, create_table))
    else:
        steps += _tag_changes(ec2, "route-table", table_name, lambda: ids["route_table"], current["route_table"]["tags"], wanted["route_table"]["tags"])
    for key in wanted["route_table"]["subnets"]:
        if key not in associations:
            steps.append(Change("associate", "route-table", table_name,
                                lambda key=key: ec2.associate_route_table(RouteTableId=ids["route_table"], SubnetId=ids["subnets"][key]),
                                {"subnet": key}))

    # Internet gateway
    gateway = current["internet_gateway"]
    if wanted["internet_gateway"] is not None:
        if gateway is None:
            def create_gateway():
                result = ec2.create_internet_gateway(TagSpecifications=tag_specifications("internet-gateway", wanted["internet_gateway"]["tags"]))
                ids["internet_gateway"] = result["InternetGateway"]["InternetGatewayId"]
            steps.append(Change("create", "internet-gateway", wanted["internet_gateway"]["tags"]["Name"], create_gateway))
        if gateway is None or not gateway["attached"]:
            steps.append(Change("attach", "internet-gateway", wanted["internet_gateway"]["tags"]["Name"],
                                lambda: ec2.attach_internet_gateway(InternetGatewayId=ids["internet_gateway"], VpcId=ids["vpc"])))
        if not (current["route_table"] or {}).get("default_route"):
            steps.append(Change("route", "route-table", table_name,
                                lambda: ec2.create_route(RouteTableId=ids["route_table"], DestinationCidrBlock="0.0.0.0/0",
                                                         GatewayId=ids["internet_gateway"]), {"destination": "0.0.0.0/0"}))
    elif gateway is not None:
        if (current["route_table"] or {}).get("default_route"):
            steps.append(Change("unroute", "route-table", table_name,
                                lambda: ec2.delete_route(RouteTableId=ids["route_table"], DestinationCidrBlock="0.0.0.0/0")))
        steps += _remove_gateway(ec2, gateway, ids)
    return steps


def _remove_gateway(ec2, gateway, ids):
    steps = []
    if gateway["attached"]:
        steps.append(Change("detach", "internet-gateway", gateway["tags"].get("Name", gateway["id"]),
                            lambda: ec2.detach_internet_gateway(InternetGatewayId=gateway["id"], VpcId=ids["vpc"])))
    steps.append(Change("delete", "internet-gateway", gateway["tags"].get("Name", gateway["id"]),
                        lambda: ec2.delete_internet_gateway(InternetGatewayId=gateway["id"])))
    return steps


def absent(ec2, current):
    """Steps that remove everything the platform owns, in dependency order."""
    steps = []
    ids = {"vpc": (current["vpc"] or {}).get("id")}
    table = current["route_table"]
    if table:
        name = table["tags"].get("Name", table["id"])
        for key, association in sorted(table["associations"].items()):
            steps.append(Change("disassociate", "route-table", name,
                                lambda association=association: ec2.disassociate_route_table(AssociationId=association), {"subnet": key}))
        steps.append(Change("delete", "route-table", name, lambda: ec2.delete_route_table(RouteTableId=table["id"])))
    for key, subnet in sorted(current["subnets"].items()):
        steps.append(Change("delete", "subnet", key, lambda subnet=subnet: ec2.delete_subnet(SubnetId=subnet["id"])))
    if current["internet_gateway"]:
        steps += _remove_gateway(ec2, current["internet_gateway"], ids)
    if current["vpc"]:
        steps.append(Change("delete", "vpc", current["vpc"]["tags"].get("Name", current["vpc"]["id"]),
                            lambda: ec2.delete_vpc(VpcId=current["vpc"]["id"])))
    return steps


def apply(steps):
    """Run the steps in order."""
    for step in steps:
        step.run()
