"""Quotas of the emulated subscription: the network and compute usages of a location.

=======  ========================================================================  ============================
GET      /subscriptions/{s}/providers/Microsoft.Network/locations/{loc}/usages     ``value[]``: ``id``, ``name``
                                                                                   ``{value, localizedValue}``,
                                                                                   ``currentValue``, ``limit``,
                                                                                   ``unit``; ``nextLink`` pages
GET      /subscriptions/{s}/providers/Microsoft.Compute/locations/{loc}/usages     the same without ``id``
=======  ========================================================================  ============================

``currentValue`` is counted from the resources the emulator holds in that location (virtual
networks, public IPs, NSGs, NICs, route tables; virtual machines and scale-set instances, their
vCPUs in total and per VM family). Limits are Azure's usual defaults. Tests change them through the
control interface: ``configure(usages={"Microsoft.Compute/cores": {"limit": 4}})`` (or
``POST /_emulator/settings`` with the same body); an entry may also fix ``currentValue``, for
usage that stands for resources the emulator does not hold. Keys are ``<provider>/<usage name>``,
case-insensitive, and apply to every location. ``reset`` forgets them.
"""

import re

from .arm import ArmError

NETWORK = "Microsoft.Network"
COMPUTE = "Microsoft.Compute"
SETTING = "usages"

# (name, localized name, default limit, counter): a lower-cased resource type or one of the counts below.
_NETWORK_USAGES = (
    ("VirtualNetworks", "Virtual Networks", 1000, "microsoft.network/virtualnetworks"),
    ("StaticPublicIPAddresses", "Static Public IP Addresses", 1000, "static-public-ips"),
    ("NetworkSecurityGroups", "Network Security Groups", 5000, "microsoft.network/networksecuritygroups"),
    ("PublicIPAddresses", "Public IP Addresses", 1000, "microsoft.network/publicipaddresses"),
    ("NetworkInterfaces", "Network Interfaces", 65536, "network-interfaces"),
    ("LoadBalancers", "Load Balancers", 1000, None),
    ("RouteTables", "Route Tables", 200, "microsoft.network/routetables"),
    ("StandardSkuPublicIpAddresses", "Public IP Addresses - Standard", 1000, "standard-public-ips"),
)
_COMPUTE_USAGES = (
    ("availabilitySets", "Availability Sets", 2500),
    ("cores", "Total Regional vCPUs", 350),
    ("virtualMachines", "Virtual Machines", 25000),
    ("virtualMachineScaleSets", "Virtual Machine Scale Sets", 2500),
)
# VM families listed even when nothing uses them (Azure lists every family of the region).
_LISTED_FAMILIES = ("standardBSFamily", "standardDSv3Family", "standardDSv5Family", "standardDDSv5Family",
                    "standardESv5Family", "standardFSv2Family")
FAMILY_LIMIT = 350
_VM_TYPES = ("microsoft.compute/virtualmachines", "microsoft.compute/virtualmachinescalesets/virtualmachines")
_NIC_TYPES = ("microsoft.network/networkinterfaces", "microsoft.compute/virtualmachinescalesets/virtualmachines/networkinterfaces")
_SIZE = re.compile(r"^(?:standard|basic)_([a-z]+?)(\d+)(-\d+)?([a-z]*)(?:_v(\d+))?$", re.IGNORECASE)


def vm_size_info(size):
    """``(vCPUs, family quota name)`` of a VM size such as ``Standard_D4s_v5`` -> ``(4, "standardDSv5Family")``.

    Azure's family names follow the size names: series letters, the feature letters upper-cased,
    then ``v<version>`` (``Standard_DS1_v2`` -> ``standardDSv2Family``, ``Standard_B2s`` ->
    ``standardBSFamily``). Constrained sizes (``Standard_E8-4s_v5``) count their active vCPUs.
    """
    match = _SIZE.match(size or "")
    if not match:
        return 1, "standardOtherFamily"
    series, cores, constrained, features, version = match.groups()
    if constrained:
        cores = constrained[1:]
    family = "standard%s%s%sFamily" % (series.upper(), features.upper(), "v%s" % version if version else "")
    return int(cores), family


def configure(store, entries):
    """Store limit / currentValue overrides (``{"Microsoft.Compute/cores": {"limit": 4}}``); None clears them."""
    if entries is None:
        store.settings.pop(SETTING, None)
        return
    if not isinstance(entries, dict):
        raise ValueError("usages must be an object: {\"<provider>/<usage name>\": {\"limit\": n, \"currentValue\": n}}")
    current = store.settings.setdefault(SETTING, {})
    for key, entry in entries.items():
        provider, _sep, name = str(key).partition("/")
        if provider.lower() not in (NETWORK.lower(), COMPUTE.lower()) or not name:
            raise ValueError("usage %r: use <provider>/<usage name> with provider %s or %s" % (key, NETWORK, COMPUTE))
        if entry is None:
            current.pop(key.lower(), None)
            continue
        unknown = set(entry) - {"limit", "currentValue"}
        if unknown:
            raise ValueError("usage %s: unknown fields %s (limit, currentValue)" % (key, ", ".join(sorted(unknown))))
        current[key.lower()] = {field: int(value) for field, value in entry.items()}


class Usages:
    """Handler of the two usages lists (paths outside the resource grammar)."""

    def __init__(self, arm):
        self.arm = arm

    @staticmethod
    def match(lowered):
        if len(lowered) == 7 and lowered[0] == "subscriptions" and lowered[2] == "providers" \
                and lowered[3] in (NETWORK.lower(), COMPUTE.lower()) and lowered[4] == "locations" and lowered[6] == "usages":
            return (NETWORK if lowered[3] == NETWORK.lower() else COMPUTE,)
        return None

    def dispatch(self, arm, request, match):
        if request.segments[1].lower() != arm.subscription_id.lower():
            raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % request.segments[1])
        if request.method != "GET":
            raise ArmError(405, "MethodNotAllowed", "The collection does not support %s." % request.method)
        location = request.segments[5].replace(" ", "").lower()
        records = [r for r in arm.store.records.values() if not r.get("deleting") and arm.location_of(r) == location]
        items = self.network(records, location) if match[0] == NETWORK else self.compute(records)
        overrides = arm.store.settings.get(SETTING) or {}
        for item in items:
            item.update(overrides.get(("%s/%s" % (match[0], item["name"]["value"])).lower(), {}))
        return arm.paged(request, items)

    def network(self, records, location):
        counts = {}
        for record in records:
            counts[record["type_key"]] = counts.get(record["type_key"], 0) + 1
            if record["type_key"] in _NIC_TYPES:
                counts["network-interfaces"] = counts.get("network-interfaces", 0) + 1
            if record["type_key"] == "microsoft.network/publicipaddresses":
                if ((record.get("top") or {}).get("sku") or {}).get("name", "").lower() == "standard":
                    counts["standard-public-ips"] = counts.get("standard-public-ips", 0) + 1
                if (record.get("properties") or {}).get("publicIPAllocationMethod") == "Static":
                    counts["static-public-ips"] = counts.get("static-public-ips", 0) + 1
        prefix = "/subscriptions/%s/providers/%s/locations/%s/usages/" % (self.arm.subscription_id, NETWORK, location)
        return [{"id": prefix + name, "name": {"value": name, "localizedValue": localized}, "currentValue": counts.get(counter, 0),
                 "limit": limit, "unit": "Count"} for name, localized, limit, counter in _NETWORK_USAGES]

    @staticmethod
    def compute(records):
        machines = [r for r in records if r["type_key"] in _VM_TYPES]
        cores = {}
        for record in machines:
            count, family = vm_size_info(((record.get("properties") or {}).get("hardwareProfile") or {}).get("vmSize"))
            cores[family] = cores.get(family, 0) + count
        current = {
            "availabilitySets": 0,
            "cores": sum(cores.values()),
            "virtualMachines": len(machines),
            "virtualMachineScaleSets": sum(1 for r in records if r["type_key"] == "microsoft.compute/virtualmachinescalesets"),
        }
        items = [{"unit": "Count", "currentValue": current[name], "limit": limit, "name": {"value": name, "localizedValue": localized}}
                 for name, localized, limit in _COMPUTE_USAGES]
        for family in sorted(set(_LISTED_FAMILIES) | set(cores)):
            label = family[len("standard"):-len("Family")]
            items.append({"unit": "Count", "currentValue": cores.get(family, 0), "limit": FAMILY_LIMIT,
                          "name": {"value": family, "localizedValue": "Standard %s Family vCPUs" % label}})
        return items


def register(arm):
    """Serve the usages lists of ``arm``'s subscription."""
    usages = Usages(arm)
    arm.special.append((usages.match, usages.dispatch))
    return usages
