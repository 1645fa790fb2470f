# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the Kubernetes phases (roles kubespray, clustermesh and rook).

Each filter is documented in the ``.yml`` file of its name next to this one. The logic lives in
``module_utils/kubespray.py`` and ``module_utils/k8s_manifests.py``: pure functions from the
address plan and the inventory to data. Filters (rather than a module) because the data is
computed on the controller from ``hostvars`` and ``groups``, contacts nothing, behaves the same in
check mode, and leaves writing files to ``ansible.builtin.copy`` (idempotent, with diff).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.hybrid.cluster.plugins.module_utils import k8s_manifests
from ansible_collections.hybrid.cluster.plugins.module_utils import kubespray as ks

# Host variables read from hostvars for each host of the Kubespray groups.
_ADDRESS_KEYS = ("ip", "access_ip", "ansible_host", "private_ip", "private_ip_address")


def _fail(name, exc):
    raise AnsibleFilterError("%s: %s" % (name, exc))


def _host_view(hostvars, host, keys):
    """The few host variables the rendering needs, as plain data (hostvars is lazy)."""
    try:
        source = hostvars[host]
    except KeyError:
        return {}
    out = {}
    for key in keys:
        try:
            value = source.get(key) if isinstance(source, Mapping) or hasattr(source, "get") else None
        except Exception as exc:  # pylint: disable=broad-exception-caught
            raise AnsibleFilterError("kubespray_clusters: host %s: variable %s cannot be read: %s" % (host, key, exc)) from None
        if value is not None:
            out[key] = value
    return out


def kubespray_clusters(plan, hostvars, inventory_groups, **options):
    """Render one Kubespray inventory per cluster; see kubespray_clusters.yml."""
    try:
        opts = ks.normalize_options(options)
    except ks.KubesprayError as exc:
        _fail("kubespray_clusters", exc)
    groups = {str(k): list(v or []) for k, v in (inventory_groups or {}).items()}
    names = opts["groups"]
    wanted = set()
    for role in ("aws", "azure", "kube_control_plane", "kube_node", "etcd"):
        wanted.update(groups.get(names[role]) or [])
    keys = list(_ADDRESS_KEYS) + list(opts["connection_vars"]) + list(opts["node_role_facts"])
    hosts = {host: _host_view(hostvars or {}, host, keys) for host in sorted(wanted)}
    try:
        result = ks.render_clusters(plan, hosts, groups, options)
    except ks.KubesprayError as exc:
        _fail("kubespray_clusters", exc)
    for cluster in result["clusters"]:
        files = [{"path": "hosts.yml", "content": cluster["inventory"]}]
        files += [{"path": path, "content": cluster["group_vars"][path]} for path in ks.FILE_ORDER]
        cluster["files"] = files
    return result


def kubespray_cilium_mtu(tunnel="vxlan", encryption="none", path_mtu=ks.VPN_PATH_MTU):
    """Pod MTU left after the VPN path and Cilium's encapsulation; see kubespray_cilium_mtu.yml."""
    try:
        return ks.cilium_mtu(tunnel, encryption, path_mtu)
    except ks.KubesprayError as exc:
        _fail("kubespray_cilium_mtu", exc)


def _manifest_filter(name, func):
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except k8s_manifests.ManifestError as exc:
            _fail(name, exc)
    wrapper.__name__ = name
    wrapper.__doc__ = func.__doc__
    return wrapper


class FilterModule:
    """Kubespray inventories, Cilium ClusterMesh values and Rook manifests from the address plan."""

    def filters(self):
        return {
            "kubespray_clusters": kubespray_clusters,
            "kubespray_cilium_mtu": kubespray_cilium_mtu,
            "clustermesh_values": _manifest_filter("clustermesh_values", k8s_manifests.clustermesh_values),
            "clustermesh_peer": _manifest_filter("clustermesh_peer", k8s_manifests.clustermesh_peer),
            "rook_manifests": _manifest_filter("rook_manifests", k8s_manifests.rook_manifests),
            "rook_peer_secret": _manifest_filter("rook_peer_secret", k8s_manifests.rook_peer_secret),
            "kubeconfig_server": _manifest_filter("kubeconfig_server", k8s_manifests.kubeconfig_server),
        }
