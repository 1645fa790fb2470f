# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubespray inventories and group variables for the hybrid platform: pure data, no I/O.

``render_clusters(plan, hosts, groups, options)`` turns the address plan (the ``cidr_plan``
result) and the inventory (host variables and group membership) into one Kubespray inventory per
cluster: ``hosts.yml`` as a mapping and each ``group_vars`` file as a mapping, keyed by its path
relative to the inventory directory. Every CIDR, cluster name and id comes from the plan; nothing
here allocates or recomputes a range.

``check_cluster(rendered)`` and ``check_clusters(rendered_list)`` hold the rendered data to what
Kubespray's ``validate_inventory`` role would reject at v2.31.0, plus what it misses (services
inside the pod range, ClusterMesh identity, etcd timing rules). ``render_clusters`` runs them and
raises ``KubesprayError`` with every problem before anything is written or run.

Figures used (sources in docs/kubernetes.md):

* Path MTU over the AWS/Azure site-to-site VPN: 1400 (Azure asks for MTU 1400 / TCP MSS 1350 on
  its side; AWS tunnels allow at most 1446, less with NAT-T and CBC ciphers, so Azure's figure
  is the binding one).
* Cilium overheads: VXLAN and Geneve 50 bytes (outer IPv4 20 + UDP 8 + VXLAN/Geneve 8 + inner
  Ethernet 14), WireGuard 80 bytes (outer IPv6 40 + UDP 8 + WireGuard 32, Cilium's figure).
* etcd tuning: heartbeat about the round-trip time and at least 100 ms, election timeout at least
  10 x RTT and 5 x heartbeat, at most 50000 ms, the same on every member. Kubespray's defaults
  are 250 / 5000 ms.
"""

from __future__ import annotations

import copy
import ipaddress
import math
import re

from ansible_collections.hybrid.cluster.plugins.module_utils.plan import CLOUDS, CLUSTER_NAME_MAX

KUBESPRAY_VERSION = "v2.31.0"
KUBE_VERSION_MIN = (1, 33, 0)

NETWORK_PLUGINS = ("calico", "flannel", "cloud", "cilium", "cni", "kube-ovn", "kube-router", "macvlan", "custom_cni", "none")
CLOUD_PROVIDERS = ("", "external")
EXTERNAL_CLOUD_PROVIDERS = ("hcloud", "huaweicloud", "oci", "openstack", "vsphere", "manual")
ENUMS = {
    "kube_proxy_mode": ("iptables", "ipvs", "nftables"),
    "dns_mode": ("coredns", "coredns_dual", "manual", "none"),
    "cert_management": ("script", "none"),
    "resolvconf_mode": ("docker_dns", "host_resolvconf", "none"),
    "etcd_deployment_type": ("host", "docker", "kubeadm"),
    "container_manager": ("docker", "crio", "containerd"),
    "cilium_tunnel_mode": ("vxlan", "geneve", "disabled"),
    "cilium_encryption_type": ("ipsec", "wireguard"),
    "cilium_identity_allocation_mode": ("crd", "kvstore"),
}
# Variables Kubespray (or this role) reads as real booleans; a string "false" is truthy.
BOOLEAN_VARS = (
    "download_run_once", "download_always_pull", "helm_enabled", "openstack_lbaas_enabled",
    "ignore_assert_errors", "cilium_encryption_enabled", "cilium_encryption_node_encryption",
    "cilium_auto_direct_node_routes", "cilium_enable_hubble", "ntp_enabled", "ntp_manage_config",
    "kube_proxy_strict_arp", "download_localhost",
)
INTEGER_VARS = ("kubelet_max_pods", "kube_network_node_prefix", "cilium_cluster_id")

# Path MTU over the site-to-site VPN and what Cilium's encapsulations take from it.
VPN_PATH_MTU = 1400
TUNNEL_OVERHEAD = {"vxlan": 50, "geneve": 50, "disabled": 0}
ENCRYPTION_OVERHEAD = {"none": 0, "wireguard": 80}
MIN_MTU = 576

# etcd timing.
KUBESPRAY_ETCD_HEARTBEAT_MS = 250
KUBESPRAY_ETCD_ELECTION_MS = 5000
ETCD_MIN_HEARTBEAT_MS = 100
ETCD_MAX_ELECTION_MS = 50000

DEFAULT_GROUPS = {
    "aws": "aws",
    "azure": "azure",
    "kube_control_plane": "kube_control_plane",
    "kube_node": "kube_node",
    "etcd": "etcd",
}
# Host variables copied into hosts.yml besides ip / access_ip / ansible_host.
DEFAULT_CONNECTION_VARS = (
    "ansible_user", "ansible_port", "ansible_connection", "ansible_ssh_private_key_file", "ansible_ssh_common_args",
    "ansible_python_interpreter", "ansible_become_method",
)
DEFAULT_NODE_ROLE_FACTS = ("ntp_kubespray_vars", "registry_mirror_kubespray_vars", "cert_sans_kubespray_vars")
SAN_VAR = "supplementary_addresses_in_ssl_keys"

DEFAULT_OPTIONS = {
    "groups": {},
    "cilium_tunnel": "vxlan",
    "cilium_encryption": "none",
    "path_mtu": VPN_PATH_MTU,
    "cilium_mtu": None,
    "etcd_rtt_ms": None,
    "etcd_heartbeat_ms": None,
    "etcd_election_ms": None,
    "supplementary_addresses": [],
    "node_role_facts": list(DEFAULT_NODE_ROLE_FACTS),
    "node_role_vars": {},
    "connection_vars": list(DEFAULT_CONNECTION_VARS),
    "extra_vars": {},
    "cluster_extra_vars": {},
}

FILE_ALL = "group_vars/all/all.yml"
FILE_ETCD = "group_vars/all/etcd.yml"
FILE_NODE_ROLES = "group_vars/all/hybrid-node-roles.yml"
FILE_OVERRIDES = "group_vars/all/hybrid-overrides.yml"
FILE_CLUSTER = "group_vars/k8s_cluster/k8s-cluster.yml"
FILE_CILIUM = "group_vars/k8s_cluster/k8s-net-cilium.yml"
FILE_ORDER = (FILE_ALL, FILE_ETCD, FILE_NODE_ROLES, FILE_CLUSTER, FILE_CILIUM, FILE_OVERRIDES)

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class KubesprayError(ValueError):
    """One or more rules broken; ``problems`` lists each as 'where: what. Fix: how'."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("Kubespray inputs rejected (%d problem%s):\n- %s" % (
            len(self.problems), "" if len(self.problems) == 1 else "s", "\n- ".join(self.problems)))


def _problem(where, what, fix):
    return "%s: %s. Fix: %s" % (where, what, fix)


# ---------------------------------------------------------------------------------------------
# Figures


def cilium_mtu(tunnel="vxlan", encryption="none", path_mtu=VPN_PATH_MTU):
    """The MTU Cilium should give pods: the VPN path MTU minus encapsulation and encryption."""
    if tunnel not in TUNNEL_OVERHEAD:
        raise KubesprayError([_problem("cilium_tunnel", "%r is not a known tunnel mode" % (tunnel,),
                                       "use one of: %s" % ", ".join(TUNNEL_OVERHEAD))])
    if encryption not in ENCRYPTION_OVERHEAD:
        raise KubesprayError([_problem("cilium_encryption", "%r is not supported here" % (encryption,),
                                       "use one of: %s (IPsec needs a key and its own MTU; set it with kubespray_extra_vars)"
                                       % ", ".join(ENCRYPTION_OVERHEAD))])
    path_mtu = _int(path_mtu, "path_mtu")
    mtu = path_mtu - TUNNEL_OVERHEAD[tunnel] - ENCRYPTION_OVERHEAD[encryption]
    if mtu < MIN_MTU:
        raise KubesprayError([_problem("path_mtu", "a path MTU of %d leaves %d bytes for pods, below the %d bytes every IPv4 host must accept"
                                       % (path_mtu, mtu, MIN_MTU), "fix the VPN path MTU or drop an encapsulation")])
    return mtu


def etcd_timings(rtt_ms=None, heartbeat_ms=None, election_ms=None):
    """etcd heartbeat and election timeout in ms, from a round-trip time or given values.

    Without anything, Kubespray's defaults (250 / 5000). With a round-trip time, the heartbeat is
    the RTT rounded up to 10 ms (at least 100 ms) and the election timeout the larger of 10 x RTT
    and 5 x heartbeat, rounded up to 100 ms. Given values win over derived ones and are checked.
    """
    problems = []
    rtt = None
    if rtt_ms not in (None, ""):
        try:
            rtt = float(rtt_ms)
        except (TypeError, ValueError):
            raise KubesprayError([_problem("etcd_rtt_ms", "%r is not a number" % (rtt_ms,), "give the RTT in milliseconds")]) from None
        if rtt <= 0:
            raise KubesprayError([_problem("etcd_rtt_ms", "%r is not positive" % (rtt_ms,), "give the measured RTT in milliseconds")])
    if rtt is None:
        heartbeat, election, source = KUBESPRAY_ETCD_HEARTBEAT_MS, KUBESPRAY_ETCD_ELECTION_MS, "kubespray defaults"
    else:
        heartbeat = max(ETCD_MIN_HEARTBEAT_MS, int(math.ceil(rtt / 10.0)) * 10)
        election = int(math.ceil(max(10 * rtt, 5 * heartbeat) / 100.0)) * 100
        source = "derived from an RTT of %g ms" % rtt
    if heartbeat_ms not in (None, ""):
        heartbeat = _int(heartbeat_ms, "etcd_heartbeat_ms")
        source = "given"
    if election_ms not in (None, ""):
        election = _int(election_ms, "etcd_election_ms")
        source = "given"
    problems.extend(etcd_timing_problems(heartbeat, election, rtt, "etcd"))
    if problems:
        raise KubesprayError(problems)
    return {"heartbeat_ms": heartbeat, "election_ms": election, "rtt_ms": rtt, "source": source}


def etcd_timing_problems(heartbeat, election, rtt=None, where="etcd"):
    problems = []
    if heartbeat < ETCD_MIN_HEARTBEAT_MS and (rtt is None or heartbeat < rtt):
        problems.append(_problem(where + ".heartbeat", "%d ms is below etcd's %d ms floor" % (heartbeat, ETCD_MIN_HEARTBEAT_MS),
                                 "use at least %d ms" % ETCD_MIN_HEARTBEAT_MS))
    if rtt is not None and heartbeat < rtt:
        problems.append(_problem(where + ".heartbeat", "%d ms is shorter than the %g ms round trip" % (heartbeat, rtt),
                                 "use a heartbeat of about the RTT"))
    if election < 5 * heartbeat:
        problems.append(_problem(where + ".election_timeout", "%d ms is less than 5 x the %d ms heartbeat" % (election, heartbeat),
                                 "use at least %d ms" % (5 * heartbeat)))
    if rtt is not None and election < 10 * rtt:
        problems.append(_problem(where + ".election_timeout", "%d ms is less than 10 x the %g ms round trip" % (election, rtt),
                                 "use at least %d ms" % int(math.ceil(10 * rtt))))
    if election > ETCD_MAX_ELECTION_MS:
        problems.append(_problem(where + ".election_timeout", "%d ms is above etcd's limit of %d ms" % (election, ETCD_MAX_ELECTION_MS),
                                 "bring the members closer together; etcd does not work across such delays"))
    return problems


def _int(value, field):
    if isinstance(value, bool):
        raise KubesprayError([_problem(field, "expected a number, got %r" % (value,), "give a whole number")])
    try:
        return int(str(value).strip(), 10)
    except (TypeError, ValueError):
        raise KubesprayError([_problem(field, "expected a whole number, got %r" % (value,), "give a whole number")]) from None


# ---------------------------------------------------------------------------------------------
# Rendering


def cluster_layout(plan):
    """The clusters the plan describes: one per cloud (mesh) or one across both (stretched)."""
    if not isinstance(plan, dict) or any(not isinstance(plan.get(c), dict) for c in CLOUDS):
        raise KubesprayError([_problem("plan", "expected the result of hybrid.cluster.cidr_plan (its plan)",
                                       "pass the registered result's plan, for example cidr.plan")])
    missing = ["%s.%s" % (c, k) for c in CLOUDS for k in ("pods", "services", "cluster_name", "cluster_id", "node_prefix")
               if plan[c].get(k) in (None, "")]
    if missing:
        raise KubesprayError([_problem("plan", "the plan lacks %s" % ", ".join(missing), "complete the plan (see plan.missing)")])
    topology = plan.get("topology") or "mesh"
    if topology == "stretched":
        clouds_list = [list(CLOUDS)]
    else:
        clouds_list = [[c] for c in CLOUDS]
    clusters = []
    for clouds in clouds_list:
        section = plan[clouds[0]]
        clusters.append({
            "name": section["cluster_name"],
            "id": section["cluster_id"],
            "clouds": clouds,
            "pods": section["pods"],
            "services": section["services"],
            "node_prefix": section["node_prefix"],
            "max_pods": section.get("max_pods_per_node") or 110,
            "networks": [plan[c]["network"] for c in clouds if plan[c].get("network")],
        })
    return clusters


def normalize_options(options):
    out = copy.deepcopy(DEFAULT_OPTIONS)
    for key, value in (options or {}).items():
        if key not in DEFAULT_OPTIONS:
            raise KubesprayError([_problem("options.%s" % key, "unknown option", "use one of: %s" % ", ".join(sorted(DEFAULT_OPTIONS)))])
        if value is not None:
            out[key] = value
    groups = dict(DEFAULT_GROUPS)
    groups.update({k: v for k, v in (out["groups"] or {}).items() if v})
    unknown = set(groups) - set(DEFAULT_GROUPS)
    if unknown:
        raise KubesprayError([_problem("groups.%s" % sorted(unknown)[0], "unknown group role", "use: %s" % ", ".join(DEFAULT_GROUPS))])
    out["groups"] = groups
    for key in ("node_role_vars", "extra_vars", "cluster_extra_vars"):
        if not isinstance(out[key], dict):
            raise KubesprayError([_problem(key, "expected a mapping, got %r" % (out[key],), "give a mapping of variable names to values")])
    return out


def _per_cluster(value, name):
    """A scalar or list applies to every cluster; a mapping is looked up by cluster name."""
    if isinstance(value, dict):
        return value.get(name)
    return value


def _hosts_of(groups, group):
    return list(dict.fromkeys(groups.get(group) or []))


def _plain(value):
    """Plain Python containers and scalars (inventory values may be lazy or tagged types)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _address(value, where, problems):
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        problems.append(_problem(where, "%r is not an IP address" % (value,), "give the node's private IP address"))
        return None


def render_clusters(plan, hosts, groups, options=None):
    """Render and check every cluster's inventory; returns ``{"clusters": [...], "warnings": [...]}``."""
    opts = normalize_options(options)
    hosts = _plain(hosts or {})
    groups = _plain(groups or {})
    layout = cluster_layout(plan)
    names = opts["groups"]
    problems = []
    warnings = []

    clouds_of = {}
    for cloud in CLOUDS:
        for host in _hosts_of(groups, names[cloud]):
            clouds_of.setdefault(host, []).append(cloud)
    for host, clouds in sorted(clouds_of.items()):
        if len(clouds) > 1:
            problems.append(_problem("host %s" % host, "is in both the %s and %s groups" % (names["aws"], names["azure"]),
                                     "put each host in exactly one cloud group"))

    control_plane = _hosts_of(groups, names["kube_control_plane"])
    workers = _hosts_of(groups, names["kube_node"])
    etcd_given = names["etcd"] in groups
    etcd_hosts = _hosts_of(groups, names["etcd"]) if etcd_given else list(control_plane)

    mtu = None
    try:
        mtu = (_int(opts["cilium_mtu"], "cilium_mtu") if opts["cilium_mtu"] not in (None, "", 0, "0")
               else cilium_mtu(opts["cilium_tunnel"], opts["cilium_encryption"], opts["path_mtu"]))
    except KubesprayError as exc:
        problems.extend(exc.problems)

    rendered = []
    for cluster in layout:
        name = cluster["name"]
        members = [h for h in dict.fromkeys(control_plane + workers + etcd_hosts)
                   if any(c in clouds_of.get(h, []) for c in cluster["clouds"])]
        in_cluster = set(members)
        cp = [h for h in control_plane if h in in_cluster]
        nodes = [h for h in workers if h in in_cluster]
        etcd = [h for h in etcd_hosts if h in in_cluster]
        try:
            timing = etcd_timings(_per_cluster(opts["etcd_rtt_ms"], name), _per_cluster(opts["etcd_heartbeat_ms"], name),
                                  _per_cluster(opts["etcd_election_ms"], name))
        except KubesprayError as exc:
            problems.extend("cluster %s: %s" % (name, p) for p in exc.problems)
            timing = {"heartbeat_ms": KUBESPRAY_ETCD_HEARTBEAT_MS, "election_ms": KUBESPRAY_ETCD_ELECTION_MS, "rtt_ms": None,
                      "source": "kubespray defaults"}

        inventory_hosts = {}
        node_role_vars = {}
        sans = []
        for host in members:
            hv = hosts.get(host) or {}
            where = "cluster %s: host %s" % (name, host)
            ip = hv.get("ip") or hv.get("private_ip") or hv.get("private_ip_address")
            if ip in (None, ""):
                problems.append(_problem(where, "has no ip host variable", "let the inventory set ip (the node's private address)"))
                continue
            entry = {}
            entry["ansible_host"] = str(hv.get("ansible_host") or ip)
            entry["ip"] = _address(ip, where + ".ip", problems)
            access = hv.get("access_ip") or ip
            entry["access_ip"] = _address(access, where + ".access_ip", problems)
            for key in opts["connection_vars"]:
                if hv.get(key) not in (None, ""):
                    entry[key] = hv[key]
            merged = {}
            for fact in opts["node_role_facts"]:
                value = hv.get(fact)
                if value in (None, ""):
                    continue
                if not isinstance(value, dict):
                    problems.append(_problem("%s.%s" % (where, fact), "expected a mapping of Kubespray variables", "fix the role that set it"))
                    continue
                merged.update(value)
            if SAN_VAR in merged:
                sans.extend(v for v in (merged.pop(SAN_VAR) or []) if v not in sans)
            node_role_vars[host] = merged
            inventory_hosts[host] = entry
            if entry["ip"] and cluster["networks"]:
                address = ipaddress.ip_address(entry["ip"])
                if not any(address in ipaddress.ip_network(n) for n in cluster["networks"]):
                    warnings.append("cluster %s: host %s has ip %s outside the plan's network%s %s" % (
                        name, host, entry["ip"], "s" if len(cluster["networks"]) > 1 else "", ", ".join(cluster["networks"])))

        # Node role settings the same on every host go to group_vars; the rest stays per host.
        common = {}
        if node_role_vars:
            keys = set().union(*[set(v) for v in node_role_vars.values()])
            for key in sorted(keys):
                values = [v.get(key, _MISSING) for v in node_role_vars.values()]
                if all(v == values[0] for v in values) and values[0] is not _MISSING:
                    common[key] = values[0]
            for host, values in node_role_vars.items():
                for key, value in values.items():
                    if key not in common and host in inventory_hosts:
                        inventory_hosts[host][key] = value
        common.update(copy.deepcopy(opts["node_role_vars"]))
        if SAN_VAR in common:
            sans.extend(v for v in (common.pop(SAN_VAR) or []) if v not in sans)
        for value in _per_cluster(opts["supplementary_addresses"], name) or []:
            if value not in sans:
                sans.append(value)

        group_vars = {
            FILE_ALL: {
                "cloud_provider": "external",
                "external_cloud_provider": "manual",
            },
            FILE_ETCD: {
                # Kubespray passes these as strings (ETCD_HEARTBEAT_INTERVAL / ETCD_ELECTION_TIMEOUT).
                "etcd_heartbeat_interval": str(timing["heartbeat_ms"]),
                "etcd_election_timeout": str(timing["election_ms"]),
            },
            FILE_NODE_ROLES: common,
            FILE_CLUSTER: {
                "kube_network_plugin": "cilium",
                "kube_pods_subnet": cluster["pods"],
                "kube_service_addresses": cluster["services"],
                "kube_network_node_prefix": cluster["node_prefix"],
                "kubelet_max_pods": cluster["max_pods"],
                SAN_VAR: sans,
            },
            FILE_CILIUM: {
                "cilium_cluster_name": name,
                "cilium_cluster_id": cluster["id"],
                "cilium_tunnel_mode": opts["cilium_tunnel"],
                "cilium_mtu": str(mtu) if mtu else "0",
                "cilium_encryption_enabled": opts["cilium_encryption"] != "none",
            },
            FILE_OVERRIDES: {},
        }
        if opts["cilium_encryption"] != "none":
            group_vars[FILE_CILIUM]["cilium_encryption_type"] = opts["cilium_encryption"]
        if opts["cilium_tunnel"] == "disabled":
            supernets = {plan[c].get("supernet") for c in CLOUDS} - {None}
            if len(supernets) == 1:
                group_vars[FILE_CILIUM]["cilium_native_routing_cidr"] = supernets.pop()
            else:
                problems.append(_problem("cluster %s: cilium_tunnel" % name,
                                         "native routing needs one range covering every cluster's pods and the plan has no shared supernet",
                                         "set cilium_native_routing_cidr in kubespray_extra_vars, or keep vxlan"))

        overrides = dict(copy.deepcopy(opts["extra_vars"]))
        overrides.update(copy.deepcopy(opts["cluster_extra_vars"].get(name) or {}))
        _apply_overrides(group_vars, inventory_hosts, overrides)

        inventory = {"all": {"hosts": inventory_hosts, "children": {
            "kube_control_plane": {"hosts": {h: None for h in cp if h in inventory_hosts}},
            "kube_node": {"hosts": {h: None for h in nodes if h in inventory_hosts}},
            "etcd": {"hosts": {h: None for h in etcd if h in inventory_hosts}},
            "k8s_cluster": {"children": {"kube_control_plane": None, "kube_node": None}},
        }}}
        first = cp[0] if cp else None
        rendered.append({
            "name": name,
            "id": cluster["id"],
            "clouds": list(cluster["clouds"]),
            "cloud_hosts": {c: [h for h in inventory_hosts if c in clouds_of.get(h, [])] for c in cluster["clouds"]},
            "inventory": inventory,
            "group_vars": group_vars,
            "first_control_plane": first,
            "api_address": inventory_hosts.get(first, {}).get("access_ip") if first else None,
            "etcd": timing,
            "cilium_mtu": mtu,
        })

    for item in rendered:
        problems.extend(check_cluster(item))
    problems.extend(check_clusters(rendered, plan.get("topology") or "mesh"))
    if problems:
        raise KubesprayError(problems)
    for item in rendered:
        if len(item["clouds"]) > 1:
            warnings.append("cluster %s spans %s: etcd and the API server depend on the VPN; expect higher latency and "
                            "tune etcd_rtt_ms to the measured round trip" % (item["name"], " and ".join(item["clouds"])))
    return {"clusters": rendered, "warnings": warnings}


_MISSING = object()


def _apply_overrides(group_vars, inventory_hosts, overrides):
    """User overrides win: replace a key where it is rendered (and drop per-host copies), else add it."""
    for key, value in overrides.items():
        placed = False
        for path in FILE_ORDER:
            if path != FILE_OVERRIDES and key in group_vars[path]:
                group_vars[path][key] = value
                placed = True
        for entry in inventory_hosts.values():
            if key in entry and key not in ("ansible_host", "ip", "access_ip"):
                del entry[key]
        if not placed:
            group_vars[FILE_OVERRIDES][key] = value


# ---------------------------------------------------------------------------------------------
# Checks on rendered data (what Kubespray rejects, and what it misses)


def effective_vars(rendered):
    """All group variables of one rendered cluster merged the way Ansible layers them for k8s_cluster hosts."""
    merged = {}
    for path in (FILE_ALL, FILE_ETCD, FILE_NODE_ROLES, FILE_OVERRIDES, FILE_CLUSTER, FILE_CILIUM):
        merged.update(rendered["group_vars"].get(path) or {})
    return merged


def _net(value, field, name, problems):
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError:
        problems.append(_problem("cluster %s: %s" % (name, field), "%r is not a network" % (value,), "give a CIDR such as 10.233.0.0/18"))
        return None


def _group(inventory, group):
    return list(((inventory.get("all") or {}).get("children") or {}).get(group, {}).get("hosts") or {})


def _version_tuple(text):
    parts = re.findall(r"\d+", str(text))[:3]
    return tuple(int(p) for p in parts + ["0"] * (3 - len(parts)))


def check_cluster(rendered):
    """Problems in one rendered cluster, in the order Kubespray's validate_inventory asserts them."""
    name = rendered["name"]
    inventory = rendered["inventory"]
    gv = effective_vars(rendered)
    problems = []
    where = "cluster %s" % name
    hosts = (inventory.get("all") or {}).get("hosts") or {}
    cp = _group(inventory, "kube_control_plane")
    nodes = _group(inventory, "kube_node")
    etcd = _group(inventory, "etcd")
    k8s_cluster = list(dict.fromkeys(cp + nodes))

    if not cp:
        problems.append(_problem(where + ": kube_control_plane", "the group is empty", "put at least one host in it (1, 3 or 5)"))
    if not etcd and gv.get("etcd_deployment_type") != "kubeadm":
        problems.append(_problem(where + ": etcd", "the group is empty", "put 3 or 5 hosts in it (by default the control plane)"))
    if not nodes:
        problems.append(_problem(where + ": kube_node", "the group is empty", "put the worker nodes in it"))
    if etcd and len(etcd) % 2 == 0:
        split = ""
        cloud_hosts = rendered.get("cloud_hosts") or {}
        if len(cloud_hosts) > 1:
            counts = ", ".join("%d in %s" % (len([h for h in etcd if h in cloud_hosts[c]]), c) for c in sorted(cloud_hosts))
            split = (" (%s). Split across two sites, losing either site or the link between them leaves at most %d of %d "
                     "members on one side, below the quorum of %d, so etcd and the whole cluster stop"
                     % (counts, len(etcd) // 2, len(etcd), len(etcd) // 2 + 1))
        problems.append(_problem(where + ": etcd", "%d members is an even count: its quorum of %d tolerates no more failures than %d members%s"
                                 % (len(etcd), len(etcd) // 2 + 1, len(etcd) - 1, split),
                                 "use an odd number (3 or 5), with a third site for a tie-breaker member, or two clusters "
                                 "(hybrid_topology: mesh) each with its own 3-member etcd"))
    for var in BOOLEAN_VARS:
        if var in gv and not isinstance(gv[var], bool):
            problems.append(_problem("%s: %s" % (where, var), "%r is not a boolean (a string 'false' is true)" % (gv[var],),
                                     "write true or false without quotes"))
    for var in INTEGER_VARS:
        if var in gv and (isinstance(gv[var], bool) or not isinstance(gv[var], int)):
            problems.append(_problem("%s: %s" % (where, var), "%r is not a whole number" % (gv[var],), "write a number without quotes"))
    plugin = gv.get("kube_network_plugin", "calico")
    if plugin not in NETWORK_PLUGINS:
        problems.append(_problem(where + ": kube_network_plugin", "%r is not one Kubespray knows" % (plugin,),
                                 "use one of: %s" % ", ".join(NETWORK_PLUGINS)))
    elif plugin != "cilium":
        problems.append(_problem(where + ": kube_network_plugin", "%r: ClusterMesh needs cilium" % (plugin,), "keep cilium"))
    kube_version = gv.get("kube_version")
    if kube_version and _version_tuple(kube_version) < KUBE_VERSION_MIN:
        problems.append(_problem(where + ": kube_version", "%s is older than the %s Kubespray %s supports"
                                 % (kube_version, ".".join(map(str, KUBE_VERSION_MIN)), KUBESPRAY_VERSION),
                                 "use %s or later" % ".".join(map(str, KUBE_VERSION_MIN))))
    prefix = gv.get("kube_network_node_prefix", 24)
    max_pods = gv.get("kubelet_max_pods", 110)
    if isinstance(prefix, int) and isinstance(max_pods, int) and not isinstance(prefix, bool):
        capacity = 2 ** (32 - prefix) - 2
        if max_pods > capacity:
            problems.append(_problem(where + ": kubelet_max_pods", "%d pods do not fit a /%d per node (%d addresses)" % (max_pods, prefix, capacity),
                                     "lower kubelet_max_pods to %d or use a node prefix of /%d" % (
                                         capacity, 32 - int(math.ceil(math.log2(max_pods + 2))))))
    provider = gv.get("cloud_provider", "")
    if provider not in CLOUD_PROVIDERS:
        problems.append(_problem(where + ": cloud_provider", "%r is not accepted; in-tree providers were removed in Kubespray v2.27" % (provider,),
                                 "use external with external_cloud_provider: manual and deploy the AWS/Azure cloud controller yourself"))
    if provider == "external" and gv.get("external_cloud_provider") not in EXTERNAL_CLOUD_PROVIDERS:
        problems.append(_problem(where + ": external_cloud_provider", "%r is not one of %s" % (
            gv.get("external_cloud_provider"), ", ".join(EXTERNAL_CLOUD_PROVIDERS)), "use manual for AWS and Azure"))
    services = _net(gv.get("kube_service_addresses"), "kube_service_addresses", name, problems)
    pods = _net(gv.get("kube_pods_subnet"), "kube_pods_subnet", name, problems)
    if pods is not None and services is not None:
        if pods.overlaps(services):
            inside = "inside" if pods.subnet_of(services) else ("around" if services.subnet_of(pods) else "across")
            problems.append(_problem(where + ": kube_pods_subnet", "%s lies %s the service range %s (Kubespray only catches pods inside services)"
                                     % (pods, inside, services), "take both ranges from the address plan; they must not overlap"))
        if isinstance(prefix, int) and not isinstance(prefix, bool):
            slots = 2 ** (prefix - pods.prefixlen) if prefix >= pods.prefixlen else 0
            if slots < len(k8s_cluster):
                problems.append(_problem(where + ": kube_pods_subnet", "%s holds %d /%d node blocks for %d nodes" % (pods, slots, prefix, len(k8s_cluster)),
                                         "use a larger pod range or a longer node prefix in the plan"))
    for var, allowed in ENUMS.items():
        if var in gv and gv[var] not in allowed:
            problems.append(_problem("%s: %s" % (where, var), "%r is not allowed" % (gv[var],), "use one of: %s" % ", ".join(allowed)))
    if gv.get("etcd_deployment_type") == "docker" and gv.get("container_manager", "containerd") != "docker":
        problems.append(_problem(where + ": etcd_deployment_type", "docker needs container_manager docker", "use host"))
    if gv.get("download_localhost") is True and gv.get("download_run_once") is not True:
        problems.append(_problem(where + ": download_localhost", "needs download_run_once", "set download_run_once: true"))
    cid = gv.get("cilium_cluster_id")
    if isinstance(cid, int) and not isinstance(cid, bool) and not 0 <= cid <= 255:
        problems.append(_problem(where + ": cilium_cluster_id", "%d is outside 0-255 (Kubespray's limit)" % cid, "use 1-255"))
    cname = gv.get("cilium_cluster_name")
    if not isinstance(cname, str) or len(cname) > CLUSTER_NAME_MAX or not _DNS_LABEL.match(cname):
        problems.append(_problem(where + ": cilium_cluster_name", "%r is not a valid Cilium cluster name" % (cname,),
                                 "use at most %d lowercase letters, digits and dashes, starting and ending with a letter or digit" % CLUSTER_NAME_MAX))
    if gv.get("cilium_encryption_enabled") is True and gv.get("cilium_encryption_type", "ipsec") == "ipsec" and not gv.get("cilium_ipsec_key"):
        problems.append(_problem(where + ": cilium_encryption_type", "IPsec needs cilium_ipsec_key", "use wireguard or give the key"))
    mtu = gv.get("cilium_mtu", "0")
    try:
        mtu_value = int(str(mtu))
    except ValueError:
        mtu_value = None
    if mtu_value is None or (mtu_value != 0 and not MIN_MTU <= mtu_value <= 65520):
        problems.append(_problem(where + ": cilium_mtu", "%r is not a usable MTU" % (mtu,), "use 0 (auto) or %d-65520" % MIN_MTU))
    try:
        heartbeat = int(str(gv.get("etcd_heartbeat_interval", KUBESPRAY_ETCD_HEARTBEAT_MS)))
        election = int(str(gv.get("etcd_election_timeout", KUBESPRAY_ETCD_ELECTION_MS)))
    except ValueError:
        problems.append(_problem(where + ": etcd", "heartbeat or election timeout is not a number", "give milliseconds"))
    else:
        problems.extend(etcd_timing_problems(heartbeat, election, (rendered.get("etcd") or {}).get("rtt_ms"), where + ": etcd"))
    for host, hvars in hosts.items():
        if not _NODE_NAME.match(host):
            problems.append(_problem("%s: host %s" % (where, host), "is not a lowercase RFC 1123 name; Kubespray uses it as the node name",
                                     "name inventory hosts in lowercase letters, digits, dashes and dots"))
        for key in ("etcd_heartbeat_interval", "etcd_election_timeout"):
            if key in (hvars or {}):
                problems.append(_problem("%s: host %s" % (where, host), "sets its own %s; every etcd member needs the same value" % key,
                                         "set it for the whole cluster"))
        for key in ("ip", "access_ip", "ansible_host"):
            if not (hvars or {}).get(key):
                problems.append(_problem("%s: host %s" % (where, host), "has no %s" % key, "give the node's address"))
    return problems


def check_clusters(rendered_list, topology="mesh"):
    """Rules across clusters: ClusterMesh needs unique names, ids 1-255 and pod ranges that do not overlap."""
    problems = []
    seen_names = {}
    seen_ids = {}
    pods = []
    for item in rendered_list:
        gv = effective_vars(item)
        name = gv.get("cilium_cluster_name")
        cid = gv.get("cilium_cluster_id")
        if topology == "mesh" or len(rendered_list) > 1:
            if isinstance(cid, int) and not 1 <= cid <= 255:
                problems.append(_problem("cluster %s: cilium_cluster_id" % item["name"], "%d is not 1-255; ClusterMesh reserves 0" % cid,
                                         "give each cluster an id from 1 to 255 in the plan"))
            if name in seen_names:
                problems.append(_problem("cluster %s: cilium_cluster_name" % item["name"], "%r is also used by cluster %s" % (name, seen_names[name]),
                                         "give each cluster its own name"))
            if cid in seen_ids:
                problems.append(_problem("cluster %s: cilium_cluster_id" % item["name"], "%r is also used by cluster %s" % (cid, seen_ids[cid]),
                                         "give each cluster its own id"))
        seen_names.setdefault(name, item["name"])
        seen_ids.setdefault(cid, item["name"])
        try:
            pods.append((item["name"], ipaddress.ip_network(str(gv.get("kube_pods_subnet")))))
        except ValueError:
            pass
    for i, (name_a, net_a) in enumerate(pods):
        for name_b, net_b in pods[i + 1:]:
            if net_a.overlaps(net_b):
                problems.append(_problem("cluster %s: kube_pods_subnet" % name_b, "%s overlaps cluster %s's pods %s; ClusterMesh needs unique pod ranges"
                                         % (net_b, name_a, net_a), "take the pod ranges from the address plan"))
    return problems
