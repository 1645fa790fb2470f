"""Unit tests for the filter plugin of the Kubernetes phases (plugins/filter/kubespray.py)."""

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.hybrid.cluster.plugins.filter.kubespray import FilterModule
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import build_plan

FILTERS = FilterModule().filters()


class LazyHostvars(dict):
    """Stands in for Ansible's HostVars: a mapping whose values are read with get()."""


def inventory():
    hostvars = LazyHostvars()
    groups = {"all": [], "aws": [], "azure": [], "kube_control_plane": [], "kube_node": [], "ungrouped": []}
    for cloud, net in (("aws", "10.64"), ("azure", "10.65")):
        for role, group, count in (("cp", "kube_control_plane", 3), ("w", "kube_node", 2)):
            for index in range(count):
                name = "%s-%s-%d" % (cloud, role, index)
                hostvars[name] = {"ip": "%s.1.%d" % (net, 10 + index + (10 if role == "w" else 0)), "inventory_hostname": name,
                                  "ansible_user": "admin", "unrelated_secret": "s3cret"}
                groups[cloud].append(name)
                groups[group].append(name)
                groups["all"].append(name)
    hostvars["bastion"] = {"ip": "10.64.0.4"}
    groups["all"].append("bastion")
    return hostvars, groups


def test_registered_filters():
    assert set(FILTERS) >= {"kubespray_clusters", "kubespray_cilium_mtu", "clustermesh_values", "clustermesh_peer",
                            "rook_manifests", "rook_peer_secret", "kubeconfig_server"}


def test_kubespray_clusters_reads_only_what_it_needs():
    hostvars, groups = inventory()
    result = FILTERS["kubespray_clusters"](build_plan({"name": "shop"}), hostvars, groups)
    aws, azure = result["clusters"]
    assert [f["path"] for f in aws["files"]][0] == "hosts.yml"
    assert len(aws["files"]) == 7
    hosts = aws["inventory"]["all"]["hosts"]
    assert "bastion" not in hosts
    assert hosts["aws-cp-0"] == {"ansible_host": "10.64.1.10", "ip": "10.64.1.10", "access_ip": "10.64.1.10", "ansible_user": "admin"}
    assert "unrelated_secret" not in yaml.safe_dump(aws["files"])
    assert azure["name"] == "shop-azure"


def test_kubespray_clusters_errors_are_filter_errors():
    hostvars, groups = inventory()
    with pytest.raises(AnsibleFilterError, match="kubespray_clusters: Kubespray inputs rejected") as info:
        FILTERS["kubespray_clusters"](build_plan({"name": "shop", "topology": "stretched"}), hostvars, groups)
    assert "even count" in str(info.value)
    with pytest.raises(AnsibleFilterError, match="unknown option"):
        FILTERS["kubespray_clusters"](build_plan({"name": "shop"}), hostvars, groups, tunnel="vxlan")


def test_mtu_filter():
    assert FILTERS["kubespray_cilium_mtu"]("vxlan") == 1350
    assert FILTERS["kubespray_cilium_mtu"]("geneve", "wireguard", 1446) == 1316
    with pytest.raises(AnsibleFilterError, match="kubespray_cilium_mtu"):
        FILTERS["kubespray_cilium_mtu"]("gre")
