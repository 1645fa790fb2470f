"""Pure merge, grouping and host variable logic of the hybrid.cluster.clouds inventory."""

import json

import pytest

from ansible_collections.hybrid.cluster.plugins.plugin_utils.clouds_inventory import (
    InventoryDataError,
    assign_hostnames,
    azure_power_state,
    azure_records,
    build_inventory,
    ec2_record,
    ec2_records,
    resolve_settings,
    safe_group_name,
    select_address,
    uniform_scale_sets,
)

SUB = "00000000-0000-0000-0000-000000000001"
RG = "/subscriptions/%s/resourceGroups/Shop-RG" % SUB
NET = RG + "/providers/Microsoft.Network"
COMP = RG + "/providers/Microsoft.Compute"
SUBNET = NET + "/virtualNetworks/vnet/subnets/nodes"


def ec2_instance(iid, name=None, role=None, platform="shop", state="running", public=None, zone="us-west-2a", tags=None):
    tag_list = list(tags or [])
    if name:
        tag_list.append({"Key": "Name", "Value": name})
    if role:
        tag_list += [{"Key": "hybrid-cluster", "Value": platform}, {"Key": "hybrid-cluster-node-role", "Value": role}]
    instance = {"InstanceId": iid, "InstanceType": "t3.medium", "State": {"Name": state, "Code": 16},
                "Placement": {"AvailabilityZone": zone}, "PrivateIpAddress": "10.0.0.%d" % (int(iid[-2:], 16) % 250),
                "PrivateDnsName": "ip-10-0-0-1.internal", "SubnetId": "subnet-1", "VpcId": "vpc-1", "Tags": tag_list,
                "ImageId": "ami-1", "SecurityGroups": [{"GroupId": "sg-2"}, {"GroupId": "sg-1"}]}
    if public:
        instance["PublicIpAddress"] = public
        instance["PublicDnsName"] = "ec2-%s.compute.amazonaws.com" % public.replace(".", "-")
    return instance


def azure_vm(name, role=None, power="running", nic=None, zones=("1",), scale_set=None, tags=None):
    props = {"vmId": "vmid-" + name, "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
             "osProfile": {"computerName": name.upper()},
             "networkProfile": {"networkInterfaces": [{"id": nic or NET + "/networkInterfaces/%s-nic" % name,
                                                       "properties": {"primary": True}}]},
             "provisioningState": "Succeeded",
             "instanceView": {"statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/" + power}]}}
    if scale_set:
        props["virtualMachineScaleSet"] = {"id": scale_set}
    vm = {"id": COMP + "/virtualMachines/" + name, "name": name, "location": "West Europe", "zones": list(zones),
          "properties": props}
    if tags is not None:
        vm["tags"] = tags
    elif role:
        vm["tags"] = {"hybrid-cluster": "shop", "hybrid-cluster-node-role": role}
    return vm


def azure_nic(nic_id, address, vm_id=None, public_ip_id=None):
    config = {"name": "ipconfig1", "properties": {"privateIPAddress": address, "subnet": {"id": SUBNET}, "primary": True}}
    if public_ip_id:
        config["properties"]["publicIPAddress"] = {"id": public_ip_id}
    nic = {"id": nic_id, "properties": {"ipConfigurations": [config]}}
    if vm_id:
        nic["properties"]["virtualMachine"] = {"id": vm_id}
    return nic


def azure_listing():
    vms = [azure_vm("cp0", "control_plane"), azure_vm("w0", "worker", power="deallocated", zones=()),
           azure_vm("loose", tags={})]
    nics = [azure_nic(NET + "/networkInterfaces/cp0-nic", "10.1.0.4", public_ip_id=NET + "/publicIPAddresses/cp0-pip"),
            azure_nic(NET + "/networkInterfaces/W0-NIC", "10.1.0.5"),  # case differs from the VM's reference
            azure_nic(NET + "/networkInterfaces/loose-nic", "10.1.0.6")]
    pip_properties = {"ipAddress": "198.51.100.7", "dnsSettings": {"fqdn": "cp0.example"}}
    pips = [{"id": NET + "/publicIPAddresses/cp0-pip", "properties": pip_properties}]
    vmss_id = COMP + "/virtualMachineScaleSets/pool"
    scale_sets = [{"id": vmss_id, "name": "pool", "location": "westeurope", "sku": {"name": "Standard_D8s_v5"},
                   "tags": {"hybrid-cluster": "shop", "hybrid-cluster-node-role": "worker"},
                   "properties": {"orchestrationMode": "Uniform"}},
                  {"id": COMP + "/virtualMachineScaleSets/flex", "name": "flex", "location": "westeurope",
                   "properties": {"orchestrationMode": "Flexible"}}]
    instances = []
    vmss_nics = []
    for index in range(2):
        vm_id = vmss_id + "/virtualMachines/%d" % index
        nic_id = vm_id + "/networkInterfaces/nic"
        instances.append({"id": vm_id, "name": "pool_%d" % index, "instanceId": str(index), "location": "westeurope",
                          "properties": {"vmId": "ss-%d" % index, "osProfile": {"computerName": "pool00000%d" % index},
                                         "networkProfile": {"networkInterfaces": [{"id": nic_id}]},
                                         "instanceView": {"statuses": [{"code": "PowerState/running"}]}}})
        vmss_nics.append(azure_nic(nic_id, "10.1.1.%d" % (4 + index), vm_id=vm_id))
    return {"virtual_machines": vms, "network_interfaces": nics, "public_ip_addresses": pips, "scale_sets": scale_sets,
            "scale_set_vms": {vmss_id.lower(): instances}, "scale_set_nics": {vmss_id.lower(): vmss_nics}}


def ec2_fleet():
    return ec2_records([
        {"Instances": [ec2_instance("i-0a", "cp-a", "control_plane", public="54.1.1.1"),
                       ec2_instance("i-0b", "w-a", "worker", state="stopped")]},
        {"Instances": [ec2_instance("i-0c"), ec2_instance("i-0d", "gone", "worker", state="terminated")]},
    ], "us-west-2")


# ------------------------------------------------------------------------------------ records


def test_ec2_record_fields_and_gone_states():
    record = ec2_record(ec2_instance("i-0a", "cp-a", "control_plane", public="54.1.1.1"), "us-west-2")
    assert record["cloud"] == "aws" and record["id"] == "i-0a" and record["name"] == "cp-a"
    assert (record["region"], record["zone"], record["size"]) == ("us-west-2", "us-west-2a", "t3.medium")
    assert (record["private_ip"], record["public_ip"], record["subnet"], record["network"]) == ("10.0.0.10", "54.1.1.1", "subnet-1", "vpc-1")
    assert record["tags"] == {"Name": "cp-a", "hybrid-cluster": "shop", "hybrid-cluster-node-role": "control_plane"}
    assert record["extra"]["ec2_security_group_ids"] == ["sg-1", "sg-2"]
    assert ec2_record(ec2_instance("i-0d", state="terminated"), "r") is None
    assert ec2_record(ec2_instance("i-0e", state="shutting-down"), "r") is None
    assert [r["id"] for r in ec2_fleet()] == ["i-0a", "i-0b", "i-0c"]
    json.dumps(ec2_fleet())  # the cache stores records


def test_ec2_record_without_id_is_an_error():
    with pytest.raises(InventoryDataError, match="us-east-1"):
        ec2_record({"State": {"Name": "running"}}, "us-east-1")


def test_azure_records_join_vms_nics_public_ips_and_scale_sets_in_memory():
    records = {r["name"]: r for r in azure_records(azure_listing())}
    assert sorted(records) == ["cp0", "loose", "pool_0", "pool_1", "w0"]
    cp0 = records["cp0"]
    assert (cp0["private_ip"], cp0["public_ip"], cp0["public_dns"]) == ("10.1.0.4", "198.51.100.7", "cp0.example")
    assert (cp0["region"], cp0["zone"], cp0["power_state"], cp0["size"]) == ("westeurope", "1", "running", "Standard_D2s_v5")
    assert cp0["subnet"] == SUBNET and cp0["network"] == NET + "/virtualNetworks/vnet"
    assert cp0["extra"]["azure_resource_group"] == "Shop-RG" and cp0["extra"]["azure_subscription_id"] == SUB
    assert cp0["computer_name"] == "CP0"
    w0 = records["w0"]
    assert (w0["private_ip"], w0["power_state"], w0["zone"]) == ("10.1.0.5", "deallocated", None)
    assert records["loose"]["tags"] == {}
    pool = records["pool_1"]
    assert pool["private_ip"] == "10.1.1.5" and pool["size"] == "Standard_D8s_v5"
    assert pool["tags"]["hybrid-cluster-node-role"] == "worker"  # inherited from the scale set
    assert pool["extra"]["azure_scale_set"] == "pool" and pool["extra"]["azure_scale_set_mode"] == "Uniform"
    assert pool["extra"]["azure_instance_id"] == "1"
    json.dumps(list(records.values()))


def test_azure_flexible_member_and_nic_found_through_back_reference():
    flex = COMP + "/virtualMachineScaleSets/flex"
    vm = azure_vm("f0", "worker", scale_set=flex, nic=NET + "/networkInterfaces/unknown")
    nic = azure_nic(NET + "/networkInterfaces/f0-real", "10.1.2.9", vm_id=vm["id"])
    record = azure_records({"virtual_machines": [vm], "network_interfaces": [nic]})[0]
    assert record["private_ip"] == "10.1.2.9"
    assert record["extra"]["azure_scale_set"] == "flex" and record["extra"]["azure_scale_set_mode"] == "Flexible"


def test_azure_vm_without_nic_or_status():
    vm = azure_vm("bare")
    del vm["properties"]["instanceView"]
    record = azure_records({"virtual_machines": [vm]})[0]
    assert record["private_ip"] is None and record["power_state"] == "unknown"


def test_power_state_and_uniform_scale_sets():
    assert azure_power_state({"statuses": [{"code": "ProvisioningState/succeeded"}, {"code": "PowerState/stopped"}]}) == "stopped"
    assert azure_power_state(None) is None
    listing = azure_listing()
    assert [s["name"] for s in uniform_scale_sets(listing["scale_sets"])] == ["pool"]


# ------------------------------------------------------------------------------------ settings


@pytest.mark.parametrize("settings, message", [
    ({"topology": "ring"}, "topology"),
    ({"hostname_preference": "ipv6"}, "hostname_preference"),
    ({"hostnames": ["nickname"]}, "nickname"),
    ({"hostnames": []}, "empty"),
    ({"role_groups": {"worker": ["workers"]}}, "workers"),
    ({"jump_hosts": {"gcp": "x"}}, "gcp"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_settings(settings, message):
    with pytest.raises(InventoryDataError, match=message):
        resolve_settings(settings)


def test_settings_none_means_default():
    assert resolve_settings({"topology": None, "hostnames": "instance_id"})["hostnames"] == ["instance_id"]


# ------------------------------------------------------------------------------------ names, addresses


def test_hostnames_preference_fallback_and_collisions():
    records = ec2_fleet() + azure_records(azure_listing())
    named, collisions = assign_hostnames(records, ["name", "instance_id"])
    names = [n for n, dummy in named]
    assert "i-0c" in names  # untagged EC2 instance: no Name tag, so its id
    assert len(set(names)) == len(names) and not collisions
    twins = [ec2_record(ec2_instance("i-1%d" % i, "web"), "r") for i in range(3)]
    named, collisions = assign_hostnames(twins, ["name"])
    assert [n for n, dummy in named] == ["web", "web-i-11", "web-i-12"] and collisions == ["web", "web"]
    named, dummy = assign_hostnames(azure_records(azure_listing()), ["computer_name", "name"])
    assert sorted(n for n, dummy in named) == ["CP0", "LOOSE", "W0", "pool000000", "pool000001"]
    named, dummy = assign_hostnames(ec2_fleet(), ["public_ip_address", "private_dns_name"])
    assert named[0][0] == "54.1.1.1"


@pytest.mark.parametrize("preference, jump, expected", [
    ("private", None, "10.0.0.1"), ("public", None, "54.0.0.1"), ("auto", None, "54.0.0.1"), ("auto", "bastion", "10.0.0.1"),
])
def test_select_address(preference, jump, expected):
    record = {"private_ip": "10.0.0.1", "public_ip": "54.0.0.1"}
    assert select_address(record, preference, jump) == expected
    assert select_address({"private_ip": None, "public_ip": "54.0.0.1"}, "private") == "54.0.0.1"
    assert select_address({"private_ip": "10.0.0.1", "public_ip": None}, "public") == "10.0.0.1"


def test_safe_group_name():
    assert safe_group_name("us-west-2a") == "us_west_2a"
    assert safe_group_name("1st") == "_1st"


# ------------------------------------------------------------------------------------ inventory


def members(inventory, group):
    """Hosts of a group including those of its descendants."""
    entry = inventory.groups[group]
    result = set(entry["hosts"])
    for child in entry["children"]:
        result |= members(inventory, child)
    return result


def test_build_inventory_groups_and_host_variables():
    inv = build_inventory(ec2_fleet() + azure_records(azure_listing()))
    assert members(inv, "aws") == {"cp-a", "w-a", "i-0c"}
    assert members(inv, "azure") == {"cp0", "w0", "loose", "pool_0", "pool_1"}
    assert members(inv, "aws_us_west_2") == members(inv, "aws_us_west_2a") == {"cp-a", "w-a", "i-0c"}
    assert members(inv, "azure_westeurope_1") == {"cp0", "loose"}
    assert "w0" in inv.groups["azure_westeurope"]["hosts"]  # no zone: in the region group itself
    assert members(inv, "kube_control_plane") == members(inv, "etcd") == {"cp-a", "cp0"}
    assert members(inv, "kube_node") == {"w-a", "w0", "pool_0", "pool_1"}
    assert members(inv, "k8s_cluster") == {"cp-a", "cp0", "w-a", "w0", "pool_0", "pool_1"}
    assert members(inv, "platform_shop") == {"cp-a", "cp0", "w-a", "w0", "pool_0", "pool_1"}
    assert members(inv, "shop_aws_kube_control_plane") == {"cp-a"}
    assert members(inv, "shop_azure_kube_node") == {"w0", "pool_0", "pool_1"}
    assert members(inv, "shop_azure") == {"cp0", "w0", "pool_0", "pool_1"}
    assert "shop_azure_k8s_cluster" in inv.groups["shop_azure"]["children"]

    cp = inv.hosts["cp-a"]
    assert cp["ip"] == cp["access_ip"] == cp["private_ip"] == "10.0.0.10"
    assert cp["ansible_host"] == "54.1.1.1" and cp["cloud"] == "aws" and cp["zone"] == "us-west-2a"
    assert cp["ec2_tags"]["Name"] == "cp-a" and "tags" not in cp and "azure_tags" not in cp
    assert cp["platform"] == "shop" and cp["node_role"] == "control_plane" and cp["instance_id"] == "i-0a"
    assert cp["subnet"] == "subnet-1" and cp["power_state"] == "running"
    az = inv.hosts["cp0"]
    assert az["location"] == az["region"] == "westeurope" and az["azure_tags"]["hybrid-cluster"] == "shop"
    assert az["instance_id"].endswith("/virtualMachines/cp0") and az["azure_vm_id"] == "vmid-cp0"
    assert inv.hosts["w-a"]["power_state"] == "stopped" and inv.hosts["w0"]["power_state"] == "deallocated"
    assert inv.hosts["loose"]["platform"] is None and inv.hosts["loose"]["azure_tags"] == {}
    listed = inv.as_dict()
    assert set(listed["_meta"]["hostvars"]) == set(inv.hosts)
    json.dumps(listed)


def test_control_plane_in_kube_node_and_custom_roles():
    inv = build_inventory(ec2_fleet(), {"control_plane_in_kube_node": True})
    assert members(inv, "kube_node") == {"cp-a", "w-a"}
    assert members(inv, "shop_aws_kube_node") == {"cp-a", "w-a"}
    inv = build_inventory(ec2_fleet(), {"role_tag": "Name", "role_groups": {"cp-a": ["etcd"], "w-a": "kube_node"}})
    assert members(inv, "etcd") == {"cp-a"} and members(inv, "kube_node") == {"w-a"}
    assert not members(inv, "kube_control_plane")


def test_stretched_topology_has_no_cluster_groups():
    inv = build_inventory(ec2_fleet() + azure_records(azure_listing()), {"topology": "stretched"})
    assert not [g for g in inv.groups if g.startswith("shop_")]
    assert members(inv, "kube_control_plane") == {"cp-a", "cp0"}


def test_exclude_stopped_hosts():
    inv = build_inventory(ec2_fleet() + azure_records(azure_listing()), {"include_stopped": False})
    assert "w-a" not in inv.hosts and "w0" not in inv.hosts and "cp-a" in inv.hosts


def test_jump_hosts_and_address_preference():
    settings = {"jump_hosts": {"aws": "admin@bastion"}, "hostname_preference": "auto"}
    inv = build_inventory(ec2_fleet() + azure_records(azure_listing()), settings)
    assert inv.hosts["cp-a"]["ansible_host"] == "10.0.0.10"
    assert inv.hosts["cp-a"]["ansible_ssh_common_args"] == "-o ProxyJump=admin@bastion"
    assert inv.hosts["cp0"]["ansible_host"] == "198.51.100.7" and "ansible_ssh_common_args" not in inv.hosts["cp0"]
    inv = build_inventory(azure_records(azure_listing()), {"hostname_preference": "private"})
    assert inv.hosts["cp0"]["ansible_host"] == "10.1.0.4"


def test_custom_platform_tag_and_prefix():
    inv = build_inventory(ec2_fleet(), {"platform_tag": "Name", "platform_group_prefix": "p_"})
    assert "p_cp_a" in inv.groups
    assert "cp_a_aws_kube_control_plane" in inv.groups


def test_collision_warning():
    twins = [ec2_record(ec2_instance("i-1%d" % i, "web"), "r") for i in range(2)]
    inv = build_inventory(twins)
    assert set(inv.hosts) == {"web", "web-i-11"} and "web" in inv.warnings[0]


def test_empty_inventory_still_has_the_kubespray_skeleton():
    inv = build_inventory([])
    assert not inv.hosts
    assert inv.groups["k8s_cluster"]["children"] == ["kube_control_plane", "kube_node"]
