"""Unit tests for the report page (plugins/filter/report_html.py)."""

import base64
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.hybrid.cluster.plugins.filter.report_html import FilterModule, duration, href, redact_secrets, report_html, security_tables
from ansible_collections.hybrid.cluster.plugins.filter.topology_svg import topology_svg
from ansible_collections.hybrid.cluster.plugins.module_utils import ports
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import build_plan

VOID = {"meta", "br", "hr", "img", "input", "link", "wbr", "col", "area", "base", "source", "track", "embed"}


class Checker(HTMLParser):
    """Every element closed in order, ids unique, text collected per element; fails on what a browser would repair."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.ids = []
        self.tags = []
        self.texts = []
        self.attrs = []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs
        self.ids += [v for k, v in attrs if k == "id"]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, "</%s> closes <%s>" % (tag, self.stack[-1:] or None)
        self.stack.pop()

    def handle_data(self, data):
        if data.strip():
            self.texts.append((self.stack[-1] if self.stack else None, data))


def check(page):
    checker = Checker()
    checker.feed(page)
    checker.close()
    assert checker.doctype == "DOCTYPE html"
    assert checker.stack == []
    assert len(checker.ids) == len(set(checker.ids))
    return checker


def shop_plan():
    return build_plan({"name": "shop", "aws": {"region": "us-west-2"}, "reserved": ["10.0.0.0/16"]})


def results(plan):
    flows, _warnings = ports.effective_matrix(plan, {"admin_cidrs": ["203.0.113.0/24"]})
    security = {"changed": False, "matrix": flows, "aws": {"groups": {"control_plane": "sg-0c", "workers": "sg-0w"}, "rules": {}},
                "azure": {"nsgs": {"control_plane": "shop-control-plane-nsg", "workers": "shop-workers-nsg"}, "rules": {}}}
    vpn = {"changed": True, "keys_generated": True, "elapsed_seconds": 2412.0, "pre_shared_keys": ["Sup3rSecretKey"],
           "tunnels": [dict(t, aws_outside_ip="198.51.100.%d" % t["index"], azure_public_ip="203.0.113.%d" % (t["azure_instance"] + 1),
                            aws_asn=64512, azure_asn=65010, aws_status="UP", azure_status="Connected", shared_key="Sup3rSecretKey")
                       for t in plan["vpn"]["tunnels"]]}
    network = {"aws": {"vpc_id": "vpc-0abc", "subnets": {s["name"]: "subnet-%d" % i for i, s in enumerate(plan["aws"]["subnets"])},
                       "route_table_id": "rtb-1"},
               "azure": {"vnet_id": "/subscriptions/1/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/shop-vnet",
                         "subnets": {s["name"]: s["cidr"] for s in plan["azure"]["subnets"]}}}
    hosts = [{"name": "aws-cp-1", "cloud": "aws", "ip": "10.64.48.10", "zone": "us-west-2a", "roles": ["etcd", "kube_control_plane"],
              "cluster": "shop-aws"},
             {"name": "azure-w-1", "cloud": "azure", "ip": "10.65.0.10", "zone": "1", "roles": ["kube_node"], "cluster": "shop-azure"}]
    phases = [{"name": "network", "changed": True, "elapsed": 41.25}, {"name": "vpn", "changed": False, "elapsed": 2412}]
    return {"network": network, "vpn": vpn, "security": security, "hosts": hosts, "phases": phases}


def page(plan=None, **overrides):
    plan = plan or shop_plan()
    inputs = dict(results(plan), report_dir="/srv/reports/shop")
    inputs.update(overrides)
    return report_html(plan, **inputs)


def section(html, anchor):
    match = re.search(r'<section id="%s">(.*?)</section>' % anchor, html, re.S)
    assert match, anchor
    return match.group(1)


def test_filter_is_registered():
    assert FilterModule().filters()["report_html"] is report_html


def test_valid_and_self_contained():
    html = page(artifacts=[{"title": "AWS inventory", "path": "/srv/shop/kubespray/shop-aws/hosts.yml", "content": "all: {}\n"}])
    checker = check(html)
    assert checker.tags[:2] == ["html", "head"]
    assert {"script", "link", "img", "iframe", "object"}.isdisjoint(checker.tags)
    assert not [v for k, v in checker.attrs if k == "src"]
    assert [v for k, v in checker.attrs if k == "href" and v.startswith(("http:", "https:", "//"))] == []
    assert html.count("http") == 1  # the SVG namespace
    assert "<style>" in html and "@import" not in html and "url(" not in html
    assert checker.ids == ["phases", "topology", "plan", "vpn", "security", "hosts", "artifacts"]


def test_embeds_the_same_drawing_as_topology_svg():
    plan = shop_plan()
    inputs = results(plan)
    svg = topology_svg(plan, network=inputs["network"], vpn=inputs["vpn"], hosts=inputs["hosts"])
    html = page(plan)
    assert svg.strip() in html
    titled = topology_svg(plan, network=inputs["network"], vpn=inputs["vpn"], hosts=inputs["hosts"], title="Shop")
    assert titled.strip() in page(plan, title="Shop")
    ET.fromstring(re.search(r"<svg.*</svg>", html, re.S).group(0))
    assert '<a href="topology.svg">topology.svg</a>' in html
    assert "topology.svg" not in page(plan, svg_file="")


def test_every_range_of_the_plan_with_its_purpose():
    plan = shop_plan()
    body = section(page(plan), "plan")
    for entry in plan["allocations"]:
        assert "<code>%s</code>" % entry["cidr"] in body
    assert "<code>10.64.0.0/12</code>" in body and "supernet the AWS and Azure ranges are allocated from" in body
    assert "reserved: in use elsewhere" in body
    assert "pods of cluster shop-aws: a /24 per node, up to 110 pods each" in body
    assert "services of cluster shop-azure (the kubernetes service is %s)" % plan["azure"]["services"].replace(".0/18", ".1") in body
    assert "Azure VPN gateway (GatewaySubnet)" in body
    assert "control plane nodes, zone us-west-2a (shop-control-plane-us-west-2a)" in body
    assert "<code>vpc-0abc</code>" in body and "<code>shop-vnet</code>" in body and "<code>subnet-0</code>" in body
    rows = body.count("<tr>") - 1
    assert rows == len(plan["allocations"]) + 1  # and the supernet


def test_drifted_azure_subnet_is_flagged():
    plan = shop_plan()
    inputs = results(plan)
    inputs["network"]["azure"]["subnets"]["shop-workers"] = "10.65.200.0/24"
    body = section(page(plan, network=inputs["network"]), "plan")
    assert '<span class="warn">in the cloud: 10.65.200.0/24</span>' in body


def test_tunnels_table():
    plan = shop_plan()
    body = section(page(plan), "vpn")
    rows = re.findall(r"<tr><td>(\d)</td>(.*?)</tr>", body)
    assert [index for index, _row in rows] == ["1", "2", "3", "4"]
    for (_index, row), tunnel in zip(rows, plan["vpn"]["tunnels"]):
        for value in (tunnel["inside_cidr"], tunnel["aws_inside_ip"], tunnel["azure_inside_ip"], "198.51.100.%d" % tunnel["index"]):
            assert "<code>%s</code>" % value in row
        assert "64512 / 65010" in row and "AWS <span>UP</span>" in row
    assert "BGP between ASN 64512 (AWS) and ASN 65010 (Azure)" in body
    assert "The VPN took 40 min 12 s in this run." in body


def test_no_key_reaches_the_page():
    html = page()
    assert "Sup3rSecretKey" not in html
    assert "Pre-shared keys are never part of this report." in html


def test_security_rules_from_the_matrix():
    plan = shop_plan()
    inputs = results(plan)
    tables = security_tables(plan, inputs["security"])
    expected = [("aws", "control_plane"), ("aws", "workers"), ("azure", "control_plane"), ("azure", "workers")]
    assert [(t["cloud"], t["role"]) for t in tables] == expected
    aws_cp = tables[0]
    etcd = [r for r in aws_cp["rows"] if r["ports"] == "2379-2380"]
    assert etcd == [{"direction": "Inbound", "protocol": "tcp", "ports": "2379-2380", "sources": ["shop-control-plane (security group)"],
                     "description": "etcd-client-peer"}]
    ssh = [r for r in tables[1]["rows"] if r["ports"] == "22"]
    assert ssh[0]["sources"] == ["203.0.113.0/24"] and ssh[0]["description"] == "ssh-admin"
    # Every flow of the matrix is let in by some rule of its role.
    for table in tables[:2]:
        described = ", ".join(r["description"] for r in table["rows"])
        for flow in inputs["security"]["matrix"]:
            if flow["cloud"] == "aws" and flow["role"] == table["role"]:
                assert flow["name"] in described
    azure_workers = tables[3]
    assert azure_workers["rows"][-1]["access"] == "Deny" and azure_workers["rows"][-1]["priority"] == "4096"
    assert [r["priority"] for r in azure_workers["rows"]][:2] == ["100", "110"]
    body = section(page(plan), "security")
    assert "AWS security group shop-control-plane (sg-0c), for the control plane nodes" in body
    assert "Azure NSG shop-workers-nsg, for the workers nodes" in body
    assert "<th>Direction</th><th>Protocol</th><th>Ports</th><th>Sources</th><th>Description</th>" in body
    assert "0.0.0.0/0" not in body


def test_security_rules_from_the_rule_lines():
    plan = shop_plan()
    aws_lines = ["tcp:10250 from shop-control-plane", "esp from 10.65.0.0/20", "udp:8472 from 10.65.16.0/24"]
    security = {"aws": {"groups": {"workers": "sg-0w"}, "rules": {"workers": aws_lines}},
                "azure": {"nsgs": {"workers": "shop-workers-nsg"},
                          "rules": {"workers": ["100 Allow Tcp 10250 Inbound from 10.65.16.0/24 (hc-kubernetes-tcp-1)", "odd line"]}}}
    tables = security_tables(plan, security)
    assert tables[0]["rows"][0] == {"direction": "Inbound", "protocol": "tcp", "ports": "10250", "sources": ["shop-control-plane"],
                                    "description": ""}
    assert tables[0]["rows"][1]["ports"] == "all"
    assert tables[1]["rows"][0]["sources"] == ["10.65.16.0/24"] and tables[1]["rows"][0]["name"] == "hc-kubernetes-tcp-1"
    assert tables[1]["rows"][1]["description"] == "odd line"
    check(page(plan, security=security))


def test_missing_inputs_are_said():
    plan = shop_plan()
    html = report_html(plan)
    check(html)
    assert "No phases were given." in html and "No cross_cloud_sg result was given." in html
    assert "No hosts were given." in html and "No artifacts were given." in html
    assert len(re.findall(r"<tr><td>\d</td>", section(html, "vpn"))) == 4


def test_hosts_table():
    plan = shop_plan()
    hosts = results(plan)["hosts"] + [{"name": "stray", "cloud": "aws", "ip": "192.168.1.1", "roles": ["kube_node"]},
                                      {"name": "elsewhere", "cloud": "gcp", "ip": "172.16.0.1"}]
    body = section(page(plan, hosts=hosts), "hosts")
    assert "4 hosts: 2 in AWS, 1 in Azure." in body
    assert ('<td>aws-cp-1</td><td>AWS</td><td><code>10.64.48.10</code></td><td>us-west-2a</td><td><span class="badge badge-kube_control_plane">'
            'kube_control_plane</span> <span class="badge badge-etcd">etcd</span></td><td>shop-aws</td><td>shop-control-plane-us-west-2a</td>') in body
    assert "outside the plan&#39;s subnets" in body and "in neither cloud" in body


def test_phases_table():
    body = section(page(), "phases")
    assert '<tr><td>network</td><td class="changed">changed</td><td>41.2 s</td></tr>' in body
    assert '<tr><td>vpn</td><td class="ok">no change</td><td>40 min 12 s</td></tr>' in body
    assert "<strong>all 2 phases</strong></td><td>1 changed</td><td><strong>40 min 53 s</strong>" in body


@pytest.mark.parametrize("seconds, expected", [(None, ""), (0, "0.0 s"), (59.94, "59.9 s"), (61, "1 min 01 s"), (3725, "1 h 02 min"),
                                               ("soon", "soon")])
def test_duration(seconds, expected):
    assert duration(seconds) == expected


def test_artifacts_are_linked_relative_and_embedded_escaped():
    hostile = "hosts: {{ lookup('pipe', 'id') }}\n# <script>alert(1)</script> & \"quotes\"\n"
    artifacts = [
        {"title": "AWS <inventory>", "path": "/srv/shop/kubespray/inventory/shop-aws/hosts.yml", "content": hostile, "size": len(hostile)},
        {"title": "Helm values", "path": "/srv/reports/shop/values/cilium values.yml", "content_base64": base64.b64encode(b"a: 1\n").decode()},
        {"title": "gone", "path": "/srv/shop/nothing.yml", "missing": True},
        {"title": "big", "path": "/srv/shop/big.yml", "size": 5000000, "note": "larger than 1048576 bytes, not embedded"},
        {"path": "/srv/shop/../shop/untitled.yml", "content": ""},
    ]
    html = page(artifacts=artifacts)
    body = section(html, "artifacts")
    checker = check(html)
    assert '<a href="../../shop/kubespray/inventory/shop-aws/hosts.yml">AWS &lt;inventory&gt;</a>' in body
    assert '<a href="values/cilium%20values.yml">Helm values</a>' in body
    assert "<pre><code>a: 1\n</code></pre>" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;" in body
    assert "&#123;&#123; lookup(&#39;pipe&#39;, &#39;id&#39;) &#125;&#125;" in body
    assert "{{" not in html and "<script" not in html
    assert ("code", hostile) in checker.texts
    assert "gone" in body and "not found: <code>/srv/shop/nothing.yml</code>" in body
    assert "5,000,000 bytes \u00b7 larger than 1048576 bytes, not embedded" in body
    assert '<a href="../../shop/untitled.yml">untitled.yml</a>' in body
    assert body.count("<details>") == 3


def test_href():
    assert href("/a/b/c.yml", "/a/r") == "../b/c.yml"
    assert href("/a/r/x y.yml", "/a/r/") == "x%20y.yml"
    assert href("relative/file.yml", "/a/r") == "relative/file.yml"
    assert href("/a/b#c?.yml", None) == "/a/b%23c%3F.yml"


def test_same_input_same_bytes():
    plan = shop_plan()
    assert page(plan) == page(build_plan({"name": "shop", "aws": {"region": "us-west-2"}, "reserved": ["10.0.0.0/16"]}))


def test_hostile_title_and_names():
    plan = shop_plan()
    html = page(plan, title="<script>x</script>", phases=[{"name": "</td><script>", "changed": "yes", "elapsed": "n/a"}])
    checker = check(html)
    assert "<script" not in html
    assert ("title", "<script>x</script>") in checker.texts and ("h1", "<script>x</script>") in checker.texts
    assert ("td", "</td><script>") in checker.texts


@pytest.mark.parametrize("kwargs, message", [
    ({"phases": "network"}, "phases: expected a list"),
    ({"phases": ["network"]}, r"phases\[0\]: expected a mapping"),
    ({"artifacts": [{"title": "no path"}]}, r"artifacts\[0\]: expected a mapping with title and path"),
    ({"artifacts": [{"path": "/x", "content_base64": "not base64!"}]}, r"artifacts\[0\].content_base64: not base64"),
    ({"security": {"matrix": [{"cloud": "aws"}]}}, "security: the aws rules cannot be read"),
    ({"vpn": ["not", "a", "mapping"]}, "vpn: expected a mapping"),
])
def test_bad_input_fails_clearly(kwargs, message):
    with pytest.raises(AnsibleFilterError, match="^report_html: .*" + message):
        report_html(shop_plan(), **kwargs)


KUBESPRAY_VARS_WITH_AUTH = """containerd_registry_auth:
  - registry: 123456789012.dkr.ecr.us-east-1.amazonaws.com
    username: AWS
    password: hunter2-block
  - {registry: demoregistry.azurecr.io, username: pull, password: hunter2-flow}
"api_token": 'hunter2-quoted'
tolerations:
  - key: node-role.kubernetes.io/control-plane
"""


def test_secrets_in_artifacts_are_never_shown():
    redacted = redact_secrets(KUBESPRAY_VARS_WITH_AUTH)
    assert "hunter2" not in redacted
    assert redacted.count("<redacted>") == 3
    # What is not a secret stays as it was.
    assert "username: AWS" in redacted and "username: pull" in redacted
    assert "key: node-role.kubernetes.io/control-plane" in redacted
    page = report_html(build_plan({"name": "shop"}), artifacts=[
        {"title": "all.yml", "path": "/w/all.yml", "content": KUBESPRAY_VARS_WITH_AUTH},
        {"title": "b64.yml", "path": "/w/b64.yml",
         "content_base64": base64.b64encode(KUBESPRAY_VARS_WITH_AUTH.encode()).decode()}])
    assert "hunter2" not in page
    assert page.count("&lt;redacted&gt;") == 6
