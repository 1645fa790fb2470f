"""Address management: private addresses in subnets, public addresses from documentation ranges.

Public addresses come from 203.0.113.0/24, 198.51.100.0/24 and 192.0.2.0/24 (TEST-NET-3, -2 and -1,
in that order, 762 addresses): they are returned as data only and never contacted.
"""

import ipaddress
import random

from .arm import bad_request

PUBLIC_POOLS = ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24")


def parse_prefix(text, what="address prefix"):
    try:
        return ipaddress.ip_network(text, strict=False)
    except (TypeError, ValueError) as exc:
        raise bad_request("InvalidAddressPrefixFormat", "%s '%s' is not a valid CIDR." % (what, text)) from exc


def subnet_prefixes(subnet):
    properties = subnet.get("properties") or {}
    prefixes = list(properties.get("addressPrefixes") or [])
    if properties.get("addressPrefix"):
        prefixes.insert(0, properties["addressPrefix"])
    return [parse_prefix(p) for p in prefixes]


def used_private_addresses(arm, subnet_id, skip_owner=None):
    used = set()
    for record, path in arm.store.referrers(subnet_id):
        if skip_owner and record["id"].lower() == skip_owner.lower():
            continue
        if path[-1] != "subnet":
            continue
        container = record
        for key in path[:-1]:
            container = container[key]
        address = container.get("privateIPAddress")
        if address:
            used.add(address)
    return used


class PrivateAllocator:
    """Hands out addresses of one subnet; Azure keeps the first four and the last address."""

    def __init__(self, arm, subnet, owner_id=None):
        self.subnet = subnet
        self.networks = [n for n in subnet_prefixes(subnet) if n.version == 4]
        self.used = used_private_addresses(arm, subnet["id"], owner_id)

    def take(self, requested=None):
        if requested:
            try:
                address = ipaddress.ip_address(requested)
            except ValueError as exc:
                raise bad_request("PrivateIPAddressInvalid", "Private IP address %s is not valid." % requested) from exc
            if not any(address in n for n in self.networks):
                raise bad_request("PrivateIPAddressNotInSubnet", "IP configuration has a private IP address %s which does "
                                  "not belong to the range of subnet %s." % (requested, self.subnet["id"]))
            if requested in self.used:
                raise bad_request("PrivateIPAddressInUse", "IP configuration is using the private IP address %s which is "
                                  "already allocated to another resource." % requested)
            self.used.add(requested)
            return requested
        for network in self.networks:
            for offset in range(4, network.num_addresses - 1):
                candidate = str(network.network_address + offset)
                if candidate not in self.used:
                    self.used.add(candidate)
                    return candidate
        raise bad_request("SubnetIsFull", "Subnet %s with address prefix %s does not have enough capacity for 1 IP addresses."
                          % (self.subnet["name"], ", ".join(str(n) for n in self.networks)))


def allocate_public_address(arm):
    used = {(r.get("properties") or {}).get("ipAddress") for r in arm.store.records.values()
            if r["type_key"] == "microsoft.network/publicipaddresses"}
    for pool in PUBLIC_POOLS:
        network = ipaddress.ip_network(pool)
        for offset in range(1, network.num_addresses - 1):
            candidate = str(network.network_address + offset)
            if candidate not in used:
                return candidate
    raise bad_request("PublicIPCountLimitReached", "Cannot create more public IP addresses in the emulator's test ranges.")


def mac_address(rng=random):
    return "00-0D-3A-" + "-".join("%02X" % rng.randrange(256) for _byte in range(3))
