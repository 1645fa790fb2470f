"""Virtual machines and scale sets, with the list operations the inventory uses."""

import pytest
from azure.core.exceptions import HttpResponseError

from ansible_collections.hybrid.cluster.plugins.module_utils.azure import error_code, ownership_tags, wait_for_lro
from tests.integration.azure.arm_helpers import LOC, make_group, make_nic, make_vnet

IMAGE = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}


def vm_body(nic_id, size="Standard_D2s_v5"):
    return {"location": LOC, "tags": ownership_tags("shop"), "properties": {
        "hardwareProfile": {"vmSize": size},
        "storageProfile": {"imageReference": IMAGE},
        "osProfile": {"adminUsername": "azureuser", "adminPassword": "Never-Logged-1",
                      "linuxConfiguration": {"disablePasswordAuthentication": False}},
        "networkProfile": {"networkInterfaces": [{"id": nic_id}]}}}


def power_state(view):
    return next(s.code for s in view.statuses if s.code.startswith("PowerState/"))


@pytest.fixture
def subnet_id(azure_clients):
    make_group(azure_clients)
    vnet = make_vnet(azure_clients)
    return next(s.id for s in vnet.subnets if s.name == "default")


def test_virtual_machine_lifecycle_and_power(azure_clients, azure_emulator, subnet_id):
    nics = [make_nic(azure_clients, subnet_id, name="nic%d" % i) for i in range(3)]
    for index, nic in enumerate(nics):
        vm = wait_for_lro(azure_clients.compute.virtual_machines.begin_create_or_update("rg1", "vm%d" % index, vm_body(nic.id)), 30)
        assert vm.provisioning_state == "Succeeded"
        assert vm.os_profile.admin_password is None
    assert azure_clients.network.network_interfaces.get("rg1", "nic0").virtual_machine.id.endswith("/virtualMachines/vm0")

    vm = azure_clients.compute.virtual_machines.get("rg1", "vm0", expand="instanceView")
    assert power_state(vm.instance_view) == "PowerState/running"
    assert vm.instance_view.os_name == "ubuntu"
    wait_for_lro(azure_clients.compute.virtual_machines.begin_deallocate("rg1", "vm0"), 30)
    wait_for_lro(azure_clients.compute.virtual_machines.begin_power_off("rg1", "vm1"), 30)
    assert power_state(azure_clients.compute.virtual_machines.instance_view("rg1", "vm0")) == "PowerState/deallocated"

    azure_emulator.set_page_size(2)
    assert [v.name for v in azure_clients.compute.virtual_machines.list("rg1")] == ["vm0", "vm1", "vm2"]
    states = {v.name: power_state(v.instance_view) for v in azure_clients.compute.virtual_machines.list_all(status_only="true")}
    assert states == {"vm0": "PowerState/deallocated", "vm1": "PowerState/stopped", "vm2": "PowerState/running"}
    wait_for_lro(azure_clients.compute.virtual_machines.begin_start("rg1", "vm0"), 30)
    assert power_state(azure_clients.compute.virtual_machines.instance_view("rg1", "vm0")) == "PowerState/running"
    # NIC list-all and public IPs across pages: what the inventory joins client-side.
    assert len(list(azure_clients.network.network_interfaces.list_all())) == 3

    assert "Never-Logged-1" not in repr(azure_emulator.dump()) + repr(azure_emulator.requests())
    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.network_interfaces.begin_delete("rg1", "nic0")
    assert error_code(err.value) == "NicInUse"
    wait_for_lro(azure_clients.compute.virtual_machines.begin_delete("rg1", "vm0"), 30)
    wait_for_lro(azure_clients.network.network_interfaces.begin_delete("rg1", "nic0"), 30)


def test_virtual_machine_validation(azure_clients, subnet_id):
    nic = make_nic(azure_clients, subnet_id)
    body = vm_body(nic.id)
    del body["properties"]["hardwareProfile"]
    with pytest.raises(HttpResponseError) as err:
        azure_clients.compute.virtual_machines.begin_create_or_update("rg1", "vm1", body)
    assert error_code(err.value) == "InvalidParameter"
    wait_for_lro(azure_clients.compute.virtual_machines.begin_create_or_update("rg1", "vm1", vm_body(nic.id)), 30)
    with pytest.raises(HttpResponseError) as err:
        azure_clients.compute.virtual_machines.begin_create_or_update("rg1", "vm2", vm_body(nic.id))
    assert error_code(err.value) == "NicInUse"


def test_scale_set_instances_and_nics(azure_clients, azure_emulator, subnet_id):
    body = {"location": LOC, "sku": {"name": "Standard_D4s_v5", "tier": "Standard", "capacity": 3}, "properties": {
        "upgradePolicy": {"mode": "Manual"},
        "virtualMachineProfile": {
            "osProfile": {"computerNamePrefix": "worker", "adminUsername": "azureuser"},
            "storageProfile": {"imageReference": IMAGE},
            "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                "primary": True, "ipConfigurations": [{"name": "ipconfig", "properties": {"subnet": {"id": subnet_id}}}]}}]}}}}
    vmss = wait_for_lro(azure_clients.compute.virtual_machine_scale_sets.begin_create_or_update("rg1", "workers", body), 30)
    assert vmss.sku.capacity == 3
    instances = list(azure_clients.compute.virtual_machine_scale_set_vms.list("rg1", "workers", expand="instanceView"))
    assert [i.instance_id for i in instances] == ["0", "1", "2"]
    assert [i.os_profile.computer_name for i in instances] == ["worker000000", "worker000001", "worker000002"]
    assert all(power_state(i.instance_view) == "PowerState/running" for i in instances)
    view = azure_clients.compute.virtual_machine_scale_set_vms.get_instance_view("rg1", "workers", "1")
    assert power_state(view) == "PowerState/running"

    azure_emulator.set_page_size(2)
    nics = list(azure_clients.network.network_interfaces.list_virtual_machine_scale_set_network_interfaces("rg1", "workers"))
    addresses = sorted(n.ip_configurations[0].private_ip_address for n in nics)
    assert addresses == ["10.1.1.4", "10.1.1.5", "10.1.1.6"]
    per_vm = list(azure_clients.network.network_interfaces.list_virtual_machine_scale_set_vm_network_interfaces("rg1", "workers", "2"))
    assert [n.virtual_machine.id for n in per_vm] == [instances[2].id]
    nic = azure_clients.network.network_interfaces.get_virtual_machine_scale_set_network_interface("rg1", "workers", "2", "nic")
    assert nic.id == per_vm[0].id
    assert len(list(azure_clients.compute.virtual_machine_scale_sets.list_all())) == 1

    with pytest.raises(HttpResponseError) as err:
        azure_clients.network.subnets.begin_delete("rg1", "vnet1", "default")
    assert error_code(err.value) == "InUseSubnetCannotBeDeleted"

    body["sku"]["capacity"] = 1
    wait_for_lro(azure_clients.compute.virtual_machine_scale_sets.begin_create_or_update("rg1", "workers", body), 30)
    assert [i.instance_id for i in azure_clients.compute.virtual_machine_scale_set_vms.list("rg1", "workers")] == ["0"]
    wait_for_lro(azure_clients.compute.virtual_machine_scale_sets.begin_delete("rg1", "workers"), 30)
    wait_for_lro(azure_clients.network.subnets.begin_delete("rg1", "vnet1", "default"), 30)
