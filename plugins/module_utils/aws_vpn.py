# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The AWS end of the site-to-site VPN: gateway, customer gateways, VPN connections, routes.

Same shape as ``azure_vpn``: ``describe()`` finds what the platform owns by its tags,
``changes()`` lists the steps to reach the design, ``absent()`` the steps to remove it.
The VPC side is a virtual private gateway (``vgw``) or a transit gateway (``transit``).
Pre-shared keys are read back from ``DescribeVpnConnections`` and never put in a step's detail.
"""

from __future__ import annotations

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import OWNER_TAG_KEY, owner_filters, tag_specifications, tags_from_aws
from ansible_collections.hybrid.cluster.plugins.module_utils.aws_network import ROLE_TAG_KEY, Change, NetworkError
from ansible_collections.hybrid.cluster.plugins.module_utils import vpn

GONE = ("deleted", "deleting")


def _tags(plan, role, name, extra):
    tags = dict(extra or {})
    tags.update({"Name": name, OWNER_TAG_KEY: plan["name"], ROLE_TAG_KEY: role})
    return tags


def _owned(items, plan, role):
    """Filter in code too: moto ignores tag filters on some describe calls."""
    out = []
    for item in items:
        tags = tags_from_aws(item.get("Tags"))
        if tags.get(OWNER_TAG_KEY) == plan["name"] and tags.get(ROLE_TAG_KEY) == role and item.get("State") not in GONE:
            out.append(dict(item, tags=tags))
    return out


def describe(ec2, plan, vpc_id):
    """The platform's AWS VPN resources."""
    found = {"vgw": None, "tgw": None, "tgw_attachment": None, "customer_gateways": {}, "connections": {}}
    vgws = _owned(ec2.collect("describe_vpn_gateways", "VpnGateways", Filters=owner_filters(plan["name"])), plan, "vpn-gateway")
    if vgws:
        vgw = vgws[0]
        found["vgw"] = {"id": vgw["VpnGatewayId"], "asn": vgw.get("AmazonSideAsn"),
                        "attached": any(a.get("VpcId") == vpc_id and a.get("State") in ("attached", "attaching")
                                        for a in vgw.get("VpcAttachments") or [])}
    tgws = _owned(ec2.collect("describe_transit_gateways", "TransitGateways", Filters=owner_filters(plan["name"])), plan, "transit-gateway")
    if tgws:
        tgw = tgws[0]
        found["tgw"] = {"id": tgw["TransitGatewayId"], "asn": (tgw.get("Options") or {}).get("AmazonSideAsn")}
        attachments = ec2.collect("describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments",
                                  Filters=[{"Name": "transit-gateway-id", "Values": [tgw["TransitGatewayId"]]}])
        for attachment in attachments:
            if attachment.get("VpcId") == vpc_id and attachment.get("State") not in GONE:
                found["tgw_attachment"] = {"id": attachment["TransitGatewayAttachmentId"]}
    for index in (1, 2):
        cgws = _owned(ec2.collect("describe_customer_gateways", "CustomerGateways", Filters=owner_filters(plan["name"])),
                      plan, "customer-gateway-%d" % index)
        if cgws:
            cgw = cgws[0]
            found["customer_gateways"][index] = {"id": cgw["CustomerGatewayId"], "ip": cgw.get("IpAddress"), "asn": int(cgw.get("BgpAsn") or 0)}
        connections = _owned(ec2.collect("describe_vpn_connections", "VpnConnections", Filters=owner_filters(plan["name"])),
                             plan, "vpn-connection-%d" % index)
        if connections:
            found["connections"][index] = _connection(connections[0])
    return found


def _connection(item):
    options = item.get("Options") or {}
    tunnels = []
    for tunnel in options.get("TunnelOptions") or []:
        tunnels.append({"outside_ip": tunnel.get("OutsideIpAddress"), "inside_cidr": tunnel.get("TunnelInsideCidr"),
                        "psk": tunnel.get("PreSharedKey")})
    if not any(t["outside_ip"] for t in tunnels):
        outside = [t.get("OutsideIpAddress") for t in item.get("VgwTelemetry") or []]
        for position, address in enumerate(outside[:len(tunnels)]):
            tunnels[position]["outside_ip"] = address
    status = {t.get("OutsideIpAddress"): t.get("Status") for t in item.get("VgwTelemetry") or []}
    return {
        "id": item["VpnConnectionId"],
        "state": item.get("State"),
        "customer_gateway_id": item.get("CustomerGatewayId"),
        "vpn_gateway_id": item.get("VpnGatewayId"),
        "transit_gateway_id": item.get("TransitGatewayId"),
        "static": bool(options.get("StaticRoutesOnly")),
        "tunnels": tunnels,
        "routes": sorted(r["DestinationCidrBlock"] for r in item.get("Routes") or [] if r.get("State") not in GONE),
        "status": status,
    }


def existing_keys(plan, current):
    """Pre-shared keys configured today, by the plan's tunnel index (1-4), matched on inside ranges."""
    keys = {}
    for tunnel in plan["vpn"]["tunnels"]:
        connection = current["connections"].get(tunnel["aws_connection"])
        for item in (connection or {}).get("tunnels") or []:
            if item["inside_cidr"] == tunnel["inside_cidr"] and item["psk"]:
                keys[tunnel["index"]] = item["psk"]
    return keys


def outside_ips(plan, current):
    """``{connection: [outside ip of its first tunnel, second tunnel]}`` in the plan's tunnel order."""
    result = {}
    for index, connection in current["connections"].items():
        by_cidr = {t["inside_cidr"]: t["outside_ip"] for t in connection["tunnels"]}
        ordered = [t["inside_cidr"] for t in plan["vpn"]["tunnels"] if t["aws_connection"] == index]
        if all(by_cidr.get(c) for c in ordered):
            result[index] = [by_cidr[c] for c in ordered]
        else:
            result[index] = [t["outside_ip"] for t in connection["tunnels"]]
    return result


def changes(ec2, plan, vpc_id, route_table_ids, current, azure_ips, keys, routing, gateway, tags, wait_timeout):
    """Steps for the AWS end. ``azure_ips``: the Azure gateway's two public IPs (instance 0 first)."""
    steps = []
    ids = {"vgw": (current["vgw"] or {}).get("id"), "tgw": (current["tgw"] or {}).get("id"),
           "cgw": {i: c["id"] for i, c in current["customer_gateways"].items()},
           "vpn": {i: c["id"] for i, c in current["connections"].items()}}
    aws_asn = plan["vpn"]["aws_asn"]
    azure_asn = plan["vpn"]["azure_asn"]
    name = plan["name"]

    if gateway == "vgw":
        if current["vgw"] is None:
            def create_vgw():
                result = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=aws_asn,
                                                TagSpecifications=tag_specifications("vpn-gateway", _tags(plan, "vpn-gateway", "%s-vgw" % name, tags)))
                ids["vgw"] = result["VpnGateway"]["VpnGatewayId"]
            steps.append(Change("create", "vpn-gateway", "%s-vgw" % name, create_vgw, {"asn": aws_asn}))
        elif int(current["vgw"]["asn"] or aws_asn) != aws_asn:
            raise NetworkError("virtual private gateway %s has ASN %s but the plan says %s; AWS cannot change it. Remove the VPN "
                               "(state: absent) and run again" % (current["vgw"]["id"], current["vgw"]["asn"], aws_asn))
        if current["vgw"] is None or not current["vgw"]["attached"]:
            def attach_vgw():
                ec2.attach_vpn_gateway(VpnGatewayId=ids["vgw"], VpcId=vpc_id)
            steps.append(Change("attach", "vpn-gateway", "%s-vgw" % name, attach_vgw, {"vpc": vpc_id}))
    else:
        if current["tgw"] is None:
            def create_tgw():
                result = ec2.create_transit_gateway(
                    Description="hybrid.cluster %s" % name,
                    Options={"AmazonSideAsn": aws_asn, "VpnEcmpSupport": "enable", "DefaultRouteTableAssociation": "enable",
                             "DefaultRouteTablePropagation": "enable"},
                    TagSpecifications=tag_specifications("transit-gateway", _tags(plan, "transit-gateway", "%s-tgw" % name, tags)))
                ids["tgw"] = result["TransitGateway"]["TransitGatewayId"]
                ec2.poll(lambda: ec2.describe_transit_gateways(TransitGatewayIds=[ids["tgw"]])["TransitGateways"][0],
                         lambda item: item.get("State") == "available", timeout=wait_timeout, delay=2, what="transit gateway")
            steps.append(Change("create", "transit-gateway", "%s-tgw" % name, create_tgw, {"asn": aws_asn}))
        if current["tgw_attachment"] is None:
            def attach_tgw():
                subnets = ec2.collect("describe_subnets", "Subnets", Filters=owner_filters(name, {"vpc-id": vpc_id}))
                by_zone = {}
                for subnet in sorted(subnets, key=lambda s: s["SubnetId"]):
                    by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
                ec2.create_transit_gateway_vpc_attachment(
                    TransitGatewayId=ids["tgw"], VpcId=vpc_id, SubnetIds=sorted(by_zone.values()),
                    TagSpecifications=tag_specifications("transit-gateway-attachment", _tags(plan, "tgw-attachment", "%s-tgw-vpc" % name, tags)))
            steps.append(Change("attach", "transit-gateway", "%s-tgw" % name, attach_tgw, {"vpc": vpc_id}))

    for index in (1, 2):
        have = current["customer_gateways"].get(index)
        wanted_ip = azure_ips[index - 1]
        cgw_name = "%s-azure-%d" % (name, index)
        if have is not None and (have["ip"] != wanted_ip or have["asn"] != azure_asn):
            raise NetworkError("customer gateway %s points at %s (ASN %s) but the Azure gateway instance %d has %s (ASN %s); "
                               "remove the VPN (state: absent) and run again"
                               % (have["id"], have["ip"], have["asn"], index - 1, wanted_ip, azure_asn))
        if have is None:
            def create_cgw(index=index, wanted_ip=wanted_ip, cgw_name=cgw_name):
                result = ec2.create_customer_gateway(
                    Type="ipsec.1", IpAddress=wanted_ip, BgpAsn=azure_asn,
                    TagSpecifications=tag_specifications("customer-gateway", _tags(plan, "customer-gateway-%d" % index, cgw_name, tags)))
                ids["cgw"][index] = result["CustomerGateway"]["CustomerGatewayId"]
            steps.append(Change("create", "customer-gateway", cgw_name, create_cgw, {"ip": wanted_ip, "asn": azure_asn}))

    options = vpn.aws_tunnel_options(plan, keys)
    for index in (1, 2):
        have = current["connections"].get(index)
        conn_name = "%s-vpn-%d" % (name, index)
        wanted_cidrs = [o["TunnelInsideCidr"] for o in options[index]]
        if have is None:
            def create_connection(index=index, conn_name=conn_name):
                params = {"Type": "ipsec.1", "CustomerGatewayId": ids["cgw"][index],
                          "Options": {"StaticRoutesOnly": routing == "static", "TunnelInsideIpVersion": "ipv4",
                                      "TunnelOptions": options[index]},
                          "TagSpecifications": tag_specifications("vpn-connection", _tags(plan, "vpn-connection-%d" % index, conn_name, tags))}
                if gateway == "vgw":
                    params["VpnGatewayId"] = ids["vgw"]
                else:
                    params["TransitGatewayId"] = ids["tgw"]
                result = ec2.create_vpn_connection(**params)
                ids["vpn"][index] = result["VpnConnection"]["VpnConnectionId"]
            steps.append(Change("create", "vpn-connection", conn_name, create_connection, {"tunnels": wanted_cidrs, "static": routing == "static"}))
            continue
        if have["static"] != (routing == "static"):
            raise NetworkError("VPN connection %s uses %s routing but %s was asked; AWS cannot switch it in place. Remove the VPN "
                               "(state: absent) and run again" % (have["id"], "static" if have["static"] else "BGP", routing))
        for position, option in enumerate(options[index]):
            tunnel = (have["tunnels"] + [{}, {}])[position]
            if tunnel.get("inside_cidr") == option["TunnelInsideCidr"] and tunnel.get("psk") == option["PreSharedKey"]:
                continue
            if not tunnel.get("outside_ip"):
                raise NetworkError("VPN connection %s reports no outside IP for tunnel %d; wait until AWS has assigned it" % (have["id"], position + 1))

            def modify(have=have, tunnel=tunnel, option=option):
                ec2.modify_vpn_tunnel_options(VpnConnectionId=have["id"], VpnTunnelOutsideIpAddress=tunnel["outside_ip"],
                                              TunnelOptions={"TunnelInsideCidr": option["TunnelInsideCidr"], "PreSharedKey": option["PreSharedKey"]})
            steps.append(Change("modify", "vpn-connection", conn_name, modify, {"tunnel": position + 1}))

    # Wait until both connections are available: their tunnel outside IPs are needed by Azure.
    if any(s.kind in ("vpn-connection",) for s in steps) or any(c["state"] != "available" for c in current["connections"].values()):
        def wait_available():
            ec2.poll(lambda: ec2.describe_vpn_connections(VpnConnectionIds=[ids["vpn"][1], ids["vpn"][2]])["VpnConnections"],
                     lambda items: len(items) == 2 and all(i.get("State") == "available" for i in items),
                     timeout=wait_timeout, delay=2, what="VPN connections")
        steps.append(Change("wait", "vpn-connection", "%s-vpn" % name, wait_available))

    azure_cidrs = vpn.static_routes(plan, "azure")
    if routing == "static":
        for index in (1, 2):
            have_routes = (current["connections"].get(index) or {}).get("routes") or []
            for cidr in azure_cidrs:
                if gateway == "vgw" and cidr not in have_routes:
                    steps.append(Change("route", "vpn-connection", "%s-vpn-%d" % (name, index),
                                        lambda index=index, cidr=cidr: ec2.create_vpn_connection_route(VpnConnectionId=ids["vpn"][index],
                                                                                                       DestinationCidrBlock=cidr),
                                        {"destination": cidr}))
    steps += _vpc_routes(ec2, route_table_ids, ids, gateway, azure_cidrs, name)
    return steps, ids


def _vpc_routes(ec2, route_table_ids, ids, gateway, azure_cidrs, name):
    """Route the Azure ranges from the VPC: VGW route propagation, or routes to the transit gateway."""
    steps = []
    for table_id in route_table_ids:
        table = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
        routes = {r.get("DestinationCidrBlock"): r for r in table.get("Routes") or []}
        propagating = {p.get("GatewayId") for p in table.get("PropagatingVgws") or []}
        if gateway == "vgw":
            # Propagation carries both BGP-learned routes and the connections' static routes.
            if ids["vgw"] is None or ids["vgw"] not in propagating:
                steps.append(Change("propagate", "route-table", table_id,
                                    lambda table_id=table_id: ec2.enable_vgw_route_propagation(RouteTableId=table_id, GatewayId=ids["vgw"])))
            continue
        for cidr in azure_cidrs:
            if ids["tgw"] is not None and (routes.get(cidr) or {}).get("TransitGatewayId") == ids["tgw"]:
                continue
            steps.append(Change("route", "route-table", table_id,
                                lambda table_id=table_id, cidr=cidr: ec2.create_route(RouteTableId=table_id, DestinationCidrBlock=cidr,
                                                                                      TransitGatewayId=ids["tgw"]),
                                {"destination": cidr, "via": "%s-tgw" % name}))
    return steps


def absent(ec2, plan, vpc_id, route_table_ids, current, wait_timeout):
    """Steps that remove the AWS end in reverse order."""
    steps = []
    azure_cidrs = vpn.static_routes(plan, "azure")
    for table_id in route_table_ids:
        table = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
        owned_targets = {(current["vgw"] or {}).get("id"), (current["tgw"] or {}).get("id")} - {None}
        for route in table.get("Routes") or []:
            if route.get("DestinationCidrBlock") in azure_cidrs and (route.get("GatewayId") in owned_targets or route.get("TransitGatewayId") in owned_targets):
                steps.append(Change("unroute", "route-table", table_id, lambda table_id=table_id, cidr=route["DestinationCidrBlock"]:
                                    ec2.delete_route(RouteTableId=table_id, DestinationCidrBlock=cidr)))
        if current["vgw"] and current["vgw"]["id"] in {p.get("GatewayId") for p in table.get("PropagatingVgws") or []}:
            steps.append(Change("unpropagate", "route-table", table_id, lambda table_id=table_id: ec2.disable_vgw_route_propagation(
                RouteTableId=table_id, GatewayId=current["vgw"]["id"])))
    for index, connection in sorted(current["connections"].items()):
        steps.append(Change("delete", "vpn-connection", "%s-vpn-%d" % (plan["name"], index),
                            lambda connection=connection: ec2.delete_vpn_connection(VpnConnectionId=connection["id"])))
    for index, cgw in sorted(current["customer_gateways"].items()):
        steps.append(Change("delete", "customer-gateway", "%s-azure-%d" % (plan["name"], index),
                            lambda cgw=cgw: ec2.delete_customer_gateway(CustomerGatewayId=cgw["id"])))
    if current["vgw"]:
        vgw = current["vgw"]
        if vgw["attached"]:
            steps.append(Change("detach", "vpn-gateway", "%s-vgw" % plan["name"],
                                lambda: ec2.detach_vpn_gateway(VpnGatewayId=vgw["id"], VpcId=vpc_id)))
        steps.append(Change("delete", "vpn-gateway", "%s-vgw" % plan["name"], lambda: ec2.delete_vpn_gateway(VpnGatewayId=vgw["id"])))
    if current["tgw_attachment"]:
        attachment = current["tgw_attachment"]
        steps.append(Change("detach", "transit-gateway", "%s-tgw" % plan["name"], lambda: ec2.delete_transit_gateway_vpc_attachment(
            TransitGatewayAttachmentId=attachment["id"])))
    if current["tgw"]:
        tgw = current["tgw"]
        steps.append(Change("delete", "transit-gateway", "%s-tgw" % plan["name"], lambda: ec2.delete_transit_gateway(TransitGatewayId=tgw["id"])))
    return steps


def tunnel_status(current):
    """``{outside ip: UP|DOWN}`` from the connections' telemetry."""
    status = {}
    for connection in current["connections"].values():
        status.update({k: v for k, v in connection["status"].items() if k})
    return status
