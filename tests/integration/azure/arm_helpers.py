"""Small builders shared by the Azure emulator tests (through the collection's client layer)."""

from ansible_collections.hybrid.cluster.plugins.module_utils.azure import ownership_tags, wait_for_lro

LOC = "westeurope"


def make_group(clients, name="rg1"):
    return clients.resource.resource_groups.create_or_update(name, {"location": LOC, "tags": ownership_tags("shop")})


def make_vnet(clients, group="rg1", name="vnet1", subnets=None):
    if subnets is None:
        subnets = [("default", "10.1.1.0/24"), ("GatewaySubnet", "10.1.255.0/27")]
    body = {"location": LOC, "tags": ownership_tags("shop"),
            "properties": {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                           "subnets": [{"name": n, "properties": {"addressPrefix": p}} for n, p in subnets]}}
    return wait_for_lro(clients.network.virtual_networks.begin_create_or_update(group, name, body), 30)


def make_nic(clients, subnet_id, name="nic1", group="rg1", public_ip=None, nsg=None):
    config = {"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}}}
    if public_ip:
        config["properties"]["publicIPAddress"] = {"id": public_ip}
    body = {"location": LOC, "properties": {"ipConfigurations": [config]}}
    if nsg:
        body["properties"]["networkSecurityGroup"] = {"id": nsg}
    return wait_for_lro(clients.network.network_interfaces.begin_create_or_update(group, name, body), 30)
