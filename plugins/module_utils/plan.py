# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hybrid platform's address plan: pure CIDR math, no cloud calls.

``build_plan(spec)`` allocates every range the platform needs (VPC, VNet, node subnets, the Azure
``GatewaySubnet``, pod and service ranges, VPN tunnel inside ranges) from one supernet or one per
cloud, and ``check_plan(spec, explicit)`` validates a plan written by hand. Both raise
``PlanError`` naming the offending field and the fix before returning anything.

Allocation is first fit, in a fixed order that depends only on prefix sizes, never on node counts.
Hence the same inputs always give the same plan, adding nodes never moves a range (it either
fits or fails), and reserving a range that does not overlap an allocated block moves nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re

CLOUDS = ("aws", "azure")
TOPOLOGIES = ("mesh", "stretched")
SUBNET_ROLES = ("control_plane", "workers")

DEFAULT_SUPERNET = "10.64.0.0/12"
DEFAULT_PREFIXES = {
    "network": 16,
    "workers_subnet": 20,
    "control_plane_subnet": 24,
    "gateway_subnet": 27,
    "pods": 16,
    "services": 18,
    "node": 24,
}
DEFAULT_CLOUD = {
    "aws": {"control_plane": 3, "workers": 3, "asn": 64512, "cluster_id": 1, "zones": ["a", "b", "c"]},
    "azure": {"control_plane": 3, "workers": 3, "asn": 65010, "cluster_id": 2, "zones": None},
}
DEFAULT_MAX_PODS = 110

# Addresses each cloud keeps for itself in every subnet (network, router, DNS, future, broadcast).
RESERVED_PER_SUBNET = 5
# Subnet and network size limits the clouds enforce.
AWS_PREFIX_RANGE = (16, 28)
AZURE_SUBNET_MAX_PREFIX = 29
GATEWAY_SUBNET_MAX_PREFIX = 27

# VPN tunnel inside ranges: Azure accepts custom APIPA BGP addresses only from this range,
# AWS wants a /30 per tunnel from 169.254.0.0/16 minus a few it keeps for itself.
APIPA_AZURE_RANGES = (ipaddress.IPv4Network("169.254.21.0/24"), ipaddress.IPv4Network("169.254.22.0/24"))
AWS_FORBIDDEN_INSIDE = tuple(ipaddress.IPv4Network(c) for c in (
    "169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30",
    "169.254.4.0/30", "169.254.5.0/30", "169.254.169.252/30"))
TUNNEL_COUNT = 4

# BGP: Azure keeps these ASNs for itself or for IANA; AWS's Amazon side must be private.
AZURE_FORBIDDEN_ASNS = frozenset([8074, 8075, 12076, 23456, 65515, 65517, 65518, 65519, 65520, 4294967295]
                                 + list(range(64496, 64512)) + list(range(65535, 65552)))
AWS_PRIVATE_ASN_RANGES = ((64512, 65534), (4200000000, 4294967294))

CLUSTER_NAME_MAX = 32
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class PlanError(ValueError):
    """An input or a plan breaks a rule; ``field`` names where, ``fix`` says what to do."""

    def __init__(self, field, problem, fix):
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__("%s: %s. Fix: %s" % (field, problem, fix))


# ---------------------------------------------------------------------------------------------
# Parsing helpers


def parse_cidr(value, field):
    """Return an IPv4Network for ``value`` or raise a PlanError that suggests the canonical form."""
    if not isinstance(value, str) or not value.strip():
        raise PlanError(field, "expected an IPv4 CIDR such as 10.64.0.0/16, got %r" % (value,),
                        "write the range as address/prefix")
    text = value.strip()
    if "/" not in text:
        raise PlanError(field, "%r has no prefix length" % text, "write it as address/prefix, for example %s/16" % text)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise PlanError(field, "%r is not a valid CIDR (%s)" % (text, exc), "write a range such as 10.64.0.0/16") from None
    if network.version != 4:
        raise PlanError(field, "%s is IPv6; the plan is IPv4 only" % text, "give an IPv4 range")
    if str(network) != text:
        raise PlanError(field, "%r has host bits set" % text, "use the network address: %s" % network)
    return network


def _parse_int(value, field, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except ValueError:
            raise PlanError(field, "expected a whole number, got %r" % (value,), "give a number from %d to %d" % (low, high)) from None
    if not low <= value <= high:
        raise PlanError(field, "%d is out of range" % value, "give a number from %d to %d" % (low, high))
    return value


def check_cluster_name(value, field):
    """Cilium cluster names: at most 32 characters, lowercase letters, digits and dashes."""
    if not isinstance(value, str) or not _DNS_LABEL.match(value) or len(value) > CLUSTER_NAME_MAX:
        raise PlanError(field, "%r is not a valid cluster name" % (value,),
                        "use at most %d lowercase letters, digits and dashes, starting and ending with a letter or digit"
                        % CLUSTER_NAME_MAX)
    return value


def check_azure_asn(asn, field):
    """Azure's side of the BGP sessions: any ASN except the ones Azure or IANA keep."""
    asn = _parse_int(asn, field, 1, 4294967294)
    if asn in AZURE_FORBIDDEN_ASNS:
        raise PlanError(field, "ASN %d is reserved by Azure or IANA" % asn,
                        "pick a private ASN such as 65010 (not 65515 or 65517-65520)")
    return asn


def check_aws_asn(asn, field):
    """The Amazon side of the BGP sessions must be a private ASN."""
    asn = _parse_int(asn, field, 1, 4294967294)
    if not any(low <= asn <= high for low, high in AWS_PRIVATE_ASN_RANGES):
        raise PlanError(field, "ASN %d is not a private ASN" % asn,
                        "use 64512-65534 or 4200000000-4294967294 (AWS's default is 64512)")
    return asn


def check_tunnel_cidr(value, field):
    """A tunnel inside range: a /30 in 169.254.21.0-169.254.22.255 that AWS does not keep."""
    network = parse_cidr(value, field)
    if network.prefixlen != 30:
        raise PlanError(field, "%s is a /%d; every tunnel needs a /30" % (network, network.prefixlen),
                        "give a /30 such as 169.254.21.0/30")
    if not any(network.subnet_of(r) for r in APIPA_AZURE_RANGES):
        raise PlanError(field, "%s is outside 169.254.21.0-169.254.22.255, the only range Azure accepts for custom BGP addresses"
                        % network, "pick a /30 inside 169.254.21.0/24 or 169.254.22.0/24")
    for forbidden in AWS_FORBIDDEN_INSIDE:
        if network.overlaps(forbidden):
            raise PlanError(field, "%s is a range AWS keeps for itself" % network, "pick another /30")
    return network


# ---------------------------------------------------------------------------------------------
# Spec normalisation


def normalize_spec(spec):
    """Fill in defaults and check every input field; returns a new dict."""
    spec = dict(spec or {})
    out = {}
    name = spec.get("name")
    if not isinstance(name, str) or not _DNS_LABEL.match(name or ""):
        raise PlanError("name", "%r is not a valid platform name" % (name,),
                        "use lowercase letters, digits and dashes, starting and ending with a letter or digit")
    out["name"] = name
    topology = spec.get("topology") or "mesh"
    if topology not in TOPOLOGIES:
        raise PlanError("topology", "%r is not a known topology" % (topology,), "use one of: %s" % ", ".join(TOPOLOGIES))
    out["topology"] = topology

    prefixes = dict(DEFAULT_PREFIXES)
    for key, value in (spec.get("prefixes") or {}).items():
        if key not in DEFAULT_PREFIXES:
            raise PlanError("prefixes.%s" % key, "unknown prefix", "use one of: %s" % ", ".join(sorted(DEFAULT_PREFIXES)))
        if value is not None:
            prefixes[key] = _parse_int(value, "prefixes.%s" % key, 8, 30)
    out["prefixes"] = prefixes
    _check_prefixes(prefixes)

    max_pods = spec.get("max_pods_per_node")
    out["max_pods_per_node"] = _parse_int(DEFAULT_MAX_PODS if max_pods is None else max_pods, "max_pods_per_node", 1, 65534)
    capacity = 2 ** (32 - prefixes["node"]) - 2
    if out["max_pods_per_node"] > capacity:
        raise PlanError("prefixes.node", "a /%d per node holds %d pod addresses, fewer than max_pods_per_node (%d)"
                        % (prefixes["node"], capacity, out["max_pods_per_node"]),
                        "use a node prefix of /%d or larger" % (32 - math.ceil(math.log2(out["max_pods_per_node"] + 2))))

    out["reserved"] = [parse_cidr(c, "reserved[%d]" % i) for i, c in enumerate(spec.get("reserved") or [])]
    supernet = spec.get("supernet") or DEFAULT_SUPERNET

    for cloud in CLOUDS:
        given = dict(spec.get(cloud) or {})
        unknown = set(given) - set(DEFAULT_CLOUD[cloud]) - {"supernet", "cluster_name", "region"}
        if unknown:
            raise PlanError("%s.%s" % (cloud, sorted(unknown)[0]), "unknown option",
                            "use one of: %s" % ", ".join(sorted(set(DEFAULT_CLOUD[cloud]) | {"supernet", "cluster_name", "region"})))
        merged = dict(DEFAULT_CLOUD[cloud])
        merged.update({k: v for k, v in given.items() if v is not None})
        merged["supernet"] = parse_cidr(merged.get("supernet") or supernet, "%s.supernet" % cloud if given.get("supernet") else "supernet")
        for count in ("control_plane", "workers"):
            merged[count] = _parse_int(merged[count], "%s.%s" % (cloud, count), 0, 5000)
        if merged["control_plane"] < 1:
            raise PlanError("%s.control_plane" % cloud, "a cloud needs at least one control plane node", "set it to 1, 3 or 5")
        if cloud == "aws":
            merged["asn"] = check_aws_asn(merged["asn"], "aws.asn")
            zones = merged["zones"]
            if not isinstance(zones, list) or not zones or len(set(zones)) != len(zones):
                raise PlanError("aws.zones", "expected a list of distinct availability zones, got %r" % (zones,),
                                "list one or more zones, for example [us-west-2a, us-west-2b, us-west-2c]")
            region = merged.get("region") or ""
            merged["zones"] = [z if len(str(z)) > 1 or not region else region + str(z) for z in zones]
        else:
            merged["asn"] = check_azure_asn(merged["asn"], "azure.asn")
            merged["zones"] = None
        merged["cluster_id"] = _parse_int(merged["cluster_id"], "%s.cluster_id" % cloud, 1, 255)
        default_name = name if topology == "stretched" else "%s-%s" % (name, cloud)
        merged["cluster_name"] = check_cluster_name(merged.get("cluster_name") or default_name, "%s.cluster_name" % cloud
                                                    if merged.get("cluster_name") else "name")
        out[cloud] = merged

    if out["aws"]["asn"] == out["azure"]["asn"]:
        raise PlanError("azure.asn", "both sides use ASN %d" % out["aws"]["asn"], "give the Azure side its own ASN, such as 65010")
    if topology == "mesh":
        if out["aws"]["cluster_id"] == out["azure"]["cluster_id"]:
            raise PlanError("azure.cluster_id", "both clusters use cluster id %d" % out["aws"]["cluster_id"],
                            "ClusterMesh needs a unique id per cluster; use 1 for AWS and 2 for Azure")
        if out["aws"]["cluster_name"] == out["azure"]["cluster_name"]:
            raise PlanError("azure.cluster_name", "both clusters are named %r" % out["aws"]["cluster_name"],
                            "ClusterMesh needs a unique name per cluster")
    else:
        for key in ("cluster_id", "cluster_name"):
            out["azure"][key] = out["aws"][key]

    tunnels = spec.get("tunnel_inside_cidrs")
    out["tunnel_inside_cidrs"] = None
    if tunnels:
        if not isinstance(tunnels, list) or len(tunnels) != TUNNEL_COUNT:
            raise PlanError("tunnel_inside_cidrs", "expected %d ranges, one per tunnel" % TUNNEL_COUNT,
                            "list four /30 ranges or leave it empty to allocate them")
        out["tunnel_inside_cidrs"] = [check_tunnel_cidr(c, "tunnel_inside_cidrs[%d]" % i) for i, c in enumerate(tunnels)]
    return out


def _check_prefixes(prefixes):
    if not AWS_PREFIX_RANGE[0] <= prefixes["network"] <= AWS_PREFIX_RANGE[1]:
        raise PlanError("prefixes.network", "AWS VPCs are /%d to /%d, not /%d" % (AWS_PREFIX_RANGE + (prefixes["network"],)),
                        "use a network prefix from %d to %d" % AWS_PREFIX_RANGE)
    for key in ("workers_subnet", "control_plane_subnet", "gateway_subnet"):
        if prefixes[key] <= prefixes["network"]:
            raise PlanError("prefixes.%s" % key, "a /%d subnet does not fit in a /%d network" % (prefixes[key], prefixes["network"]),
                            "use a prefix longer than the network's /%d" % prefixes["network"])
    for key in ("workers_subnet", "control_plane_subnet"):
        if prefixes[key] > AWS_PREFIX_RANGE[1]:
            raise PlanError("prefixes.%s" % key, "AWS subnets can be at most /%d" % AWS_PREFIX_RANGE[1], "use /%d or shorter" % AWS_PREFIX_RANGE[1])
    if prefixes["gateway_subnet"] > GATEWAY_SUBNET_MAX_PREFIX:
        raise PlanError("prefixes.gateway_subnet", "Azure needs a GatewaySubnet of /27 or larger, not /%d" % prefixes["gateway_subnet"],
                        "use 27 or a smaller number")
    if prefixes["node"] <= prefixes["pods"]:
        raise PlanError("prefixes.node", "the per-node /%d is not smaller than the pod range /%d" % (prefixes["node"], prefixes["pods"]),
                        "use a node prefix longer than the pod prefix")


# ---------------------------------------------------------------------------------------------
# Allocation


class _Allocator:
    """First-fit allocation of aligned blocks from one space, avoiding blocks already taken."""

    def __init__(self, space, taken):
        self.space = space
        self.taken = sorted(taken, key=lambda net: (int(net.network_address), net.prefixlen))

    def allocate(self, prefix):
        """Return the lowest aligned /prefix in the space that overlaps nothing taken, or None."""
        if prefix < self.space.prefixlen:
            return None
        size = 2 ** (32 - prefix)
        start = int(self.space.network_address)
        end = int(self.space.broadcast_address)
        candidate = start
        while candidate + size - 1 <= end:
            block_end = candidate + size - 1
            clash = None
            for net in self.taken:
                if int(net.network_address) <= block_end and int(net.broadcast_address) >= candidate:
                    clash = net
                    break
            if clash is None:
                block = ipaddress.IPv4Network((candidate, prefix))
                self.taken.append(block)
                self.taken.sort(key=lambda net: (int(net.network_address), net.prefixlen))
                return block
            next_free = int(clash.broadcast_address) + 1
            candidate = -(-next_free // size) * size  # round up to the block alignment
        return None


def _capacity_error(field, space, prefix, what, fix):
    return PlanError(field, "no free /%d left in %s for %s" % (prefix, space, what), fix)


def build_plan(spec):
    """Allocate the whole plan from ``spec`` (module options); see the module docs for the shape."""
    spec = normalize_spec(spec)
    prefixes = spec["prefixes"]
    reserved = list(spec["reserved"])
    stretched = spec["topology"] == "stretched"

    # Top-level blocks, largest first, ties in a fixed order, so a block's place depends only on sizes.
    requests = []
    for order, cloud in enumerate(CLOUDS):
        requests.append((prefixes["network"], 0, order, cloud, "network"))
        if not stretched or cloud == "aws":
            requests.append((prefixes["pods"], 1, order, cloud, "pods"))
            requests.append((prefixes["services"], 2, order, cloud, "services"))
    requests.sort()

    supernets = {cloud: spec[cloud]["supernet"] for cloud in CLOUDS}
    for index, net in enumerate(reserved):
        for cloud, supernet in supernets.items():
            if supernet.subnet_of(net):
                raise PlanError("reserved[%d]" % index, "%s covers the whole %s supernet %s" % (net, cloud, supernet),
                                "reserve only the ranges in use, or choose another supernet")
    if supernets["aws"] != supernets["azure"] and supernets["aws"].overlaps(supernets["azure"]):
        raise PlanError("azure.supernet", "%s overlaps the AWS supernet %s" % (supernets["azure"], supernets["aws"]),
                        "give each cloud a separate supernet, or one shared supernet for both")

    allocators = {}
    for cloud, supernet in supernets.items():
        allocators.setdefault(str(supernet), _Allocator(supernet, reserved))
    blocks = {cloud: {} for cloud in CLOUDS}
    for prefix, _kind_order, _order, cloud, kind in requests:
        allocator = allocators[str(supernets[cloud])]
        block = allocator.allocate(prefix)
        if block is None:
            raise _capacity_error("%s.supernet" % cloud if supernets["aws"] != supernets["azure"] else "supernet",
                                  supernets[cloud], prefix, "the %s %s range" % (cloud, kind),
                                  "use a larger supernet or smaller prefixes (prefixes.%s)" % ("network" if kind == "network" else kind))
        blocks[cloud][kind] = block
    if stretched:
        blocks["azure"]["pods"] = blocks["aws"]["pods"]
        blocks["azure"]["services"] = blocks["aws"]["services"]

    plan = {"name": spec["name"], "topology": spec["topology"], "complete": True}
    for cloud in CLOUDS:
        plan[cloud] = _cloud_section(spec, cloud, blocks[cloud], reserved)
    _check_pod_space(spec, plan)
    plan["vpn"] = _vpn_section(spec, reserved, spec["tunnel_inside_cidrs"])
    plan["allocations"] = collect_allocations(plan, spec["reserved"])
    check_no_overlap(plan["allocations"])
    plan["fingerprint"] = fingerprint(plan)
    return plan


def _cloud_section(spec, cloud, blocks, reserved):
    prefixes = spec["prefixes"]
    conf = spec[cloud]
    network = blocks["network"]
    allocator = _Allocator(network, [r for r in reserved if r.overlaps(network)])
    zones = conf["zones"] or [None]
    subnets = []
    wanted = [("workers", prefixes["workers_subnet"]), ("control_plane", prefixes["control_plane_subnet"])]
    for role, prefix in wanted:
        for zone in zones:
            block = allocator.allocate(prefix)
            if block is None:
                raise _capacity_error("prefixes.network", network, prefix, "%s subnets" % role,
                                      "use a larger network (prefixes.network) or smaller subnets (prefixes.%s_subnet)" % role)
            name = "%s-%s" % (spec["name"], role.replace("_", "-")) + ("-%s" % zone if zone else "")
            subnet = {"name": name, "role": role, "cidr": str(block)}
            if zone:
                subnet["zone"] = zone
            subnets.append(subnet)
    if cloud == "azure":
        block = allocator.allocate(prefixes["gateway_subnet"])
        if block is None:
            raise _capacity_error("prefixes.network", network, prefixes["gateway_subnet"], "the GatewaySubnet",
                                  "use a larger network (prefixes.network)")
        subnets.append({"name": "GatewaySubnet", "role": "gateway", "cidr": str(block)})
    section = {
        "network": str(network),
        "subnets": subnets,
        "pods": str(blocks["pods"]),
        "services": str(blocks["services"]),
        "node_prefix": prefixes["node"],
        "max_pods_per_node": spec["max_pods_per_node"],
        "cluster_name": conf["cluster_name"],
        "cluster_id": conf["cluster_id"],
        "asn": conf["asn"],
        "nodes": {"control_plane": conf["control_plane"], "workers": conf["workers"]},
        "supernet": str(conf["supernet"]),
    }
    if cloud == "aws":
        section["zones"] = list(conf["zones"])
    _check_subnet_capacity(section, cloud)
    return section


def _check_subnet_capacity(section, cloud, missing=None):
    """Each role's subnets must hold its nodes, spread evenly; a role without subnets is missing."""
    by_role = {}
    for subnet in section["subnets"]:
        by_role.setdefault(subnet["role"], []).append(subnet)
    for role in SUBNET_ROLES:
        subnets = by_role.get(role) or []
        count = section["nodes"][role]
        if not subnets:
            if count and missing is not None:
                missing.append("%s.subnets[%s]" % (cloud, role))
            elif count:
                raise PlanError("%s.subnets" % cloud, "no %s subnet for %d nodes" % (role, count), "add a subnet with role %s" % role)
            continue
        per_subnet = math.ceil(count / len(subnets))
        smallest = min(ipaddress.IPv4Network(s["cidr"]).num_addresses for s in subnets)
        usable = smallest - RESERVED_PER_SUBNET
        if per_subnet > usable:
            raise PlanError("%s.%s" % (cloud, role), "%d nodes need %d addresses per subnet, a subnet holds %d"
                            % (count, per_subnet, usable),
                            "use fewer nodes or larger %s subnets (prefixes.%s_subnet)" % (role, role))


def _check_pod_space(spec, plan):
    clusters = {}
    for cloud in CLOUDS:
        section = plan[cloud]
        entry = clusters.setdefault(section["cluster_name"], {"pods": section["pods"], "nodes": 0, "clouds": []})
        entry["nodes"] += section["nodes"]["control_plane"] + section["nodes"]["workers"]
        entry["clouds"].append(cloud)
    for cluster in clusters.values():
        check_pod_capacity(cluster["pods"], spec["prefixes"]["node"], cluster["nodes"], "prefixes.pods")


def check_pod_capacity(pods, node_prefix, nodes, field):
    """Kubespray's rule: the pod range must give every node its own /node_prefix."""
    pods = ipaddress.IPv4Network(pods)
    slots = 2 ** (node_prefix - pods.prefixlen) if node_prefix >= pods.prefixlen else 0
    if nodes > slots:
        raise PlanError(field, "%d nodes need %d /%d pod blocks, the pod range %s has %d" % (nodes, nodes, node_prefix, pods, slots),
                        "use a larger pod range (prefixes.pods) or a longer node prefix (prefixes.node)")


def _vpn_section(spec, reserved, explicit_tunnels):
    """Four tunnels: two AWS VPN connections (one per Azure gateway instance) with two tunnels each."""
    if explicit_tunnels:
        cidrs = explicit_tunnels
    else:
        cidrs = []
        taken = [r for r in reserved if any(r.overlaps(a) for a in APIPA_AZURE_RANGES)]
        for connection in range(2):
            for tunnel, base in enumerate(APIPA_AZURE_RANGES):
                block = _Allocator(base, taken + cidrs).allocate(30)
                if block is None:
                    raise PlanError("reserved", "no free /30 left in %s for VPN tunnel %d" % (base, connection * 2 + tunnel + 1),
                                    "reserve less of 169.254.21.0-169.254.22.255")
                cidrs.append(block)
    tunnels = []
    for index, cidr in enumerate(cidrs):
        hosts = list(cidr.hosts())
        tunnels.append({
            "index": index + 1,
            "aws_connection": index // 2 + 1,
            "azure_instance": index // 2,
            "inside_cidr": str(cidr),
            "aws_inside_ip": str(hosts[0]),
            "azure_inside_ip": str(hosts[1]),
        })
    return {
        "aws_asn": spec["aws"]["asn"],
        "azure_asn": spec["azure"]["asn"],
        "tunnels": tunnels,
        "azure_bgp_addresses": [[t["azure_inside_ip"] for t in tunnels if t["azure_instance"] == i] for i in range(2)],
    }


# ---------------------------------------------------------------------------------------------
# Plan-wide checks shared by allocated and explicit plans


def collect_allocations(plan, reserved=()):
    """Every range in the plan, once, sorted by address: ``{cidr, cloud, kind, name}``."""
    found = []
    seen = set()
    for cloud in CLOUDS:
        section = plan.get(cloud) or {}
        entries = [("network", "vpc" if cloud == "aws" else "vnet", section.get("network"))]
        entries += [("subnets[%d]" % i, s.get("role", "subnet"), s.get("cidr")) for i, s in enumerate(section.get("subnets") or [])]
        entries += [("pods", "pods", section.get("pods")), ("services", "services", section.get("services"))]
        for key, kind, cidr in entries:
            if not cidr:
                continue
            shared = plan.get("topology") == "stretched" and key in ("pods", "services")
            ident = ("both" if shared else cloud, key, cidr)
            if ident in seen:
                continue
            seen.add(ident)
            found.append({"cidr": str(parse_cidr(cidr, "%s.%s" % (cloud, key))), "cloud": ident[0], "kind": kind,
                          "field": "%s.%s" % (cloud, key)})
    for index, tunnel in enumerate((plan.get("vpn") or {}).get("tunnels") or []):
        found.append({"cidr": tunnel["inside_cidr"], "cloud": "vpn", "kind": "tunnel", "field": "vpn.tunnels[%d]" % index})
    for index, net in enumerate(reserved):
        found.append({"cidr": str(net), "cloud": "external", "kind": "reserved", "field": "reserved[%d]" % index})
    found.sort(key=lambda a: (int(ipaddress.IPv4Network(a["cidr"]).network_address), ipaddress.IPv4Network(a["cidr"]).prefixlen))
    return found


def _containment_allowed(outer, inner):
    """Subnets live inside their own cloud's network; nothing else may contain anything."""
    return (outer["kind"] in ("vpc", "vnet") and outer["cloud"] == inner["cloud"]
            and inner["kind"] in ("control_plane", "workers", "gateway", "subnet"))


def check_no_overlap(allocations):
    """Fail on the first pair of ranges that overlap in either direction, except subnets in their network."""
    nets = [(ipaddress.IPv4Network(a["cidr"]), a) for a in allocations]
    for i, (net_a, a) in enumerate(nets):
        for net_b, b in nets[i + 1:]:
            if not net_a.overlaps(net_b):
                continue
            if a["kind"] == "reserved" and b["kind"] == "reserved":
                continue
            if net_b.subnet_of(net_a) and _containment_allowed(a, b):
                continue
            if net_a.subnet_of(net_b) and _containment_allowed(b, a):
                continue
            first, second = (b, a) if a["kind"] == "reserved" else (a, b)
            raise PlanError(first["field"], "%s (%s) overlaps %s (%s)" % (first["cidr"], first["kind"], second["cidr"], second["field"]),
                            "choose ranges that do not overlap; every range in the plan must be unique")
    for net, entry in nets:
        if entry["kind"] in ("control_plane", "workers", "gateway", "subnet"):
            parent = [n for n, e in nets if e["kind"] in ("vpc", "vnet") and e["cloud"] == entry["cloud"]]
            if parent and not net.subnet_of(parent[0]):
                raise PlanError(entry["field"], "%s is outside the %s network %s" % (net, entry["cloud"], parent[0]),
                                "choose a subnet inside the network")


def fingerprint(plan):
    """A short digest of the plan's content, to compare plans across runs and machines."""
    body = {k: v for k, v in plan.items() if k not in ("fingerprint", "missing", "warnings")}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode("utf-8")).hexdigest()[:16]


# ---------------------------------------------------------------------------------------------
# Explicit plans

EXPLICIT_CLOUD_KEYS = ("network", "subnets", "pods", "services", "node_prefix", "cluster_name", "cluster_id", "asn")
REQUIRED_CLOUD_KEYS = ("network", "subnets", "pods", "services")


def check_plan(spec, explicit):
    """Validate a user-written plan; return it completed with what can be derived and a ``missing`` list."""
    if not isinstance(explicit, dict):
        raise PlanError("explicit", "expected a mapping with aws and azure sections", "see the module's EXAMPLES")
    unknown = set(explicit) - set(CLOUDS) - {"tunnels"}
    if unknown:
        raise PlanError("explicit.%s" % sorted(unknown)[0], "unknown key", "use aws, azure and tunnels")
    spec = dict(spec)
    if explicit.get("tunnels"):
        tunnels = explicit["tunnels"]
        if not isinstance(tunnels, list) or len(tunnels) != TUNNEL_COUNT:
            raise PlanError("explicit.tunnels", "expected %d ranges, one per tunnel" % TUNNEL_COUNT, "list four /30 ranges")
        for index, cidr in enumerate(tunnels):
            check_tunnel_cidr(cidr, "explicit.tunnels[%d]" % index)
        spec["tunnel_inside_cidrs"] = tunnels
    for cloud in CLOUDS:
        section = explicit.get(cloud) or {}
        given = dict(spec.get(cloud) or {})
        for key in ("cluster_name", "cluster_id", "asn"):
            if section.get(key) is not None:
                given[key] = section[key]
        spec[cloud] = given
    if section_node_prefix(explicit) is not None:
        spec["prefixes"] = dict(spec.get("prefixes") or {}, node=section_node_prefix(explicit))
    norm = normalize_spec(spec)

    plan = {"name": norm["name"], "topology": norm["topology"]}
    missing = []
    for cloud in CLOUDS:
        section = explicit.get(cloud) or {}
        unknown = set(section) - set(EXPLICIT_CLOUD_KEYS)
        if unknown:
            raise PlanError("explicit.%s.%s" % (cloud, sorted(unknown)[0]), "unknown key", "use one of: %s" % ", ".join(EXPLICIT_CLOUD_KEYS))
        out = {}
        for key in ("network", "pods", "services"):
            if section.get(key):
                out[key] = str(parse_cidr(section[key], "explicit.%s.%s" % (cloud, key)))
        subnets = []
        for index, subnet in enumerate(section.get("subnets") or []):
            field = "explicit.%s.subnets[%d]" % (cloud, index)
            if not isinstance(subnet, dict) or "cidr" not in subnet:
                raise PlanError(field, "expected a mapping with name, role and cidr", "write {name: ..., role: workers, cidr: ...}")
            role = subnet.get("role") or ("gateway" if subnet.get("name") == "GatewaySubnet" else "workers")
            if role not in SUBNET_ROLES + ("gateway",):
                raise PlanError(field + ".role", "unknown role %r" % role, "use control_plane, workers or gateway")
            entry = {"name": subnet.get("name") or "%s-%s-%d" % (norm["name"], role.replace("_", "-"), index),
                     "role": role, "cidr": str(parse_cidr(subnet["cidr"], field + ".cidr"))}
            if subnet.get("zone"):
                entry["zone"] = subnet["zone"]
            subnets.append(entry)
        out["subnets"] = subnets
        out.update({
            "node_prefix": norm["prefixes"]["node"],
            "max_pods_per_node": norm["max_pods_per_node"],
            "cluster_name": norm[cloud]["cluster_name"],
            "cluster_id": norm[cloud]["cluster_id"],
            "asn": norm[cloud]["asn"],
            "nodes": {"control_plane": norm[cloud]["control_plane"], "workers": norm[cloud]["workers"]},
        })
        for key in REQUIRED_CLOUD_KEYS:
            if not out.get(key):
                missing.append("%s.%s" % (cloud, key))
        if cloud == "azure":
            gateways = [s for s in subnets if s["role"] == "gateway"]
            if not gateways:
                missing.append("azure.subnets[GatewaySubnet]")
            for gateway in gateways:
                if gateway["name"] != "GatewaySubnet":
                    raise PlanError("explicit.azure.subnets", "the gateway subnet is named %r" % gateway["name"], "Azure requires the name GatewaySubnet")
                if ipaddress.IPv4Network(gateway["cidr"]).prefixlen > GATEWAY_SUBNET_MAX_PREFIX:
                    raise PlanError("explicit.azure.subnets", "GatewaySubnet %s is smaller than /27" % gateway["cidr"], "use a /27 or larger")
        if subnets:
            _check_subnet_capacity(out, cloud, missing)
        plan[cloud] = out
    if norm["topology"] == "mesh":
        for cloud in CLOUDS:
            if plan[cloud].get("pods"):
                check_pod_capacity(plan[cloud]["pods"], norm["prefixes"]["node"],
                                   sum(plan[cloud]["nodes"].values()), "explicit.%s.pods" % cloud)
    else:
        pods = [plan[c]["pods"] for c in CLOUDS if plan[c].get("pods")]
        if len(pods) == 2 and pods[0] == pods[1]:
            check_pod_capacity(pods[0], norm["prefixes"]["node"],
                               sum(sum(plan[c]["nodes"].values()) for c in CLOUDS), "explicit.aws.pods")
        else:
            for cloud in CLOUDS:
                if plan[cloud].get("pods"):
                    check_pod_capacity(plan[cloud]["pods"], norm["prefixes"]["node"], sum(plan[cloud]["nodes"].values()),
                                       "explicit.%s.pods" % cloud)
    plan["vpn"] = _vpn_section(norm, norm["reserved"], norm["tunnel_inside_cidrs"])
    if not explicit.get("tunnels"):
        missing.append("tunnels")
    allocations = collect_allocations(plan, norm["reserved"])
    for entry in allocations:
        entry["field"] = entry["field"] if entry["field"].startswith(("reserved", "vpn")) else "explicit." + entry["field"]
    check_no_overlap(allocations)
    plan["allocations"] = allocations
    plan["complete"] = not missing
    plan["missing"] = missing
    plan["fingerprint"] = fingerprint(plan)
    return plan


def section_node_prefix(explicit):
    """The node prefix an explicit plan gives (both clouds must agree), or None."""
    values = {(explicit.get(c) or {}).get("node_prefix") for c in CLOUDS} - {None}
    if len(values) > 1:
        raise PlanError("explicit.azure.node_prefix", "the clouds give different node prefixes %s" % sorted(values),
                        "use one node prefix for the whole platform")
    return values.pop() if values else None


def verify_plan(plan):
    """Check a plan handed to a later module (it may have been edited on the way): its shape, every
    range, and that nothing overlaps. Raises PlanError naming ``plan.<field>``."""
    if not isinstance(plan, dict):
        raise PlanError("plan", "expected the mapping returned by hybrid.cluster.cidr_plan", "pass its 'plan' result")
    missing = [key for key in ("name", "topology", "aws", "azure", "vpn") if key not in plan]
    missing += ["%s.%s" % (cloud, key) for cloud in CLOUDS for key in ("network", "subnets", "pods", "services")
                if isinstance(plan.get(cloud), dict) and not plan[cloud].get(key)]
    if missing or plan.get("complete") is False:
        raise PlanError("plan", "not a complete address plan (missing %s)" % ", ".join(missing or plan.get("missing") or ["parts"]),
                        "pass the 'plan' returned by hybrid.cluster.cidr_plan, with every range filled in")
    tunnels = (plan["vpn"] or {}).get("tunnels") or []
    if len(tunnels) != TUNNEL_COUNT:
        raise PlanError("plan.vpn.tunnels", "expected %d tunnels, got %d" % (TUNNEL_COUNT, len(tunnels)), "plan again with cidr_plan")
    for index, tunnel in enumerate(tunnels):
        check_tunnel_cidr(tunnel.get("inside_cidr"), "plan.vpn.tunnels[%d].inside_cidr" % index)
    try:
        allocations = collect_allocations(plan)
        check_no_overlap(allocations)
    except PlanError as err:
        raise PlanError("plan." + err.field, err.problem, err.fix) from None
    return plan
