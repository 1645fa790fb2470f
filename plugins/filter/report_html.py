# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform report: one self-contained HTML page (documented in report_html.yml).

The page is built from the same model as the topology drawing (``topology_svg.platform_model``)
plus the security rules, the phases and the artifacts. Pure computation: the artifacts' content is
handed in (the report role reads the files), nothing is written, and the same input always gives
the same bytes. Every piece of text is escaped; the page loads nothing (inline CSS, inline SVG).
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from collections.abc import Mapping
from urllib.parse import quote

from ansible_collections.hybrid.cluster.plugins.filter.topology_svg import (
    CLOUD_NAMES,
    CLOUDS,
    DEFAULT_MAX_NODES,
    dig,
    esc,
    fail,
    list_of,
    mapping_of,
    network_of,
    platform_model,
    render_svg,
    text,
)
from ansible_collections.hybrid.cluster.plugins.module_utils import ports

NAME = "report_html"

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2430;margin:0;background:#f6f7f9;line-height:1.4}
header,main,footer{max-width:1500px;margin:0 auto;padding:0 20px}
header{padding-top:18px}
h1{font-size:1.6em;margin:0 0 4px}
h2{font-size:1.25em;margin:28px 0 8px;border-bottom:2px solid #d7dbe0;padding-bottom:4px}
h3{font-size:1.05em;margin:18px 0 6px}
nav a{margin-right:14px}
section{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:4px 16px 14px;margin:16px 0}
table{border-collapse:collapse;width:100%;font-size:.9em;margin:6px 0}
th,td{border:1px solid #d7dbe0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}
tbody tr:nth-child(even){background:#fafbfc}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f3f4f6;border:1px solid #e1e4e8;border-radius:6px;padding:10px;overflow:auto;max-height:600px;font-size:.85em}
figure{margin:0;overflow-x:auto}
figure svg{max-width:100%;height:auto}
.meta,.note{color:#5b6470}
.changed{color:#9a5b00;font-weight:bold}
.ok{color:#1f7a4d}
.down{color:#b3261e;font-weight:bold}
.warn{color:#b3261e}
.badge{display:inline-block;border-radius:3px;padding:0 5px;margin-right:3px;color:#fff;font-size:.8em;background:#5b6470}
.badge-kube_control_plane{background:#6b3fa0}
.badge-etcd{background:#9a5b00}
.badge-kube_node{background:#1f7a4d}
details{margin:6px 0}
summary{cursor:pointer}
footer{padding-bottom:24px}
""".strip()

KIND_NAMES = {
    "vpc": "AWS VPC",
    "vnet": "Azure VNet",
    "control_plane": "control plane nodes",
    "workers": "worker nodes",
    "gateway": "Azure VPN gateway (GatewaySubnet)",
    "subnet": "node subnet",
    "reserved": "reserved: in use elsewhere, kept out of the plan",
}
CLOUD_COLUMN = {"aws": "AWS", "azure": "Azure", "both": "AWS and Azure", "vpn": "VPN", "external": "elsewhere"}


# ---------------------------------------------------------------------------------------------
# Small pieces of HTML


def _cell(value, tag="td", css=None):
    return "<%s%s>%s</%s>" % (tag, ' class="%s"' % css if css else "", value, tag)


def table(headers, rows, caption=None):
    """A table; ``rows`` are lists of cells that are already HTML (escape them on the way in)."""
    out = ["<table>"]
    if caption:
        out.append("<caption>%s</caption>" % esc(caption))
    out.append("<thead><tr>%s</tr></thead>" % "".join(_cell(esc(h), "th") for h in headers))
    out.append("<tbody>")
    out += ["<tr>%s</tr>" % "".join(c if c.startswith("<td") else _cell(c) for c in row) for row in rows]
    out.append("</tbody></table>")
    return "\n".join(out)


def _code(value):
    value = text(value)
    return '<code>%s</code>' % esc(value) if value else ""


def _badges(roles):
    return " ".join('<span class="badge badge-%s">%s</span>' % (re.sub(r"[^a-z0-9_-]", "-", r.lower()), esc(r)) for r in roles)


def _note(value):
    return '<p class="note">%s</p>' % value


def duration(seconds):
    """Seconds as a short human text: 12.3 s, 4 min 05 s, 1 h 02 min."""
    if seconds is None or seconds == "":
        return ""
    try:
        seconds = float(seconds)
    except (TypeError, ValueError):
        return text(seconds)
    if seconds < 60:
        return "%.1f s" % seconds
    whole = int(round(seconds))
    if whole < 3600:
        return "%d min %02d s" % (whole // 60, whole % 60)
    return "%d h %02d min" % (whole // 3600, whole % 3600 // 60)


def _bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "true", "1", "on", "changed")
    return bool(value)


# ---------------------------------------------------------------------------------------------
# Sections


def phases_section(phases):
    phases = list_of(phases, NAME, "phases")
    if not phases:
        return _note("No phases were given.")
    rows = []
    total = 0.0
    changed = 0
    for index, phase in enumerate(phases):
        if not isinstance(phase, Mapping):
            fail(NAME, "phases[%d]: expected a mapping with name, changed and elapsed" % index)
        is_changed = _bool(phase.get("changed"))
        changed += is_changed
        try:
            total += float(phase.get("elapsed") or 0)
        except (TypeError, ValueError):
            pass
        rows.append([esc(phase.get("name") or "phase %d" % (index + 1)),
                     _cell("changed" if is_changed else "no change", css="changed" if is_changed else "ok"),
                     esc(duration(phase.get("elapsed")))])
    rows.append(["<strong>all %d phases</strong>" % len(phases), "%d changed" % changed, "<strong>%s</strong>" % esc(duration(total))])
    return table(["Phase", "Result", "Elapsed"], rows)


def _plan_entries(plan):
    """Every range the plan holds, with its kind and field: the plan's own list, else collected from it."""
    entries = [dict(e) for e in plan.get("allocations") or [] if isinstance(e, Mapping) and e.get("cidr")]
    if not entries:
        for cloud in CLOUDS:
            section = plan.get(cloud) if isinstance(plan.get(cloud), Mapping) else {}
            entries.append({"cidr": section.get("network"), "cloud": cloud, "kind": "vpc" if cloud == "aws" else "vnet", "field": cloud + ".network"})
            for index, subnet in enumerate(section.get("subnets") or []):
                if isinstance(subnet, Mapping):
                    entries.append({"cidr": subnet.get("cidr"), "cloud": cloud, "kind": subnet.get("role") or "subnet",
                                    "field": "%s.subnets[%d]" % (cloud, index)})
            for key in ("pods", "services"):
                entries.append({"cidr": section.get(key), "cloud": cloud, "kind": key, "field": "%s.%s" % (cloud, key)})
        for index, tunnel in enumerate(dig(plan, "vpn", "tunnels") or []):
            if isinstance(tunnel, Mapping):
                entries.append({"cidr": tunnel.get("inside_cidr"), "cloud": "vpn", "kind": "tunnel", "field": "vpn.tunnels[%d]" % index})
    seen = {text(e.get("cidr")) for e in entries}
    supernets = {}
    for cloud in CLOUDS:
        supernet = text(dig(plan, cloud, "supernet"))
        if supernet:
            supernets.setdefault(supernet, []).append(cloud)
    for supernet, clouds in sorted(supernets.items()):
        if supernet not in seen:
            entries.append({"cidr": supernet, "cloud": "both" if len(clouds) > 1 else clouds[0], "kind": "supernet",
                            "field": " / ".join("%s.supernet" % c for c in clouds)})
    entries = [e for e in entries if text(e.get("cidr"))]

    def order(entry):
        net = network_of(entry.get("cidr"))
        return (0, int(net.network_address), net.prefixlen) if net is not None else (1, 0, 0)
    return sorted(entries, key=lambda e: order(e) + (text(e.get("field")),))


def _purpose(entry, model, plan):
    kind = text(entry.get("kind"))
    cloud = text(entry.get("cloud"))
    field = text(entry.get("field"))
    if kind in ("control_plane", "workers", "gateway", "subnet"):
        subnet = _subnet_of(model, cloud, entry.get("cidr"))
        what = KIND_NAMES.get(kind, kind)
        if subnet is not None and subnet["zone"]:
            what += ", zone %s" % subnet["zone"]
        if subnet is not None and subnet["name"] and kind != "gateway":
            what += " (%s)" % subnet["name"]
        return esc(what)
    if kind in ("pods", "services"):
        section = plan.get(cloud if cloud in CLOUDS else "aws") or {}
        cluster = text(section.get("cluster_name"))
        if kind == "pods":
            detail = "pods of cluster %s" % cluster
            if section.get("node_prefix"):
                detail += ": a /%s per node" % text(section.get("node_prefix"))
                if section.get("max_pods_per_node"):
                    detail += ", up to %s pods each" % text(section.get("max_pods_per_node"))
            return esc(detail)
        first = network_of(entry.get("cidr"))
        detail = "services of cluster %s" % cluster
        if first is not None and first.num_addresses > 2:
            detail += " (the kubernetes service is %s)" % (first.network_address + 1)
        return esc(detail)
    if kind == "tunnel":
        for tunnel in model["tunnels"]:
            if tunnel["inside_cidr"] == text(entry.get("cidr")):
                return esc("VPN tunnel %s inside range: AWS %s, Azure %s (AWS VPN connection %s, Azure gateway instance %s)" % (
                    tunnel["index"], tunnel["aws_inside_ip"], tunnel["azure_inside_ip"], tunnel["aws_connection"], tunnel["azure_instance"]))
        return esc("VPN tunnel inside range")
    if kind == "supernet":
        return esc("supernet the %s ranges are allocated from" % (" and ".join(CLOUD_NAMES[c] for c in CLOUDS if c in field)))
    return esc(KIND_NAMES.get(kind, kind))


def _subnet_of(model, cloud, cidr):
    for candidate in ([cloud] if cloud in CLOUDS else list(CLOUDS)):
        for subnet in model["clouds"][candidate]["subnets"]:
            if subnet["cidr"] and subnet["cidr"] == text(cidr):
                return subnet
    return None


def _resource(entry, model):
    kind = text(entry.get("kind"))
    cloud = text(entry.get("cloud"))
    if kind in ("vpc", "vnet") and cloud in CLOUDS:
        return _code(model["clouds"][cloud]["resource"])
    subnet = _subnet_of(model, cloud, entry.get("cidr")) if kind in ("control_plane", "workers", "gateway", "subnet") else None
    if subnet is None:
        return ""
    if subnet["reported_cidr"]:
        return '<span class="warn">in the cloud: %s</span>' % esc(subnet["reported_cidr"])
    return _code(subnet["resource"])


def plan_section(plan, model):
    rows = []
    for entry in _plan_entries(plan):
        net = network_of(entry.get("cidr"))
        rows.append([_code(entry.get("cidr")), esc(CLOUD_COLUMN.get(text(entry.get("cloud")), text(entry.get("cloud")))),
                     _purpose(entry, model, plan), esc("{:,}".format(net.num_addresses) if net is not None else ""),
                     _code(entry.get("field")), _resource(entry, model)])
    out = []
    if plan.get("complete") is False or plan.get("missing"):
        out.append('<p class="warn">The plan is incomplete; it lacks: %s.</p>' % esc(", ".join(text(m) for m in plan.get("missing") or [])))
    out.append(table(["Range", "Cloud", "For", "Addresses", "Plan field", "Cloud resource"], rows))
    return "\n".join(out)


def vpn_section(model, vpn):
    gateways = model["gateways"]
    kind = {"vgw": "a virtual private gateway", "transit": "a transit gateway"}.get(gateways["aws"]["kind"], "a virtual private or transit gateway")
    routing = ("static routes" if gateways["static"]
               else "BGP between ASN %s (AWS) and ASN %s (Azure)" % (gateways["aws"]["asn"] or "?", gateways["azure"]["asn"] or "?"))
    out = [_note("AWS end: %s with two VPN connections. Azure end: the active-active VPN gateway %s. Routing: %s." % (
        esc(kind), _code(gateways["azure"]["name"]), esc(routing)))]
    rows = []
    for tunnel in model["tunnels"]:
        status = []
        for side, value in (("AWS", tunnel["aws_status"]), ("Azure", tunnel["azure_status"])):
            if value:
                css = "down" if value.upper() == "DOWN" or value.lower() == "notconnected" else None
                status.append('%s <span%s>%s</span>' % (side, ' class="down"' if css else "", esc(value)))
        rows.append([esc(tunnel["index"]), esc(tunnel["aws_connection"]), esc(tunnel["azure_instance"]), _code(tunnel["inside_cidr"]),
                     _code(tunnel["aws_inside_ip"]), _code(tunnel["azure_inside_ip"]), _code(tunnel["aws_outside_ip"]),
                     _code(tunnel["azure_public_ip"]), esc(" / ".join(v for v in (tunnel["aws_asn"], tunnel["azure_asn"]) if v)),
                     ", ".join(status) or '<span class="note">not reported</span>'])
    if rows:
        out.append(table(["Tunnel", "AWS VPN connection", "Azure instance", "Inside /30", "AWS inside (BGP peer)", "Azure inside (APIPA)",
                          "AWS outside IP", "Azure public IP", "ASN AWS / Azure", "Status"], rows))
    else:
        out.append(_note("The plan has no tunnels."))
    if vpn:
        if vpn.get("pending"):
            out.append('<p class="warn">Still being provisioned: %s.</p>' % esc(", ".join(text(p) for p in vpn["pending"])))
        if vpn.get("keys_generated"):
            out.append(_note("New pre-shared keys were generated in this run."))
        if vpn.get("elapsed_seconds") is not None:
            out.append(_note("The VPN took %s in this run." % esc(duration(vpn["elapsed_seconds"]))))
    out.append(_note("Pre-shared keys are never part of this report."))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Security rules


def _ports(protocol, first, last):
    protocol = text(protocol).lower()
    if protocol in ("esp", "all", "-1", "*"):
        return "all"
    if protocol == "icmp":
        return "type %s" % first if text(first) not in ("", "-1") else "all"
    if text(first) == text(last) or text(last) in ("", "None"):
        return text(first)
    return "%s-%s" % (text(first), text(last))


def _group_name(plan, role):
    return "%s-%s" % (text(plan.get("name")), role.replace("_", "-"))


def _covers(rule, flow, plan, names):
    """Whether a packed AWS rule lets ``flow`` in (same protocol, ports inside, same source)."""
    if flow["protocol"] != rule["protocol"]:
        return False
    if flow["protocol"] in ("tcp", "udp") and not rule["from_port"] <= flow["from_port"] <= flow["to_port"] <= rule["to_port"]:
        return False
    if flow["protocol"] not in ("tcp", "udp") and flow["from_port"] != rule["from_port"]:
        return False
    source = flow["source"]
    if rule.get("source_group"):
        return source["kind"] == "role" and source["cloud"] == "aws" and names[source["role"]] == rule["source_group"]
    if source["kind"] == "cidr":
        return source["cidr"] == rule.get("cidr")
    return source["cloud"] != "aws" and rule.get("cidr") in ports.role_cidrs(plan, source["cloud"], source["role"])


def _aws_rows(plan, flows):
    """AWS rules as cross_cloud_sg packs them; each described by the flows it lets in, rules alike merged."""
    names = {role: _group_name(plan, role) for role in ports.ROLES}
    permissions = ports.aws_permissions(plan, flows, names, limit=10 ** 6)
    protocols = ("tcp", "udp", "icmp", "esp")
    tables = {}
    for role in ports.ROLES:
        merged = {}
        for rule in permissions.get(role) or []:
            covered = sorted({f["name"] for f in flows if f["role"] == role and _covers(rule, f, plan, names)})
            key = (protocols.index(rule["protocol"]) if rule["protocol"] in protocols else len(protocols), rule["from_port"], rule["to_port"],
                   rule["protocol"], ", ".join(covered))
            source = "%s (security group)" % rule["source_group"] if rule.get("source_group") else rule.get("cidr")
            merged.setdefault(key, []).append(text(source))
        tables[role] = [{"direction": "Inbound", "protocol": protocol, "ports": _ports(protocol, first, last), "sources": sources,
                         "description": description}
                        for (_order, first, last, protocol, description), sources in sorted(merged.items())]
    return tables


def _azure_rows(plan, flows):
    rules = ports.azure_rules(plan, flows)
    tables = {}
    for role in ports.ROLES:
        tables[role] = [{"priority": text(r.get("priority")), "access": text(r.get("access")), "direction": text(r.get("direction")),
                         "protocol": text(r.get("protocol")), "ports": ", ".join(text(p) for p in r.get("destination_port_ranges") or []),
                         "sources": [text(s) for s in r.get("source_address_prefixes") or [r.get("source_address_prefix")] if s],
                         "description": text(r.get("description")), "name": text(r.get("name"))} for r in rules.get(role) or []]
    return tables


_AWS_LINE = re.compile(r"^(?P<protocol>[^:\s]+)(?::(?P<ports>\S+))? from (?P<source>.+)$")
_AZURE_LINE = re.compile(r"^(?P<priority>\S+) (?P<access>\S+) (?P<protocol>\S+) (?P<ports>\S+) (?P<direction>\S+) from (?P<sources>\S*) \((?P<name>.*)\)$")


def _parsed_rows(cloud, lines):
    """The rule lines a result reports (used when it has no matrix), split into columns."""
    rows = []
    for line in lines or []:
        line = text(line)
        match = (_AWS_LINE if cloud == "aws" else _AZURE_LINE).match(line)
        if match is None:
            rows.append({"direction": "", "protocol": "", "ports": "", "sources": [], "description": line})
        elif cloud == "aws":
            rows.append({"direction": "Inbound", "protocol": match["protocol"], "ports": match["ports"] or "all", "sources": [match["source"]],
                         "description": ""})
        else:
            rows.append({"priority": match["priority"], "access": match["access"], "direction": match["direction"], "protocol": match["protocol"],
                         "ports": match["ports"].replace(",", ", "), "sources": [s for s in match["sources"].split(",") if s],
                         "description": "", "name": match["name"]})
    return rows


def security_tables(plan, security):
    """The rules per security group and NSG: ``[{cloud, role, title, columns, rows}]``.

    With the result's ``matrix`` the rules are packed by the collection's port-matrix code, exactly
    as cross_cloud_sg applies them (descriptions included); without it, the result's rule lines.
    """
    matrix = [f for f in security.get("matrix") or [] if isinstance(f, Mapping)]
    clouds = [c for c in CLOUDS if isinstance(security.get(c), Mapping) or any(f.get("cloud") == c for f in matrix)]
    out = []
    for cloud in clouds:
        reported = security.get(cloud) if isinstance(security.get(cloud), Mapping) else {}
        flows = [f for f in matrix if f.get("cloud") == cloud]
        try:
            if flows:
                tables = (_aws_rows if cloud == "aws" else _azure_rows)(plan, flows)
            else:
                lines = reported.get("rules") if isinstance(reported.get("rules"), Mapping) else {}
                tables = {role: _parsed_rows(cloud, lines.get(role)) for role in sorted(lines)}
        except (KeyError, TypeError, ValueError, ports.PortsError) as exc:
            fail(NAME, "security: the %s rules cannot be read from the cross_cloud_sg result (%s: %s)" % (cloud, type(exc).__name__, exc))
        for role, rows in tables.items():
            if cloud == "aws":
                group_id = text(dig(reported, "groups", role))
                title = "AWS security group %s" % _group_name(plan, role) + (" (%s)" % group_id if group_id else "")
                columns = ["direction", "protocol", "ports", "sources", "description"]
            else:
                nsg = text(dig(reported, "nsgs", role)) or "%s-nsg" % _group_name(plan, role)
                title = "Azure NSG %s" % nsg
                columns = ["priority", "access", "direction", "protocol", "ports", "sources", "description", "name"]
            out.append({"cloud": cloud, "role": role, "title": "%s, for the %s nodes" % (title, role.replace("_", " ")),
                        "columns": columns, "rows": rows})
    return out


def security_section(plan, security):
    if not security:
        return _note("No cross_cloud_sg result was given.")
    tables = security_tables(plan, security)
    if not tables:
        return _note("The cross_cloud_sg result holds no rules.")
    out = []
    for entry in tables:
        out.append("<h3>%s</h3>" % esc(entry["title"]))
        rows = []
        for rule in entry["rows"]:
            cells = []
            for column in entry["columns"]:
                value = rule.get(column)
                if column == "sources":
                    cells.append("<br>".join(_code(s) for s in value or []))
                elif column in ("ports", "name"):
                    cells.append(_code(value))
                else:
                    cells.append(esc(value))
            rows.append(cells)
        out.append(table([c.capitalize() for c in entry["columns"]], rows) if rows else _note("No rules."))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Hosts and artifacts


def hosts_section(model):
    if not model["hosts"]:
        return _note("No hosts were given.")
    rows = []
    for host in model["hosts"]:
        if host["cloud"] not in CLOUDS:
            subnet = '<span class="note">in neither cloud</span>'
        elif host["subnet"]:
            subnet = esc(host["subnet"])
        else:
            subnet = '<span class="warn">outside the plan&#39;s subnets</span>'
        rows.append([esc(host["name"]), esc(CLOUD_NAMES.get(host["cloud"], host["cloud"])), _code(host["ip"]), esc(host["zone"]),
                     _badges(host["roles"]), esc(host["cluster"]), subnet])
    counts = ", ".join("%d in %s" % (model["clouds"][c]["hosts"], CLOUD_NAMES[c]) for c in CLOUDS)
    return _note("%d hosts: %s." % (len(model["hosts"]), counts)) + "\n" + table(["Name", "Cloud", "IP", "Zone", "Roles", "Cluster", "Subnet"], rows)


def href(path, base):
    """A link to ``path`` relative to the directory ``base`` (both on the controller), URL-quoted."""
    path = text(path)
    base = text(base)
    if base and posixpath.isabs(path) and posixpath.isabs(base):
        path = posixpath.relpath(posixpath.normpath(path), posixpath.normpath(base))
    return quote(path, safe="/._-~")


# A "key: value" line (YAML, also in a list item or quoted) whose key names a secret. Rendered
# Kubespray variables can hold registry passwords (containerd_registry_auth); the page never shows
# such a value.
_SECRET_LINE = re.compile(r"""^(\s*(?:-\s+)?["']?)([\w.-]*(?:password|passwd|secret|token|private_?key|pre_?shared_?keys?|psk|authorization))"""
                          r"""(["']?\s*[:=]\s*)(\S.*)$""", re.IGNORECASE)
# The same inside a flow mapping ({registry: r, password: p}): the value up to the next , or }.
_SECRET_FLOW = re.compile(r"""([\w.-]*(?:password|passwd|secret|token|private_?key|pre_?shared_?keys?|psk|authorization)["']?\s*:\s*)"""
                          r"""([^,}\n]+)""", re.IGNORECASE)
REDACTED = "<redacted>"


def _redact_line(line):
    line = _SECRET_LINE.sub(lambda m: m.group(1) + m.group(2) + m.group(3) + REDACTED, line)
    if "{" in line:
        line = _SECRET_FLOW.sub(lambda m: m.group(1) + (REDACTED if m.group(2).strip() != REDACTED else m.group(2)), line)
    return line


def redact_secrets(content):
    """``content`` with the value of every key that names a secret replaced by <redacted>."""
    return "\n".join(_redact_line(line) for line in content.split("\n"))


def _content(artifact, index):
    if artifact.get("content") is not None:
        return redact_secrets(text(artifact["content"]))
    if artifact.get("content_base64") is not None:
        try:
            raw = base64.b64decode(text(artifact["content_base64"]), validate=True)
        except (binascii.Error, ValueError):
            fail(NAME, "artifacts[%d].content_base64: not base64" % index)
        return redact_secrets(raw.decode("utf-8", errors="replace"))
    return None


def artifacts_section(artifacts, report_dir):
    artifacts = list_of(artifacts, NAME, "artifacts")
    if not artifacts:
        return _note("No artifacts were given.")
    out = []
    for index, artifact in enumerate(artifacts):
        if not isinstance(artifact, Mapping) or not artifact.get("path"):
            fail(NAME, "artifacts[%d]: expected a mapping with title and path" % index)
        path = posixpath.normpath(text(artifact["path"]))
        title = text(artifact.get("title")) or posixpath.basename(path)
        link = '<a href="%s">%s</a>' % (esc(href(path, report_dir)), esc(title))
        size = artifact.get("size")
        facts = [_code(path)] + (["%s bytes" % esc("{:,}".format(size))] if isinstance(size, int) else [])
        content = _content(artifact, index)
        if content is not None:
            out.append("<details><summary>%s <span class=\"meta\">%s</span></summary>\n<pre><code>%s</code></pre></details>" % (
                link, " \u00b7 ".join(facts), esc(content)))
        elif artifact.get("missing"):
            out.append('<p>%s <span class="warn">not found: %s</span></p>' % (esc(title), _code(path)))
        else:
            facts.append(esc(artifact.get("note") or "not embedded"))
            out.append('<p>%s <span class="meta">%s</span></p>' % (link, " \u00b7 ".join(facts)))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# The page


def report_html(plan, network=None, vpn=None, security=None, hosts=None, artifacts=None, phases=None, title=None,
                report_dir=None, svg=None, svg_file="topology.svg", max_nodes=DEFAULT_MAX_NODES):
    """The whole report as one HTML document; see report_html.yml."""
    model = platform_model(plan, network, vpn, hosts, max_nodes, name=NAME)
    plan = mapping_of(plan, NAME, "the address plan")
    vpn = mapping_of(vpn, NAME, "vpn")
    security = mapping_of(security, NAME, "security")
    name = model["name"] or "platform"
    # Drawn with the title topology_svg gives it, so that the page shows the same bytes as topology.svg.
    svg = text(svg) if svg else render_svg(model, title)
    title = text(title) or "%s: hybrid platform report" % name
    if svg.lstrip().startswith("<?xml"):
        svg = svg.split("?>", 1)[1]
    facts = ["platform %s" % _code(name), "topology %s" % esc(model["topology"])]
    if model["fingerprint"]:
        facts.append("plan %s" % _code(model["fingerprint"]))
    clusters = ", ".join("%s (%s)" % (_code(c["name"]), esc(" and ".join(CLOUD_NAMES.get(x, x) for x in c["clouds"]))) for c in model["clusters"])
    facts.append("clusters %s" % clusters)
    figure = "<figure>\n%s\n%s</figure>" % (svg.strip(), "<figcaption class=\"meta\">Also as <a href=\"%s\">%s</a>.</figcaption>\n" % (
        esc(quote(text(svg_file), safe="/._-~")), esc(svg_file)) if svg_file else "")
    sections = (
        ("phases", "Phases", phases_section(phases)),
        ("topology", "Topology", figure),
        ("plan", "Address plan", plan_section(plan, model)),
        ("vpn", "VPN tunnels", vpn_section(model, vpn)),
        ("security", "Security rules", security_section(plan, security)),
        ("hosts", "Hosts", hosts_section(model)),
        ("artifacts", "Artifacts", artifacts_section(artifacts, report_dir)),
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="hybrid.cluster.report">',
        "<title>%s</title>" % esc(title),
        "<style>\n%s\n</style>" % CSS,
        "</head>",
        "<body>",
        "<header>",
        "<h1>%s</h1>" % esc(title),
        '<p class="meta">%s</p>' % " \u00b7 ".join(facts),
        "<nav>%s</nav>" % "".join('<a href="#%s">%s</a>' % (anchor, esc(heading)) for anchor, heading, _body in sections),
        "</header>",
        "<main>",
    ]
    for anchor, heading, body in sections:
        parts += ['<section id="%s">' % anchor, "<h2>%s</h2>" % esc(heading), body, "</section>"]
    parts += [
        "</main>",
        '<footer class="meta">Written by the hybrid.cluster.report role from the results it was given; '
        "nothing on this page depends on when it was written.</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


class FilterModule:
    """The platform report page."""

    def filters(self):
        return {"report_html": report_html}
