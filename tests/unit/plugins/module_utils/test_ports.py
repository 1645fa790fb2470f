"""Unit tests for the port matrix and its packing into AWS and Azure rule shapes."""

import ipaddress

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils.plan import build_plan
from ansible_collections.hybrid.cluster.plugins.module_utils.ports import (
    AWS_MAX_INBOUND_RULES,
    PortsError,
    aws_permissions,
    azure_rules,
    effective_matrix,
)

GROUPS = {"control_plane": "sg-cp", "workers": "sg-workers"}


@pytest.fixture(scope="module")
def mesh_plan():
    return build_plan({"name": "shop"})


@pytest.fixture(scope="module")
def stretched_plan():
    return build_plan({"name": "lab", "topology": "stretched"})


def flows_named(flows, name, cloud="aws", role=None):
    return [f for f in flows if f["name"] == name and f["cloud"] == cloud and (role is None or f["role"] == role)]


def sources(flows):
    return [f["source"] for f in flows]


def test_etcd_only_from_local_control_plane_in_a_mesh(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan)
    etcd = flows_named(flows, "etcd-client-peer")
    assert {(f["role"], f["from_port"], f["to_port"]) for f in etcd} == {("control_plane", 2379, 2380)}
    assert sources(etcd) == [{"kind": "role", "cloud": "aws", "role": "control_plane"}]


def test_stretched_cluster_lets_the_other_clouds_control_plane_reach_etcd(stretched_plan):
    flows, _warnings = effective_matrix(stretched_plan)
    etcd = flows_named(flows, "etcd-client-peer", cloud="azure")
    assert {s["cloud"] for s in sources(etcd)} == {"aws", "azure"}
    assert not flows_named(flows, "clustermesh-apiserver")


def test_clustermesh_and_tunnel_cross_the_vpn_in_a_mesh(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan)
    mesh = flows_named(flows, "clustermesh-apiserver", cloud="azure")
    assert {(f["from_port"], f["source"]["cloud"]) for f in mesh} == {(32379, "aws")}
    vxlan = flows_named(flows, "cilium-vxlan", role="workers")
    assert {s["cloud"] for s in sources(vxlan)} == {"aws", "azure"}


def test_etcd_client_port_never_opens_to_the_other_cloud(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan, {"cilium_encryption": "wireguard"})
    for flow in flows:
        if flow["role"] == "control_plane" and flow["from_port"] <= 2380 and flow["to_port"] >= 2379:
            assert flow["source"] == {"kind": "role", "cloud": flow["cloud"], "role": "control_plane"}, flow


def test_kubelet_is_not_reachable_from_the_other_cloud(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan)
    for flow in flows_named(flows, "kubelet"):
        assert flow["source"] == {"kind": "role", "cloud": "aws", "role": "control_plane"}


@pytest.mark.parametrize("options, present, absent", [
    ({}, "cilium-vxlan", "cilium-geneve"),
    ({"cilium_tunnel": "geneve"}, "cilium-geneve", "cilium-vxlan"),
    ({"cilium_encryption": "wireguard"}, "cilium-wireguard", "cilium-ipsec"),
    ({"cilium_encryption": "ipsec"}, "cilium-ipsec", "cilium-wireguard"),
    ({"hubble": False}, "cilium-health", "hubble-server"),
    ({"nodeport_cidrs": ["10.9.0.0/16"]}, "nodeport", "cilium-wireguard"),
    ({}, "ceph-rbd-mirror-daemons", "nodeport"),
    ({"rbd_mirroring": False}, "ceph-daemons", "ceph-rbd-mirror-daemons"),
    ({"components": ["kubernetes", "ssh"]}, "kubelet", "etcd-client-peer"),
])
def test_options_switch_flows(mesh_plan, options, present, absent):
    flows, _warnings = effective_matrix(mesh_plan, options)
    names = {f["name"] for f in flows}
    assert present in names and absent not in names


def test_admin_cidrs_get_ssh_and_api_only(mesh_plan):
    flows, warnings = effective_matrix(mesh_plan, {"admin_cidrs": ["203.0.113.0/24"]})
    admin = [f for f in flows if f["source"] == {"kind": "cidr", "cidr": "203.0.113.0/24"}]
    assert {f["name"] for f in admin} == {"ssh-admin", "kube-apiserver-admin"}
    assert warnings == []


def test_nothing_is_open_to_the_internet_unless_named(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan, {"admin_cidrs": ["198.51.100.7/32"], "nodeport_cidrs": ["10.200.0.0/16"]})
    for flow in flows:
        if flow["source"]["kind"] == "cidr":
            assert ipaddress.ip_network(flow["source"]["cidr"]).prefixlen > 0
    warnings = effective_matrix(mesh_plan, {"admin_cidrs": ["0.0.0.0/0"]})[1]
    assert warnings and "whole internet" in warnings[0]


@pytest.mark.parametrize("options, field, words", [
    ({"components": ["kubernetes", "consul"]}, "components[1]", "unknown component"),
    ({"extra_sources": [{"component": "etcd", "cidrs": ["198.51.100.0/24"]}]}, "extra_sources[0].cidrs[0]", "public"),
    ({"extra_sources": [{"component": "etcd", "name": "nope", "cidrs": ["10.1.0.0/24"]}]}, "extra_sources[0].name", "no flow"),
    ({"admin_cidrs": ["10.0.0.1/8"]}, "admin_cidrs[0]", "host bits"),
    ({"cilium_tunnel": "gre"}, "cilium_tunnel", "vxlan"),
    ({"bogus": 1}, "bogus", "unknown option"),
])
def test_bad_options_fail_clearly(mesh_plan, options, field, words):
    with pytest.raises(PortsError) as info:
        effective_matrix(mesh_plan, options)
    assert info.value.field == field
    assert words in str(info.value) and "Fix:" in str(info.value)


def test_extra_private_source_is_added_to_its_flow(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan, {"extra_sources": [{"component": "kubernetes", "name": "kubelet", "cidrs": ["10.9.0.0/24"]}]})
    kubelet = flows_named(flows, "kubelet", role="workers")
    assert {"kind": "cidr", "cidr": "10.9.0.0/24"} in sources(kubelet)
    assert {"kind": "cidr", "cidr": "10.9.0.0/24"} not in sources(flows_named(flows, "kube-scheduler"))


def test_aws_permissions_reference_groups_locally_and_cidrs_remotely(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan)
    perms = aws_permissions(mesh_plan, flows, GROUPS)
    workers = perms["workers"]
    local = [p for p in workers if p.get("source_group")]
    remote = [p for p in workers if p.get("cidr")]
    assert {p["source_group"] for p in local} == {"sg-cp", "sg-workers"}
    azure_subnets = {s["cidr"] for s in mesh_plan["azure"]["subnets"] if s["role"] in ("workers", "control_plane")}
    assert {p["cidr"] for p in remote} == azure_subnets
    # Ceph's 3300, 6789 and 6800-7300 from one source stay three rules; nothing is "all ports".
    for perm in workers:
        assert (perm["from_port"], perm["to_port"]) != (0, 65535)
    ceph = [(p["from_port"], p["to_port"]) for p in workers if p.get("source_group") == "sg-workers" and p["protocol"] == "tcp"]
    assert (6800, 7300) in ceph and (3300, 3300) in ceph


def test_aws_adjacent_ranges_are_merged(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan, {"hubble": True})
    perms = aws_permissions(mesh_plan, flows, GROUPS)
    hubble = [p for p in perms["workers"] if p.get("source_group") == "sg-workers" and p["from_port"] == 4244]
    assert hubble and hubble[0]["to_port"] == 4245
    assert "hubble-relay" in hubble[0]["description"] and "hubble-server" in hubble[0]["description"]


def test_aws_rule_limit_fails_before_any_change(mesh_plan):
    many = ["10.%d.0.0/16" % i for i in range(100, 140)]
    flows, _warnings = effective_matrix(mesh_plan, {"admin_cidrs": many})
    with pytest.raises(PortsError) as info:
        aws_permissions(mesh_plan, flows, GROUPS)
    assert info.value.field == "aws.control_plane" and str(AWS_MAX_INBOUND_RULES) in str(info.value)


def test_azure_rules_have_unique_ordered_priorities_and_end_with_deny(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan, {"admin_cidrs": ["203.0.113.0/24"]})
    rules = azure_rules(mesh_plan, flows)
    for role, items in rules.items():
        priorities = [r["priority"] for r in items]
        assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities)
        assert 100 <= priorities[0] and priorities[-1] == 4096
        assert items[-1]["access"] == "Deny" and all(r["access"] == "Allow" for r in items[:-1])
        targets = {s["cidr"] for s in mesh_plan["azure"]["subnets"] if s["role"] == role}
        assert all(set(r["destination_address_prefixes"]) == targets for r in items)
        for rule in items[:-1]:
            assert "*" not in rule["source_address_prefixes"] and "0.0.0.0/0" not in rule["source_address_prefixes"]
    assert rules == azure_rules(mesh_plan, flows)


def test_azure_packs_ports_with_the_same_sources(mesh_plan):
    flows, _warnings = effective_matrix(mesh_plan)
    rules = azure_rules(mesh_plan, flows)
    ceph_local = [r for r in rules["workers"] if "ceph-daemons" in r["description"]]
    assert len(ceph_local) == 1
    assert ceph_local[0]["destination_port_ranges"] == ["3300", "6789", "6800-7300"]
    icmp = [r for r in rules["workers"] if r["protocol"] == "Icmp"]
    assert icmp and icmp[0]["destination_port_ranges"] == ["*"]
