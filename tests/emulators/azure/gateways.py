"""Microsoft.Network VPN: virtual network gateways, local network gateways and connections.

Checks Azure really makes: a gateway's ip configurations must sit in a subnet named GatewaySubnet
and carry a public IP; active-active takes exactly two ip configurations; custom (APIPA) BGP
addresses must fall in 169.254.21.0 - 169.254.22.255. A connection's ``sharedKey`` is write-only:
GET of the connection leaves it out, the ``/sharedkey`` sub-resource reads and writes it.
"""

import ipaddress
import secrets

from .arm import ArmError, ResourceType, Response, bad_request, new_etag
from .network import build_ip_configurations, choice, new_guid, require

APIPA_RANGE = (ipaddress.ip_address("169.254.21.0"), ipaddress.ip_address("169.254.22.255"))
DEFAULT_GATEWAY_ASN = 65515
RESERVED_ASNS = {65515, 65517, 65518, 65519, 65520}


def _apipa(address, where):
    try:
        value = ipaddress.ip_address(address)
    except ValueError as exc:
        raise bad_request("InvalidCustomBgpIpAddress", "%s: '%s' is not an IP address." % (where, address)) from exc
    if not APIPA_RANGE[0] <= value <= APIPA_RANGE[1]:
        raise bad_request("InvalidCustomBgpIpAddress", "%s: custom BGP IP address %s is not valid. Azure APIPA BGP addresses "
                          "must be in the range 169.254.21.0 to 169.254.22.255." % (where, address))


class VirtualNetworkGateway(ResourceType):
    type_name = "Microsoft.Network/virtualNetworkGateways"
    read_only_properties = ("resourceGuid", "inboundDnsForwardingEndpoint")
    top_level_keys = ("identity", "extendedLocation")
    in_use = ("InUseVirtualNetworkGatewayCannotBeDeleted", "Virtual network gateway {id} cannot be deleted because it is "
                                                           "in use by {user}. Delete the connections first.")

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        gateway_type = choice(properties, "gatewayType", ("Vpn", "ExpressRoute", "LocalGateway"), "Vpn")
        if gateway_type == "Vpn":
            choice(properties, "vpnType", ("RouteBased", "PolicyBased"), "RouteBased")
        sku = require(properties, "sku")
        if not sku.get("name"):
            raise bad_request("InvalidRequestFormat", "Virtual network gateway sku name is required.", "sku")
        sku.setdefault("tier", sku["name"])
        sku.setdefault("capacity", 2)
        active = bool(properties.setdefault("activeActive", False))
        bgp = bool(properties.setdefault("enableBgp", False))
        configs = properties.get("ipConfigurations") or []
        if not configs:
            raise bad_request("VirtualNetworkGatewayMustHaveIpConfiguration", "Virtual network gateway %s must have at "
                              "least one ip configuration." % record["name"], "ipConfigurations")
        if active and len(configs) != 2:
            raise bad_request("ActiveActiveVirtualNetworkGatewayMustHaveTwoIpConfigurations",
                              "An active-active virtual network gateway %s must have exactly two ip configurations; "
                              "it has %d." % (record["name"], len(configs)), "ipConfigurations")
        if not active and len(configs) > 1:
            raise bad_request("VirtualNetworkGatewayCannotHaveMoreThanOneIpConfiguration",
                              "Virtual network gateway %s is not active-active and can have only one ip configuration."
                              % record["name"], "ipConfigurations")
        subnet_ids = set()
        for config in configs:
            config_props = config.get("properties") or {}
            subnet_id = (config_props.get("subnet") or {}).get("id") or ""
            if not subnet_id:
                raise bad_request("InvalidRequestFormat", "Ip configuration %s of virtual network gateway %s needs a subnet."
                                  % (config.get("name"), record["name"]), "subnet")
            if subnet_id.rstrip("/").rsplit("/", 1)[-1].lower() != "gatewaysubnet":
                raise bad_request("GatewaySubnetNameMustBeGatewaySubnet",
                                  "Subnet %s referenced by virtual network gateway %s ip configuration %s is not a gateway "
                                  "subnet. A virtual network gateway can only be deployed in a subnet named 'GatewaySubnet'."
                                  % (subnet_id, record["id"], config.get("name")), "subnet")
            subnet_ids.add(subnet_id.lower())
            if gateway_type == "Vpn" and not (config_props.get("publicIPAddress") or {}).get("id"):
                raise bad_request("VirtualNetworkGatewayIpConfigurationMustHavePublicIp",
                                  "Ip configuration %s of virtual network gateway %s must reference a public IP address."
                                  % (config.get("name"), record["name"]), "publicIPAddress")
        if len(subnet_ids) > 1:
            raise bad_request("VirtualNetworkGatewayIpConfigurationsMustUseSameSubnet", "All ip configurations of virtual "
                              "network gateway %s must use the same GatewaySubnet." % record["name"])
        properties["ipConfigurations"] = build_ip_configurations(
            arm, record, configs, existing, "Microsoft.Network/virtualNetworkGateways/ipConfigurations")
        self._bgp(arm, record, properties, bgp)
        properties["resourceGuid"] = (existing or {}).get("properties", {}).get("resourceGuid") or new_guid()
        properties.setdefault("vpnGatewayGeneration", "Generation2" if sku["name"].lower() not in ("basic", "vpngw1") else
                              "Generation1")
        properties.setdefault("enablePrivateIpAddress", False)
        properties.setdefault("disableIPSecReplayProtection", False)
        properties.setdefault("allowRemoteVnetTraffic", False)
        properties.setdefault("allowVirtualWanTraffic", False)
        properties.setdefault("natRules", [])
        properties.setdefault("enableBgpRouteTranslationForNat", False)

    @staticmethod
    def _bgp(arm, record, properties, bgp):
        settings = dict(properties.get("bgpSettings") or {})
        settings.setdefault("asn", DEFAULT_GATEWAY_ASN)
        settings.setdefault("peerWeight", 0)
        asn = settings["asn"]
        if not isinstance(asn, int) or not 0 < asn < 4294967296:
            raise bad_request("InvalidAsn", "ASN %s of virtual network gateway %s is not valid." % (asn, record["name"]))
        if asn != DEFAULT_GATEWAY_ASN and asn in RESERVED_ASNS:
            raise bad_request("AsnReserved", "ASN %s is reserved by Azure and cannot be used." % asn)
        custom = {}
        for entry in settings.get("bgpPeeringAddresses") or []:
            config_id = (entry.get("ipconfigurationId") or "").lower()
            for address in entry.get("customBgpIpAddresses") or []:
                _apipa(address, "bgpPeeringAddresses of %s" % entry.get("ipconfigurationId"))
            custom[config_id] = list(entry.get("customBgpIpAddresses") or [])
        known = {c["id"].lower() for c in properties["ipConfigurations"]}
        unknown = [k for k in custom if k not in known]
        if unknown:
            raise bad_request("InvalidResourceReference", "bgpPeeringAddresses refers to ip configuration %s, which is not "
                              "an ip configuration of virtual network gateway %s." % (unknown[0], record["id"]))
        peering = []
        for config in properties["ipConfigurations"]:
            config_props = config["properties"]
            public_ip = arm.store.get((config_props.get("publicIPAddress") or {}).get("id") or "")
            tunnel = (public_ip or {}).get("properties", {}).get("ipAddress")
            peering.append({
                "ipconfigurationId": config["id"],
                "defaultBgpIpAddresses": [config_props["privateIPAddress"]] if config_props.get("privateIPAddress") else [],
                "customBgpIpAddresses": custom.get(config["id"].lower(), []),
                "tunnelIpAddresses": [tunnel] if tunnel else [],
            })
        settings["bgpPeeringAddresses"] = peering
        settings["bgpPeeringAddress"] = ",".join(a for p in peering for a in p["defaultBgpIpAddresses"])
        properties["bgpSettings"] = settings
        properties["enableBgp"] = bgp

    def decorate(self, arm, record, view, expand):
        properties = view["properties"]
        for config in properties.get("ipConfigurations", []):
            config["properties"]["provisioningState"] = properties["provisioningState"]
        addresses = [c["properties"].get("privateIPAddress") for c in properties.get("ipConfigurations", [])]
        if properties.get("enableDnsForwarding") and any(addresses):
            properties["inboundDnsForwardingEndpoint"] = next(a for a in addresses if a)


class LocalNetworkGateway(ResourceType):
    type_name = "Microsoft.Network/localNetworkGateways"
    read_only_properties = ("resourceGuid",)
    in_use = ("InUseLocalNetworkGatewayCannotBeDeleted", "Local network gateway {id} cannot be deleted because it is in use "
                                                         "by {user}. Delete the connections first.")

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        if not properties.get("gatewayIpAddress") and not properties.get("fqdn"):
            raise bad_request("LocalNetworkGatewayMustHaveIpAddressOrFqdn", "Local network gateway %s must have a "
                              "gatewayIpAddress or an fqdn." % record["name"], "gatewayIpAddress")
        if properties.get("gatewayIpAddress"):
            try:
                ipaddress.ip_address(properties["gatewayIpAddress"])
            except ValueError as exc:
                raise bad_request("InvalidGatewayIpAddress", "Gateway IP address %s of local network gateway %s is not "
                                  "valid." % (properties["gatewayIpAddress"], record["name"])) from exc
        space = properties.setdefault("localNetworkAddressSpace", {"addressPrefixes": []})
        space.setdefault("addressPrefixes", [])
        for prefix in space["addressPrefixes"]:
            try:
                ipaddress.ip_network(prefix, strict=False)
            except ValueError as exc:
                raise bad_request("InvalidAddressPrefixFormat", "Address prefix %s is not a valid CIDR." % prefix) from exc
        bgp = properties.get("bgpSettings")
        if bgp:
            asn = bgp.get("asn")
            if asn in RESERVED_ASNS:
                raise bad_request("AsnReserved", "ASN %s is reserved by Azure and cannot be used for a local network "
                                  "gateway." % asn)
            bgp.setdefault("peerWeight", 0)
        if not space["addressPrefixes"] and not bgp:
            raise bad_request("LocalNetworkGatewayMustHaveAddressPrefixesOrBgp", "Local network gateway %s needs address "
                              "prefixes or BGP settings." % record["name"])
        properties["resourceGuid"] = (existing or {}).get("properties", {}).get("resourceGuid") or new_guid()


def _shared_key(arm, request, record):
    rid = record["id"] + "/sharedkey"
    if request.method == "GET":
        if "sharedKey" not in record["secrets"]:
            raise ArmError(404, "NotFound", "Shared key of connection %s was not found." % record["id"])
        return Response(200, {"id": rid, "value": record["secrets"]["sharedKey"]})
    if request.method != "PUT":
        raise ArmError(405, "MethodNotAllowed", "The shared key supports GET and PUT.")
    body = request.json_object()
    value = body.get("value")
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise bad_request("InvalidSharedKey", "The shared key must be a string of 1 to 128 characters.", "value")
    if any(ord(c) < 32 or ord(c) > 126 for c in value):
        raise bad_request("InvalidSharedKey", "The shared key may contain printable ASCII characters only.", "value")
    created = "sharedKey" not in record["secrets"]
    record["secrets"]["sharedKey"] = value
    record["etag"] = new_etag()
    operation = arm.new_operation(request, record, "put", 0.0)
    return Response(201 if created else 200, {"id": rid, "value": value}, arm.operation_headers(request, operation))


class Connection(ResourceType):
    type_name = "Microsoft.Network/connections"
    secret_properties = ("sharedKey",)
    read_only_properties = ("resourceGuid", "connectionStatus", "tunnelConnectionStatus", "egressBytesTransferred",
                            "ingressBytesTransferred")

    def __init__(self):
        super().__init__()
        self.subresources["sharedkey"] = _shared_key

    def normalize(self, body):
        """Gateways may be sent as whole objects; only their ids count (nested properties are ignored)."""
        properties = dict(body.get("properties") or {})
        for key in ("virtualNetworkGateway1", "virtualNetworkGateway2", "localNetworkGateway2"):
            if isinstance(properties.get(key), dict) and properties[key].get("id"):
                properties[key] = {"id": properties[key]["id"]}
        return dict(body, properties=properties)

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        kind = choice(properties, "connectionType", ("IPsec", "Vnet2Vnet", "ExpressRoute", "VPNClient"))
        require(properties, "connectionType")
        gateway_ref = properties.get("virtualNetworkGateway1") or {}
        if not gateway_ref.get("id"):
            raise bad_request("InvalidRequestFormat", "virtualNetworkGateway1 is required.", "virtualNetworkGateway1")
        if kind == "IPsec" and not (properties.get("localNetworkGateway2") or {}).get("id"):
            raise bad_request("InvalidRequestFormat", "An IPsec connection needs localNetworkGateway2.", "localNetworkGateway2")
        if kind == "Vnet2Vnet" and not (properties.get("virtualNetworkGateway2") or {}).get("id"):
            raise bad_request("InvalidRequestFormat", "A Vnet2Vnet connection needs virtualNetworkGateway2.", "virtualNetworkGateway2")
        for key in ("virtualNetworkGateway1", "virtualNetworkGateway2", "localNetworkGateway2"):
            if properties.get(key):
                properties[key] = {"id": properties[key]["id"], "properties": {}}
        gateway = arm.store.get(gateway_ref["id"])
        if properties.get("enableBgp") and gateway is not None and not gateway["properties"].get("enableBgp"):
            raise bad_request("BgpNotEnabledOnVirtualNetworkGateway", "Connection %s enables BGP but virtual network gateway "
                              "%s does not." % (record["name"], gateway["id"]))
        if gateway is not None:
            config_ids = {c.get("id", "").lower() for c in gateway["properties"].get("ipConfigurations", [])}
            for entry in properties.get("gatewayCustomBgpIpAddresses") or []:
                if (entry.get("ipConfigurationId") or "").lower() not in config_ids:
                    raise bad_request("InvalidResourceReference", "gatewayCustomBgpIpAddresses refers to %s, which is not an "
                                      "ip configuration of %s." % (entry.get("ipConfigurationId"), gateway["id"]))
                _apipa(entry.get("customBgpIpAddress"), "gatewayCustomBgpIpAddresses")
        if kind in ("IPsec", "Vnet2Vnet") and "sharedKey" not in record["secrets"]:
            record["secrets"]["sharedKey"] = secrets.token_urlsafe(24)
        properties.setdefault("connectionProtocol", "IKEv2")
        properties.setdefault("routingWeight", 0)
        properties.setdefault("dpdTimeoutSeconds", 45)
        properties.setdefault("connectionMode", "Default")
        properties.setdefault("enableBgp", False)
        properties.setdefault("useLocalAzureIpAddress", False)
        properties.setdefault("usePolicyBasedTrafficSelectors", False)
        properties.setdefault("ipsecPolicies", [])
        properties.setdefault("trafficSelectorPolicies", [])
        properties.setdefault("expressRouteGatewayBypass", False)
        properties.setdefault("enablePrivateLinkFastPath", False)
        properties["resourceGuid"] = (existing or {}).get("properties", {}).get("resourceGuid") or new_guid()

    def decorate(self, arm, record, view, expand):
        properties = view["properties"]
        ready = properties["provisioningState"] == "Succeeded"
        properties["connectionStatus"] = record["runtime"].get("connectionStatus", "Connected") if ready else "Unknown"
        properties["ingressBytesTransferred"] = 0
        properties["egressBytesTransferred"] = 0


def register(arm):
    for rtype in (VirtualNetworkGateway(), LocalNetworkGateway(), Connection()):
        arm.register(rtype)
