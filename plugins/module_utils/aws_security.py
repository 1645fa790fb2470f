# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS security groups from the port matrix: one group per node role, reconciled rule by rule.

Same shape as ``azure_security``: ``describe()``, ``changes()``, ``absent()``. A rule is compared
as an atom ``(protocol, from_port, to_port, source)``: one CIDR or one group per atom, which is
also how AWS counts rules against a group's limit. Descriptions are not compared.
"""

from __future__ import annotations

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import OWNER_TAG_KEY, owner_filters, tag_specifications, tags_from_aws
from ansible_collections.hybrid.cluster.plugins.module_utils.aws_network import ROLE_TAG_KEY, Change
from ansible_collections.hybrid.cluster.plugins.module_utils.ports import ROLES

AWS_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "esp": "50"}
_FROM_AWS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp", "50": "esp", "-1": "all"}


def group_name(plan, role):
    return "%s-%s" % (plan["name"], role.replace("_", "-"))


def describe(ec2, plan, vpc_id):
    """The platform's groups in the VPC: ``{role: {id, name, tags, rules: {atom: description}}}``."""
    found = {}
    filters = owner_filters(plan["name"], {"vpc-id": vpc_id})
    for group in ec2.collect("describe_security_groups", "SecurityGroups", Filters=filters):
        tags = tags_from_aws(group.get("Tags"))
        role = (tags.get(ROLE_TAG_KEY) or "").replace("sg-", "", 1)
        if role not in ROLES:
            continue
        found[role] = {"id": group["GroupId"], "name": group["GroupName"], "tags": tags, "rules": _atoms(group.get("IpPermissions") or [])}
    return found


def _atoms(permissions):
    atoms = {}
    for perm in permissions:
        protocol = _FROM_AWS.get(str(perm.get("IpProtocol")), str(perm.get("IpProtocol")))
        first = perm.get("FromPort", -1)
        last = perm.get("ToPort", -1)
        if protocol == "esp":
            first = last = -1
        for item in perm.get("IpRanges") or []:
            atoms[(protocol, first, last, "cidr", item["CidrIp"])] = item.get("Description", "")
        for item in perm.get("UserIdGroupPairs") or []:
            atoms[(protocol, first, last, "group", item["GroupId"])] = item.get("Description", "")
    return atoms


def desired_atoms(permissions, group_ids):
    """Atoms from ``ports.aws_permissions`` output, with group names replaced by ids."""
    atoms = {}
    for rule in permissions:
        if rule.get("source_group"):
            source = ("group", group_ids.get(rule["source_group"], rule["source_group"]))
        else:
            source = ("cidr", rule["cidr"])
        atoms[(rule["protocol"], rule["from_port"], rule["to_port"]) + source] = rule["description"]
    return atoms


def _permission(atom, description):
    protocol, first, last, kind, value = atom
    perm = {"IpProtocol": AWS_PROTOCOLS[protocol]}
    if protocol != "esp":
        perm["FromPort"] = first
        perm["ToPort"] = last
    if kind == "group":
        perm["UserIdGroupPairs"] = [{"GroupId": value, "Description": description}]
    else:
        perm["IpRanges"] = [{"CidrIp": value, "Description": description}]
    return perm


def summary(groups, names_by_id):
    """Rules per role as readable strings, for diffs and results."""
    result = {}
    for role, group in sorted(groups.items()):
        lines = []
        for (protocol, first, last, kind, value) in sorted(group["rules"], key=str):
            source = names_by_id.get(value, value) if kind == "group" else value
            ports = "" if protocol in ("esp", "all") else (":%d" % first if first == last else ":%d-%d" % (first, last))
            lines.append("%s%s from %s" % (protocol, ports, source))
        result[role] = sorted(lines)
    return result


def changes(ec2, plan, vpc_id, current, permissions, tags, purge_rules=True):
    """Steps that create missing groups and add or remove rules; ``permissions`` is per role."""
    steps = []
    ids = {role: group["id"] for role, group in current.items()}
    names = {role: group_name(plan, role) for role in ROLES}
    for role in ROLES:
        if role in current:
            continue

        def create_group(role=role):
            wanted_tags = dict(tags or {})
            wanted_tags.update({"Name": names[role], OWNER_TAG_KEY: plan["name"], ROLE_TAG_KEY: "sg-" + role})
            result = ec2.create_security_group(GroupName=names[role], VpcId=vpc_id,
                                               Description="hybrid.cluster %s nodes of %s" % (role.replace("_", " "), plan["name"]),
                                               TagSpecifications=tag_specifications("security-group", wanted_tags))
            ids[role] = result["GroupId"]
        steps.append(Change("create", "security-group", names[role], create_group))

    for role in ROLES:
        have = (current.get(role) or {}).get("rules") or {}

        def wanted_now(role=role):
            # Group ids of groups created in this run are only known when the steps run.
            return desired_atoms(permissions[role], {names[r]: ids.get(r, names[r]) for r in ROLES})

        planned = wanted_now()
        to_add = [a for a in planned if a not in have]
        to_remove = [a for a in have if a not in planned] if purge_rules else []
        if to_add:
            def authorize(role=role, have=have):
                wanted = wanted_now(role)
                missing = [a for a in wanted if a not in have]
                ec2.authorize_security_group_ingress(GroupId=ids[role], IpPermissions=[_permission(a, wanted[a]) for a in missing])
            steps.append(Change("authorize", "security-group", names[role], authorize, {"rules": len(to_add)}))
        if to_remove:
            def revoke(role=role, to_remove=to_remove):
                ec2.revoke_security_group_ingress(GroupId=ids[role], IpPermissions=[_permission(a, have[a]) for a in to_remove])
            steps.append(Change("revoke", "security-group", names[role], revoke, {"rules": len(to_remove)}))
    return steps, ids


def absent(ec2, current):
    """Steps that empty the groups (they reference each other) and then delete them."""
    steps = []
    groups = [current[role] for role in sorted(current)]
    for group in groups:
        if group["rules"]:
            steps.append(Change("revoke", "security-group", group["name"], lambda group=group: ec2.revoke_security_group_ingress(
                GroupId=group["id"], IpPermissions=[_permission(a, d) for a, d in group["rules"].items()]), {"rules": len(group["rules"])}))
    for group in groups:
        steps.append(Change("delete", "security-group", group["name"], lambda group=group: ec2.delete_security_group(GroupId=group["id"])))
    return steps
