# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure end of the site-to-site VPN: public IPs, the active-active gateway, local gateways, connections.

Same shape as ``aws_vpn``. The gateway takes 30-45 minutes to provision in Azure, so its
long-running operation is split: ``start_gateway()`` sends the request and returns the poller,
the caller builds the AWS end meanwhile, and ``finish_gateway()`` waits. Shared keys are write-only
on a connection; they are compared through the connection's ``sharedkey`` sub-resource.
"""

from __future__ import annotations

import time

from ansible_collections.hybrid.cluster.plugins.module_utils.aws_network import Change, NetworkError
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import OWNERSHIP_TAG, call, is_owned, wait_for_lro
from ansible_collections.hybrid.cluster.plugins.module_utils.azure_network import get_or_none, rest_form, names as network_names
from ansible_collections.hybrid.cluster.plugins.module_utils import vpn

ROLE_TAG = "hybrid-cluster-role"
PROVIDER = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/%s/%s"


def names(plan):
    name = plan["name"]
    return {
        "gateway": "%s-vpngw" % name,
        "public_ips": ["%s-vpngw-ip-%d" % (name, i) for i in (1, 2)],
        "ip_configurations": ["ipconfig-%d" % i for i in (1, 2)],
        "tunnels": ["%s-aws-tunnel-%d" % (name, t["index"]) for t in plan["vpn"]["tunnels"]],
    }


def _tags(plan, role, extra):
    tags = dict(extra or {})
    tags.update({OWNERSHIP_TAG: plan["name"], ROLE_TAG: role})
    return tags


def _check_owned(plan, kind, name, tags):
    if not is_owned(tags, plan["name"]):
        raise NetworkError("the %s %s exists but does not carry the tag %s=%s; it was not made by this platform and is left alone"
                           % (kind, name, OWNERSHIP_TAG, plan["name"]))


def describe(clients, plan, group):
    """What exists under the platform's names; keys are never read here."""
    network = clients.network
    resource_names = names(plan)
    found = {"public_ips": [], "gateway": None, "local_gateways": {}, "connections": {}}
    for pip_name in resource_names["public_ips"]:
        pip = get_or_none(network.public_ip_addresses.get, group, pip_name)
        found["public_ips"].append(None if pip is None else {"id": pip.id, "name": pip.name, "ip": pip.ip_address, "tags": dict(pip.tags or {})})
    gateway = get_or_none(network.virtual_network_gateways.get, group, resource_names["gateway"])
    if gateway is not None:
        body = rest_form(gateway)
        properties = body.get("properties") or {}
        bgp = properties.get("bgpSettings") or {}
        found["gateway"] = {
            "id": gateway.id, "name": gateway.name, "tags": dict(gateway.tags or {}),
            "state": properties.get("provisioningState"),
            "sku": (properties.get("sku") or {}).get("name"),
            "active_active": bool(properties.get("activeActive")),
            "bgp": bool(properties.get("enableBgp")),
            "asn": bgp.get("asn"),
            "custom": [sorted(p.get("customBgpIpAddresses") or []) for p in bgp.get("bgpPeeringAddresses") or []],
            "ip_configurations": [{"id": c.get("id"), "public_ip": ((c.get("properties") or {}).get("publicIPAddress") or {}).get("id")}
                                  for c in properties.get("ipConfigurations") or []],
        }
    for tunnel, tunnel_name in zip(plan["vpn"]["tunnels"], resource_names["tunnels"]):
        lng = get_or_none(network.local_network_gateways.get, group, tunnel_name)
        if lng is not None:
            properties = rest_form(lng).get("properties") or {}
            bgp = properties.get("bgpSettings") or {}
            found["local_gateways"][tunnel["index"]] = {
                "id": lng.id, "name": lng.name, "tags": dict(lng.tags or {}), "ip": properties.get("gatewayIpAddress"),
                "asn": bgp.get("asn"), "peer": bgp.get("bgpPeeringAddress"),
                "prefixes": sorted((properties.get("localNetworkAddressSpace") or {}).get("addressPrefixes") or [])}
        connection = get_or_none(network.virtual_network_gateway_connections.get, group, tunnel_name)
        if connection is not None:
            properties = rest_form(connection).get("properties") or {}
            found["connections"][tunnel["index"]] = {
                "id": connection.id, "name": connection.name, "tags": dict(connection.tags or {}),
                "bgp": bool(properties.get("enableBgp")), "status": properties.get("connectionStatus"),
                "local_gateway": ((properties.get("localNetworkGateway2") or {}).get("id") or "").lower(),
                "custom": sorted((c.get("ipConfigurationId", "").lower(), c.get("customBgpIpAddress"))
                                 for c in properties.get("gatewayCustomBgpIpAddresses") or []),
                "ipsec": [dict(p) for p in properties.get("ipsecPolicies") or []],
            }
    return found


def public_ip_steps(clients, plan, group, location, current, sku, tags, timeout):
    """Two static Standard public IPs for the gateway (zone-redundant for the AZ SKUs)."""
    steps = []
    for position, pip_name in enumerate(names(plan)["public_ips"]):
        have = current["public_ips"][position]
        if have is not None:
            _check_owned(plan, "public IP address", pip_name, have["tags"])
            continue
        body = {"location": location, "tags": _tags(plan, "vpn-gateway-ip", tags), "sku": {"name": "Standard", "tier": "Regional"},
                "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"}}
        if sku.endswith("AZ"):
            body["zones"] = ["1", "2", "3"]
        steps.append(Change("create", "public-ip", pip_name, lambda pip_name=pip_name, body=body: wait_for_lro(call(
            clients.network.public_ip_addresses.begin_create_or_update, group, pip_name, body), timeout, "public IP %s" % pip_name)))
    return steps


def gateway_body(clients, plan, group, location, sku, routing, tags):
    resource_names = names(plan)
    sub = clients.subscription_id
    vnet = network_names(plan)["vnet"]
    subnet_id = PROVIDER % (sub, group, "virtualNetworks", vnet) + "/subnets/GatewaySubnet"
    gateway_id = PROVIDER % (sub, group, "virtualNetworkGateways", resource_names["gateway"])
    configs = []
    for config_name, pip_name in zip(resource_names["ip_configurations"], resource_names["public_ips"]):
        configs.append({"name": config_name, "properties": {
            "privateIPAllocationMethod": "Dynamic", "subnet": {"id": subnet_id},
            "publicIPAddress": {"id": PROVIDER % (sub, group, "publicIPAddresses", pip_name)}}})
    properties = {"gatewayType": "Vpn", "vpnType": "RouteBased", "vpnGatewayGeneration": "Generation2",
                  "sku": {"name": sku, "tier": sku}, "activeActive": True, "enableBgp": routing == "bgp", "ipConfigurations": configs}
    if routing == "bgp":
        properties["bgpSettings"] = {"asn": plan["vpn"]["azure_asn"], "bgpPeeringAddresses": [
            {"ipconfigurationId": "%s/ipConfigurations/%s" % (gateway_id, config_name), "customBgpIpAddresses": addresses}
            for config_name, addresses in zip(resource_names["ip_configurations"], plan["vpn"]["azure_bgp_addresses"])]}
    return {"location": location, "tags": _tags(plan, "vpn-gateway", tags), "properties": properties}


def gateway_differs(plan, current, sku, routing):
    """What about the existing gateway differs from the design (empty when nothing)."""
    have = current["gateway"]
    differences = []
    if have["sku"] != sku:
        differences.append("sku %s -> %s" % (have["sku"], sku))
    if not have["active_active"]:
        differences.append("active-active off")
    if have["bgp"] != (routing == "bgp"):
        differences.append("BGP %s" % ("off" if not have["bgp"] else "on"))
    if routing == "bgp":
        if int(have["asn"] or 0) != plan["vpn"]["azure_asn"]:
            differences.append("ASN %s -> %s" % (have["asn"], plan["vpn"]["azure_asn"]))
        if have["custom"] != [sorted(a) for a in plan["vpn"]["azure_bgp_addresses"]]:
            differences.append("custom BGP addresses")
    return differences


def start_gateway(clients, plan, group, location, current, sku, routing, tags):
    """Send the gateway's create or update; returns ``(step, poller holder)``. Nothing is sent in check mode."""
    name = names(plan)["gateway"]
    have = current["gateway"]
    if have is not None:
        _check_owned(plan, "virtual network gateway", name, have["tags"])
        differences = gateway_differs(plan, current, sku, routing)
        if not differences:
            return None, None
        detail = {"differences": differences}
    else:
        detail = {"sku": sku, "active_active": True, "bgp": routing == "bgp"}
    holder = {}

    def begin():
        holder["poller"] = call(clients.network.virtual_network_gateways.begin_create_or_update, group, name,
                                gateway_body(clients, plan, group, location, sku, routing, tags))
    return Change("create" if have is None else "update", "vpn-gateway", name, begin, detail), holder


def finish_gateway(clients, plan, group, holder, timeout, sleep=None, clock=None):
    """Wait for the gateway: for this run's operation, or for one an earlier (interrupted) run started."""
    if holder and holder.get("poller") is not None:
        wait_for_lro(holder["poller"], timeout, "the virtual network gateway")
        return
    sleep = sleep or time.sleep
    clock = clock or time.monotonic
    deadline = clock() + timeout
    name = names(plan)["gateway"]
    while True:
        gateway = get_or_none(clients.network.virtual_network_gateways.get, group, name)
        state = None if gateway is None else gateway.provisioning_state
        if state == "Succeeded":
            return
        if state in ("Failed", "Canceled", None):
            raise NetworkError("the virtual network gateway %s is %s; run again to recreate it" % (name, state or "missing"))
        if clock() >= deadline:
            raise NetworkError("timed out after %s seconds waiting for the virtual network gateway %s (still %s)" % (timeout, name, state))
        sleep(5)


def tunnel_steps(clients, plan, group, location, current, pairs, keys, routing, tags, timeout, aws_cidrs):
    """Local network gateways and connections, one per AWS tunnel, with their shared keys."""
    network = clients.network
    steps = []
    resource_names = names(plan)
    gateway_id = PROVIDER % (clients.subscription_id, group, "virtualNetworkGateways", resource_names["gateway"])
    config_ids = ["%s/ipConfigurations/%s" % (gateway_id, c) for c in resource_names["ip_configurations"]]
    pairs = vpn.with_other_instance_addresses(plan, pairs)
    for pair, tunnel_name, key in zip(pairs, resource_names["tunnels"], keys):
        index = pair["index"]
        lng_body = vpn.local_network_gateway(pair, routing, aws_cidrs)
        have_lng = current["local_gateways"].get(index)
        if have_lng is not None:
            _check_owned(plan, "local network gateway", tunnel_name, have_lng["tags"])
        wanted_lng = (lng_body["gatewayIpAddress"], (lng_body.get("bgpSettings") or {}).get("asn"),
                      (lng_body.get("bgpSettings") or {}).get("bgpPeeringAddress"), sorted(lng_body["localNetworkAddressSpace"]["addressPrefixes"]))
        if have_lng is None or (have_lng["ip"], have_lng["asn"], have_lng["peer"], have_lng["prefixes"]) != wanted_lng:
            body = {"location": location, "tags": _tags(plan, "aws-tunnel", tags), "properties": lng_body}
            steps.append(Change("create" if have_lng is None else "update", "local-network-gateway", tunnel_name,
                                lambda tunnel_name=tunnel_name, body=body: wait_for_lro(call(
                                    network.local_network_gateways.begin_create_or_update, group, tunnel_name, body), timeout,
                                    "local network gateway %s" % tunnel_name),
                                {"aws_outside_ip": pair["aws_outside_ip"], "inside_cidr": pair["inside_cidr"]}))
        lng_id = PROVIDER % (clients.subscription_id, group, "localNetworkGateways", tunnel_name)
        conn_body = vpn.azure_connection(pair, routing, config_ids, lng_id, gateway_id, key)
        have = current["connections"].get(index)
        if have is not None:
            _check_owned(plan, "connection", tunnel_name, have["tags"])
        wanted_custom = sorted((c["ipConfigurationId"].lower(), c["customBgpIpAddress"]) for c in conn_body.get("gatewayCustomBgpIpAddresses") or [])
        same = (have is not None and have["bgp"] == conn_body["enableBgp"] and have["local_gateway"] == lng_id.lower()
                and have["custom"] == wanted_custom and len(have["ipsec"]) == 1)
        if not same:
            body = {"location": location, "tags": _tags(plan, "aws-tunnel", tags), "properties": conn_body}
            steps.append(Change("create" if have is None else "update", "vpn-connection", tunnel_name,
                                lambda tunnel_name=tunnel_name, body=body: wait_for_lro(call(
                                    network.virtual_network_gateway_connections.begin_create_or_update, group, tunnel_name, body),
                                    timeout, "connection %s" % tunnel_name),
                                {"bgp": conn_body["enableBgp"], "tunnel": index}))
        elif shared_key(clients, group, tunnel_name) != key:
            steps.append(Change("rekey", "vpn-connection", tunnel_name, lambda tunnel_name=tunnel_name, key=key: wait_for_lro(call(
                network.virtual_network_gateway_connections.begin_set_shared_key, group, tunnel_name, {"value": key}), timeout,
                "shared key of %s" % tunnel_name), {"tunnel": index}))
    return steps


def shared_key(clients, group, connection_name):
    result = get_or_none(clients.network.virtual_network_gateway_connections.get_shared_key, group, connection_name)
    return None if result is None else result.value


def absent(clients, plan, group, current, timeout):
    """Steps that remove the Azure end: connections, local gateways, the gateway, its public IPs."""
    network = clients.network
    steps = []
    for connection in [current["connections"][i] for i in sorted(current["connections"])]:
        if is_owned(connection["tags"], plan["name"]):
            steps.append(Change("delete", "vpn-connection", connection["name"], lambda connection=connection: wait_for_lro(call(
                network.virtual_network_gateway_connections.begin_delete, group, connection["name"]), timeout, "connection")))
    for lng in [current["local_gateways"][i] for i in sorted(current["local_gateways"])]:
        if is_owned(lng["tags"], plan["name"]):
            steps.append(Change("delete", "local-network-gateway", lng["name"], lambda lng=lng: wait_for_lro(call(
                network.local_network_gateways.begin_delete, group, lng["name"]), timeout, "local network gateway")))
    gateway = current["gateway"]
    if gateway is not None and is_owned(gateway["tags"], plan["name"]):
        steps.append(Change("delete", "vpn-gateway", gateway["name"], lambda: wait_for_lro(call(
            network.virtual_network_gateways.begin_delete, group, gateway["name"]), timeout, "virtual network gateway")))
    for pip in current["public_ips"]:
        if pip is not None and is_owned(pip["tags"], plan["name"]):
            steps.append(Change("delete", "public-ip", pip["name"], lambda pip=pip: wait_for_lro(call(
                network.public_ip_addresses.begin_delete, group, pip["name"]), timeout, "public IP")))
    return steps


def gateway_public_ips(clients, plan, group):
    """The two public IP addresses, instance 0 first (after the IPs exist)."""
    return [get_or_none(clients.network.public_ip_addresses.get, group, n).ip_address for n in names(plan)["public_ips"]]
