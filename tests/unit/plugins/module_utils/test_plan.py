"""Unit tests for the address planning code (pure CIDR math)."""

import ipaddress

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ansible_collections.hybrid.cluster.plugins.module_utils import plan as planlib
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import PlanError, build_plan, check_plan


def nets(plan):
    return [(ipaddress.ip_network(a["cidr"]), a) for a in plan["allocations"]]


def assert_no_overlap(plan):
    """Independent check: only a subnet inside its own cloud's network may overlap anything."""
    items = nets(plan)
    for i, (net_a, a) in enumerate(items):
        for net_b, b in items[i + 1:]:
            if not net_a.overlaps(net_b) or a["kind"] == b["kind"] == "reserved":
                continue
            pair = {a["kind"], b["kind"]}
            network_kinds = {"vpc", "vnet"}
            subnet_kinds = {"workers", "control_plane", "gateway"}
            ok = a["cloud"] == b["cloud"] and pair & network_kinds and pair & subnet_kinds
            assert ok, "%s overlaps %s" % (a, b)


def error_of(func, *args):
    with pytest.raises(PlanError) as info:
        func(*args)
    return info.value


# ------------------------------------------------------------------------------ defaults


def test_default_plan_has_every_range_and_no_overlap():
    plan = build_plan({"name": "shop"})
    assert_no_overlap(plan)
    assert plan["complete"] is True
    assert plan["aws"]["network"] == "10.64.0.0/16"
    assert plan["azure"]["network"] == "10.65.0.0/16"
    assert [s["zone"] for s in plan["aws"]["subnets"] if s["role"] == "workers"] == ["a", "b", "c"]
    gateway = [s for s in plan["azure"]["subnets"] if s["role"] == "gateway"]
    assert [g["name"] for g in gateway] == ["GatewaySubnet"]
    assert ipaddress.ip_network(gateway[0]["cidr"]).prefixlen == 27
    supernet = ipaddress.ip_network("10.64.0.0/12")
    for cloud in ("aws", "azure"):
        for key in ("network", "pods", "services"):
            assert ipaddress.ip_network(plan[cloud][key]).subnet_of(supernet)
    assert plan["aws"]["cluster_name"] == "shop-aws" and plan["azure"]["cluster_name"] == "shop-azure"
    assert {plan["aws"]["cluster_id"], plan["azure"]["cluster_id"]} == {1, 2}


def test_tunnels_follow_the_azure_aws_reference_layout():
    vpn = build_plan({"name": "shop"})["vpn"]
    assert [t["inside_cidr"] for t in vpn["tunnels"]] == [
        "169.254.21.0/30", "169.254.22.0/30", "169.254.21.4/30", "169.254.22.4/30"]
    assert [t["aws_connection"] for t in vpn["tunnels"]] == [1, 1, 2, 2]
    assert [t["azure_instance"] for t in vpn["tunnels"]] == [0, 0, 1, 1]
    first = vpn["tunnels"][0]
    assert (first["aws_inside_ip"], first["azure_inside_ip"]) == ("169.254.21.1", "169.254.21.2")
    assert vpn["azure_bgp_addresses"] == [["169.254.21.2", "169.254.22.2"], ["169.254.21.6", "169.254.22.6"]]
    assert vpn["aws_asn"] != vpn["azure_asn"]


def test_stretched_topology_shares_one_pod_and_service_range():
    plan = build_plan({"name": "lab", "topology": "stretched"})
    assert plan["aws"]["pods"] == plan["azure"]["pods"]
    assert plan["aws"]["services"] == plan["azure"]["services"]
    assert plan["aws"]["cluster_name"] == plan["azure"]["cluster_name"] == "lab"
    kinds = [a["kind"] for a in plan["allocations"]]
    assert kinds.count("pods") == 1 and kinds.count("services") == 1
    assert_no_overlap(plan)


def test_region_prefixes_zone_suffixes():
    plan = build_plan({"name": "shop", "aws": {"region": "us-west-2", "zones": ["a", "b"]}})
    assert plan["aws"]["zones"] == ["us-west-2a", "us-west-2b"]
    assert plan["aws"]["subnets"][0]["name"] == "shop-workers-us-west-2a"


def test_per_cloud_supernets_are_used():
    plan = build_plan({"name": "shop", "aws": {"supernet": "10.80.0.0/13"}, "azure": {"supernet": "172.20.0.0/14"}})
    for key in ("network", "pods", "services"):
        assert ipaddress.ip_network(plan["aws"][key]).subnet_of(ipaddress.ip_network("10.80.0.0/13"))
        assert ipaddress.ip_network(plan["azure"][key]).subnet_of(ipaddress.ip_network("172.20.0.0/14"))


# ------------------------------------------------------------------------------ determinism and stability


def test_same_inputs_same_plan():
    spec = {"name": "shop", "reserved": ["10.66.0.0/16"], "aws": {"workers": 20}}
    assert build_plan(spec) == build_plan(dict(spec))


def test_adding_nodes_moves_nothing():
    small = build_plan({"name": "shop"})
    big = build_plan({"name": "shop", "aws": {"workers": 40}, "azure": {"workers": 60, "control_plane": 5}})
    assert small["allocations"] == big["allocations"]
    assert small["fingerprint"] != big["fingerprint"]  # node counts are part of the plan


def test_reserving_an_unused_range_moves_nothing():
    before = build_plan({"name": "shop"})
    after = build_plan({"name": "shop", "reserved": ["10.70.0.0/16", "192.168.0.0/16"]})
    strip = [a for a in after["allocations"] if a["kind"] != "reserved"]
    assert strip == before["allocations"]


def test_reserved_range_is_avoided():
    plan = build_plan({"name": "shop", "reserved": ["10.64.0.0/15"]})
    assert plan["aws"]["network"] == "10.66.0.0/16"
    assert_no_overlap(plan)


# ------------------------------------------------------------------------------ rules and their errors


@pytest.mark.parametrize("spec, field, words", [
    ({"name": "Shop"}, "name", "lowercase"),
    ({"name": "a-very-long-platform-name-xyz"}, "name", "32"),
    ({"name": "shop", "topology": "ring"}, "topology", "mesh"),
    ({"name": "shop", "supernet": "10.64.0.1/12"}, "supernet", "10.64.0.0/12"),
    ({"name": "shop", "supernet": "10.64.0.0"}, "supernet", "prefix"),
    ({"name": "shop", "supernet": "fd00::/8"}, "supernet", "IPv4"),
    ({"name": "shop", "reserved": ["10.0.0.0/33"]}, "reserved[0]", "valid CIDR"),
    ({"name": "shop", "supernet": "10.64.0.0/16"}, "supernet", "larger supernet"),
    ({"name": "shop", "reserved": ["10.64.0.0/10"]}, "reserved[0]", "whole"),
    ({"name": "shop", "prefixes": {"node": 26}}, "prefixes.node", "/25"),
    ({"name": "shop", "prefixes": {"gateway_subnet": 28}}, "prefixes.gateway_subnet", "27"),
    ({"name": "shop", "prefixes": {"network": 12}}, "prefixes.network", "16"),
    ({"name": "shop", "prefixes": {"pods": 20}, "aws": {"workers": 20}}, "prefixes.pods", "pod range"),
    ({"name": "shop", "aws": {"workers": 9000}}, "aws.workers", "0 to 5000"),
    ({"name": "shop", "prefixes": {"workers_subnet": 28}, "aws": {"workers": 40}}, "aws.workers", "larger workers subnets"),
    ({"name": "shop", "azure": {"asn": 65515}}, "azure.asn", "reserved"),
    ({"name": "shop", "azure": {"asn": 65518}}, "azure.asn", "reserved"),
    ({"name": "shop", "aws": {"asn": 7224}}, "aws.asn", "private"),
    ({"name": "shop", "azure": {"asn": 64512}}, "azure.asn", "own ASN"),
    ({"name": "shop", "azure": {"cluster_id": 1}}, "azure.cluster_id", "unique"),
    ({"name": "shop", "aws": {"cluster_id": 256}}, "aws.cluster_id", "1 to 255"),
    ({"name": "shop", "azure": {"cluster_name": "shop-aws"}}, "azure.cluster_name", "unique"),
    ({"name": "shop", "aws": {"supernet": "10.0.0.0/12"}, "azure": {"supernet": "10.8.0.0/13"}}, "azure.supernet", "overlaps"),
    ({"name": "shop", "tunnel_inside_cidrs": ["169.254.21.0/30"]}, "tunnel_inside_cidrs", "four"),
    ({"name": "shop", "tunnel_inside_cidrs": ["169.254.21.0/30", "169.254.22.0/30", "169.254.10.0/30", "169.254.22.4/30"]},
     "tunnel_inside_cidrs[2]", "169.254.21.0"),
    ({"name": "shop", "tunnel_inside_cidrs": ["169.254.21.0/29", "169.254.22.0/30", "169.254.21.8/30", "169.254.22.4/30"]},
     "tunnel_inside_cidrs[0]", "/30"),
    ({"name": "shop", "tunnel_inside_cidrs": ["169.254.21.0/30", "169.254.21.0/30", "169.254.21.4/30", "169.254.22.4/30"]},
     "vpn.tunnels[0]", "overlaps"),
    ({"name": "shop", "aws": {"zones": ["a", "a"]}}, "aws.zones", "distinct"),
    ({"name": "shop", "aws": {"control_plane": 0}}, "aws.control_plane", "at least one"),
    ({"name": "shop", "prefixes": {"bogus": 3}}, "prefixes.bogus", "unknown"),
])
def test_rule_errors_name_the_field_and_fix(spec, field, words):
    error = error_of(build_plan, spec)
    assert error.field == field
    assert words in str(error)
    assert "Fix:" in str(error)


def test_reserved_tunnel_range_pushes_tunnels_along():
    plan = build_plan({"name": "shop", "reserved": ["169.254.21.0/29"]})
    assert plan["vpn"]["tunnels"][0]["inside_cidr"] == "169.254.21.8/30"
    assert_no_overlap(plan)


# ------------------------------------------------------------------------------ explicit plans


SEED = {"aws": {"pods": "192.168.128.0/20"}, "azure": {"pods": "192.168.144.0/20"}}


def test_seed_article_numbers_are_accepted_and_gaps_reported():
    plan = check_plan({"name": "seed", "topology": "stretched"}, SEED)
    assert plan["complete"] is False
    for gap in ("aws.network", "aws.services", "azure.network", "azure.services", "azure.subnets[GatewaySubnet]"):
        assert gap in plan["missing"]
    assert {a["cidr"] for a in plan["allocations"] if a["kind"] == "pods"} == {"192.168.128.0/20", "192.168.144.0/20"}


def test_complete_explicit_plan_validates():
    allocated = build_plan({"name": "shop"})
    explicit = {cloud: {k: allocated[cloud][k] for k in ("network", "subnets", "pods", "services")} for cloud in ("aws", "azure")}
    explicit["tunnels"] = [t["inside_cidr"] for t in allocated["vpn"]["tunnels"]]
    checked = check_plan({"name": "shop"}, explicit)
    assert checked["complete"] is True and checked["missing"] == []
    assert [a["cidr"] for a in checked["allocations"]] == [a["cidr"] for a in allocated["allocations"]]


@pytest.mark.parametrize("explicit, field, words", [
    # pods inside services: the direction Kubespray catches
    ({"aws": {"pods": "10.0.0.0/18", "services": "10.0.0.0/16"}}, "explicit.aws.services", "overlaps"),
    # services inside pods: the direction Kubespray misses
    ({"aws": {"pods": "10.0.0.0/16", "services": "10.0.0.0/24"}}, "explicit.aws.pods", "overlaps"),
    ({"aws": {"pods": "192.168.128.0/20"}, "azure": {"pods": "192.168.136.0/21"}}, "explicit.aws.pods", "overlaps"),
    ({"aws": {"network": "10.0.0.0/16"}, "azure": {"pods": "10.0.128.0/17"}}, "explicit.aws.network", "overlaps"),
    ({"aws": {"network": "10.0.0.0/16", "subnets": [{"name": "x", "role": "workers", "cidr": "10.1.0.0/24"}]}},
     "explicit.aws.subnets[0]", "outside"),
    ({"azure": {"network": "10.0.0.0/16", "subnets": [{"name": "GatewaySubnet", "role": "gateway", "cidr": "10.0.0.0/28"}]}},
     "explicit.azure.subnets", "/27"),
    ({"azure": {"subnets": [{"name": "gw", "role": "gateway", "cidr": "10.0.0.0/27"}]}}, "explicit.azure.subnets", "GatewaySubnet"),
    ({"aws": {"pods": "10.0.0.0/28"}}, "explicit.aws.pods", "pod range"),
    ({"aws": {"pods": "10.0.0.1/16"}}, "explicit.aws.pods", "10.0.0.0/16"),
    ({"aws": {"vpc": "10.0.0.0/16"}}, "explicit.aws.vpc", "unknown"),
    ({"gcp": {}}, "explicit.gcp", "unknown"),
    ({"tunnels": ["169.254.21.0/30"]}, "explicit.tunnels", "four"),
    ({"tunnels": ["169.254.0.0/30", "169.254.22.0/30", "169.254.21.4/30", "169.254.22.4/30"]}, "explicit.tunnels[0]", "169.254.21.0"),
])
def test_explicit_plan_errors(explicit, field, words):
    error = error_of(check_plan, {"name": "shop"}, explicit)
    assert error.field == field
    assert words in str(error)


def test_explicit_plan_overlapping_reserved_fails():
    error = error_of(check_plan, {"name": "seed", "reserved": ["192.168.0.0/16"]}, SEED)
    assert error.field.startswith("explicit.") and "overlaps" in str(error)


# ------------------------------------------------------------------------------ properties

PRIVATE_SPACES = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "100.64.0.0/10", "192.168.0.0/16")]


@st.composite
def valid_specs(draw):
    space = draw(st.sampled_from(PRIVATE_SPACES))
    super_prefix = draw(st.integers(min_value=space.prefixlen, max_value=min(space.prefixlen + 4, 16)))
    supernet = draw(st.sampled_from(list(space.subnets(new_prefix=super_prefix))[:16]))
    network = draw(st.integers(min_value=max(16, super_prefix + 2), max_value=22))
    pods = draw(st.integers(min_value=super_prefix + 2, max_value=22))
    node = draw(st.integers(min_value=pods + 2, max_value=25))
    spec = {
        "name": draw(st.from_regex(r"^[a-z][a-z0-9]{0,10}$", fullmatch=True)),
        "topology": draw(st.sampled_from(["mesh", "stretched"])),
        "supernet": str(supernet),
        "prefixes": {
            "network": network,
            "workers_subnet": draw(st.integers(min_value=network + 2, max_value=26)),
            "control_plane_subnet": draw(st.integers(min_value=network + 2, max_value=27)),
            "gateway_subnet": draw(st.integers(min_value=network + 1, max_value=27)),
            "pods": pods,
            "services": draw(st.integers(min_value=super_prefix + 2, max_value=24)),
            "node": node,
        },
        "max_pods_per_node": draw(st.integers(min_value=1, max_value=min(2 ** (32 - node) - 2, 65534))),
        "aws": {"workers": draw(st.integers(0, 6)), "control_plane": draw(st.sampled_from([1, 3])),
                "zones": draw(st.sampled_from([["a"], ["a", "b"], ["a", "b", "c"]]))},
        "azure": {"workers": draw(st.integers(0, 6)), "control_plane": draw(st.sampled_from([1, 3]))},
        "reserved": [str(n) for n in draw(st.lists(st.sampled_from(list(supernet.subnets(new_prefix=super_prefix + 4))), max_size=2))],
    }
    return spec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_specs())
def test_property_valid_inputs_never_overlap(spec):
    try:
        plan = build_plan(spec)
    except PlanError as error:
        # The only acceptable refusal for these inputs is running out of room, named with its fix.
        assert "no free" in error.problem or "blocks" in error.problem or "holds" in error.problem, str(error)
        return
    assert_no_overlap(plan)
    for reserved in spec["reserved"]:
        for net, entry in nets(plan):
            if entry["kind"] != "reserved":
                assert not net.overlaps(ipaddress.ip_network(reserved))
    assert plan == build_plan(spec)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["aws.pods", "aws.services", "aws.network", "azure.pods", "azure.services", "azure.network"]),
       st.sampled_from(["aws.pods", "aws.services", "aws.network", "azure.pods", "azure.services", "azure.network"]),
       st.integers(min_value=0, max_value=3))
def test_property_explicit_overlaps_always_fail(target, source, shrink):
    assume(target != source)
    allocated = build_plan({"name": "shop"})
    explicit = {cloud: {k: allocated[cloud][k] for k in ("network", "pods", "services")} for cloud in ("aws", "azure")}
    src_cloud, src_key = source.split(".")
    dst_cloud, dst_key = target.split(".")
    inner = ipaddress.ip_network(explicit[src_cloud][src_key])
    explicit[dst_cloud][dst_key] = str(list(inner.subnets(prefixlen_diff=shrink))[-1]) if shrink else str(inner)
    error = error_of(check_plan, {"name": "shop"}, explicit)
    assert "overlaps" in error.problem
    assert error.field in ("explicit." + target, "explicit." + source)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=4000))
def test_property_node_capacity_rule_matches_arithmetic(workers):
    spec = {"name": "shop", "prefixes": {"pods": 18, "node": 24}, "aws": {"workers": workers}}
    nodes = workers + 3
    if nodes <= 2 ** (24 - 18) and workers <= 3 * (2 ** 12 - 5):
        assert build_plan(spec)["aws"]["nodes"]["workers"] == workers
    else:
        error = error_of(build_plan, spec)
        assert error.field in ("prefixes.pods", "aws.workers")


def test_module_defaults_match_planning_defaults():
    assert planlib.DEFAULT_PREFIXES["gateway_subnet"] == 27
    assert planlib.DEFAULT_CLOUD["azure"]["asn"] not in planlib.AZURE_FORBIDDEN_ASNS


# ------------------------------------------------------------------------------ plans handed to later modules


def test_verify_plan_accepts_what_cidr_plan_returns():
    for topology in ("mesh", "stretched"):
        plan = build_plan({"name": "shop", "topology": topology})
        assert planlib.verify_plan(plan) is plan


@pytest.mark.parametrize("edit, field, words", [
    (lambda p: p.pop("vpn"), "plan", "missing vpn"),
    (lambda p: p["aws"].update(services=None), "plan", "aws.services"),
    (lambda p: p.update(complete=False, missing=["aws.network"]), "plan", "aws.network"),
    (lambda p: p["azure"].update(network=p["aws"]["network"]), "plan.", "overlaps"),
    (lambda p: p["azure"].update(pods=p["aws"]["services"]), "plan.", "overlaps"),
    (lambda p: p["vpn"]["tunnels"][1].update(inside_cidr="169.254.1.0/30"), "plan.vpn.tunnels[1].inside_cidr", "169.254.21.0"),
    (lambda p: p["vpn"]["tunnels"].pop(), "plan.vpn.tunnels", "expected 4"),
    (lambda p: p["aws"]["subnets"][0].update(cidr="10.99.0.0/24"), "plan.aws.subnets[0]", "outside"),
])
def test_verify_plan_rejects_edited_plans(edit, field, words):
    plan = build_plan({"name": "shop"})
    edit(plan)
    error = error_of(planlib.verify_plan, plan)
    assert error.field.startswith(field) and words in str(error)
