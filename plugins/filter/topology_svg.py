# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform's topology as one SVG drawing, and the model the report is made from.

* ``platform_model`` joins the address plan with what the network, VPN and inventory report into
  one plain structure: each cloud's network and subnets with the nodes placed in them, both VPN
  gateways, the four tunnels with both ends, and the clusters with their pod and service ranges.
* ``topology_svg`` (documented in topology_svg.yml) draws that model: AWS on the left, Azure on
  the right, the gateways and tunnels between them.

Everything here is pure computation: nothing is read or written and nothing is contacted. The same
input always gives the same bytes (no clock, no randomness, integer coordinates), every piece of
text is escaped, and the drawing uses no external resource (generic font families only).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

CLOUDS = ("aws", "azure")
CLOUD_NAMES = {"aws": "AWS", "azure": "Azure"}
# Kubespray's groups, in the order their badges are drawn.
ROLE_BADGES = (("kube_control_plane", "cp"), ("etcd", "etcd"), ("kube_node", "node"))
ROLE_ORDER = {"gateway": 0, "control_plane": 1, "workers": 2}
DEFAULT_MAX_NODES = 12
# Field names that could hold a secret; such fields are dropped from every input before use.
SECRET_FIELD = re.compile(r"(^|_)(pre_?shared_?keys?|shared_?keys?|psk|keys?|secrets?|passwords?|passwd|tokens?|credentials?|private_?keys?)$",
                          re.IGNORECASE)
# Characters XML 1.0 does not allow, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ELLIPSIS = "\u2026"

# ---------------------------------------------------------------------------------------------
# Text


def fail(name, msg):
    raise AnsibleFilterError("%s: %s" % (name, msg))


def text(value):
    """Plain text of a value: None is empty, anything else its str() without characters XML refuses."""
    if value is None:
        return ""
    return _XML_INVALID.sub("\ufffd", str(value))


def esc(value):
    """Text escaped for XML and HTML content and quoted attributes.

    Braces are written as character references too, so the output never looks like a template to
    whatever handles it next.
    """
    out = text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return out.replace('"', "&quot;").replace("'", "&#39;").replace("{", "&#123;").replace("}", "&#125;")


def clip(value, limit):
    """``value`` cut to ``limit`` characters, the last one an ellipsis when something was cut."""
    value = text(value)
    return value if len(value) <= limit else value[:max(limit - 1, 0)] + ELLIPSIS


def without_secrets(value):
    """A copy of ``value`` without any mapping field whose name looks like a key, secret or password."""
    if isinstance(value, Mapping):
        return {k: without_secrets(v) for k, v in value.items() if not SECRET_FIELD.search(str(k))}
    if isinstance(value, (list, tuple)):
        return [without_secrets(v) for v in value]
    return value


def mapping_of(value, name, what):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        fail(name, "%s: expected a mapping, got %s" % (what, type(value).__name__))
    return without_secrets(value)


def list_of(value, name, what):
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        fail(name, "%s: expected a list, got %s" % (what, type(value).__name__))
    return list(value)


def network_of(value):
    try:
        return ipaddress.ip_network(text(value), strict=False)
    except ValueError:
        return None


def address_of(value):
    try:
        return ipaddress.ip_address(text(value).split("/")[0])
    except ValueError:
        return None


def dig(data, *path):
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


# ---------------------------------------------------------------------------------------------
# Model


def normalize_hosts(hosts, name="topology_svg"):
    """Hosts as ``{name, cloud, ip, zone, roles, cluster}`` with text values, sorted by cloud and name."""
    out = []
    for index, host in enumerate(list_of(hosts, name, "hosts")):
        if not isinstance(host, Mapping):
            fail(name, "hosts[%d]: expected a mapping with name, cloud, ip, zone, roles and cluster" % index)
        roles = host.get("roles")
        roles = [] if roles is None else ([roles] if isinstance(roles, str) else list(roles))
        out.append({
            "name": text(host.get("name")) or "(unnamed host %d)" % (index + 1),
            "cloud": text(host.get("cloud")).lower(),
            "ip": text(host.get("ip")),
            "zone": text(host.get("zone")),
            "roles": _sorted_roles(text(r) for r in roles),
            "cluster": text(host.get("cluster")),
        })
    out.sort(key=lambda h: (h["cloud"], h["name"], h["ip"]))
    return out


def _sorted_roles(roles):
    known = [r for r, _badge in ROLE_BADGES]
    roles = list(dict.fromkeys(r for r in roles if r))
    return [r for r in known if r in roles] + sorted(r for r in roles if r not in known)


def role_badge(role):
    return dict(ROLE_BADGES).get(role, clip(role, 6))


def _subnet_role(host):
    return "control_plane" if {"kube_control_plane", "etcd"} & set(host["roles"]) else "workers"


def _zone_matches(subnet_zone, host_zone):
    if not subnet_zone or not host_zone:
        return not subnet_zone
    return subnet_zone == host_zone or (len(subnet_zone) == 1 and host_zone.endswith(subnet_zone))


def _place(host, subnets):
    """The subnet a host is in: the one holding its address, else (no usable address) by role and zone."""
    address = address_of(host["ip"])
    candidates = [s for s in subnets if s["role"] != "gateway" and s["net"] is not None]
    if address is not None:
        for subnet in candidates:
            if address.version == subnet["net"].version and address in subnet["net"]:
                return subnet
        return None
    role = _subnet_role(host)
    for subnet in candidates:
        if subnet["role"] == role and _zone_matches(subnet["zone"], host["zone"]):
            return subnet
    return None


def _host_cloud(host, networks):
    if host["cloud"] in CLOUDS:
        return host["cloud"]
    address = address_of(host["ip"])
    for cloud in CLOUDS:
        net = networks.get(cloud)
        if address is not None and net is not None and address.version == net.version and address in net:
            return cloud
    return None


def _cloud_section(plan, network, cloud, name):
    section = mapping_of(plan.get(cloud), name, "plan.%s" % cloud)
    reported = mapping_of(network.get(cloud), name, "network.%s" % cloud)
    resources = reported.get("subnets") if isinstance(reported.get("subnets"), Mapping) else {}
    subnets = []
    for index, subnet in enumerate(list_of(section.get("subnets"), name, "plan.%s.subnets" % cloud)):
        if not isinstance(subnet, Mapping):
            continue
        subnet_name = text(subnet.get("name"))
        role = text(subnet.get("role")) or ("gateway" if subnet_name == "GatewaySubnet" else "workers")
        entry = {"name": subnet_name, "role": role, "zone": text(subnet.get("zone")), "cidr": text(subnet.get("cidr")),
                 "net": network_of(subnet.get("cidr")), "nodes": [], "kind": "gateway" if role == "gateway" else "subnet",
                 "resource": "", "reported_cidr": ""}
        found = resources.get(subnet_name)
        if cloud == "aws" and found:
            entry["resource"] = text(found)
        elif found:
            entry["reported_cidr"] = text(found) if text(found) != entry["cidr"] else ""
        entry["order"] = (ROLE_ORDER.get(role, len(ROLE_ORDER)), index)
        subnets.append(entry)
    subnets.sort(key=lambda s: s["order"])
    resource = text(reported.get("vpc_id") if cloud == "aws" else reported.get("vnet_id"))
    return {
        "cloud": cloud,
        "label": "%s %s" % (CLOUD_NAMES[cloud], "VPC" if cloud == "aws" else "VNet"),
        "network": text(section.get("network")),
        "supernet": text(section.get("supernet")),
        "resource": resource.rsplit("/", 1)[-1] if cloud == "azure" else resource,
        "resource_id": resource,
        "route_table": text(reported.get("route_table_id")),
        "subnets": subnets,
        "hosts": 0,
        "summarised": False,
    }


def _clusters(plan):
    clusters = []
    for cloud in CLOUDS:
        section = plan.get(cloud) if isinstance(plan.get(cloud), Mapping) else {}
        name = text(section.get("cluster_name"))
        same = [c for c in clusters if name and c["name"] == name]
        if same:
            same[0]["clouds"].append(cloud)
            continue
        clusters.append({"name": name, "id": text(section.get("cluster_id")), "clouds": [cloud],
                         "pods": text(section.get("pods")), "services": text(section.get("services")),
                         "node_prefix": text(section.get("node_prefix")), "max_pods": text(section.get("max_pods_per_node"))})
    return clusters


def _aws_gateway_kind(vpn):
    for side in ("after", "before"):
        kind = text(dig(vpn, "diff", side, "aws", "gateway"))
        if kind in ("vgw", "transit"):
            return kind
    resources = [text(c.get("resource")) for c in vpn.get("changes") or [] if isinstance(c, Mapping)]
    if "transit-gateway" in resources:
        return "transit"
    if "vpn-gateway" in resources:
        return "vgw"
    return ""


def _static_routing(vpn):
    connections = dig(vpn, "diff", "after", "aws", "connections")
    if isinstance(connections, Mapping) and connections:
        return all(isinstance(c, Mapping) and c.get("static") for c in connections.values())
    return False


TUNNEL_FIELDS = ("index", "aws_connection", "azure_instance", "inside_cidr", "aws_inside_ip", "azure_inside_ip",
                 "aws_outside_ip", "azure_public_ip", "aws_asn", "azure_asn", "aws_status", "azure_status")


def _tunnels(plan, vpn):
    vpn_plan = plan.get("vpn") if isinstance(plan.get("vpn"), Mapping) else {}
    reported = {}
    for tunnel in vpn.get("tunnels") or []:
        if isinstance(tunnel, Mapping) and tunnel.get("index") is not None:
            reported[text(tunnel.get("index"))] = tunnel
    planned = [t for t in vpn_plan.get("tunnels") or [] if isinstance(t, Mapping)]
    if not planned:
        planned = [reported[k] for k in sorted(reported)]
    tunnels = []
    for position, tunnel in enumerate(planned):
        index = text(tunnel.get("index")) or str(position + 1)
        merged = {"aws_connection": position // 2 + 1, "azure_instance": position // 2,
                  "aws_asn": vpn_plan.get("aws_asn"), "azure_asn": vpn_plan.get("azure_asn")}
        for source in (tunnel, reported.get(index) or {}):
            merged.update({k: v for k, v in source.items() if k in TUNNEL_FIELDS and v not in (None, "")})
        merged["index"] = index
        tunnels.append({k: text(merged.get(k)) for k in TUNNEL_FIELDS})
    return tunnels


def platform_model(plan, network=None, vpn=None, hosts=None, max_nodes=DEFAULT_MAX_NODES, name="topology_svg"):
    """Everything the drawing and the report show, joined and normalised; see the module docstring."""
    plan = mapping_of(plan, name, "the address plan")
    if not plan or not any(isinstance(plan.get(c), Mapping) for c in CLOUDS):
        fail(name, "expected the plan returned by hybrid.cluster.cidr_plan (with its aws and azure sections)")
    network = mapping_of(network, name, "network")
    vpn = mapping_of(vpn, name, "vpn")
    try:
        max_nodes = int(max_nodes)
    except (TypeError, ValueError):
        fail(name, "max_nodes: expected a whole number, got %r" % (max_nodes,))
    clouds = {cloud: _cloud_section(plan, network, cloud, name) for cloud in CLOUDS}
    networks = {cloud: network_of(clouds[cloud]["network"]) for cloud in CLOUDS}
    placed = []
    for host in normalize_hosts(hosts, name):
        cloud = _host_cloud(host, networks)
        host = dict(host, cloud=cloud or host["cloud"], subnet="")
        if cloud is not None:
            section = clouds[cloud]
            section["hosts"] += 1
            subnet = _place(host, section["subnets"])
            if subnet is None:
                outside = [s for s in section["subnets"] if s["kind"] == "outside"]
                if not outside:
                    outside = [{"name": "", "role": "", "zone": "", "cidr": "", "net": None, "nodes": [], "kind": "outside",
                                "resource": "", "reported_cidr": "", "order": (99, 0)}]
                    section["subnets"].append(outside[0])
                subnet = outside[0]
            subnet["nodes"].append(host)
            host["subnet"] = subnet["name"]
        placed.append(host)
    for section in clouds.values():
        section["summarised"] = section["hosts"] > max_nodes
    public_ips = ["", ""]
    reported_ips = dig(vpn, "diff", "after", "azure", "public_ips")
    for instance, address in enumerate(list(reported_ips)[:2] if isinstance(reported_ips, (list, tuple)) else []):
        public_ips[instance] = text(address)
    tunnels = _tunnels(plan, vpn)
    for tunnel in tunnels:
        if tunnel["azure_public_ip"] and tunnel["azure_instance"] in ("0", "1"):
            public_ips[int(tunnel["azure_instance"])] = tunnel["azure_public_ip"]
    vpn_plan = plan.get("vpn") if isinstance(plan.get("vpn"), Mapping) else {}
    return {
        "name": text(plan.get("name")),
        "topology": text(plan.get("topology")) or "mesh",
        "fingerprint": text(plan.get("fingerprint")),
        "clouds": clouds,
        "clusters": _clusters(plan),
        "gateways": {
            "aws": {"kind": _aws_gateway_kind(vpn), "asn": text(vpn_plan.get("aws_asn") or dig(plan, "aws", "asn"))},
            "azure": {"name": "%s-vpngw" % text(plan.get("name")), "public_ips": public_ips,
                      "asn": text(vpn_plan.get("azure_asn") or dig(plan, "azure", "asn"))},
            "static": _static_routing(vpn),
        },
        "tunnels": tunnels,
        "hosts": placed,
        "max_nodes": max_nodes,
    }


# ---------------------------------------------------------------------------------------------
# Drawing

SANS = "sans-serif"
MONO = "monospace"
# Average glyph width as a share of the font size, used to cut text to the room it has.
GLYPH = 0.62
COLORS = {
    "aws": ("#c45500", "#fff6ea"),
    "azure": ("#0b5cad", "#eef5fc"),
    "cp": "#6b3fa0",
    "etcd": "#9a5b00",
    "node": "#1f7a4d",
    "other": "#5b6470",
    "ink": "#1d2430",
    "muted": "#5b6470",
    "line": "#9aa3ae",
    "up": "#1f7a4d",
    "down": "#b3261e",
    "unknown": "#5b6470",
}
PAD = 16
CLOUD_W = 440
GW_W = 160
LINK_W = 24
SPAN = 200
CARD_W = 196
CARD_H = 40
TOP = 64


class _Canvas:
    """SVG elements in order; every attribute value and piece of text is escaped on the way in."""

    def __init__(self):
        self.parts = []

    def add(self, tag, content=None, **attrs):
        attributes = "".join(' %s="%s"' % (key.rstrip("_").replace("_", "-"), esc(value)) for key, value in attrs.items() if value is not None)
        if content is None:
            self.parts.append("<%s%s/>" % (tag, attributes))
        else:
            self.parts.append("<%s%s>%s</%s>" % (tag, attributes, esc(content), tag))

    def rect(self, x, y, w, h, fill, stroke, rx=6, dash=None, width=1):
        self.add("rect", x=x, y=y, width=w, height=h, rx=rx, fill=fill, stroke=stroke, stroke_width=width, stroke_dasharray=dash)

    def label(self, x, y, value, size=11, room=None, weight=None, color=COLORS["ink"], anchor=None, font=SANS):
        value = text(value)
        if room is not None:
            value = clip(value, max(int(room / (size * GLYPH)), 1))
        self.add("text", value, x=x, y=y, font_family=font, font_size=size, font_weight=weight, fill=color, text_anchor=anchor)

    def open(self, tag, **attrs):
        self.parts.append("<%s%s>" % (tag, "".join(' %s="%s"' % (k.replace("_", "-"), esc(v)) for k, v in attrs.items())))

    def close(self, tag):
        self.parts.append("</%s>" % tag)


def _subnet_height(subnet, summarised):
    if subnet["kind"] == "gateway" or summarised or not subnet["nodes"]:
        return 38 + 22
    rows = (len(subnet["nodes"]) + 1) // 2
    return 38 + rows * (CARD_H + 8) + 4


def _cloud_height(section, has_band):
    height = 50 + sum(_subnet_height(s, section["summarised"]) + 10 for s in section["subnets"])
    return height + (58 if has_band else 0) + 4


def _role_counts(nodes):
    counts = {}
    for node in nodes:
        for role in node["roles"] or ["(no role)"]:
            counts[role] = counts.get(role, 0) + 1
    return ", ".join("%d %s" % (counts[r], r) for r in _sorted_roles(counts) + (["(no role)"] if "(no role)" in counts else []))


def _draw_node(canvas, node, x, y, color):
    canvas.open("g")
    canvas.add("title", "%s %s %s" % (node["name"], node["ip"], " ".join(node["roles"])))
    canvas.rect(x, y, CARD_W, CARD_H, "#ffffff", color, rx=4)
    canvas.label(x + 6, y + 15, node["name"], size=11, room=CARD_W - 12, weight="bold")
    canvas.label(x + 6, y + 32, node["ip"] or "no address", size=10, room=92, font=MONO, color=COLORS["muted"])
    badges = node["roles"][:3]
    labels = [role_badge(r) for r in badges] + (["+%d" % (len(node["roles"]) - 3)] if len(node["roles"]) > 3 else [])
    right = x + CARD_W - 6
    for label in reversed(labels):
        width = len(label) * 6 + 8
        right -= width
        key = label if label in ("cp", "etcd", "node") else "other"
        canvas.rect(right, y + 22, width, 14, COLORS[key], COLORS[key], rx=3)
        canvas.label(right + width // 2, y + 32, label, size=9, font=MONO, color="#ffffff", anchor="middle")
        right -= 3
    canvas.close("g")


def _subnet_title(subnet):
    if subnet["kind"] == "outside":
        return "outside the plan's subnets"
    if subnet["kind"] == "gateway":
        return "GatewaySubnet (VPN gateway)"
    role = {"control_plane": "control plane", "workers": "workers"}.get(subnet["role"], subnet["role"])
    return role + (" \u00b7 zone %s" % subnet["zone"] if subnet["zone"] else "")


def _draw_subnet(canvas, subnet, section, x, y, model):
    color = COLORS[section["cloud"]][0]
    height = _subnet_height(subnet, section["summarised"])
    width = CLOUD_W - 24
    canvas.rect(x, y, width, height, "#ffffff", color, dash="5 3" if subnet["kind"] == "outside" else None)
    canvas.label(x + 10, y + 16, _subnet_title(subnet), size=12, room=width - 150, weight="bold")
    canvas.label(x + width - 10, y + 16, subnet["cidr"], size=12, font=MONO, weight="bold", anchor="end")
    name = "not in any subnet of the plan" if subnet["kind"] == "outside" else "" if subnet["kind"] == "gateway" else subnet["name"]
    detail = " \u00b7 ".join(v for v in (name, subnet["resource"],
                                         "in the cloud: %s" % subnet["reported_cidr"] if subnet["reported_cidr"] else "") if v)
    canvas.label(x + 10, y + 31, detail, size=10, room=width - 20, color=COLORS["muted"])
    if subnet["kind"] == "gateway":
        canvas.label(x + 10, y + 52, "VPN gateway %s: instances 0 and 1, active-active" % model["gateways"]["azure"]["name"],
                     size=11, room=width - 20)
    elif not subnet["nodes"]:
        canvas.label(x + 10, y + 52, "no nodes", size=11, color=COLORS["muted"])
    elif section["summarised"]:
        nodes = subnet["nodes"]
        canvas.label(x + 10, y + 52, "%d node%s: %s" % (len(nodes), "" if len(nodes) == 1 else "s", _role_counts(nodes)), size=11, room=width - 20)
    else:
        for index, node in enumerate(subnet["nodes"]):
            _draw_node(canvas, node, x + 10 + (index % 2) * (CARD_W + 4), y + 38 + (index // 2) * (CARD_H + 8), color)
    return height


def _draw_band(canvas, cluster, x, y, width):
    canvas.rect(x, y, width, 48, "#ffffff", COLORS["line"], dash="4 3")
    title = "cluster %s \u00b7 Cilium cluster id %s" % (cluster["name"] or "(unnamed)", cluster["id"] or "?")
    if len(cluster["clouds"]) > 1:
        title += " \u00b7 stretched over AWS and Azure"
    canvas.label(x + 10, y + 18, title, size=12, room=width - 20, weight="bold")
    ranges = "pods %s \u00b7 services %s" % (cluster["pods"] or "?", cluster["services"] or "?")
    if cluster["node_prefix"]:
        ranges += " \u00b7 /%s per node" % cluster["node_prefix"]
    canvas.label(x + 10, y + 37, ranges, size=11, room=width - 20, font=MONO)


def _draw_cloud(canvas, model, cloud, x, height, band):
    section = model["clouds"][cloud]
    stroke, fill = COLORS[cloud]
    canvas.rect(x, TOP, CLOUD_W, height, fill, stroke, rx=10, width=2)
    canvas.label(x + 14, TOP + 22, section["label"], size=15, weight="bold", color=stroke)
    canvas.label(x + CLOUD_W - 14, TOP + 22, section["network"] or "no range", size=14, weight="bold", font=MONO, anchor="end")
    detail = [section["resource"]] if section["resource"] else []
    if section["supernet"]:
        detail.append("from %s" % section["supernet"])
    if section["summarised"]:
        detail.append("%d nodes, shown as counts" % section["hosts"])
    canvas.label(x + 14, TOP + 39, " \u00b7 ".join(detail), size=10, room=CLOUD_W - 28, color=COLORS["muted"])
    y = TOP + 50
    rows = {}
    for subnet in section["subnets"]:
        rows[id(subnet)] = y
        y += _draw_subnet(canvas, subnet, section, x + 12, y, model) + 10
    if band is not None:
        _draw_band(canvas, band, x + 12, TOP + height - 58, CLOUD_W - 24)
    return rows


def _tunnel_y(position):
    return TOP + 50 + 112 + position * 40 + (position // 2) * 40


def _tunnel_color(tunnel):
    states = {tunnel["aws_status"].upper(), tunnel["azure_status"].lower()}
    if "DOWN" in states or "notconnected" in states:
        return COLORS["down"], "6 4"
    if "UP" in states or "connected" in states:
        return COLORS["up"], None
    return COLORS["unknown"], None


def _draw_gateways(canvas, model, aws_x, azure_x):
    gateways = model["gateways"]
    top = TOP + 50
    bottom = _tunnel_y(3) + 40
    stroke, fill = COLORS["aws"]
    kind = gateways["aws"]["kind"]
    canvas.rect(aws_x, top, GW_W, bottom - top, fill, stroke, width=2)
    canvas.label(aws_x + 10, top + 18, {"vgw": "AWS VGW", "transit": "AWS TGW"}.get(kind, "AWS VGW or TGW"), size=13, weight="bold", color=stroke)
    canvas.label(aws_x + 10, top + 33, {"vgw": "virtual private gateway", "transit": "transit gateway"}.get(kind, "VPN gateway"),
                 size=9, room=GW_W - 20)
    routing = "static routes" if gateways["static"] else "BGP ASN %s" % (gateways["aws"]["asn"] or "?")
    canvas.label(aws_x + 10, top + 48, routing, size=10, font=MONO, room=GW_W - 20)
    stroke, fill = COLORS["azure"]
    canvas.rect(azure_x, top, GW_W, bottom - top, fill, stroke, width=2)
    canvas.label(azure_x + 10, top + 18, "Azure VPN gateway", size=13, weight="bold", color=stroke, room=GW_W - 20)
    canvas.label(azure_x + 10, top + 33, gateways["azure"]["name"], size=10, font=MONO, room=GW_W - 20)
    routing = "static routes" if gateways["static"] else "BGP ASN %s" % (gateways["azure"]["asn"] or "?")
    canvas.label(azure_x + 10, top + 48, routing, size=10, font=MONO, room=GW_W - 20)
    for position in range(2):
        y = _tunnel_y(position * 2) - 44
        height = 40 * 2 + 26
        canvas.rect(aws_x + 8, y, GW_W - 16, height, "#ffffff", COLORS["aws"][0], rx=4)
        canvas.label(aws_x + 16, y + 15, "VPN connection %d" % (position + 1), size=11, weight="bold", room=GW_W - 32)
        peer = gateways["azure"]["public_ips"][position]
        canvas.label(aws_x + 16, y + 28, "to %s" % (peer or "instance %d" % position), size=9, room=GW_W - 32, color=COLORS["muted"])
        canvas.rect(azure_x + 8, y, GW_W - 16, height, "#ffffff", COLORS["azure"][0], rx=4)
        canvas.label(azure_x + 16, y + 15, "instance %d" % position, size=11, weight="bold")
        canvas.label(azure_x + 16, y + 28, "public IP %s" % (peer or "unknown"), size=9, room=GW_W - 32,
                     color=COLORS["muted"])


def _draw_tunnels(canvas, model, aws_right, azure_left):
    middle = (aws_right + azure_left) // 2
    for position, tunnel in enumerate(model["tunnels"][:4]):
        y = _tunnel_y(position)
        color, dash = _tunnel_color(tunnel)
        canvas.open("g")
        canvas.add("title", "tunnel %s: %s, AWS %s (%s), Azure %s (%s)" % (
            tunnel["index"], tunnel["inside_cidr"], tunnel["aws_inside_ip"], tunnel["aws_status"] or "status unknown",
            tunnel["azure_inside_ip"], tunnel["azure_status"] or "status unknown"))
        canvas.add("line", x1=aws_right - 8, y1=y, x2=azure_left + 8, y2=y, stroke=color, stroke_width=3, stroke_dasharray=dash)
        canvas.add("circle", cx=aws_right - 8, cy=y, r=4, fill=color)
        canvas.add("circle", cx=azure_left + 8, cy=y, r=4, fill=color)
        canvas.label(middle, y - 6, "tunnel %s  %s" % (tunnel["index"], tunnel["inside_cidr"]), size=10, font=MONO, anchor="middle",
                     weight="bold", room=SPAN + 16)
        canvas.label(middle, y + 14, "%s \u2194 %s" % (tunnel["aws_inside_ip"] or "?", tunnel["azure_inside_ip"] or "?"), size=9, font=MONO,
                     anchor="middle", color=COLORS["muted"], room=SPAN + 16)
        if tunnel["aws_outside_ip"]:
            canvas.label(aws_right - 16, y - 6, tunnel["aws_outside_ip"], size=9, font=MONO, anchor="end", color=COLORS["muted"])
        canvas.close("g")
    if not model["tunnels"]:
        canvas.label(middle, _tunnel_y(1) + 20, "no tunnels in the plan", size=11, anchor="middle", color=COLORS["muted"])


def _draw_legend(canvas, model, y):
    x = PAD
    for label, meaning in (("cp", "kube_control_plane"), ("etcd", "etcd"), ("node", "kube_node")):
        width = len(label) * 6 + 8
        canvas.rect(x, y - 11, width, 14, COLORS[label], COLORS[label], rx=3)
        canvas.label(x + width // 2, y - 1, label, size=9, font=MONO, color="#ffffff", anchor="middle")
        canvas.label(x + width + 5, y, meaning, size=10, color=COLORS["muted"])
        x += width + 5 + len(meaning) * 6 + 18
    for key, meaning in (("up", "tunnel up"), ("down", "tunnel down"), ("unknown", "tunnel status not reported")):
        canvas.add("line", x1=x, y1=y - 4, x2=x + 24, y2=y - 4, stroke=COLORS[key], stroke_width=3,
                   stroke_dasharray="6 4" if key == "down" else None)
        canvas.label(x + 30, y, meaning, size=10, color=COLORS["muted"])
        x += 30 + len(meaning) * 6 + 18
    strays = [h for h in model["hosts"] if h["cloud"] not in CLOUDS]
    notes = ["more than %d nodes in a cloud are shown as counts per subnet" % model["max_nodes"]]
    if strays:
        notes.append("%d host%s in neither cloud not drawn" % (len(strays), "" if len(strays) == 1 else "s"))
    canvas.label(x, y, "; ".join(notes), size=10, color=COLORS["muted"])


def render_svg(model, title=None):
    """The drawing of a model made by ``platform_model``, as an SVG document (text)."""
    aws_x = PAD
    aws_gw_x = aws_x + CLOUD_W + LINK_W
    azure_gw_x = aws_gw_x + GW_W + SPAN
    azure_x = azure_gw_x + GW_W + LINK_W
    width = azure_x + CLOUD_W + PAD
    stretched = len(model["clusters"]) == 1 and len(model["clusters"][0]["clouds"]) > 1
    bands = {}
    for cluster in model["clusters"]:
        if not stretched:
            bands[cluster["clouds"][0]] = cluster
    box_height = max([_cloud_height(model["clouds"][c], c in bands) for c in CLOUDS] + [_tunnel_y(3) + 40 - TOP + 12])
    bottom = TOP + box_height
    if stretched:
        bottom += 12 + 48
    height = bottom + 40
    title = text(title) or "%s: hybrid platform on AWS and Azure" % (model["name"] or "platform")

    canvas = _Canvas()
    canvas.parts.append('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img">' % (width, height, width, height))
    canvas.add("title", title)
    canvas.rect(0, 0, width, height, "#ffffff", "none", rx=0)
    canvas.label(PAD, 28, title, size=18, weight="bold", room=width - 2 * PAD)
    subtitle = "topology %s" % model["topology"]
    if model["fingerprint"]:
        subtitle += " \u00b7 plan %s" % model["fingerprint"]
    canvas.label(PAD, 46, subtitle, size=11, color=COLORS["muted"])

    rows = {}
    for cloud, x in (("aws", aws_x), ("azure", azure_x)):
        rows.update(_draw_cloud(canvas, model, cloud, x, box_height, bands.get(cloud)))
    _draw_gateways(canvas, model, aws_gw_x, azure_gw_x)
    _draw_tunnels(canvas, model, aws_gw_x + GW_W, azure_gw_x)
    # The VGW or TGW is attached to the VPC; the Azure gateway lives in the GatewaySubnet.
    link_y = TOP + 50 + 24
    canvas.add("line", x1=aws_x + CLOUD_W, y1=link_y, x2=aws_gw_x, y2=link_y, stroke=COLORS["aws"][0], stroke_width=2)
    gateway_rows = [rows[id(s)] for s in model["clouds"]["azure"]["subnets"] if s["kind"] == "gateway"]
    target_y = (gateway_rows[0] + 30) if gateway_rows else link_y
    canvas.add("polyline", points="%d,%d %d,%d %d,%d %d,%d" % (azure_gw_x + GW_W, link_y, azure_gw_x + GW_W + 12, link_y,
                                                               azure_gw_x + GW_W + 12, target_y, azure_x + 12, target_y),
               fill="none", stroke=COLORS["azure"][0], stroke_width=2)
    if stretched:
        _draw_band(canvas, model["clusters"][0], aws_x, TOP + box_height + 12, width - 2 * PAD)
    _draw_legend(canvas, model, height - 14)
    canvas.parts.append("</svg>")
    return "\n".join(canvas.parts) + "\n"


def topology_svg(plan, network=None, vpn=None, hosts=None, max_nodes=DEFAULT_MAX_NODES, title=None):
    """The platform's topology as an SVG document; see topology_svg.yml."""
    return render_svg(platform_model(plan, network, vpn, hosts, max_nodes), title)


class FilterModule:
    """The platform's topology drawing."""

    def filters(self):
        return {"topology_svg": topology_svg}
