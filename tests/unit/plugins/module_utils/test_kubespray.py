"""Unit tests for the Kubespray rendering and its checks (plugins/module_utils/kubespray.py).

Every rendered inventory is also held to ``kubespray_asserts`` below: an independent rewrite of
what Kubespray v2.31.0's ``validate_inventory`` role asserts (domain notes A.3), working only on
the rendered hosts.yml and group_vars mappings as Kubespray would read them.
"""

import copy
import ipaddress

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.hybrid.cluster.plugins.module_utils import kubespray as ks
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import build_plan, check_plan
from ansible_collections.hybrid.cluster.plugins.module_utils.kubespray import KubesprayError

# ------------------------------------------------------------------------------ independent checker

ALLOWED_PLUGINS = {"calico", "flannel", "cloud", "cilium", "cni", "kube-ovn", "kube-router", "macvlan", "custom_cni", "none"}
ALLOWED_EXTERNAL = {"hcloud", "huaweicloud", "oci", "openstack", "vsphere", "manual"}
KUBESPRAY_BOOLEANS = ("download_run_once", "download_always_pull", "helm_enabled", "openstack_lbaas_enabled")


def load_like_ansible(rendered):
    """Round-trip through YAML text (what lands on disk) and merge group_vars by Ansible's precedence."""
    inventory = yaml.safe_load(yaml.safe_dump(rendered["inventory"]))
    files = {path: yaml.safe_load(yaml.safe_dump(data)) for path, data in rendered["group_vars"].items()}
    merged = {}
    # group 'all' first (files in name order), then the child group k8s_cluster, which wins.
    for group in ("all", "k8s_cluster"):
        for path in sorted(p for p in files if p.split("/")[1] == group):
            merged.update(files[path] or {})
    return inventory, merged


def groups_of(inventory):
    children = inventory["all"]["children"]
    groups = {name: list((body or {}).get("hosts") or {}) for name, body in children.items()}
    # Kubespray builds k8s_cluster from kube_control_plane + kube_node (+ calico_rr).
    groups["k8s_cluster"] = sorted(set(groups.get("kube_control_plane", [])) | set(groups.get("kube_node", [])))
    return groups


def kubespray_asserts(rendered):
    """Return what Kubespray v2.31.0's validate_inventory (and cilium check.yml) would reject."""
    inventory, v = load_like_ansible(rendered)
    groups = groups_of(inventory)
    failures = []
    if not groups.get("kube_control_plane"):
        failures.append("kube_control_plane empty")
    if not groups.get("etcd") and v.get("etcd_deployment_type", "host") != "kubeadm":
        failures.append("etcd empty")
    for name in KUBESPRAY_BOOLEANS:
        if name in v and not isinstance(v[name], bool):
            failures.append("%s not a boolean" % name)
    if len(groups.get("etcd") or groups["kube_control_plane"]) % 2 == 0:
        failures.append("even etcd")
    prefix = v.get("kube_network_node_prefix", 24)
    if v.get("kube_network_plugin", "calico") not in ("calico", "none"):
        if v.get("kubelet_max_pods", 110) > 2 ** (32 - prefix) - 2:
            failures.append("kubelet_max_pods over node prefix")
    if v.get("cloud_provider", "") not in ("", "external"):
        failures.append("cloud_provider")
    if v.get("cloud_provider") == "external" and v.get("external_cloud_provider") not in ALLOWED_EXTERNAL:
        failures.append("external_cloud_provider")
    services = ipaddress.ip_network(v.get("kube_service_addresses", "10.233.0.0/18"))
    pods = ipaddress.ip_network(v.get("kube_pods_subnet", "10.233.64.0/18"))
    if pods.subnet_of(services):
        failures.append("pods inside services")
    if v.get("kube_network_plugin", "calico") != "calico":
        if 2 ** (prefix - pods.prefixlen) < len(groups["k8s_cluster"]):
            failures.append("pod space for nodes")
    if v.get("kube_network_plugin", "calico") not in ALLOWED_PLUGINS:
        failures.append("kube_network_plugin")
    cid = v.get("cilium_cluster_id", 0)
    if not 0 <= cid <= 255:
        failures.append("cilium_cluster_id")
    # What Kubespray misses and the platform needs: the other overlap direction.
    if services.subnet_of(pods):
        failures.append("services inside pods")
    return failures


# ------------------------------------------------------------------------------ fixtures


def make_inventory(counts, etcd=None, prefix=None):
    """hosts + groups like the clouds inventory plugin makes: counts = {cloud: (control_plane, workers)}."""
    hosts, groups = {}, {"aws": [], "azure": [], "kube_control_plane": [], "kube_node": []}
    bases = {"aws": "10.64.%d.%d", "azure": "10.65.%d.%d"}
    for cloud, (cp, workers) in counts.items():
        for i in range(cp):
            name = "%s%s-cp-%d" % (prefix or "", cloud, i)
            hosts[name] = {"ip": bases[cloud] % (1, 10 + i), "ansible_host": "198.51.100.%d" % (len(hosts) + 1), "ansible_user": "admin"}
            groups[cloud].append(name)
            groups["kube_control_plane"].append(name)
        for i in range(workers):
            name = "%s%s-w-%d" % (prefix or "", cloud, i)
            hosts[name] = {"ip": bases[cloud] % (16, 10 + i)}
            groups[cloud].append(name)
            groups["kube_node"].append(name)
    if etcd is not None:
        groups["etcd"] = etcd
    return hosts, groups


@pytest.fixture(name="mesh_plan")
def fixture_mesh_plan():
    return build_plan({"name": "shop"})


@pytest.fixture(name="mesh_inventory")
def fixture_mesh_inventory():
    return make_inventory({"aws": (3, 3), "azure": (3, 5)})


def problems_of(*args, **kwargs):
    with pytest.raises(KubesprayError) as info:
        ks.render_clusters(*args, **kwargs)
    return info.value.problems


# ------------------------------------------------------------------------------ figures


@pytest.mark.parametrize("tunnel, encryption, expected", [
    ("vxlan", "none", 1350),
    ("geneve", "none", 1350),
    ("vxlan", "wireguard", 1270),
    ("disabled", "wireguard", 1320),
    ("disabled", "none", 1400),
])
def test_cilium_mtu_is_vpn_path_minus_overheads(tunnel, encryption, expected):
    assert ks.cilium_mtu(tunnel, encryption) == expected


def test_cilium_mtu_follows_a_different_path_mtu_and_refuses_tiny_ones():
    assert ks.cilium_mtu("vxlan", "none", 1446) == 1396
    with pytest.raises(KubesprayError, match="576 bytes every IPv4 host"):
        ks.cilium_mtu("vxlan", "wireguard", 600)
    with pytest.raises(KubesprayError, match="not supported"):
        ks.cilium_mtu("vxlan", "ipsec")


def test_etcd_defaults_are_kubesprays():
    assert ks.etcd_timings() == {"heartbeat_ms": 250, "election_ms": 5000, "rtt_ms": None, "source": "kubespray defaults"}


@pytest.mark.parametrize("rtt, heartbeat, election", [(1, 100, 500), (24, 100, 500), (35, 100, 500),
                                                      (60, 100, 600), (120, 120, 1200), (143.2, 150, 1500)])
def test_etcd_timing_from_rtt(rtt, heartbeat, election):
    timing = ks.etcd_timings(rtt)
    assert (timing["heartbeat_ms"], timing["election_ms"]) == (heartbeat, election)


@given(st.floats(min_value=0.1, max_value=4900))
@settings(max_examples=200)
def test_etcd_timing_rules_hold_for_any_rtt(rtt):
    timing = ks.etcd_timings(rtt)
    assert timing["heartbeat_ms"] >= max(100, rtt)
    assert timing["election_ms"] >= 10 * rtt and timing["election_ms"] >= 5 * timing["heartbeat_ms"]
    assert timing["election_ms"] <= 50000


def test_etcd_given_values_are_checked():
    with pytest.raises(KubesprayError, match="5 x the 250 ms heartbeat"):
        ks.etcd_timings(heartbeat_ms=250, election_ms=1000)
    with pytest.raises(KubesprayError, match="10 x the 80 ms round trip"):
        ks.etcd_timings(rtt_ms=80, heartbeat_ms=100, election_ms=600)
    with pytest.raises(KubesprayError, match="limit of 50000"):
        ks.etcd_timings(rtt_ms=6000)
    with pytest.raises(KubesprayError, match="not a number"):
        ks.etcd_timings(rtt_ms="fast")


# ------------------------------------------------------------------------------ rendering


def test_mesh_renders_one_cluster_per_cloud_from_the_plan(mesh_plan, mesh_inventory):
    result = ks.render_clusters(mesh_plan, *mesh_inventory)
    clusters = {c["name"]: c for c in result["clusters"]}
    assert list(clusters) == ["shop-aws", "shop-azure"]
    for cloud, name in (("aws", "shop-aws"), ("azure", "shop-azure")):
        cluster = clusters[name]
        k8s = cluster["group_vars"][ks.FILE_CLUSTER]
        cilium = cluster["group_vars"][ks.FILE_CILIUM]
        assert k8s["kube_pods_subnet"] == mesh_plan[cloud]["pods"]
        assert k8s["kube_service_addresses"] == mesh_plan[cloud]["services"]
        assert k8s["kube_network_node_prefix"] == mesh_plan[cloud]["node_prefix"]
        assert k8s["kubelet_max_pods"] == mesh_plan[cloud]["max_pods_per_node"]
        assert k8s["kube_network_plugin"] == "cilium"
        assert cilium["cilium_cluster_name"] == mesh_plan[cloud]["cluster_name"]
        assert cilium["cilium_cluster_id"] == mesh_plan[cloud]["cluster_id"]
        assert cilium["cilium_mtu"] == "1350" and cilium["cilium_tunnel_mode"] == "vxlan"
        assert cilium["cilium_encryption_enabled"] is False and "cilium_encryption_type" not in cilium
        assert cluster["group_vars"][ks.FILE_ALL] == {"cloud_provider": "external", "external_cloud_provider": "manual"}
        assert cluster["group_vars"][ks.FILE_ETCD] == {"etcd_heartbeat_interval": "250", "etcd_election_timeout": "5000"}
        assert kubespray_asserts(cluster) == []
        hosts = cluster["inventory"]["all"]["hosts"]
        assert all(h.startswith(cloud) for h in hosts)
        groups = groups_of(cluster["inventory"])
        assert groups["etcd"] == groups["kube_control_plane"] == ["%s-cp-%d" % (cloud, i) for i in range(3)]
    aws_cp = clusters["shop-aws"]["inventory"]["all"]["hosts"]["aws-cp-0"]
    assert aws_cp == {"ansible_host": "198.51.100.1", "ip": "10.64.1.10", "access_ip": "10.64.1.10", "ansible_user": "admin"}
    assert clusters["shop-aws"]["first_control_plane"] == "aws-cp-0"
    assert clusters["shop-aws"]["api_address"] == "10.64.1.10"
    assert result["warnings"] == []


def test_rendered_files_are_plain_yaml(mesh_plan, mesh_inventory):
    for cluster in ks.render_clusters(mesh_plan, *mesh_inventory)["clusters"]:
        text = yaml.safe_dump(cluster["inventory"])
        assert yaml.safe_load(text) == cluster["inventory"]
        for path, data in cluster["group_vars"].items():
            assert path.startswith("group_vars/") and path.endswith(".yml")
            assert yaml.safe_load(yaml.safe_dump(data)) == data


def test_wireguard_and_geneve(mesh_plan, mesh_inventory):
    result = ks.render_clusters(mesh_plan, *mesh_inventory, {"cilium_tunnel": "geneve", "cilium_encryption": "wireguard"})
    cilium = result["clusters"][0]["group_vars"][ks.FILE_CILIUM]
    assert cilium["cilium_encryption_enabled"] is True
    assert cilium["cilium_encryption_type"] == "wireguard"
    assert cilium["cilium_tunnel_mode"] == "geneve"
    assert cilium["cilium_mtu"] == "1270"


def test_native_routing_uses_the_plans_supernet(mesh_plan, mesh_inventory):
    result = ks.render_clusters(mesh_plan, *mesh_inventory, {"cilium_tunnel": "disabled"})
    cilium = result["clusters"][0]["group_vars"][ks.FILE_CILIUM]
    assert cilium["cilium_native_routing_cidr"] == mesh_plan["aws"]["supernet"]
    assert cilium["cilium_mtu"] == "1400"


def test_explicit_mtu_wins(mesh_plan, mesh_inventory):
    result = ks.render_clusters(mesh_plan, *mesh_inventory, {"cilium_mtu": 1300})
    assert result["clusters"][1]["group_vars"][ks.FILE_CILIUM]["cilium_mtu"] == "1300"


def test_etcd_rtt_per_cluster(mesh_plan, mesh_inventory):
    result = ks.render_clusters(mesh_plan, *mesh_inventory, {"etcd_rtt_ms": {"shop-azure": 12}})
    aws, azure = result["clusters"]
    assert aws["group_vars"][ks.FILE_ETCD]["etcd_heartbeat_interval"] == "250"
    assert azure["group_vars"][ks.FILE_ETCD] == {"etcd_heartbeat_interval": "100", "etcd_election_timeout": "500"}


def test_stretched_with_odd_etcd_is_one_cluster_and_warns(mesh_inventory):
    plan = build_plan({"name": "seed", "topology": "stretched"})
    hosts, groups = mesh_inventory
    groups = dict(groups, etcd=["aws-cp-0", "aws-cp-1", "azure-cp-0"])
    result = ks.render_clusters(plan, hosts, groups, {"etcd_rtt_ms": 30})
    (cluster,) = result["clusters"]
    assert cluster["name"] == "seed" and cluster["clouds"] == ["aws", "azure"]
    assert len(cluster["inventory"]["all"]["hosts"]) == 14
    assert cluster["group_vars"][ks.FILE_ETCD] == {"etcd_heartbeat_interval": "100", "etcd_election_timeout": "500"}
    assert kubespray_asserts(cluster) == []
    assert any("spans aws and azure" in w for w in result["warnings"])


def test_seed_layout_three_plus_three_etcd_is_refused_with_the_quorum_reason(mesh_inventory):
    plan = build_plan({"name": "seed", "topology": "stretched"})
    problems = problems_of(plan, *mesh_inventory)
    assert len(problems) == 1
    text = problems[0]
    assert "cluster seed: etcd: 6 members is an even count" in text
    assert "3 in aws, 3 in azure" in text
    assert "losing either site or the link between them" in text and "quorum of 4" in text
    assert "Fix:" in text and "mesh" in text


def test_even_etcd_in_one_cloud_is_refused_too(mesh_plan):
    hosts, groups = make_inventory({"aws": (4, 3), "azure": (3, 3)})
    problems = problems_of(mesh_plan, hosts, groups)
    assert any("cluster shop-aws: etcd: 4 members is an even count" in p for p in problems)
    assert not any("Split across two sites" in p for p in problems)


def test_separate_etcd_group_is_used(mesh_plan):
    hosts, groups = make_inventory({"aws": (3, 3), "azure": (3, 3)}, etcd=["aws-w-0", "aws-w-1", "aws-w-2", "azure-cp-0",
                                                                           "azure-cp-1", "azure-cp-2"])
    result = ks.render_clusters(mesh_plan, hosts, groups)
    assert groups_of(result["clusters"][0]["inventory"])["etcd"] == ["aws-w-0", "aws-w-1", "aws-w-2"]


def test_group_names_are_configurable(mesh_plan, mesh_inventory):
    hosts, groups = mesh_inventory
    renamed = {"cloud_aws": groups["aws"], "cloud_azure": groups["azure"], "masters": groups["kube_control_plane"],
               "workers": groups["kube_node"]}
    names = {"aws": "cloud_aws", "azure": "cloud_azure", "kube_control_plane": "masters", "kube_node": "workers"}
    result = ks.render_clusters(mesh_plan, hosts, renamed, {"groups": names})
    assert [len(c["inventory"]["all"]["hosts"]) for c in result["clusters"]] == [6, 8]


def test_node_role_facts_common_go_to_group_vars_and_differing_stay_per_host(mesh_plan, mesh_inventory):
    hosts, groups = copy.deepcopy(mesh_inventory)
    for name, hv in hosts.items():
        cloud = "aws" if name.startswith("aws") else "azure"
        hv["ntp_kubespray_vars"] = {"ntp_enabled": False, "ntp_manage_config": False,
                                    "ntp_servers": ["169.254.169.123 iburst"] if cloud == "aws" else []}
        hv["registry_mirror_kubespray_vars"] = {"containerd_registries_mirrors": [
            {"prefix": "docker.io", "mirrors": [{"host": "http://10.64.1.5:5000", "capabilities": ["pull", "resolve"], "skip_verify": False}]}]}
        if "-cp-" in name:
            hv["cert_sans_kubespray_vars"] = {"supplementary_addresses_in_ssl_keys": ["api.shop.example.com", hv["ip"]]}
    hosts["azure-w-0"]["ntp_kubespray_vars"] = dict(hosts["azure-w-0"]["ntp_kubespray_vars"], ntp_servers=["time.example.net iburst"])
    result = ks.render_clusters(mesh_plan, hosts, groups, {"supplementary_addresses": {"shop-aws": ["10.64.1.100"]}})
    aws, azure = result["clusters"]
    common = aws["group_vars"][ks.FILE_NODE_ROLES]
    assert common["ntp_enabled"] is False and common["ntp_servers"] == ["169.254.169.123 iburst"]
    assert common["containerd_registries_mirrors"][0]["prefix"] == "docker.io"
    assert aws["group_vars"][ks.FILE_CLUSTER]["supplementary_addresses_in_ssl_keys"] == [
        "api.shop.example.com", "10.64.1.10", "10.64.1.11", "10.64.1.12", "10.64.1.100"]
    assert "ntp_servers" not in azure["group_vars"][ks.FILE_NODE_ROLES]
    assert azure["inventory"]["all"]["hosts"]["azure-w-0"]["ntp_servers"] == ["time.example.net iburst"]
    assert azure["inventory"]["all"]["hosts"]["azure-w-1"]["ntp_servers"] == []
    for cluster in (aws, azure):
        assert kubespray_asserts(cluster) == []


def test_node_role_vars_option_and_overrides_come_last(mesh_plan, mesh_inventory):
    result = ks.render_clusters(mesh_plan, *mesh_inventory, {
        "node_role_vars": {"ntp_enabled": False, "supplementary_addresses_in_ssl_keys": ["k8s.example.com"]},
        "extra_vars": {"kube_proxy_mode": "nftables", "cilium_mtu": "1300", "ntp_enabled": True},
        "cluster_extra_vars": {"shop-azure": {"kube_version": "1.35.4"}},
    })
    aws, azure = result["clusters"]
    assert aws["group_vars"][ks.FILE_CILIUM]["cilium_mtu"] == "1300"
    assert aws["group_vars"][ks.FILE_NODE_ROLES]["ntp_enabled"] is True
    assert aws["group_vars"][ks.FILE_OVERRIDES] == {"kube_proxy_mode": "nftables"}
    assert azure["group_vars"][ks.FILE_OVERRIDES] == {"kube_proxy_mode": "nftables", "kube_version": "1.35.4"}
    assert aws["group_vars"][ks.FILE_CLUSTER]["supplementary_addresses_in_ssl_keys"] == ["k8s.example.com"]


def test_override_replaces_per_host_values(mesh_plan, mesh_inventory):
    hosts, groups = copy.deepcopy(mesh_inventory)
    hosts["aws-w-0"]["ntp_kubespray_vars"] = {"ntp_servers": ["a"]}
    result = ks.render_clusters(mesh_plan, hosts, groups, {"extra_vars": {"ntp_servers": ["pool.example.org iburst"]}})
    aws = result["clusters"][0]
    assert "ntp_servers" not in aws["inventory"]["all"]["hosts"]["aws-w-0"]
    assert aws["group_vars"][ks.FILE_OVERRIDES]["ntp_servers"] == ["pool.example.org iburst"]


def test_connection_vars_are_copied_and_others_are_not(mesh_plan, mesh_inventory):
    hosts, groups = copy.deepcopy(mesh_inventory)
    hosts["aws-cp-0"].update({"ansible_port": 2222, "secret_thing": "x", "ansible_connection": "ssh"})
    entry = ks.render_clusters(mesh_plan, hosts, groups)["clusters"][0]["inventory"]["all"]["hosts"]["aws-cp-0"]
    assert entry["ansible_port"] == 2222 and entry["ansible_connection"] == "ssh" and "secret_thing" not in entry


def test_host_outside_the_plans_network_warns(mesh_plan, mesh_inventory):
    hosts, groups = copy.deepcopy(mesh_inventory)
    hosts["aws-w-0"]["ip"] = "192.168.1.5"
    result = ks.render_clusters(mesh_plan, hosts, groups)
    assert result["warnings"] == ["cluster shop-aws: host aws-w-0 has ip 192.168.1.5 outside the plan's network 10.64.0.0/16"]


# ------------------------------------------------------------------------------ refusals


def test_missing_ip_and_bad_addresses(mesh_plan, mesh_inventory):
    hosts, groups = copy.deepcopy(mesh_inventory)
    del hosts["aws-w-1"]["ip"]
    hosts["azure-w-0"]["access_ip"] = "not-an-ip"
    problems = problems_of(mesh_plan, hosts, groups)
    assert any("host aws-w-1: has no ip host variable" in p for p in problems)
    assert any("host azure-w-0.access_ip: 'not-an-ip' is not an IP address" in p for p in problems)


def test_host_in_both_clouds(mesh_plan, mesh_inventory):
    hosts, groups = copy.deepcopy(mesh_inventory)
    groups["azure"].append("aws-w-0")
    assert any("host aws-w-0: is in both" in p for p in problems_of(mesh_plan, hosts, groups))


def test_empty_groups(mesh_plan):
    hosts, groups = make_inventory({"aws": (3, 0), "azure": (3, 3)})
    problems = problems_of(mesh_plan, hosts, groups)
    assert problems == ["cluster shop-aws: kube_node: the group is empty. Fix: put the worker nodes in it"]
    hosts, groups = make_inventory({"aws": (0, 3), "azure": (3, 3)})
    problems = problems_of(mesh_plan, hosts, groups)
    assert any("shop-aws: kube_control_plane: the group is empty" in p for p in problems)
    assert any("shop-aws: etcd: the group is empty" in p for p in problems)


def test_uppercase_hostnames_are_refused(mesh_plan):
    hosts, groups = make_inventory({"aws": (3, 3), "azure": (3, 3)}, prefix="Prod-")
    problems = problems_of(mesh_plan, hosts, groups)
    assert any("host Prod-aws-cp-0: is not a lowercase RFC 1123 name" in p for p in problems)


def test_pod_space_for_node_count():
    plan = build_plan({"name": "shop", "prefixes": {"pods": 21, "node": 24}})
    hosts, groups = make_inventory({"aws": (3, 3), "azure": (3, 3)})
    hosts2, groups2 = make_inventory({"aws": (3, 8), "azure": (3, 3)})
    assert ks.render_clusters(plan, hosts, groups)["clusters"]
    problems = problems_of(plan, hosts2, groups2)
    assert any("holds 8 /24 node blocks for 11 nodes" in p for p in problems)


def test_user_overrides_cannot_break_the_rules(mesh_plan, mesh_inventory):
    bad = {
        "kube_service_addresses": mesh_plan["aws"]["pods"].replace("/16", "/18"),
        "cloud_provider": "aws",
        "download_run_once": "false",
        "kube_network_plugin": "calico",
        "kubelet_max_pods": 300,
        "cilium_cluster_id": 300,
        "kube_proxy_mode": "userspace",
        "kube_version": "1.30.2",
        "cilium_mtu": "70",
    }
    problems = problems_of(mesh_plan, *mesh_inventory, {"cluster_extra_vars": {"shop-aws": bad}})
    text = "\n".join(problems)
    assert "lies around the service range" in text
    assert "cloud_provider: 'aws' is not accepted" in text
    assert "download_run_once: 'false' is not a boolean" in text
    assert "ClusterMesh needs cilium" in text
    assert "300 pods do not fit a /24" in text
    assert "cilium_cluster_id: 300 is outside 0-255" in text
    assert "kube_proxy_mode: 'userspace' is not allowed" in text
    assert "kube_version: 1.30.2 is older than the 1.33.0" in text
    assert "cilium_mtu: '70' is not a usable MTU" in text
    assert all(p.startswith("cluster shop-aws: ") for p in problems)


def test_pods_inside_services_refused_both_directions():
    base = {"name": "x", "clouds": ["aws"], "id": 1, "etcd": {}}
    inventory = {"all": {"hosts": {"n1": {"ip": "10.0.0.1", "access_ip": "10.0.0.1", "ansible_host": "10.0.0.1"}},
                         "children": {"kube_control_plane": {"hosts": {"n1": None}}, "kube_node": {"hosts": {"n1": None}},
                                      "etcd": {"hosts": {"n1": None}}}}}

    def check(pods, services):
        gv = {ks.FILE_CLUSTER: {"kube_pods_subnet": pods, "kube_service_addresses": services, "kube_network_plugin": "cilium"},
              ks.FILE_CILIUM: {"cilium_cluster_name": "x", "cilium_cluster_id": 1}}
        return ks.check_cluster(dict(base, inventory=inventory, group_vars=gv))

    assert check("10.233.64.0/18", "10.233.0.0/18") == []
    assert "inside" in check("10.233.64.0/18", "10.233.0.0/16")[0]
    # Kubespray passes this one; the platform does not.
    assert "around" in check("10.233.0.0/16", "10.233.0.0/18")[0]
    assert "not a network" in check("10.233.0.1/16", "10.234.0.0/18")[0]


def test_cluster_mesh_identity_rules(mesh_plan, mesh_inventory):
    plan = copy.deepcopy(mesh_plan)
    plan["azure"]["cluster_id"] = plan["aws"]["cluster_id"]
    plan["azure"]["cluster_name"] = "Shop_Azure"
    problems = problems_of(plan, *mesh_inventory)
    assert any("cilium_cluster_id: 1 is also used by cluster shop-aws" in p for p in problems)
    assert any("'Shop_Azure' is not a valid Cilium cluster name" in p for p in problems)
    plan = copy.deepcopy(mesh_plan)
    plan["aws"]["cluster_id"] = 0
    assert any("0 is not 1-255; ClusterMesh reserves 0" in p for p in problems_of(plan, *mesh_inventory))
    plan = copy.deepcopy(mesh_plan)
    plan["azure"]["pods"] = plan["aws"]["pods"]
    assert any("ClusterMesh needs unique pod ranges" in p for p in problems_of(plan, *mesh_inventory))


def test_incomplete_plan_is_refused(mesh_inventory):
    plan = check_plan({"name": "seed", "topology": "stretched"},
                      {"aws": {"pods": "192.168.128.0/20"}, "azure": {"pods": "192.168.144.0/20"}})
    problems = problems_of(plan, *mesh_inventory)
    assert "the plan lacks aws.services, azure.services" in problems[0]
    with pytest.raises(KubesprayError, match="cidr_plan"):
        ks.render_clusters({"aws": "x"}, {}, {})


def test_unknown_option(mesh_plan):
    with pytest.raises(KubesprayError, match="options.tunnel: unknown option"):
        ks.render_clusters(mesh_plan, {}, {}, {"tunnel": "vxlan"})


def test_host_level_etcd_timing_is_refused(mesh_plan, mesh_inventory):
    hosts, groups = copy.deepcopy(mesh_inventory)
    hosts["aws-cp-1"]["ntp_kubespray_vars"] = {"etcd_election_timeout": "9000"}
    problems = problems_of(mesh_plan, hosts, groups)
    assert any("host aws-cp-1: sets its own etcd_election_timeout" in p for p in problems)


# ------------------------------------------------------------------------------ properties


@given(aws=st.tuples(st.sampled_from([1, 3, 5]), st.integers(0, 20)),
       azure=st.tuples(st.sampled_from([1, 3, 5]), st.integers(1, 20)),
       tunnel=st.sampled_from(["vxlan", "geneve"]), encryption=st.sampled_from(["none", "wireguard"]),
       rtt=st.one_of(st.none(), st.floats(min_value=0.5, max_value=400)))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_every_accepted_rendering_passes_kubesprays_asserts(aws, azure, tunnel, encryption, rtt):
    plan = build_plan({"name": "prop"})
    hosts, groups = make_inventory({"aws": aws, "azure": azure})
    try:
        result = ks.render_clusters(plan, hosts, groups, {"cilium_tunnel": tunnel, "cilium_encryption": encryption, "etcd_rtt_ms": rtt})
    except KubesprayError as exc:
        # Only the documented refusals: a cluster without workers.
        assert all("kube_node: the group is empty" in p for p in exc.problems), exc.problems
        assert aws[1] == 0
        return
    for cluster in result["clusters"]:
        assert kubespray_asserts(cluster) == []
        assert int(cluster["group_vars"][ks.FILE_CILIUM]["cilium_mtu"]) == 1400 - 50 - (80 if encryption == "wireguard" else 0)
