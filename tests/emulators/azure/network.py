"""Microsoft.Network basics: virtual networks and subnets, security groups and rules, public IP
addresses, network interfaces, route tables and routes."""

import ipaddress
import uuid

from .arm import ResourceType, bad_request
from .ipam import PrivateAllocator, allocate_public_address, mac_address, parse_prefix, subnet_prefixes

NET = "microsoft.network/"
VNET = NET + "virtualnetworks"
SUBNET = VNET + "/subnets"
NSG = NET + "networksecuritygroups"
NIC = NET + "networkinterfaces"
PIP = NET + "publicipaddresses"
ROUTE_TABLE = NET + "routetables"
VNG = NET + "virtualnetworkgateways"
VMSS_NIC = "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces"
IP_CONFIG_HOLDERS = (NIC, VMSS_NIC, VNG)


def new_guid():
    return str(uuid.uuid4())


def require(properties, name, target=None):
    value = properties.get(name)
    if value in (None, "", []):
        raise bad_request("InvalidRequestFormat", "Cannot parse the request: the property '%s' is required." % name,
                          target or name)
    return value


def choice(properties, name, allowed, default=None):
    value = properties.get(name, default)
    if value is None:
        return None
    match = next((a for a in allowed if a.lower() == str(value).lower()), None)
    if match is None:
        raise bad_request("InvalidRequestFormat", "Value '%s' of property '%s' is not one of %s." % (value, name, ", ".join(allowed)),
                          name)
    properties[name] = match
    return match


class VirtualNetwork(ResourceType):
    type_name = "Microsoft.Network/virtualNetworks"
    inline = {"subnets": "Microsoft.Network/virtualNetworks/subnets"}
    read_only_properties = ("resourceGuid", "virtualNetworkPeerings")

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        space = properties.get("addressSpace") or {}
        prefixes = space.get("addressPrefixes") or []
        if not prefixes:
            raise bad_request("InvalidAddressSpace", "Virtual network %s has no address prefixes in addressSpace." % record["name"],
                              "addressSpace")
        networks = [parse_prefix(p, "Address space prefix") for p in prefixes]
        for index, first in enumerate(networks):
            for second in networks[index + 1:]:
                if first.version == second.version and first.overlaps(second):
                    raise bad_request("NetcfgDuplicateAddressPrefixes", "Virtual network %s has overlapping address "
                                      "prefixes %s and %s." % (record["name"], first, second))
        properties["resourceGuid"] = properties.get("resourceGuid") or new_guid()
        properties.setdefault("enableDdosProtection", False)
        properties.setdefault("virtualNetworkPeerings", [])
        properties.setdefault("privateEndpointVNetPolicies", "Disabled")

    def decorate(self, arm, record, view, expand):
        view["properties"].setdefault("virtualNetworkPeerings", [])

    def check_delete(self, arm, record):
        subnet_type = arm.types[SUBNET]
        for subnet in arm.store.children(record["id"], SUBNET):
            subnet_type.check_delete(arm, subnet)


class Subnet(ResourceType):
    type_name = "Microsoft.Network/virtualNetworks/subnets"
    tracked = False
    read_only_properties = ("ipConfigurations", "ipConfigurationProfiles", "resourceNavigationLinks",
                            "serviceAssociationLinks", "privateEndpoints", "purpose")
    in_use = ("InUseSubnetCannotBeDeleted", "Subnet {name} is in use by {user} and cannot be deleted. In order to delete "
                                            "the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.")

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        if not properties.get("addressPrefix") and not properties.get("addressPrefixes"):
            raise bad_request("NoAddressPrefixOrPoolProvided", "Subnet %s must have an addressPrefix or addressPrefixes."
                              % record["name"])
        networks = subnet_prefixes(record)
        vnet = change.parent(arm, record)
        space = [parse_prefix(p) for p in ((vnet.get("properties") or {}).get("addressSpace") or {}).get("addressPrefixes", [])]
        for network in networks:
            if not any(network.version == s.version and network.subnet_of(s) for s in space):
                raise bad_request("NetcfgSubnetRangeOutsideVnet", "Subnet '%s' is not valid because its IP address range is "
                                  "outside the IP address range of virtual network '%s'." % (record["name"], vnet["name"]))
        for sibling in change.siblings(arm, record):
            for other in subnet_prefixes(sibling):
                if any(n.version == other.version and n.overlaps(other) for n in networks):
                    raise bad_request("NetcfgSubnetRangesOverlap", "Subnet '%s' is not valid because its IP address range "
                                      "overlaps with that of an existing subnet '%s' in virtual network '%s'."
                                      % (record["name"], sibling["name"], vnet["name"]))
        nsg = properties.get("networkSecurityGroup")
        if nsg and record["name"].lower() == "gatewaysubnet":
            raise bad_request("NetworkSecurityGroupCannotBeAttachedToGatewaySubnet",
                              "The operation failed because the network security group %s can not be associated to the "
                              "GatewaySubnet. Please remove the network security group associated to the GatewaySubnet."
                              % nsg.get("id"))
        if existing is not None and subnet_prefixes(existing) != networks:
            users = arm.store.referrers(record["id"])
            if users:
                raise bad_request("InUseSubnetCannotBeUpdated", "Subnet %s is in use and cannot be updated: its address "
                                  "prefix cannot change while %s uses it." % (record["name"], users[0][0]["id"]))
        properties.setdefault("delegations", [])
        properties.setdefault("privateEndpointNetworkPolicies", "Disabled")
        properties.setdefault("privateLinkServiceNetworkPolicies", "Enabled")

    def decorate(self, arm, record, view, expand):
        refs = arm.ip_configuration_refs(record["id"], IP_CONFIG_HOLDERS)
        if refs:
            view["properties"]["ipConfigurations"] = refs


DEFAULT_RULES = (
    ("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", "VirtualNetwork", "VirtualNetwork", "Allow", 65000, "Inbound"),
    ("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", "AzureLoadBalancer", "*", "Allow",
     65001, "Inbound"),
    ("DenyAllInBound", "Deny all inbound traffic", "*", "*", "Deny", 65500, "Inbound"),
    ("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", "VirtualNetwork", "VirtualNetwork",
     "Allow", 65000, "Outbound"),
    ("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", "*", "Internet", "Allow", 65001, "Outbound"),
    ("DenyAllOutBound", "Deny all outbound traffic", "*", "*", "Deny", 65500, "Outbound"),
)


class NetworkSecurityGroup(ResourceType):
    type_name = "Microsoft.Network/networkSecurityGroups"
    inline = {"securityRules": "Microsoft.Network/networkSecurityGroups/securityRules"}
    read_only_properties = ("resourceGuid", "defaultSecurityRules", "subnets", "networkInterfaces", "flowLogs")
    in_use = ("InUseNetworkSecurityGroupCannotBeDeleted", "Network security group {id} cannot be deleted because it is in "
                                                          "use by the following resources: {user}.")

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        properties["resourceGuid"] = properties.get("resourceGuid") or new_guid()
        properties.setdefault("flushConnection", False)

    def decorate(self, arm, record, view, expand):
        properties = view["properties"]
        rules = []
        for name, description, source, destination, access, priority, direction in DEFAULT_RULES:
            rules.append({
                "name": name, "id": "%s/defaultSecurityRules/%s" % (record["id"], name), "etag": record["etag"],
                "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
                "properties": {"provisioningState": properties["provisioningState"], "description": description,
                               "protocol": "*", "sourcePortRange": "*", "destinationPortRange": "*",
                               "sourceAddressPrefix": source, "destinationAddressPrefix": destination,
                               "access": access, "priority": priority, "direction": direction,
                               "sourcePortRanges": [], "destinationPortRanges": [],
                               "sourceAddressPrefixes": [], "destinationAddressPrefixes": []},
            })
        properties["defaultSecurityRules"] = rules
        subnets = arm.back_refs(record["id"], (SUBNET,), "networkSecurityGroup")
        nics = arm.back_refs(record["id"], (NIC,), "networkSecurityGroup")
        if subnets:
            properties["subnets"] = subnets
        if nics:
            properties["networkInterfaces"] = nics


class SecurityRule(ResourceType):
    type_name = "Microsoft.Network/networkSecurityGroups/securityRules"
    tracked = False
    api_type = "Microsoft.Network/networkSecurityGroups/securityRules"

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        choice(properties, "protocol", ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*"))
        require(properties, "protocol")
        choice(properties, "access", ("Allow", "Deny"))
        require(properties, "access")
        choice(properties, "direction", ("Inbound", "Outbound"))
        require(properties, "direction")
        priority = require(properties, "priority")
        if not isinstance(priority, int) or not 100 <= priority <= 4096:
            raise bad_request("SecurityRuleInvalidPriority", "Security rule %s has invalid priority %s. Value provided: %s "
                              "Allowed range 100-4096." % (record["name"], priority, priority), "priority")
        for side in ("source", "destination"):
            if not properties.get(side + "AddressPrefix") and not properties.get(side + "AddressPrefixes") \
                    and not properties.get(side + "ApplicationSecurityGroups"):
                raise bad_request("SecurityRuleParameterContainsUnsupportedValue", "Security rule %s must specify %sAddressPrefix "
                                  "or %sAddressPrefixes." % (record["name"], side, side), side + "AddressPrefix")
            if not properties.get(side + "PortRange") and not properties.get(side + "PortRanges"):
                raise bad_request("SecurityRuleParameterContainsUnsupportedValue", "Security rule %s must specify %sPortRange "
                                  "or %sPortRanges." % (record["name"], side, side), side + "PortRange")
            for key in ("AddressPrefixes", "PortRanges"):
                properties.setdefault(side + key, [])
        for sibling in change.siblings(arm, record):
            other = sibling["properties"]
            if other.get("priority") == priority and other.get("direction") == properties["direction"]:
                raise bad_request("SecurityRuleParameterPriorityAlreadyTaken", "Security rule %s conflicts with rule %s. "
                                  "Rules cannot have the same Priority and Direction." % (record["name"], sibling["name"]))


class PublicIPAddress(ResourceType):
    type_name = "Microsoft.Network/publicIPAddresses"
    read_only_properties = ("resourceGuid", "ipConfiguration")
    in_use = ("PublicIPAddressCannotBeDeleted", "Public IP address {id} can not be deleted since it is still allocated to "
                                                "resource {user}. In order to delete the public IP, disassociate/detach the "
                                                "Public IP address from the resource.")

    def prepare(self, arm, change, request, record, body, existing):
        top = record["top"]
        top.setdefault("sku", {"name": "Standard", "tier": "Regional"})
        top["sku"].setdefault("tier", "Regional")
        standard = top["sku"].get("name", "").lower() == "standard"
        properties = record["properties"]
        method = choice(properties, "publicIPAllocationMethod", ("Static", "Dynamic"), "Static" if standard else "Dynamic")
        if standard and method == "Dynamic":
            raise bad_request("StandardSkuPublicIPAddressesNotAllowedWithDynamicAllocation", "Standard sku publicIp %s must "
                              "have AllocationMethod set to Static." % record["id"], "publicIPAllocationMethod")
        choice(properties, "publicIPAddressVersion", ("IPv4", "IPv6"), "IPv4")
        properties.setdefault("idleTimeoutInMinutes", 4)
        properties.setdefault("ipTags", [])
        old = (existing or {}).get("properties", {}).get("ipAddress")
        properties.pop("ipAddress", None)
        if method == "Static":
            properties["ipAddress"] = old or allocate_public_address(arm)
        dns = properties.get("dnsSettings")
        if dns and dns.get("domainNameLabel"):
            dns["fqdn"] = "%s.%s.cloudapp.azure.com" % (dns["domainNameLabel"], record["location"])
        properties["resourceGuid"] = (existing or {}).get("properties", {}).get("resourceGuid") or new_guid()

    def decorate(self, arm, record, view, expand):
        refs = arm.ip_configuration_refs(record["id"], IP_CONFIG_HOLDERS)
        if refs:
            view["properties"]["ipConfiguration"] = refs[0]


def build_ip_configurations(arm, record, configs, existing, type_name, allocators=None):
    """Names, ids, etags and private addresses for the ip configurations of a NIC-like record.

    ``allocators`` (subnet id -> PrivateAllocator) can be shared between records written together.
    """
    if not configs:
        raise bad_request("InvalidRequestFormat", "At least one IP configuration is required.", "ipConfigurations")
    old = {c.get("name", "").lower(): c for c in ((existing or {}).get("properties") or {}).get("ipConfigurations", [])}
    allocators = {} if allocators is None else allocators
    result = []
    for index, config in enumerate(configs):
        name = require(config, "name", "ipConfigurations")
        props = dict(config.get("properties") or {})
        props.pop("provisioningState", None)
        subnet_id = (props.get("subnet") or {}).get("id")
        if not subnet_id:
            raise bad_request("InvalidRequestFormat", "IP configuration %s needs a subnet." % name, "subnet")
        subnet = arm.store.get(subnet_id)
        entry = {"name": name, "id": "%s/ipConfigurations/%s" % (record["id"], name), "etag": record["etag"],
                 "type": type_name, "properties": props}
        result.append(entry)
        props.setdefault("privateIPAddressVersion", "IPv4")
        props.setdefault("primary", index == 0)
        if subnet is None:  # only when seeding without reference checks: keep the given address
            continue
        key = subnet["id"].lower()
        if key not in allocators:
            allocators[key] = PrivateAllocator(arm, subnet, record["id"])
        method = choice(props, "privateIPAllocationMethod", ("Static", "Dynamic"), "Dynamic")
        previous = (old.get(name.lower()) or {}).get("properties", {})
        same_subnet = (previous.get("subnet") or {}).get("id", "").lower() == key
        if method == "Static":
            props["privateIPAddress"] = allocators[key].take(props.get("privateIPAddress"))
        elif same_subnet and previous.get("privateIPAddress"):
            props["privateIPAddress"] = allocators[key].take(previous["privateIPAddress"])
        else:
            props["privateIPAddress"] = allocators[key].take()
    return result


class NetworkInterface(ResourceType):
    type_name = "Microsoft.Network/networkInterfaces"
    read_only_properties = ("resourceGuid", "virtualMachine", "macAddress", "hostedWorkloads", "tapConfigurations",
                            "privateEndpoint", "vnetEncryptionSupported")
    in_use = ("NicInUse", "Network Interface {id} is used by existing resource {user}. In order to delete the network "
                          "interface, it must be dissociated from the resource.")

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        properties["ipConfigurations"] = build_ip_configurations(
            arm, record, properties.get("ipConfigurations"), existing, "Microsoft.Network/networkInterfaces/ipConfigurations")
        old = (existing or {}).get("properties", {})
        properties["macAddress"] = old.get("macAddress") or mac_address()
        properties["resourceGuid"] = old.get("resourceGuid") or new_guid()
        properties.setdefault("enableAcceleratedNetworking", False)
        properties.setdefault("enableIPForwarding", False)
        properties.setdefault("dnsSettings", {"dnsServers": [], "appliedDnsServers": []})
        properties.setdefault("nicType", "Standard")

    def decorate(self, arm, record, view, expand):
        properties = view["properties"]
        users = [{"id": r["id"]} for r, _path in arm.store.referrers(record["id"])
                 if r["type_key"] == "microsoft.compute/virtualmachines" and not r.get("deleting")]
        if users:
            properties["virtualMachine"] = users[0]
        properties["primary"] = properties.get("primary", True)
        properties.setdefault("hostedWorkloads", [])
        properties.setdefault("tapConfigurations", [])
        for config in properties.get("ipConfigurations", []):
            config["properties"]["provisioningState"] = properties["provisioningState"]


class RouteTable(ResourceType):
    type_name = "Microsoft.Network/routeTables"
    inline = {"routes": "Microsoft.Network/routeTables/routes"}
    read_only_properties = ("resourceGuid", "subnets")
    in_use = ("InUseRouteTableCannotBeDeleted", "Route table {id} is in use by {user} and cannot be deleted.")

    def prepare(self, arm, change, request, record, body, existing):
        record["properties"].setdefault("disableBgpRoutePropagation", False)
        record["properties"]["resourceGuid"] = (existing or {}).get("properties", {}).get("resourceGuid") or new_guid()

    def decorate(self, arm, record, view, expand):
        subnets = arm.back_refs(record["id"], (SUBNET,), "routeTable")
        if subnets:
            view["properties"]["subnets"] = subnets


class Route(ResourceType):
    type_name = "Microsoft.Network/routeTables/routes"
    tracked = False
    api_type = "Microsoft.Network/routeTables/routes"

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        prefix = require(properties, "addressPrefix")
        if "/" in str(prefix):  # otherwise a service tag such as "AzureCloud"
            parse_prefix(prefix)
        hop = choice(properties, "nextHopType", ("VirtualNetworkGateway", "VnetLocal", "Internet", "VirtualAppliance", "None"))
        require(properties, "nextHopType")
        if hop == "VirtualAppliance":
            address = require(properties, "nextHopIpAddress")
            try:
                ipaddress.ip_address(address)
            except ValueError as exc:
                raise bad_request("InvalidNextHopIpAddress", "Next hop IP address %s is not valid." % address) from exc
        elif properties.get("nextHopIpAddress"):
            raise bad_request("NextHopIpAddressNotAllowed", "Route %s has next hop type %s, which does not take a next hop IP "
                              "address." % (record["name"], hop))


def register(arm):
    for rtype in (VirtualNetwork(), Subnet(), NetworkSecurityGroup(), SecurityRule(), PublicIPAddress(),
                  NetworkInterface(), RouteTable(), Route()):
        arm.register(rtype)
