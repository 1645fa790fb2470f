# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform's traffic, described once: which component needs which port from which peers.

This is the only place in the collection that names a port. ``effective_matrix(plan, options)``
turns the matrix and the address plan into flows per cloud and node role, and ``aws_permissions``
/ ``azure_rules`` pack those flows into each cloud's rule shapes, staying under each cloud's limits
or failing before anything is changed. Pure data and logic: no cloud calls.

Peers in the matrix:

* ``control_plane`` / ``workers`` / ``nodes``: nodes of that role in the same cluster and cloud;
* ``remote``: nodes of the other cloud (only for flows that cross the VPN);
* ``admin``: the CIDRs the user gives for administration (SSH and the Kubernetes API);
* ``nodeport``: the CIDRs the user gives for NodePort services.

With ``topology: stretched`` the cluster spans both clouds, so every in-cluster flow also comes
from the same role in the other cloud.
"""

from __future__ import annotations

import ipaddress

COMPONENTS = ("kubernetes", "etcd", "cilium", "clustermesh", "ceph", "ssh")
ROLES = ("control_plane", "workers")
NODES = ROLES

# The clustermesh-apiserver is reached on its fixed NodePort on every node: directly, or behind an
# internal load balancer that listens on 2379 and forwards to the NodePort. Opening 2379 itself on
# the nodes would expose the control plane's etcd client port to the other cloud.
CLUSTERMESH_NODEPORT = 32379

# Sources: Kubernetes "Ports and Protocols"; Cilium system requirements (firewall rules);
# Rook/Ceph network configuration; etcd clustering docs.
# Each flow: (component, name, protocol, first port, last port, destination roles, local peers,
#             crosses clouds in a mesh, condition)
_FLOWS = (
    ("kubernetes", "kube-apiserver", "tcp", 6443, 6443, ("control_plane",), NODES, False, None),
    ("kubernetes", "kube-apiserver-admin", "tcp", 6443, 6443, ("control_plane",), ("admin",), False, None),
    ("kubernetes", "kubelet", "tcp", 10250, 10250, NODES, ("control_plane",), False, None),
    ("kubernetes", "kube-controller-manager", "tcp", 10257, 10257, ("control_plane",), ("control_plane",), False, None),
    ("kubernetes", "kube-scheduler", "tcp", 10259, 10259, ("control_plane",), ("control_plane",), False, None),
    ("kubernetes", "nodeport", "tcp", 30000, 32767, NODES, ("nodeport",), False, "nodeports"),
    ("etcd", "etcd-client-peer", "tcp", 2379, 2380, ("control_plane",), ("control_plane",), False, None),
    ("cilium", "cilium-health", "tcp", 4240, 4240, NODES, NODES, True, None),
    ("cilium", "cilium-health-icmp", "icmp", 8, -1, NODES, NODES, True, None),
    ("cilium", "cilium-vxlan", "udp", 8472, 8472, NODES, NODES, True, "vxlan"),
    ("cilium", "cilium-geneve", "udp", 6081, 6081, NODES, NODES, True, "geneve"),
    ("cilium", "cilium-wireguard", "udp", 51871, 51871, NODES, NODES, True, "wireguard"),
    ("cilium", "cilium-ipsec", "esp", -1, -1, NODES, NODES, True, "ipsec"),
    ("cilium", "hubble-server", "tcp", 4244, 4244, NODES, NODES, False, "hubble"),
    ("cilium", "hubble-relay", "tcp", 4245, 4245, NODES, NODES, False, "hubble"),
    ("clustermesh", "clustermesh-apiserver", "tcp", CLUSTERMESH_NODEPORT, CLUSTERMESH_NODEPORT, NODES, (), True, "mesh"),
    ("ceph", "ceph-mon-v2", "tcp", 3300, 3300, NODES, NODES, False, None),
    ("ceph", "ceph-mon-v1", "tcp", 6789, 6789, NODES, NODES, False, None),
    ("ceph", "ceph-daemons", "tcp", 6800, 7300, NODES, NODES, False, None),
    ("ceph", "ceph-rbd-mirror-mon-v2", "tcp", 3300, 3300, NODES, (), True, "rbd_mirroring"),
    ("ceph", "ceph-rbd-mirror-mon-v1", "tcp", 6789, 6789, NODES, (), True, "rbd_mirroring"),
    ("ceph", "ceph-rbd-mirror-daemons", "tcp", 6800, 7300, NODES, (), True, "rbd_mirroring"),
    ("ssh", "ssh-admin", "tcp", 22, 22, NODES, ("admin",), False, None),
)

TUNNELS = ("vxlan", "geneve", "disabled")
ENCRYPTIONS = ("none", "wireguard", "ipsec")

# Private, shared (CGNAT), link-local and unique-local space.
NON_PUBLIC = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                                     "169.254.0.0/16", "fc00::/7", "fe80::/10"))

AWS_MAX_INBOUND_RULES = 60
AZURE_PRIORITY_RANGE = (100, 4096)
AZURE_PRIORITY_STEP = 10
# Components that must never be reachable from outside private address space.
PRIVATE_ONLY = ("etcd", "kubernetes", "cilium", "clustermesh", "ceph")

DEFAULT_OPTIONS = {
    "components": list(COMPONENTS),
    "cilium_tunnel": "vxlan",
    "cilium_encryption": "none",
    "hubble": True,
    "rbd_mirroring": True,
    "admin_cidrs": [],
    "nodeport_cidrs": [],
    "extra_sources": [],
}


class PortsError(ValueError):
    """Bad matrix input; ``field`` names where, ``fix`` says what to do."""

    def __init__(self, field, problem, fix):
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__("%s: %s. Fix: %s" % (field, problem, fix))


def _cidr(value, field):
    try:
        net = ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise PortsError(field, "%r is not a valid CIDR (%s)" % (value, exc), "write a network such as 203.0.113.0/24") from None
    return net


def is_public(net):
    """True for ranges that are not private, shared (CGNAT) or link-local address space."""
    return not any(net.version == p.version and net.subnet_of(p) for p in NON_PUBLIC)


def normalize_options(options):
    """Defaults, then every matrix option checked; returns a new dict and a list of warnings."""
    out = dict(DEFAULT_OPTIONS)
    out.update({k: v for k, v in (options or {}).items() if v is not None})
    unknown = set(out) - set(DEFAULT_OPTIONS)
    if unknown:
        raise PortsError(sorted(unknown)[0], "unknown option", "use one of: %s" % ", ".join(sorted(DEFAULT_OPTIONS)))
    for index, component in enumerate(out["components"]):
        if component not in COMPONENTS:
            raise PortsError("components[%d]" % index, "unknown component %r" % (component,), "use some of: %s" % ", ".join(COMPONENTS))
    for key, allowed in (("cilium_tunnel", TUNNELS), ("cilium_encryption", ENCRYPTIONS)):
        if out[key] not in allowed:
            raise PortsError(key, "%r is not one of %s" % (out[key], ", ".join(allowed)), "pick one of those")
    warnings = []
    for key in ("admin_cidrs", "nodeport_cidrs"):
        nets = [_cidr(c, "%s[%d]" % (key, i)) for i, c in enumerate(out[key])]
        for net in nets:
            if net.prefixlen == 0:
                warnings.append("%s opens %s to %s (the whole internet) because it was asked for" % (key, _what(key), net))
        out[key] = [str(n) for n in nets]
    extra = []
    for index, entry in enumerate(out["extra_sources"]):
        field = "extra_sources[%d]" % index
        if not isinstance(entry, dict) or set(entry) - {"component", "name", "cidrs"} or not entry.get("cidrs"):
            raise PortsError(field, "expected {component, cidrs} and optionally name",
                             "for example {component: kubernetes, name: kubelet, cidrs: [10.9.0.0/24]}")
        component = entry.get("component")
        if component not in COMPONENTS:
            raise PortsError(field + ".component", "unknown component %r" % (component,), "use one of: %s" % ", ".join(COMPONENTS))
        names = [f[1] for f in _FLOWS if f[0] == component]
        if entry.get("name") and entry["name"] not in names:
            raise PortsError(field + ".name", "%s has no flow %r" % (component, entry["name"]), "use one of: %s" % ", ".join(names))
        nets = [_cidr(c, "%s.cidrs[%d]" % (field, i)) for i, c in enumerate(entry["cidrs"])]
        for i, net in enumerate(nets):
            if component in PRIVATE_ONLY and is_public(net):
                raise PortsError("%s.cidrs[%d]" % (field, i), "%s is public address space; %s must only be reachable privately" % (net, component),
                                 "give a private range, or reach it through the VPN or a bastion")
        extra.append({"component": component, "name": entry.get("name"), "cidrs": [str(n) for n in nets]})
    out["extra_sources"] = extra
    return out, warnings


def _what(key):
    return "SSH and the Kubernetes API" if key == "admin_cidrs" else "NodePort services"


def _enabled(condition, topology, options):
    if condition is None:
        return True
    if condition in TUNNELS:
        return options["cilium_tunnel"] == condition
    if condition in ENCRYPTIONS:
        return options["cilium_encryption"] == condition
    return {
        "nodeports": bool(options["nodeport_cidrs"]),
        "hubble": options["hubble"],
        "mesh": topology == "mesh",
        "rbd_mirroring": topology == "mesh" and options["rbd_mirroring"],
    }[condition]


def effective_matrix(plan, options=None):
    """Flows per cloud and destination role: ``[{cloud, role, component, name, protocol, from_port, to_port, source}]``.

    ``source`` is ``{"kind": "role", "cloud": ..., "role": ...}`` for nodes of a role in a cloud or
    ``{"kind": "cidr", "cidr": ...}`` for user-given ranges. Sorted deterministically.
    """
    options, warnings = normalize_options(options)
    topology = plan.get("topology", "mesh")
    flows = []
    for cloud in ("aws", "azure"):
        other = "azure" if cloud == "aws" else "aws"
        for component, name, protocol, first, last, targets, peers, crosses, condition in _FLOWS:
            if component not in options["components"] or not _enabled(condition, topology, options):
                continue
            sources = []
            for peer in peers:
                if peer in ROLES:
                    sources.append({"kind": "role", "cloud": cloud, "role": peer})
                    if topology == "stretched":
                        sources.append({"kind": "role", "cloud": other, "role": peer})
                elif peer == "admin":
                    sources += [{"kind": "cidr", "cidr": c} for c in options["admin_cidrs"]]
                elif peer == "nodeport":
                    sources += [{"kind": "cidr", "cidr": c} for c in options["nodeport_cidrs"]]
            if crosses and topology == "mesh":
                sources += [{"kind": "role", "cloud": other, "role": r} for r in ROLES]
            for extra in options["extra_sources"]:
                if extra["component"] == component and extra["name"] in (None, name):
                    sources += [{"kind": "cidr", "cidr": c} for c in extra["cidrs"]]
            for role in targets:
                for source in _unique(sources):
                    flows.append({"cloud": cloud, "role": role, "component": component, "name": name, "protocol": protocol,
                                  "from_port": first, "to_port": last, "source": source})
    return flows, warnings


def _unique(items):
    seen = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _source_key(source):
    return (0, source["cloud"], source["role"]) if source["kind"] == "role" else (1, source["cidr"], "")


def _merge_ranges(ranges):
    """Merge overlapping or adjacent port ranges; ICMP/ESP ranges are kept as given."""
    merged = []
    for first, last in sorted(ranges):
        if merged and first != -1 and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        elif (first, last) not in merged:
            merged.append((first, last))
    return merged


def role_cidrs(plan, cloud, role):
    """The subnets of one role in one cloud, from the plan."""
    return sorted(s["cidr"] for s in plan[cloud]["subnets"] if s["role"] == role)


def aws_permissions(plan, flows, group_names, limit=AWS_MAX_INBOUND_RULES):
    """Inbound permissions per AWS security group (one per node role), packed.

    Local peers are referenced by group (``group_names[role]``); the other cloud's nodes and
    user-given ranges by CIDR. Returns ``{role: [permission]}`` where a permission is
    ``{protocol, from_port, to_port, source_group | cidr, description}``; fails when a group
    would need more than ``limit`` rules.
    """
    per_role = {}
    for flow in flows:
        if flow["cloud"] != "aws":
            continue
        source = flow["source"]
        if source["kind"] == "role" and source["cloud"] == "aws":
            sources = [("group", group_names[source["role"]])]
        elif source["kind"] == "role":
            sources = [("cidr", c) for c in role_cidrs(plan, source["cloud"], source["role"])]
        else:
            sources = [("cidr", source["cidr"])]
        for kind, value in sources:
            key = (flow["protocol"], kind, value)
            entry = per_role.setdefault(flow["role"], {}).setdefault(key, {"ranges": [], "names": []})
            entry["ranges"].append((flow["from_port"], flow["to_port"]))
            if flow["name"] not in entry["names"]:
                entry["names"].append(flow["name"])
    result = {}
    for role in ROLES:
        rules = []
        for (protocol, kind, value), entry in sorted((per_role.get(role) or {}).items()):
            for first, last in _merge_ranges(entry["ranges"]):
                rule = {"protocol": protocol, "from_port": first, "to_port": last,
                        "description": "hybrid.cluster: " + ", ".join(sorted(entry["names"]))[:240]}
                rule["source_group" if kind == "group" else "cidr"] = value
                rules.append(rule)
        if len(rules) > limit:
            raise PortsError("aws.%s" % role, "the %s security group needs %d inbound rules, over the limit of %d" % (role, len(rules), limit),
                             "raise the limit with AWS (and the module's aws_rule_limit), or use fewer admin CIDRs and components")
        result[role] = rules
    return result


AZURE_PROTOCOLS = {"tcp": "Tcp", "udp": "Udp", "icmp": "Icmp", "esp": "Esp"}


def azure_rules(plan, flows, start=AZURE_PRIORITY_RANGE[0], step=AZURE_PRIORITY_STEP):
    """Inbound NSG security rules per Azure node role (one NSG per role's subnet), packed.

    Rules with the same protocol and the same set of sources are merged into one rule with several
    port ranges; priorities are assigned in a fixed order from ``start`` in ``step``s, and the
    result fails when they would pass 4096. Every list ends with nothing broader than the
    platform's own ranges: Azure's default rules (which allow the whole VNet) are overridden by an
    explicit deny of VNet traffic at the end.
    """
    grouped = {}
    for flow in flows:
        if flow["cloud"] != "azure":
            continue
        source = flow["source"]
        if source["kind"] == "role":
            prefixes = tuple(role_cidrs(plan, source["cloud"], source["role"]))
        else:
            prefixes = (source["cidr"],)
        key = (flow["role"], flow["component"], flow["protocol"], flow["from_port"], flow["to_port"])
        entry = grouped.setdefault(key, {"prefixes": set(), "names": set()})
        entry["prefixes"].update(prefixes)
        entry["names"].add(flow["name"])
    # Pack: same role, component, protocol and sources -> one rule with all the port ranges.
    packed = {}
    for (role, component, protocol, first, last), entry in grouped.items():
        key = (role, component, protocol, tuple(sorted(entry["prefixes"])))
        item = packed.setdefault(key, {"ranges": [], "names": set()})
        item["ranges"].append((first, last))
        item["names"].update(entry["names"])
    result = {role: [] for role in ROLES}
    counters = {role: 0 for role in ROLES}
    for (role, component, protocol, prefixes), item in sorted(packed.items(), key=lambda kv: (kv[0][0], COMPONENTS.index(kv[0][1]), kv[0][2], kv[0][3])):
        priority = start + counters[role] * step
        counters[role] += 1
        if priority > AZURE_PRIORITY_RANGE[1] - step:
            raise PortsError("azure.%s" % role, "the %s NSG needs more rules than priorities %d-%d allow" % ((role,) + AZURE_PRIORITY_RANGE),
                             "use fewer admin CIDRs and components")
        ports = ["*"] if protocol in ("icmp", "esp") else [str(a) if a == b else "%d-%d" % (a, b) for a, b in _merge_ranges(item["ranges"])]
        result[role].append({
            "name": "hc-%s-%s-%d" % (component, protocol, counters[role]),
            "priority": priority,
            "direction": "Inbound",
            "access": "Allow",
            "protocol": AZURE_PROTOCOLS[protocol],
            "source_address_prefixes": list(prefixes),
            "source_port_range": "*",
            "destination_address_prefixes": role_cidrs(plan, "azure", role),
            "destination_port_ranges": ports,
            "description": "hybrid.cluster: " + ", ".join(sorted(item["names"]))[:140],
        })
    for role in ROLES:
        result[role].append({
            "name": "hc-deny-other-inbound",
            "priority": AZURE_PRIORITY_RANGE[1],
            "direction": "Inbound",
            "access": "Deny",
            "protocol": "*",
            "source_address_prefix": "VirtualNetwork",
            "source_port_range": "*",
            "destination_address_prefixes": role_cidrs(plan, "azure", role),
            "destination_port_ranges": ["*"],
            "description": "hybrid.cluster: nothing else from the VNet or the VPN",
        })
    return result
