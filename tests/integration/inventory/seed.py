"""Seed both emulators with a known fleet and describe what the inventory must show for it.

Used by the inventory integration tests and by ``bench/inventory.py``. ``seed_aws`` goes through
moto directly (``HYBRID_MOTO_URL``, not the fault proxy) so seeding never shows in the proxy's
request log; ``seed_azure`` uses the emulator's seed interface (no request log entries either).

Each seeder returns ``{expected host name: facts}`` with the facts the inventory must report.
"""

from __future__ import annotations

import boto3
import botocore.config

PLATFORM = "shop"
ROLE_TAG = "hybrid-cluster-node-role"
IMAGE = {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}


def _role(index, control_planes):
    return "control_plane" if index < control_planes else "worker"


# ------------------------------------------------------------------------------------------ AWS


def moto_client(moto_url, region):
    return boto3.client("ec2", region_name=region, endpoint_url=moto_url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=botocore.config.Config(retries={"max_attempts": 1}))


def seed_aws(moto_url, region="us-east-1", count=12, control_planes=3, untagged=2, stopped=2, public_every=3,
             batch=100, platform=PLATFORM):
    """``count`` tagged instances (``control_planes`` of them control plane) plus ``untagged`` ones.

    Every ``public_every``-th tagged instance is in a subnet with public addresses; the first
    ``stopped`` tagged workers are stopped. Returns the expected hosts.
    """
    ec2 = moto_client(moto_url, region)
    vpc = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    private_subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.64.0.0/18", AvailabilityZone=zones[0])["Subnet"]["SubnetId"]
    public_subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.64.64.0/18", AvailabilityZone=zones[1])["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=public_subnet, MapPublicIpOnLaunch={"Value": True})
    image = "ami-12c6146b"  # one of moto's stock images
    plan = []
    for index in range(count):
        public = public_every and index % public_every == 0
        plan.append({"name": "%s-aws-%04d" % (platform, index), "role": _role(index, control_planes), "public": bool(public)})
    for index in range(untagged):
        plan.append({"name": None, "role": None, "public": False})
    expected = {}
    # Group identical launches so one RunInstances makes a batch; Name tags then go per instance.
    groups = {}
    for entry in plan:
        groups.setdefault((entry["role"], entry["public"]), []).append(entry)
    for (role, public), entries in groups.items():
        for start in range(0, len(entries), batch):
            chunk = entries[start:start + batch]
            kwargs = {"ImageId": image, "InstanceType": "m6i.large" if role == "control_plane" else "t3.medium",
                      "MinCount": len(chunk), "MaxCount": len(chunk), "SubnetId": public_subnet if public else private_subnet}
            if role:
                kwargs["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [
                    {"Key": "hybrid-cluster", "Value": platform}, {"Key": ROLE_TAG, "Value": role}]}]
            instances = ec2.run_instances(**kwargs)["Instances"]
            for entry, instance in zip(chunk, instances):
                entry["id"] = instance["InstanceId"]
                entry["private_ip"] = instance.get("PrivateIpAddress")
                entry["zone"] = instance["Placement"]["AvailabilityZone"]
                entry["size"] = kwargs["InstanceType"]
                entry["subnet"] = kwargs["SubnetId"]
                if entry["name"]:
                    ec2.create_tags(Resources=[entry["id"]], Tags=[{"Key": "Name", "Value": entry["name"]}])
    stop = [e["id"] for e in plan if e["role"] == "worker"][:stopped]
    if stop:
        ec2.stop_instances(InstanceIds=stop)
    described = {}
    paginator = ec2.get_paginator("describe_instances")
    for page in paginator.paginate(PaginationConfig={"PageSize": 1000}):
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                described[instance["InstanceId"]] = instance
    for entry in plan:
        instance = described[entry["id"]]
        expected[entry["name"] or entry["id"]] = {
            "cloud": "aws", "instance_id": entry["id"], "region": region, "zone": entry["zone"], "size": entry["size"],
            "ip": instance.get("PrivateIpAddress"), "public_ip": instance.get("PublicIpAddress"),
            "subnet": entry["subnet"], "network": vpc, "role": entry["role"], "platform": platform if entry["role"] else None,
            "power_state": "stopped" if entry["id"] in stop else "running",
        }
    return expected


# ---------------------------------------------------------------------------------------- Azure


def azure_fleet(subscription, count=12, control_planes=3, untagged=2, stopped=2, public_every=3, scale_set_size=3,
                flexible_size=2, location="westeurope", group="shop-rg", platform=PLATFORM):
    """Seed bodies and expected hosts for one resource group.

    ``count`` tagged VMs (``control_planes`` control plane), ``untagged`` VMs without tags, a
    Uniform scale set of ``scale_set_size`` workers (whose instances come from the emulator) and a
    Flexible scale set with ``flexible_size`` member VMs. Every ``public_every``-th tagged VM has a
    public IP; the first ``stopped`` tagged workers are deallocated.
    """
    rg = "/subscriptions/%s/resourceGroups/%s" % (subscription, group)
    net = rg + "/providers/Microsoft.Network"
    comp = rg + "/providers/Microsoft.Compute"
    vnet = net + "/virtualNetworks/%s-vnet" % platform
    subnet = vnet + "/subnets/nodes"
    bodies = [{"id": rg, "location": location},
              {"id": vnet, "location": location, "properties": {
                  "addressSpace": {"addressPrefixes": ["10.80.0.0/12"]},
                  "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.80.0.0/16"}}]}}]
    expected = {}
    flexible_id = comp + "/virtualMachineScaleSets/%s-flex" % platform
    bodies.append({"id": flexible_id, "location": location, "tags": {"hybrid-cluster": platform, ROLE_TAG: "worker"},
                   "sku": {"name": "Standard_D2s_v5", "capacity": 0},
                   "properties": {"orchestrationMode": "Flexible", "platformFaultDomainCount": 1}})
    machines = []
    for index in range(count):
        machines.append({"name": "%s-az-%04d" % (platform, index), "role": _role(index, control_planes),
                         "public": bool(public_every) and index % public_every == 0, "scale_set": None})
    for index in range(flexible_size):
        machines.append({"name": "%s-flex-%04d" % (platform, index), "role": "worker", "public": False, "scale_set": flexible_id})
    for index in range(untagged):
        machines.append({"name": "loose-az-%04d" % index, "role": None, "public": False, "scale_set": None})
    stopped_names = {m["name"] for m in machines if m["role"] == "worker" and not m["scale_set"]}
    stopped_names = set(sorted(stopped_names)[:stopped])
    for position, machine in enumerate(machines):
        name = machine["name"]
        nic_id = net + "/networkInterfaces/%s-nic" % name
        address = "10.80.%d.%d" % ((position + 10) // 256, (position + 10) % 256)
        config = {"name": "ipconfig1", "properties": {"subnet": {"id": subnet}, "privateIPAllocationMethod": "Static",
                                                      "privateIPAddress": address, "primary": True}}
        public_ip = None
        if machine["public"]:
            public_ip = "198.51.100.%d" % (position % 250 + 1) if position < 250 else "203.0.113.%d" % (position % 250 + 1)
            pip_id = net + "/publicIPAddresses/%s-pip" % name
            bodies.append({"id": pip_id, "location": location, "sku": {"name": "Standard"},
                           "properties": {"publicIPAllocationMethod": "Static", "ipAddress": public_ip}})
            config["properties"]["publicIPAddress"] = {"id": pip_id}
        bodies.append({"id": nic_id, "location": location, "properties": {"ipConfigurations": [config]}})
        tags = {"hybrid-cluster": platform, ROLE_TAG: machine["role"]} if machine["role"] else None
        vm = {"id": comp + "/virtualMachines/%s" % name, "location": location, "zones": ["%d" % (position % 3 + 1)],
              "properties": {"hardwareProfile": {"vmSize": "Standard_D4s_v5" if machine["role"] == "control_plane" else "Standard_D2s_v5"},
                             "storageProfile": {"imageReference": IMAGE},
                             "osProfile": {"adminUsername": "azureuser", "computerName": name},
                             "networkProfile": {"networkInterfaces": [{"id": nic_id, "properties": {"primary": True}}]}},
              "powerState": "deallocated" if name in stopped_names else "running"}
        if tags:
            vm["tags"] = tags
        if machine["scale_set"]:
            vm["properties"]["virtualMachineScaleSet"] = {"id": machine["scale_set"]}
        bodies.append(vm)
        expected[name] = {
            "cloud": "azure", "instance_id": vm["id"], "region": location, "zone": vm["zones"][0],
            "size": vm["properties"]["hardwareProfile"]["vmSize"], "ip": address, "public_ip": public_ip, "subnet": subnet,
            "network": vnet, "role": machine["role"], "platform": platform if machine["role"] else None,
            "power_state": "deallocated" if name in stopped_names else "running",
            "scale_set": machine["scale_set"].rsplit("/", 1)[-1] if machine["scale_set"] else None,
        }
    if scale_set_size:
        uniform_id = comp + "/virtualMachineScaleSets/%s-pool" % platform
        bodies.append({"id": uniform_id, "location": location, "tags": {"hybrid-cluster": platform, ROLE_TAG: "worker"},
                       "sku": {"name": "Standard_D8s_v5", "tier": "Standard", "capacity": scale_set_size},
                       "properties": {"upgradePolicy": {"mode": "Manual"}, "virtualMachineProfile": {
                           "osProfile": {"computerNamePrefix": "pool", "adminUsername": "azureuser"},
                           "storageProfile": {"imageReference": IMAGE},
                           "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {
                               "primary": True, "ipConfigurations": [{"name": "ipconfig", "properties": {"subnet": {"id": subnet}}}]}}]}}}})
        for index in range(scale_set_size):
            expected["%s-pool_%d" % (platform, index)] = {
                "cloud": "azure", "instance_id": uniform_id + "/virtualMachines/%d" % index, "region": location, "zone": None,
                "size": "Standard_D8s_v5", "ip": None, "public_ip": None, "subnet": subnet, "network": vnet, "role": "worker",
                "platform": platform, "power_state": "running", "scale_set": "%s-pool" % platform}
    return bodies, expected


def seed_azure(emulator, **kwargs):
    """Seed ``emulator`` (AzureEmulator or EmulatorClient) and return the expected hosts.

    Scale-set instance addresses are allocated by the emulator; they are read back from its state.
    """
    subscription = kwargs.pop("subscription", None) or getattr(emulator, "subscription_id", None) \
        or emulator.health()["subscription_id"]
    bodies, expected = azure_fleet(subscription, **kwargs)
    emulator.seed(bodies)
    pending = {v["instance_id"].lower(): k for k, v in expected.items() if v["ip"] is None}
    public = {k for k, v in expected.items() if v["public_ip"]}
    if pending or public:
        # The emulator allocates addresses itself: read back scale-set NIC and public IP addresses.
        for resource in emulator.dump()["resources"]:
            owner = ((resource.get("properties") or {}).get("virtualMachine") or {}).get("id", "").lower()
            if resource["type"] == "Microsoft.Network/networkInterfaces" and owner in pending:
                config = resource["properties"]["ipConfigurations"][0]["properties"]
                expected[pending[owner]]["ip"] = config["privateIPAddress"]
            if resource["type"] == "Microsoft.Network/publicIPAddresses" and resource["name"][:-len("-pip")] in public:
                expected[resource["name"][:-len("-pip")]]["public_ip"] = resource["properties"].get("ipAddress")
    return expected
