"""Resource groups and network resources through the collection's client layer and the real SDKs."""

import ipaddress

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from ansible_collections.hybrid.cluster.plugins.module_utils.azure import (
    AzureClientError, call, describe_azure_error, error_code, ownership_tags, wait_for_lro)
from tests.integration.azure.arm_helpers import LOC, make_group, make_nic, make_vnet


def test_resource_group_lifecycle(azure_clients, azure_emulator):
    rg = make_group(azure_clients)
    assert rg.properties.provisioning_state == "Succeeded"
    assert rg.tags == {"hybrid-cluster": "shop"}
    assert azure_clients.resource.resource_groups.check_existence("rg1") is True
    updated = azure_clients.resource.resource_groups.create_or_update("rg1", {"location": LOC, "tags": {"a": "b"}})
    assert updated.tags == {"a": "b"}
    puts = [r["status"] for r in azure_emulator.requests(method="PUT")]
    assert puts == [201, 200]
    wait_for_lro(azure_clients.resource.resource_groups.begin_delete("rg1"), 30)
    assert azure_clients.resource.resource_groups.check_existence("rg1") is False
    with pytest.raises(ResourceNotFoundError) as err:
        azure_clients.resource.resource_groups.get("rg1")
    assert error_code(err.value) == "ResourceGroupNotFound"


def test_missing_resource_group_and_resource(azure_clients):
    with pytest.raises(ResourceNotFoundError) as err:
        azure_clients.network.virtual_networks.get("nope", "vnet1")
    assert error_code(err.value) == "ResourceGroupNotFound"
    make_group(azure_clients)
    with pytest.raises(ResourceNotFoundError) as err:
        azure_clients.network.virtual_networks.get("rg1", "missing")
    assert error_code(err.value) == "ResourceNotFound"
    with pytest.raises(AzureClientError) as clear:
        call(azure_clients.network.network_security_groups.get, "rg1", "missing")
    assert "ResourceNotFound: The Resource 'Microsoft.Network/networkSecurityGroups/missing'" in str(clear.value)
    assert "HTTP 404" in str(clear.value)


def test_vnet_with_inline_and_child_subnets(azure_clients, azure_emulator):
    make_group(azure_clients)
    vnet = make_vnet(azure_clients)
    assert vnet.provisioning_state == "Succeeded"
    assert sorted(s.name for s in vnet.subnets) == ["GatewaySubnet", "default"]
    assert vnet.etag.startswith('W/"')
    subnet = wait_for_lro(azure_clients.network.subnets.begin_create_or_update(
        "rg1", "vnet1", "workers", {"properties": {"addressPrefix": "10.1.2.0/24"}}), 30)
    assert subnet.id.endswith("/virtualNetworks/vnet1/subnets/workers")
    assert azure_clients.network.subnets.get("rg1", "vnet1", "workers").address_prefix == "10.1.2.0/24"
    assert len(azure_clients.network.virtual_networks.get("rg1", "vnet1").subnets) == 3
    assert sorted(s.name for s in azure_clients.network.subnets.list("rg1", "vnet1")) == ["GatewaySubnet", "default", "workers"]
    # Updating the VNet with only two subnets removes the third one, as Azure does.
    make_vnet(azure_clients)
    assert sorted(s.name for s in azure_clients.network.subnets.list("rg1", "vnet1")) == ["GatewaySubnet", "default"]
    wait_for_lro(azure_clients.network.subnets.begin_delete("rg1", "vnet1", "default"), 30)
    with pytest.raises(ResourceNotFoundError):
        azure_clients.network.subnets.get("rg1", "vnet1", "default")


@pytest.mark.parametrize("prefix, code", [
    ("10.2.0.0/24", "NetcfgSubnetRangeOutsideVnet"),
    ("10.1.1.128/25", "NetcfgSubnetRangesOverlap"),
])
def test_subnet_validation(azure_clients, prefix, code):
    make_group(azure_clients)
    make_vnet(azure_clients)
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.subnets.begin_create_or_update("rg1", "vnet1", "bad", {"properties": {"addressPrefix": prefix}})
    assert err.value.status_code == 400
    assert error_code(err.value) == code


def test_nsg_rules_and_default_rules(azure_clients):
    make_group(azure_clients)
    rule = {"name": "ssh", "properties": {"protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": 100,
                                          "sourceAddressPrefix": "203.0.113.0/24", "sourcePortRange": "*",
                                          "destinationAddressPrefix": "*", "destinationPortRange": "22"}}
    nsg = wait_for_lro(azure_clients.network.network_security_groups.begin_create_or_update(
        "rg1", "nsg1", {"location": LOC, "properties": {"securityRules": [rule]}}), 30)
    assert [r.name for r in nsg.security_rules] == ["ssh"]
    assert sorted((r.name, r.priority) for r in nsg.default_security_rules) == [
        ("AllowAzureLoadBalancerInBound", 65001), ("AllowInternetOutBound", 65001), ("AllowVnetInBound", 65000),
        ("AllowVnetOutBound", 65000), ("DenyAllInBound", 65500), ("DenyAllOutBound", 65500)]
    wait_for_lro(azure_clients.network.security_rules.begin_create_or_update(
        "rg1", "nsg1", "https", {"properties": dict(rule["properties"], priority=110, destinationPortRange="443")}), 30)
    rules = {r.name: r for r in azure_clients.network.security_rules.list("rg1", "nsg1")}
    assert set(rules) == {"ssh", "https"}
    assert rules["https"].destination_port_range == "443"
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.security_rules.begin_create_or_update(
            "rg1", "nsg1", "dup", {"properties": dict(rule["properties"], priority=110)})
    assert error_code(err.value) == "SecurityRuleParameterPriorityAlreadyTaken"
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.security_rules.begin_create_or_update(
            "rg1", "nsg1", "low", {"properties": dict(rule["properties"], priority=50)})
    assert error_code(err.value) == "SecurityRuleInvalidPriority"
    wait_for_lro(azure_clients.network.security_rules.begin_delete("rg1", "nsg1", "ssh"), 30)
    assert [r.name for r in azure_clients.network.network_security_groups.get("rg1", "nsg1").security_rules] == ["https"]


def test_public_ip_static_address_from_test_range(azure_clients):
    make_group(azure_clients)
    first = wait_for_lro(azure_clients.network.public_ip_addresses.begin_create_or_update(
        "rg1", "pip1", {"location": LOC, "sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}}), 30)
    second = wait_for_lro(azure_clients.network.public_ip_addresses.begin_create_or_update(
        "rg1", "pip2", {"location": LOC, "sku": {"name": "Standard"}}), 30)
    for pip in (first, second):
        assert ipaddress.ip_address(pip.ip_address) in ipaddress.ip_network("203.0.113.0/24")
    assert first.ip_address != second.ip_address
    again = wait_for_lro(azure_clients.network.public_ip_addresses.begin_create_or_update(
        "rg1", "pip1", {"location": LOC, "sku": {"name": "Standard"}, "tags": {"x": "y"}}), 30)
    assert again.ip_address == first.ip_address
    assert [p.name for p in azure_clients.network.public_ip_addresses.list_all()] == ["pip1", "pip2"]


def test_nic_addresses_references_and_in_use_subnet(azure_clients):
    make_group(azure_clients)
    vnet = make_vnet(azure_clients)
    subnet_id = next(s.id for s in vnet.subnets if s.name == "default")
    pip = wait_for_lro(azure_clients.network.public_ip_addresses.begin_create_or_update(
        "rg1", "pip1", {"location": LOC, "sku": {"name": "Standard"}}), 30)
    nsg = wait_for_lro(azure_clients.network.network_security_groups.begin_create_or_update(
        "rg1", "nsg1", {"location": LOC}), 30)
    nic = make_nic(azure_clients, subnet_id, public_ip=pip.id, nsg=nsg.id)
    nic2 = make_nic(azure_clients, subnet_id, name="nic2")
    assert nic.ip_configurations[0].private_ip_address == "10.1.1.4"
    assert nic2.ip_configurations[0].private_ip_address == "10.1.1.5"
    assert nic.mac_address.startswith("00-0D-3A-")
    subnet = azure_clients.network.subnets.get("rg1", "vnet1", "default")
    assert sorted(c.id.split("/")[-3] for c in subnet.ip_configurations) == ["nic1", "nic2"]
    assert azure_clients.network.public_ip_addresses.get("rg1", "pip1").ip_configuration.id.endswith("nic1/ipConfigurations/ipconfig1")
    assert azure_clients.network.network_security_groups.get("rg1", "nsg1").network_interfaces[0].id == nic.id

    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.subnets.begin_delete("rg1", "vnet1", "default")
    assert err.value.status_code == 400
    assert error_code(err.value) == "InUseSubnetCannotBeDeleted"
    assert "nic1" in describe_azure_error(err.value) or "nic2" in describe_azure_error(err.value)
    for code, begin in (("PublicIPAddressCannotBeDeleted", lambda: azure_clients.network.public_ip_addresses.begin_delete("rg1", "pip1")),
                        ("InUseNetworkSecurityGroupCannotBeDeleted",
                         lambda: azure_clients.network.network_security_groups.begin_delete("rg1", "nsg1"))):
        with pytest.raises(HttpResponseError) as err:
            begin()
        assert error_code(err.value) == code

    # A reference to something that does not exist is refused.
    with pytest.raises(HttpResponseError) as err:
        make_nic(azure_clients, subnet_id.replace("/default", "/nosuch"), name="nic3")
    assert error_code(err.value) == "InvalidResourceReference"

    for name in ("nic1", "nic2"):
        wait_for_lro(azure_clients.network.network_interfaces.begin_delete("rg1", name), 30)
    wait_for_lro(azure_clients.network.subnets.begin_delete("rg1", "vnet1", "default"), 30)
    wait_for_lro(azure_clients.network.public_ip_addresses.begin_delete("rg1", "pip1"), 30)


def test_route_table_with_routes(azure_clients):
    make_group(azure_clients)
    body = {"location": LOC, "properties": {"disableBgpRoutePropagation": True, "routes": [
        {"name": "to-aws", "properties": {"addressPrefix": "10.64.0.0/16", "nextHopType": "VirtualNetworkGateway"}}]}}
    table = wait_for_lro(azure_clients.network.route_tables.begin_create_or_update("rg1", "rt1", body), 30)
    assert table.disable_bgp_route_propagation is True
    assert [r.name for r in table.routes] == ["to-aws"]
    wait_for_lro(azure_clients.network.routes.begin_create_or_update(
        "rg1", "rt1", "appliance", {"properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance",
                                                   "nextHopIpAddress": "10.1.1.10"}}), 30)
    assert sorted(r.name for r in azure_clients.network.routes.list("rg1", "rt1")) == ["appliance", "to-aws"]
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.routes.begin_create_or_update(
            "rg1", "rt1", "bad", {"properties": {"addressPrefix": "0.0.0.0/0", "nextHopType": "VirtualAppliance"}})
    assert err.value.status_code == 400
    make_vnet(azure_clients)
    wait_for_lro(azure_clients.network.subnets.begin_create_or_update(
        "rg1", "vnet1", "default", {"properties": {"addressPrefix": "10.1.1.0/24", "routeTable": {"id": table.id}}}), 30)
    assert azure_clients.network.route_tables.get("rg1", "rt1").subnets[0].id.endswith("/subnets/default")
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.route_tables.begin_delete("rg1", "rt1")
    assert error_code(err.value) == "InUseRouteTableCannotBeDeleted"


def test_pagination_follows_next_links(azure_clients, azure_emulator):
    make_group(azure_clients)
    for index in range(5):
        azure_clients.network.network_security_groups.begin_create_or_update("rg1", "nsg%d" % index, {"location": LOC}).result()
    azure_emulator.set_page_size(2)
    since = azure_emulator.last_request_seq
    names = [n.name for n in azure_clients.network.network_security_groups.list("rg1")]
    assert names == ["nsg0", "nsg1", "nsg2", "nsg3", "nsg4"]
    pages = azure_emulator.requests(since=since, method="GET")
    assert len(pages) == 3
    assert [p["query"].get("$skiptoken") for p in pages] == [None, "2", "4"]
    assert all(p["query"]["api-version"] for p in pages)
    assert len(list(azure_clients.network.network_security_groups.list_all())) == 5


def test_resource_group_delete_cascades_and_tags_filter(azure_clients, azure_emulator):
    make_group(azure_clients)
    make_group(azure_clients, "other")
    make_vnet(azure_clients)
    azure_clients.network.network_security_groups.begin_create_or_update(
        "rg1", "nsg1", {"location": LOC, "tags": ownership_tags("shop")}).result()
    azure_clients.network.network_security_groups.begin_create_or_update("other", "nsg2", {"location": LOC}).result()
    owned = azure_clients.resource.resources.list(filter="tagName eq 'hybrid-cluster' and tagValue eq 'shop'")
    assert sorted(r.name for r in owned) == ["nsg1", "vnet1"]
    wait_for_lro(azure_clients.resource.resource_groups.begin_delete("rg1"), 30)
    assert list(azure_clients.network.virtual_networks.list("other")) == []
    assert [n.name for n in azure_clients.network.network_security_groups.list_all()] == ["nsg2"]
    assert [r["id"] for r in azure_emulator.dump()["resources"]] == [
        "/subscriptions/%s/resourceGroups/other" % azure_emulator.subscription_id,
        "/subscriptions/%s/resourceGroups/other/providers/Microsoft.Network/networkSecurityGroups/nsg2"
        % azure_emulator.subscription_id]


def test_update_tags_and_etag_precondition(azure_clients):
    make_group(azure_clients)
    nsg = azure_clients.network.network_security_groups.begin_create_or_update("rg1", "nsg1", {"location": LOC}).result()
    tagged = azure_clients.network.network_security_groups.update_tags("rg1", "nsg1", {"tags": {"env": "test"}})
    assert tagged.tags == {"env": "test"}
    assert tagged.etag != nsg.etag
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.network_security_groups.begin_create_or_update(
            "rg1", "nsg1", {"location": LOC}, headers={"If-Match": nsg.etag})
    assert err.value.status_code == 412
