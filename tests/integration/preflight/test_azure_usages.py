"""The Azure emulator's network and compute usages lists, through the unmodified SDK and over HTTPS."""

import json
import ssl
import urllib.error
import urllib.request

import pytest

from tests.emulators.azure import EmulatorClient
from tests.emulators.azure.usages import vm_size_info

GROUP = "/subscriptions/{sub}/resourceGroups/usage-rg"
NETWORK = "/providers/Microsoft.Network"
COMPUTE = "/providers/Microsoft.Compute"


@pytest.fixture(autouse=True)
def _loopback(loopback_only):  # pylint: disable=unused-argument
    """Nothing may leave 127.0.0.1 / ::1."""


def usages(clients, provider, location="westeurope"):
    operations = clients.network.usages if provider == "network" else clients.compute.usage
    return {u.name.value: u for u in operations.list(location)}


def seed_resources(emulator):
    group = GROUP.format(sub=emulator.subscription_id)
    subnet = group + NETWORK + "/virtualNetworks/vnet-a/subnets/nodes"
    nic = group + NETWORK + "/networkInterfaces/nic-1"
    emulator.seed([
        {"id": group + NETWORK + "/virtualNetworks/vnet-a", "location": "westeurope",
         "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                        "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.1.0.0/24"}}]}},
        {"id": group + NETWORK + "/virtualNetworks/vnet-b", "location": "northeurope",
         "properties": {"addressSpace": {"addressPrefixes": ["10.2.0.0/16"]}}},
        {"id": group + NETWORK + "/publicIPAddresses/pip-standard", "location": "westeurope", "sku": {"name": "Standard"}},
        {"id": group + NETWORK + "/publicIPAddresses/pip-basic", "location": "westeurope", "sku": {"name": "Basic"},
         "properties": {"publicIPAllocationMethod": "Dynamic"}},
        {"id": group + NETWORK + "/networkSecurityGroups/nsg-1", "location": "westeurope"},
        {"id": group + NETWORK + "/routeTables/rt-1", "location": "westeurope"},
        {"id": nic, "location": "westeurope",
         "properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}]}},
        {"id": group + COMPUTE + "/virtualMachines/vm-1", "location": "westeurope",
         "properties": {"hardwareProfile": {"vmSize": "Standard_D4s_v5"},
                        "networkProfile": {"networkInterfaces": [{"id": nic}]}}},
        {"id": group + COMPUTE + "/virtualMachineScaleSets/vmss-1", "location": "westeurope",
         "sku": {"name": "Standard_B2s", "capacity": 3},
         "properties": {"virtualMachineProfile": {"networkProfile": {"networkInterfaceConfigurations": [
             {"name": "nic", "properties": {"primary": True, "ipConfigurations": [
                 {"name": "ip", "properties": {"subnet": {"id": subnet}}}]}}]}}}},
    ])


def test_empty_location_lists_every_usage_with_defaults(azure_clients):
    network = usages(azure_clients, "network")
    assert {"VirtualNetworks", "PublicIPAddresses", "StandardSkuPublicIpAddresses", "NetworkSecurityGroups", "RouteTables",
            "NetworkInterfaces", "StaticPublicIPAddresses", "LoadBalancers"} <= set(network)
    vnets = network["VirtualNetworks"]
    assert (vnets.current_value, vnets.limit, vnets.unit, vnets.name.localized_value) == (0, 1000, "Count", "Virtual Networks")
    assert vnets.id == "/subscriptions/%s/providers/Microsoft.Network/locations/westeurope/usages/VirtualNetworks" % azure_clients.subscription_id
    compute = usages(azure_clients, "compute")
    assert {"cores", "virtualMachines", "virtualMachineScaleSets", "availabilitySets", "standardDSv5Family"} <= set(compute)
    assert (compute["cores"].current_value, compute["cores"].limit, compute["cores"].name.localized_value) == (0, 350, "Total Regional vCPUs")


def test_current_values_count_the_resources_of_the_location(azure_emulator, azure_clients):
    seed_resources(azure_emulator)
    network = usages(azure_clients, "network")
    counts = {name: network[name].current_value for name in ("VirtualNetworks", "PublicIPAddresses", "StandardSkuPublicIpAddresses",
                                                             "StaticPublicIPAddresses", "NetworkSecurityGroups", "RouteTables")}
    assert counts == {"VirtualNetworks": 1, "PublicIPAddresses": 2, "StandardSkuPublicIpAddresses": 1,
                      "StaticPublicIPAddresses": 1, "NetworkSecurityGroups": 1, "RouteTables": 1}
    assert network["NetworkInterfaces"].current_value == 4  # the VM's NIC and one per scale-set instance
    assert usages(azure_clients, "network", "North Europe")["VirtualNetworks"].current_value == 1
    compute = usages(azure_clients, "compute")
    assert compute["virtualMachines"].current_value == 4  # one VM and three scale-set instances
    assert compute["virtualMachineScaleSets"].current_value == 1
    assert compute["cores"].current_value == 4 + 3 * 2
    assert compute["standardDSv5Family"].current_value == 4 and compute["standardBSFamily"].current_value == 6


def test_limits_and_current_values_are_set_through_the_control_interface(azure_emulator, azure_clients, azure_env):
    client = EmulatorClient(azure_env["HYBRID_AZURE_EMULATOR_URL"], azure_env["AZURE_CA_BUNDLE"])
    settings = client.configure(usages={"Microsoft.Compute/cores": {"limit": 10, "currentValue": 8},
                                        "microsoft.network/virtualnetworks": {"limit": 2}})
    assert settings["usages"] == {"microsoft.compute/cores": {"limit": 10, "currentValue": 8},
                                  "microsoft.network/virtualnetworks": {"limit": 2}}
    cores = usages(azure_clients, "compute")["cores"]
    assert (cores.current_value, cores.limit) == (8, 10)
    vnets = usages(azure_clients, "network")["VirtualNetworks"]
    assert (vnets.current_value, vnets.limit) == (0, 2)
    azure_emulator.configure(usages={"Microsoft.Compute/cores": None})
    assert usages(azure_clients, "compute")["cores"].limit == 350
    azure_emulator.reset()
    assert usages(azure_clients, "network")["VirtualNetworks"].limit == 1000


@pytest.mark.parametrize("entry", [{"Microsoft.Storage/accounts": {"limit": 1}}, {"cores": {"limit": 1}},
                                   {"Microsoft.Compute/cores": {"max": 1}}, ["cores"]])
def test_bad_usage_settings_are_refused(azure_env, entry):
    client = EmulatorClient(azure_env["HYBRID_AZURE_EMULATOR_URL"], azure_env["AZURE_CA_BUNDLE"])
    with pytest.raises(urllib.error.HTTPError) as info:
        client.configure(usages=entry)
    assert info.value.code == 400
    assert json.loads(info.value.read())["error"]["code"] == "InvalidControlRequest"


def test_pages_other_subscriptions_and_methods(azure_emulator, azure_clients, azure_env):
    azure_emulator.set_page_size(3)
    assert len(usages(azure_clients, "network")) == 8  # the SDK follows nextLink
    token = azure_clients.credential.get_token(azure_clients.cloud.credential_scope).token
    context = ssl.create_default_context(cafile=azure_env["AZURE_CA_BUNDLE"])

    def request(method, subscription):
        url = "%s/subscriptions/%s/providers/Microsoft.Network/locations/westeurope/usages?api-version=2024-05-01" % (
            azure_env["AZURE_RESOURCE_MANAGER_URL"], subscription)
        req = urllib.request.Request(url, method=method, headers={"Authorization": "Bearer " + token})
        try:
            with urllib.request.urlopen(req, context=context, timeout=10) as response:  # nosec - loopback only
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    status, body = request("GET", azure_clients.subscription_id)
    assert status == 200 and len(body["value"]) == 3 and "skiptoken=3" in body["nextLink"]
    assert set(body["value"][0]) == {"id", "name", "currentValue", "limit", "unit"}
    status, body = request("GET", "00000000-0000-0000-0000-000000000000")
    assert (status, body["error"]["code"]) == (404, "SubscriptionNotFound")
    status, body = request("DELETE", azure_clients.subscription_id)
    assert (status, body["error"]["code"]) == (405, "MethodNotAllowed")


@pytest.mark.parametrize("size, expected", [
    ("Standard_D4s_v5", (4, "standardDSv5Family")),
    ("Standard_D2ds_v5", (2, "standardDDSv5Family")),
    ("Standard_DS1_v2", (1, "standardDSv2Family")),
    ("Standard_B2s", (2, "standardBSFamily")),
    ("Standard_D2_v3", (2, "standardDv3Family")),
    ("Standard_F16s_v2", (16, "standardFSv2Family")),
    ("Standard_E8-4s_v5", (4, "standardESv5Family")),
    ("odd", (1, "standardOtherFamily")),
])
def test_vm_size_info(size, expected):
    assert vm_size_info(size) == expected
