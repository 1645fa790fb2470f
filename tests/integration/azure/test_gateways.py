"""VPN resources: active-active BGP gateway, local network gateways, connections and shared keys."""

import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ansible_collections.hybrid.cluster.plugins.module_utils.azure import AzureClientError, error_code, wait_for_lro

from tests.integration.azure.arm_helpers import LOC, make_group, make_vnet

GATEWAY_TYPE = "Microsoft.Network/virtualNetworkGateways"


def make_pip(clients, name):
    return wait_for_lro(clients.network.public_ip_addresses.begin_create_or_update(
        "rg1", name, {"location": LOC, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}}), 30)


def gateway_body(clients, subnet_id, pips, active=True, custom=("169.254.21.2", "169.254.22.2")):
    gw_id = "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworkGateways/gw1" % clients.subscription_id
    configs = [{"name": "ipconfig%d" % i, "properties": {"subnet": {"id": subnet_id}, "publicIPAddress": {"id": pip.id}}}
               for i, pip in enumerate(pips, 1)]
    return {
        "location": LOC,
        "properties": {
            "gatewayType": "Vpn", "vpnType": "RouteBased", "sku": {"name": "VpnGw2AZ", "tier": "VpnGw2AZ"},
            "activeActive": active, "enableBgp": True, "ipConfigurations": configs,
            "bgpSettings": {"asn": 65010, "bgpPeeringAddresses": [
                {"ipconfigurationId": "%s/ipConfigurations/%s" % (gw_id, c["name"]), "customBgpIpAddresses": [address]}
                for c, address in zip(configs, custom)]},
        },
    }


@pytest.fixture
def network(azure_clients):
    make_group(azure_clients)
    vnet = make_vnet(azure_clients)
    subnets = {s.name: s.id for s in vnet.subnets}
    pips = [make_pip(azure_clients, "gw-pip1"), make_pip(azure_clients, "gw-pip2")]
    return subnets, pips


def test_active_active_bgp_gateway(azure_clients, network):
    subnets, pips = network
    gateway = wait_for_lro(azure_clients.network.virtual_network_gateways.begin_create_or_update(
        "rg1", "gw1", gateway_body(azure_clients, subnets["GatewaySubnet"], pips)), 30)
    assert gateway.provisioning_state == "Succeeded"
    assert gateway.active_active is True and gateway.enable_bgp is True
    bgp = gateway.bgp_settings
    assert bgp.asn == 65010
    peering = sorted(bgp.bgp_peering_addresses, key=lambda p: p.ipconfiguration_id)
    assert [p.custom_bgp_ip_addresses for p in peering] == [["169.254.21.2"], ["169.254.22.2"]]
    assert [p.default_bgp_ip_addresses for p in peering] == [["10.1.255.4"], ["10.1.255.5"]]
    assert [p.tunnel_ip_addresses for p in peering] == [[pips[0].ip_address], [pips[1].ip_address]]
    assert bgp.bgp_peering_address == "10.1.255.4,10.1.255.5"
    assert [g.name for g in azure_clients.network.virtual_network_gateways.list("rg1")] == ["gw1"]
    subnet = azure_clients.network.subnets.get("rg1", "vnet1", "GatewaySubnet")
    assert len(subnet.ip_configurations) == 2


def test_gateway_needs_gateway_subnet(azure_clients, network):
    subnets, pips = network
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.virtual_network_gateways.begin_create_or_update(
            "rg1", "gw1", gateway_body(azure_clients, subnets["default"], pips))
    assert err.value.status_code == 400
    assert error_code(err.value) == "GatewaySubnetNameMustBeGatewaySubnet"
    assert "GatewaySubnet" in str(err.value)


@pytest.mark.parametrize("change, code", [
    ({"custom": ("169.254.20.1", "169.254.22.2")}, "InvalidCustomBgpIpAddress"),
    ({"active": True, "single": True}, "ActiveActiveVirtualNetworkGatewayMustHaveTwoIpConfigurations"),
])
def test_gateway_validation(azure_clients, network, change, code):
    subnets, pips = network
    if change.get("single"):
        pips = pips[:1]
    body = gateway_body(azure_clients, subnets["GatewaySubnet"], pips, active=change.get("active", True),
                        custom=change.get("custom", ("169.254.21.2", "169.254.22.2")))
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.virtual_network_gateways.begin_create_or_update("rg1", "gw1", body)
    assert error_code(err.value) == code


def test_gateway_provisioning_delay_is_honoured(azure_clients, azure_emulator, network):
    subnets, pips = network
    azure_emulator.set_delay(GATEWAY_TYPE, 0.6)
    azure_emulator.configure(poll_retry_after=0)
    since = azure_emulator.last_request_seq
    started = time.time()
    poller = azure_clients.network.virtual_network_gateways.begin_create_or_update(
        "rg1", "gw1", gateway_body(azure_clients, subnets["GatewaySubnet"], pips))
    assert azure_clients.network.virtual_network_gateways.get("rg1", "gw1").provisioning_state == "Updating"
    gateway = wait_for_lro(poller, 30)
    assert time.time() - started >= 0.6
    assert gateway.provisioning_state == "Succeeded"
    polls = [r for r in azure_emulator.requests(since=since) if "/operations/" in r["path"]]
    assert len(polls) >= 2
    # A timeout shorter than the provisioning time is reported clearly.
    azure_emulator.set_delay(GATEWAY_TYPE, 5)
    slow = azure_clients.network.virtual_network_gateways.begin_create_or_update(
        "rg1", "gw1", gateway_body(azure_clients, subnets["GatewaySubnet"], pips))
    with pytest.raises(AzureClientError) as err:
        wait_for_lro(slow, timeout=0.3, description="virtual network gateway gw1")
    assert "Timed out after 0.3 seconds waiting for virtual network gateway gw1" in str(err.value)


def test_failed_operation_is_reported(azure_clients, azure_emulator, network):
    subnets, pips = network
    azure_emulator.set_fault("fail_operation", resource_type=GATEWAY_TYPE, count=1, code="VpnGatewayProvisioningFailed",
                             message="The gateway could not be provisioned (injected).")
    poller = azure_clients.network.virtual_network_gateways.begin_create_or_update(
        "rg1", "gw1", gateway_body(azure_clients, subnets["GatewaySubnet"], pips))
    with pytest.raises(HttpResponseError) as err:
        wait_for_lro(poller, 30)
    assert error_code(err.value) == "VpnGatewayProvisioningFailed"
    assert azure_clients.network.virtual_network_gateways.get("rg1", "gw1").provisioning_state == "Failed"


def test_local_gateway_connection_and_shared_key(azure_clients, azure_emulator, network):
    subnets, pips = network
    gateway = wait_for_lro(azure_clients.network.virtual_network_gateways.begin_create_or_update(
        "rg1", "gw1", gateway_body(azure_clients, subnets["GatewaySubnet"], pips)), 30)
    local = wait_for_lro(azure_clients.network.local_network_gateways.begin_create_or_update("rg1", "aws-tunnel1", {
        "location": LOC, "properties": {"gatewayIpAddress": "198.51.100.10",
                                        "localNetworkAddressSpace": {"addressPrefixes": []},
                                        "bgpSettings": {"asn": 64512, "bgpPeeringAddress": "169.254.21.1"}}}), 30)
    assert local.bgp_settings.asn == 64512
    secret = "k3y-Only.For_Tests"
    since = azure_emulator.last_request_seq
    connection = wait_for_lro(azure_clients.network.virtual_network_gateway_connections.begin_create_or_update(
        "rg1", "aws-tunnel1", {"location": LOC, "properties": {
            "connectionType": "IPsec", "connectionProtocol": "IKEv2", "enableBgp": True, "sharedKey": secret,
            "virtualNetworkGateway1": {"id": gateway.id, "properties": {}},
            "localNetworkGateway2": {"id": local.id, "properties": {}},
            "gatewayCustomBgpIpAddresses": [
                {"ipConfigurationId": gateway.ip_configurations[0].id, "customBgpIpAddress": "169.254.21.2"}]}}), 30)
    assert connection.shared_key is None
    assert connection.connection_status == "Connected"
    assert azure_clients.network.virtual_network_gateway_connections.get("rg1", "aws-tunnel1").shared_key is None
    key = azure_clients.network.virtual_network_gateway_connections.get_shared_key("rg1", "aws-tunnel1")
    assert key.value == secret
    wait_for_lro(azure_clients.network.virtual_network_gateway_connections.begin_set_shared_key(
        "rg1", "aws-tunnel1", {"value": "an0ther-key"}), 30)
    assert azure_clients.network.virtual_network_gateway_connections.get_shared_key("rg1", "aws-tunnel1").value == "an0ther-key"
    # The key never shows up in the request log nor in the state dump.
    text = repr(azure_emulator.requests(since=since)) + repr(azure_emulator.dump())
    assert secret not in text and "an0ther-key" not in text
    # Gateways used by a connection cannot be deleted.
    for begin in (lambda: azure_clients.network.local_network_gateways.begin_delete("rg1", "aws-tunnel1"),
                  lambda: azure_clients.network.virtual_network_gateways.begin_delete("rg1", "gw1")):
        with pytest.raises(HttpResponseError) as err:
            begin()
        assert err.value.status_code == 400
    wait_for_lro(azure_clients.network.virtual_network_gateway_connections.begin_delete("rg1", "aws-tunnel1"), 30)
    wait_for_lro(azure_clients.network.local_network_gateways.begin_delete("rg1", "aws-tunnel1"), 30)
    with pytest.raises(ResourceNotFoundError):
        azure_clients.network.local_network_gateways.get("rg1", "aws-tunnel1")


def test_connection_refuses_bgp_on_non_bgp_gateway(azure_clients, network):
    subnets, pips = network
    body = gateway_body(azure_clients, subnets["GatewaySubnet"], pips[:1], active=False, custom=())
    body["properties"]["enableBgp"] = False
    gateway = wait_for_lro(azure_clients.network.virtual_network_gateways.begin_create_or_update("rg1", "gw1", body), 30)
    local = wait_for_lro(azure_clients.network.local_network_gateways.begin_create_or_update("rg1", "lng", {
        "location": LOC, "properties": {"gatewayIpAddress": "198.51.100.20",
                                        "localNetworkAddressSpace": {"addressPrefixes": ["10.64.0.0/16"]}}}), 30)
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.virtual_network_gateway_connections.begin_create_or_update("rg1", "c1", {
            "location": LOC, "properties": {"connectionType": "IPsec", "enableBgp": True, "sharedKey": "abc",
                                            "virtualNetworkGateway1": {"id": gateway.id},
                                            "localNetworkGateway2": {"id": local.id}}})
    assert error_code(err.value) == "BgpNotEnabledOnVirtualNetworkGateway"
