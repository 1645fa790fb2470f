"""Unit tests for the topology drawing (plugins/filter/topology_svg.py)."""

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError

from ansible_collections.hybrid.cluster.plugins.filter.topology_svg import FilterModule, platform_model, topology_svg, without_secrets
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import build_plan

SVG = "{http://www.w3.org/2000/svg}"


def shop_plan(**spec):
    return build_plan(dict({"name": "shop", "aws": {"region": "us-west-2"}}, **spec))


def node_hosts(plan, per_subnet=1):
    """Nodes inside every node subnet of both clouds, with addresses from the subnet."""
    hosts = []
    for cloud in ("aws", "azure"):
        for subnet in plan[cloud]["subnets"]:
            if subnet["role"] == "gateway":
                continue
            prefix = subnet["cidr"].split("/")[0].rsplit(".", 1)[0]
            roles = ["kube_control_plane", "etcd"] if subnet["role"] == "control_plane" else ["kube_node"]
            for index in range(per_subnet):
                name = "%s-%s-%s-%d" % (cloud, "cp" if subnet["role"] == "control_plane" else "w", subnet.get("zone", "1")[-1:], index)
                hosts.append({"name": name, "cloud": cloud, "ip": "%s.%d" % (prefix, 10 + index),
                              "zone": subnet.get("zone", ""), "roles": roles, "cluster": plan[cloud]["cluster_name"]})
    return hosts


def peering_result(plan, status="UP"):
    return {
        "changed": True,
        "keys_generated": True,
        "tunnels": [dict(t, aws_outside_ip="198.51.100.%d" % t["index"], azure_public_ip="203.0.113.%d" % (t["azure_instance"] + 1),
                         aws_asn=64512, azure_asn=65010, aws_status=status, azure_status="Connected") for t in plan["vpn"]["tunnels"]],
        "diff": {"after": {"aws": {"gateway": "vgw"}}},
    }


def parse(svg):
    root = ET.fromstring(svg)
    assert root.tag == SVG + "svg"
    return root


def texts(root):
    return ["".join(element.itertext()) for element in root.iter(SVG + "text")]


def titles(root):
    return [element.text or "" for element in root.iter(SVG + "title")]


def test_filter_is_registered():
    assert FilterModule().filters()["topology_svg"] is topology_svg


def test_well_formed_with_every_range_of_the_plan():
    plan = shop_plan()
    root = parse(topology_svg(plan, hosts=node_hosts(plan)))
    drawn = texts(root)
    subnets = [s["cidr"] for cloud in ("aws", "azure") for s in plan[cloud]["subnets"]]
    assert len(subnets) == 9  # 3 zones x 2 roles in AWS, 2 roles + GatewaySubnet in Azure
    for cidr in subnets + [plan["aws"]["network"], plan["azure"]["network"]]:
        assert cidr in drawn
    for cloud in ("aws", "azure"):
        band = [t for t in drawn if t.startswith("pods ")]
        assert any(plan[cloud]["pods"] in t and plan[cloud]["services"] in t for t in band)
        assert any(plan[cloud]["cluster_name"] in t for t in drawn)
    assert any(t.startswith("GatewaySubnet") for t in drawn)


def test_four_tunnels_with_their_inside_ranges_and_asns():
    plan = shop_plan()
    root = parse(topology_svg(plan, vpn=peering_result(plan)))
    drawn = texts(root)
    for tunnel in plan["vpn"]["tunnels"]:
        assert "tunnel %d  %s" % (tunnel["index"], tunnel["inside_cidr"]) in drawn
        assert "%s \u2194 %s" % (tunnel["aws_inside_ip"], tunnel["azure_inside_ip"]) in drawn
        assert tunnel["aws_inside_ip"] != tunnel["azure_inside_ip"]
    lines = [line for line in root.iter(SVG + "line") if line.get("stroke-width") == "3" and line.get("x1") != line.get("x2")]
    tunnel_lines = [line for line in lines if float(line.get("x2")) - float(line.get("x1")) > 100]
    assert len(tunnel_lines) == 4
    assert "BGP ASN 64512" in drawn and "BGP ASN 65010" in drawn
    assert "AWS VGW" in drawn
    # Both Azure gateway instances with their public IPs.
    assert "public IP 203.0.113.1" in drawn and "public IP 203.0.113.2" in drawn
    assert "198.51.100.3" in drawn


def test_tunnel_status_and_gateway_kind():
    plan = shop_plan()
    result = peering_result(plan, status="DOWN")
    result["diff"] = {"after": {"aws": {"gateway": "transit"}}}
    root = parse(topology_svg(plan, vpn=result))
    assert len(dashed_lines(root)) == 4 + 1  # the four tunnels and the legend's sample
    assert "AWS TGW" in texts(root)
    unknown = parse(topology_svg(plan))
    assert "AWS VGW or TGW" in texts(unknown)
    assert len(dashed_lines(unknown)) == 1


def dashed_lines(root):
    return [line for line in root.iter(SVG + "line") if line.get("stroke-dasharray") == "6 4" and line.get("stroke-width") == "3"]


def test_static_routing_is_labelled():
    plan = shop_plan()
    result = peering_result(plan)
    result["diff"]["after"]["aws"]["connections"] = {"1": {"static": True}, "2": {"static": True}}
    assert "static routes" in texts(parse(topology_svg(plan, vpn=result)))


def test_nodes_drawn_in_their_subnets_with_role_badges():
    plan = shop_plan()
    hosts = node_hosts(plan)
    root = parse(topology_svg(plan, hosts=hosts))
    drawn = texts(root)
    for host in hosts:
        assert host["name"] in drawn
        assert host["ip"] in drawn
    assert drawn.count("cp") == 3 + 1 + 1  # three AWS control plane subnets, one Azure, the legend
    assert drawn.count("node") == 3 + 1 + 1
    model = platform_model(plan, hosts=hosts)
    for host in model["hosts"]:
        subnet = [s for s in plan[host["cloud"]]["subnets"] if s["name"] == host["subnet"]][0]
        assert host["ip"].rsplit(".", 1)[0] == subnet["cidr"].rsplit(".", 1)[0]
        assert host["name"].split("-")[1] == ("cp" if subnet["role"] == "control_plane" else "w")


def test_hosts_without_address_and_outside_the_plan():
    plan = shop_plan()
    hosts = [
        {"name": "no-address", "cloud": "azure", "roles": ["kube_node"]},
        {"name": "cp-in-b", "cloud": "aws", "zone": "us-west-2b", "roles": ["kube_control_plane"]},
        {"name": "stray", "cloud": "aws", "ip": "192.168.7.7", "roles": ["kube_node"]},
        {"name": "found-by-address", "ip": "10.65.16.20", "roles": ["kube_control_plane"]},
        {"name": "on-premises", "cloud": "onprem", "ip": "172.16.0.1"},
    ]
    model = platform_model(plan, hosts=hosts)
    placed = {h["name"]: (h["cloud"], h["subnet"]) for h in model["hosts"]}
    assert placed["no-address"] == ("azure", "shop-workers")
    assert placed["cp-in-b"] == ("aws", "shop-control-plane-us-west-2b")
    assert placed["stray"] == ("aws", "")
    assert placed["found-by-address"] == ("azure", "shop-control-plane")
    assert placed["on-premises"] == ("onprem", "")
    drawn = texts(parse(topology_svg(plan, hosts=hosts)))
    assert "outside the plan's subnets" in drawn
    assert any("1 host in neither cloud not drawn" in t for t in drawn)
    assert "on-premises" not in drawn


def test_hostile_text_is_escaped():
    plan = shop_plan()
    hostile = '<script>alert("x")</script>&{{ lookup(\'pipe\', \'id\') }}'
    hosts = [{"name": hostile, "cloud": "aws", "ip": "10.64.0.10", "roles": ["kube_node", "<b>"], "zone": "<i>"},
             {"name": "ctl\x00\x1bname", "cloud": "aws", "ip": "10.64.0.11", "roles": ["kube_node"]}]
    network = {"aws": {"vpc_id": '"><script>', "subnets": {"shop-workers-us-west-2a": "subnet-<x>"}}}
    svg = topology_svg(plan, network=network, hosts=hosts, title="</title><script>alert(1)</script>")
    assert "<script" not in svg and "{{" not in svg and "\x00" not in svg and "\x1b" not in svg
    root = parse(svg)
    assert hostile[:20] in "".join(texts(root))
    assert any(hostile in t for t in titles(root))
    assert titles(root)[0] == "</title><script>alert(1)</script>"
    assert any(t.startswith("ctl\ufffd\ufffdname") for t in texts(root))


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40), st.lists(st.text(max_size=12), max_size=4), st.text(max_size=20))
def test_any_text_gives_well_formed_svg(name, roles, title):
    plan = shop_plan()
    root = parse(topology_svg(plan, hosts=[{"name": name, "cloud": "azure", "ip": "10.65.0.9", "roles": roles}], title=title))
    assert root.find(SVG + "title") is not None


def test_same_input_same_bytes():
    plan = shop_plan()
    hosts = node_hosts(plan, per_subnet=2)
    first = topology_svg(plan, network={"aws": {"vpc_id": "vpc-1"}}, vpn=peering_result(plan), hosts=hosts)
    again = topology_svg(build_plan({"name": "shop", "aws": {"region": "us-west-2"}}), network={"aws": {"vpc_id": "vpc-1"}},
                         vpn=peering_result(plan), hosts=list(reversed(hosts)))
    assert first == again
    assert first.encode("utf-8") == again.encode("utf-8")


def test_no_external_resources():
    plan = shop_plan()
    svg = topology_svg(plan, vpn=peering_result(plan), hosts=node_hosts(plan))
    root = parse(svg)
    tags = {element.tag.replace(SVG, "") for element in root.iter()}
    assert tags <= {"svg", "title", "g", "rect", "text", "line", "circle", "polyline"}
    assert "href" not in svg and "url(" not in svg and "@import" not in svg
    assert svg.count("http") == 1  # the namespace only
    families = {element.get("font-family") for element in root.iter(SVG + "text")}
    assert families == {"sans-serif", "monospace"}


def test_many_nodes_are_summarised():
    plan = shop_plan(aws={"region": "us-west-2", "workers": 20})
    twelve = node_hosts(plan, per_subnet=2)  # 12 per cloud: 6 subnets x 2 in AWS, 2 x 2 in Azure
    aws_twelve = [h for h in twelve if h["cloud"] == "aws"]
    assert len(aws_twelve) == 12
    drawn = texts(parse(topology_svg(plan, hosts=aws_twelve)))
    assert all(h["name"] in drawn for h in aws_twelve)
    thirteen = aws_twelve + [{"name": "extra", "cloud": "aws", "ip": "10.64.0.99", "roles": ["kube_node"]}]
    root = parse(topology_svg(plan, hosts=thirteen))
    drawn = texts(root)
    assert not any(h["name"] in drawn for h in thirteen)
    assert "3 nodes: 3 kube_node" in drawn
    assert "2 nodes: 2 kube_control_plane, 2 etcd" in drawn
    assert any("13 nodes, shown as counts" in t for t in drawn)
    # A larger platform stays the same size: counts, not cards.
    many = thirteen + [{"name": "w%d" % i, "cloud": "aws", "ip": "10.64.16.%d" % (20 + i), "roles": ["kube_node"]} for i in range(150)]
    assert parse(topology_svg(plan, hosts=many)).get("height") == root.get("height")
    assert "152 nodes: 152 kube_node" in texts(parse(topology_svg(plan, hosts=many)))
    assert parse(topology_svg(plan, hosts=thirteen, max_nodes=20)).get("height") != root.get("height")


def test_stretched_cluster_spans_both_clouds():
    plan = build_plan({"name": "lab", "topology": "stretched"})
    drawn = texts(parse(topology_svg(plan)))
    bands = [t for t in drawn if t.startswith("cluster ")]
    assert bands == ["cluster lab \u00b7 Cilium cluster id 1 \u00b7 stretched over AWS and Azure"]
    assert "pods %s \u00b7 services %s \u00b7 /24 per node" % (plan["aws"]["pods"], plan["aws"]["services"]) in drawn


def test_long_names_are_cut_and_kept_in_the_tooltip():
    plan = shop_plan()
    name = "a-very-long-node-name-that-does-not-fit-on-its-card"
    root = parse(topology_svg(plan, hosts=[{"name": name, "cloud": "aws", "ip": "10.64.0.10", "roles": ["kube_node"]}]))
    cut = [t for t in texts(root) if t.startswith("a-very-long")]
    assert cut and cut[0].endswith("\u2026") and len(cut[0]) < len(name)
    assert any(t.startswith(name) for t in titles(root))


def test_secrets_are_dropped_from_the_inputs():
    plan = shop_plan()
    result = peering_result(plan)
    result["pre_shared_keys"] = ["S3cretKeyOne"]
    result["tunnels"][0]["shared_key"] = "S3cretKeyTwo"
    result["tunnels"][1]["psk"] = "S3cretKeyThree"
    svg = topology_svg(plan, vpn=result)
    assert "S3cret" not in svg
    assert without_secrets({"keys_generated": True, "key": 1, "azure_key": 2, "Password": 3, "token": 4, "nested": [{"secret": 5}]}) == {
        "keys_generated": True, "nested": [{}]}


def test_network_result_adds_identifiers_and_flags_drift():
    plan = shop_plan()
    network = {"aws": {"vpc_id": "vpc-0abc", "subnets": {"shop-workers-us-west-2a": "subnet-0aaa"}},
               "azure": {"vnet_id": "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/shop-vnet",
                         "subnets": {"shop-workers": "10.65.128.0/20", "shop-control-plane": plan["azure"]["subnets"][1]["cidr"]}}}
    drawn = " ".join(texts(parse(topology_svg(plan, network=network))))
    assert "vpc-0abc" in drawn and "subnet-0aaa" in drawn and "shop-vnet" in drawn
    assert "in the cloud: 10.65.128.0/20" in drawn


@pytest.mark.parametrize("plan, hosts, message", [
    ("not a plan", None, "the address plan: expected a mapping"),
    ({}, None, "expected the plan returned by hybrid.cluster.cidr_plan"),
    ({"aws": {}}, "cp-1", "hosts: expected a list"),
    ({"aws": {}}, ["cp-1"], "hosts[0]: expected a mapping"),
])
def test_bad_input_fails_clearly(plan, hosts, message):
    with pytest.raises(AnsibleFilterError, match=r"^topology_svg: .*" + message.replace("[", r"\[").replace("]", r"\]")):
        topology_svg(plan, hosts=hosts)


def test_max_nodes_must_be_a_number():
    with pytest.raises(AnsibleFilterError, match="max_nodes"):
        topology_svg(shop_plan(), max_nodes="many")
