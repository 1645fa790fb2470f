"""Throttling, server errors, dropped connections and latency: the client layer rides them out."""

import time

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils.azure import AzureClients, AzureClientError, call, wait_for_lro
from tests.integration.azure.arm_helpers import LOC, make_group, make_nic, make_vnet

ARM_PATHS = r"^/subscriptions/"


def full_flow(clients, emulator):
    """Create, read, list across pages and delete one of each network resource type."""
    make_group(clients)
    vnet = make_vnet(clients)
    subnet_id = next(s.id for s in vnet.subnets if s.name == "default")
    rule = {"protocol": "Tcp", "access": "Allow", "direction": "Inbound", "sourceAddressPrefix": "*", "sourcePortRange": "*",
            "destinationAddressPrefix": "*", "destinationPortRange": "443"}
    for index in range(4):
        wait_for_lro(clients.network.network_security_groups.begin_create_or_update("rg1", "nsg%d" % index, {
            "location": LOC, "properties": {"securityRules": [{"name": "r", "properties": dict(rule, priority=100 + index)}]}}), 30)
    pip = wait_for_lro(clients.network.public_ip_addresses.begin_create_or_update(
        "rg1", "pip1", {"location": LOC, "sku": {"name": "Standard"}}), 30)
    make_nic(clients, subnet_id, public_ip=pip.id)
    emulator.set_page_size(2)
    assert len(list(clients.network.network_security_groups.list("rg1"))) == 4
    assert clients.network.network_interfaces.get("rg1", "nic1").ip_configurations[0].private_ip_address == "10.1.1.4"
    wait_for_lro(clients.network.network_interfaces.begin_delete("rg1", "nic1"), 30)
    wait_for_lro(clients.network.public_ip_addresses.begin_delete("rg1", "pip1"), 30)
    for index in range(4):
        wait_for_lro(clients.network.network_security_groups.begin_delete("rg1", "nsg%d" % index), 30)
    wait_for_lro(clients.resource.resource_groups.begin_delete("rg1"), 30)
    assert clients.resource.resource_groups.check_existence("rg1") is False


def retried(entries, status):
    """(method, path) pairs answered ``status`` and later answered with success."""
    pairs = []
    for index, entry in enumerate(entries):
        if entry["status"] != status:
            continue
        later = [e for e in entries[index + 1:] if (e["method"], e["path"]) == (entry["method"], entry["path"])]
        if later and 200 <= later[0]["status"] < 300:
            pairs.append((entry["method"], entry["path"]))
    return pairs


def test_flows_survive_20_percent_throttling(azure_clients, azure_emulator):
    azure_emulator.set_fault("throttle", path=ARM_PATHS, rate=0.2, retry_after=1)
    full_flow(azure_clients, azure_emulator)
    entries = azure_emulator.requests()
    throttled = [e for e in entries if e["status"] == 429]
    assert len(throttled) >= 3
    assert len(retried(entries, 429)) == len(throttled)
    assert len({e["method"] for e in throttled}) >= 2


def test_retry_after_is_honoured(azure_env, azure_emulator):
    clients = AzureClients(env=azure_env, polling_interval=0.05)  # default backoff: Retry-After is not cut short
    try:
        make_group(clients)
        azure_emulator.set_fault("throttle", method="GET", path="/resourcegroups/rg1$", count=1, retry_after=1)
        started = time.time()
        clients.resource.resource_groups.get("rg1")
        elapsed = time.time() - started
    finally:
        clients.close()
    statuses = [e["status"] for e in azure_emulator.requests(method="GET", path="/resourcegroups/rg1")]
    assert statuses == [429, 200]
    assert 1.0 <= elapsed < 3.0


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(azure_clients, azure_emulator, status):
    make_group(azure_clients)
    azure_emulator.set_fault("error", status=status, path="/virtualNetworks/", count=2)
    make_vnet(azure_clients)
    statuses = [e["status"] for e in azure_emulator.requests(path="/virtualNetworks/vnet1")]
    assert statuses[:3] == [status, status, 201]


def test_dropped_connections_are_retried(azure_clients, azure_emulator):
    make_group(azure_clients)
    azure_emulator.set_fault("drop", method="PUT", path="/networkSecurityGroups/", count=1)
    azure_emulator.set_fault("drop", method="GET", path="/networkSecurityGroups/nsg1$", count=1, phase="after")
    wait_for_lro(azure_clients.network.network_security_groups.begin_create_or_update("rg1", "nsg1", {"location": LOC}), 30)
    entries = azure_emulator.requests(path="/networkSecurityGroups/nsg1")
    assert [(e["method"], e["status"]) for e in entries] == [("PUT", 0), ("PUT", 201), ("GET", 0), ("GET", 200)]


def test_latency_is_added(azure_clients, azure_emulator):
    make_group(azure_clients)
    azure_emulator.set_fault("latency", latency=0.3, method="GET", count=1)
    started = time.time()
    azure_clients.resource.resource_groups.get("rg1")
    assert time.time() - started >= 0.3


def test_endless_throttling_gives_a_clear_error(azure_env, azure_emulator):
    clients = AzureClients(env=azure_env, backoff_retries=2, backoff_delay=0.01, backoff_max_delay=0.01)
    try:
        make_group(clients)
        azure_emulator.set_fault("throttle", method="GET", path="/resourcegroups/rg1$")
        with pytest.raises(AzureClientError) as err:
            call(clients.resource.resource_groups.get, "rg1")
    finally:
        clients.close()
    assert "HTTP 429" in str(err.value) and "TooManyRequests" in str(err.value)
    assert [e["status"] for e in azure_emulator.requests(method="GET", path="/resourcegroups/rg1")] == [429] * 3
