#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cross_cloud_sg
short_description: Least-privilege AWS security groups and Azure NSGs from one port matrix
version_added: 1.0.0
description:
  - Turns the platform's port matrix (Kubernetes, etcd, Cilium, ClusterMesh, Ceph, SSH) and the address plan
    into one AWS security group per node role and one Azure network security group per node role, attached to
    that role's subnets, and reconciles them - adds what is missing, removes rules it owns that are no longer
    wanted (O(purge_rules)), and leaves groups it did not make alone.
  - "In AWS, peers in the same VPC are referenced by security group; the other cloud's nodes by their subnet
    CIDRs, which reach the VPC through the VPN. In Azure, every source is a subnet CIDR; the rules get fixed
    priorities from 100 in steps of 10 and end with a deny of all other traffic from the VNet and the VPN at 4096,
    which overrides Azure's default rule that allows everything inside the VNet."
  - Nothing is opened to 0.0.0.0/0 or C(*). A range given in O(admin_cidrs) or O(nodeport_cidrs) is the only way
    to open SSH, the Kubernetes API or NodePorts to a wider network, and naming 0.0.0.0/0 there gives a warning.
    Components that must stay private (etcd, Kubernetes, Cilium, ClusterMesh, Ceph) refuse public ranges in
    O(extra_sources).
  - Rules are packed to stay under each cloud's limits (60 inbound rules per AWS group by default, NSG priorities
    100-4096); when a limit would be crossed the task fails before any change.
  - The seed's single rule "all TCP 0-65535 from the other cloud's public IP" is what this module replaces. It
    exposes every port of every node, etcd included, to whoever holds that address, while the clouds talk over
    the VPN's private addresses anyway; a compromised node in one cloud could reach the other cloud's etcd
    and kubelets. Here each port opens only to the peers that need it.
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
extends_documentation_fragment:
  - hybrid.cluster.aws
  - hybrid.cluster.azure
attributes:
  check_mode:
    support: full
    description: Lists the steps in RV(changes) without any mutating call.
  diff_mode:
    support: full
    description: Shows the rules per role before and after.
options:
  plan:
    description: The address plan, as returned by M(hybrid.cluster.cidr_plan).
    type: dict
    required: true
  state:
    description: Whether the groups should exist.
    type: str
    choices: [present, absent]
    default: present
  clouds:
    description: Which clouds to manage in this call.
    type: list
    elements: str
    choices: [aws, azure]
    default: [aws, azure]
  components:
    description: The components whose traffic is allowed.
    type: list
    elements: str
    choices: [kubernetes, etcd, cilium, clustermesh, ceph, ssh]
    default: [kubernetes, etcd, cilium, clustermesh, ceph, ssh]
  cilium_tunnel:
    description: Cilium's encapsulation (VXLAN 8472/udp, Geneve 6081/udp) or V(disabled) for native routing.
    type: str
    choices: [vxlan, geneve, disabled]
    default: vxlan
  cilium_encryption:
    description: Cilium's transparent encryption (WireGuard 51871/udp or IPsec ESP).
    type: str
    choices: [none, wireguard, ipsec]
    default: none
  hubble:
    description: Allow Hubble server (4244) and relay (4245) between nodes.
    type: bool
    default: true
  rbd_mirroring:
    description: Allow Ceph's monitors and daemons from the other cloud for RBD mirroring (mesh topology only).
    type: bool
    default: true
  admin_cidrs:
    description: Ranges allowed to reach SSH (22) on every node and the Kubernetes API (6443) on control plane nodes.
    type: list
    elements: str
    default: []
  nodeport_cidrs:
    description: Ranges allowed to reach NodePort services (30000-32767). NodePorts stay closed when empty.
    type: list
    elements: str
    default: []
  extra_sources:
    description:
      - Further private ranges for one component (or one of its flows by V(name)), for example a monitoring network
        that scrapes kubelets. Public ranges are refused for every component but SSH.
    type: list
    elements: dict
    default: []
    suboptions:
      component:
        description: The component.
        type: str
        required: true
      name:
        description: One flow of the component, for example V(kubelet); all of its flows when omitted.
        type: str
      cidrs:
        description: The ranges.
        type: list
        elements: str
        required: true
  purge_rules:
    description: Remove rules in the platform's groups that the matrix does not ask for.
    type: bool
    default: true
  aws_rule_limit:
    description: Inbound rules allowed per AWS security group (raise it only after raising the quota with AWS).
    type: int
    default: 60
  azure_resource_group:
    description: The resource group of the platform's VNet.
    type: str
  azure_location:
    description: Azure region for the NSGs. Required when creating them.
    type: str
  tags:
    description: Extra tags for the groups, besides the ownership and role tags.
    type: dict
    default: {}
  wait_timeout:
    description: Seconds to wait for each long-running Azure operation.
    type: int
    default: 1800
notes:
  - Run M(hybrid.cluster.cloud_network) first; the groups live in its VPC and VNet.
  - Egress is left as each cloud creates it.
  - The clustermesh-apiserver is allowed from the other cloud on its NodePort 32379 on every node, whether it is
    reached directly or through an internal load balancer (which listens on 2379 and forwards to the NodePort).
    Port 2379 itself stays closed to the other cloud, because on control plane nodes it is etcd's client port.
seealso:
  - module: hybrid.cluster.cidr_plan
  - module: hybrid.cluster.cloud_network
"""

EXAMPLES = r"""
- name: Security rules for both clouds, SSH and API from the office only
  hybrid.cluster.cross_cloud_sg:
    plan: "{{ shop_plan.plan }}"
    region: us-west-2
    azure_resource_group: shop-rg
    azure_location: westeurope
    admin_cidrs: [203.0.113.0/24]
    cilium_encryption: wireguard
  register: rules

- name: Show the effective matrix
  ansible.builtin.debug:
    var: rules.matrix

- name: Let the monitoring network scrape kubelets
  hybrid.cluster.cross_cloud_sg:
    plan: "{{ shop_plan.plan }}"
    region: us-west-2
    azure_resource_group: shop-rg
    azure_location: westeurope
    extra_sources:
      - {component: kubernetes, name: kubelet, cidrs: [10.9.0.0/24]}
"""

RETURN = r"""
matrix:
  description: The effective flows per cloud and destination role, after options and topology.
  returned: always
  type: list
  elements: dict
  sample:
    - {cloud: aws, role: control_plane, component: etcd, name: etcd-client-peer, protocol: tcp, from_port: 2379,
       to_port: 2380, source: {kind: role, cloud: aws, role: control_plane}}
changes:
  description: The steps taken (or that would be taken in check mode).
  returned: always
  type: list
  elements: dict
  sample:
    - {cloud: aws, action: authorize, resource: security-group, name: shop-workers, detail: {rules: 21}}
aws:
  description: Security group ids and the rules per role.
  returned: when aws is in O(clouds) and O(state=present)
  type: dict
  sample: {groups: {control_plane: sg-0abc, workers: sg-0def}, rules: {workers: ["tcp:10250 from shop-control-plane"]}}
azure:
  description: NSG names and the rules per role.
  returned: when azure is in O(clouds) and O(state=present)
  type: dict
  sample: {nsgs: {workers: shop-workers-nsg}, rules: {workers: ["100 Allow Tcp 2379 Inbound from 10.64.0.0/20 (hc-clustermesh-tcp-1)"]}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybrid.cluster.plugins.module_utils import aws_network, aws_security, azure_security, ports
from ansible_collections.hybrid.cluster.plugins.module_utils.aws import client_from_module
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import clients_from_module
from ansible_collections.hybrid.cluster.plugins.module_utils.cloud_module import cloud_argument_spec, run_and_exit, verified_plan

MATRIX_OPTIONS = ("components", "cilium_tunnel", "cilium_encryption", "hubble", "rbd_mirroring",
                  "admin_cidrs", "nodeport_cidrs", "extra_sources")


def argument_spec():
    return cloud_argument_spec(dict(
        plan=dict(type="dict", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        clouds=dict(type="list", elements="str", choices=["aws", "azure"], default=["aws", "azure"]),
        components=dict(type="list", elements="str", choices=list(ports.COMPONENTS), default=list(ports.COMPONENTS)),
        cilium_tunnel=dict(type="str", choices=list(ports.TUNNELS), default="vxlan"),
        cilium_encryption=dict(type="str", choices=list(ports.ENCRYPTIONS), default="none"),
        hubble=dict(type="bool", default=True),
        rbd_mirroring=dict(type="bool", default=True),
        admin_cidrs=dict(type="list", elements="str", default=[]),
        nodeport_cidrs=dict(type="list", elements="str", default=[]),
        extra_sources=dict(type="list", elements="dict", default=[], options=dict(
            component=dict(type="str", required=True),
            name=dict(type="str"),
            cidrs=dict(type="list", elements="str", required=True),
        )),
        purge_rules=dict(type="bool", default=True),
        aws_rule_limit=dict(type="int", default=ports.AWS_MAX_INBOUND_RULES),
        azure_resource_group=dict(type="str"),
        azure_location=dict(type="str"),
        tags=dict(type="dict", default={}),
        wait_timeout=dict(type="int", default=1800),
    ))


def compute(module):
    """Everything that can fail on input alone, before any cloud call."""
    plan = verified_plan(module)
    if "azure" in module.params["clouds"] and not module.params["azure_resource_group"]:
        module.fail_json(msg="azure_resource_group: required when azure is in clouds")
    options = {key: module.params[key] for key in MATRIX_OPTIONS}
    try:
        flows, warnings = ports.effective_matrix(plan, options)
        names = {role: aws_security.group_name(plan, role) for role in ports.ROLES}
        aws_rules = ports.aws_permissions(plan, flows, names, module.params["aws_rule_limit"])
        azure_rules = ports.azure_rules(plan, flows)
    except ports.PortsError as err:
        module.fail_json(msg=str(err), field=err.field)
    for warning in warnings:
        module.warn(warning)
    return plan, flows, aws_rules, azure_rules


def run_aws(module, plan, aws_rules, result):
    ec2 = client_from_module(module, "ec2")
    network = aws_network.describe(ec2, plan["name"])
    if network["vpc"] is None:
        if module.params["state"] == "absent":
            return
        module.fail_json(msg="no VPC carries hybrid-cluster=%s; run hybrid.cluster.cloud_network first" % plan["name"])
    vpc_id = network["vpc"]["id"]
    current = aws_security.describe(ec2, plan, vpc_id)
    names_by_id = {g["id"]: g["name"] for g in current.values()}
    result["diff"]["before"]["aws"] = aws_security.summary(current, names_by_id)
    if module.params["state"] == "absent":
        steps = aws_security.absent(ec2, current)
        result["diff"]["after"]["aws"] = {}
    else:
        steps, ids = aws_security.changes(ec2, plan, vpc_id, current, aws_rules, module.params["tags"], module.params["purge_rules"])
        planned = {role: {"rules": aws_security.desired_atoms(aws_rules[role], {g["name"]: g["id"] for g in current.values()})}
                   for role in ports.ROLES}
        result["diff"]["after"]["aws"] = aws_security.summary(planned, names_by_id)
    result["changes"] += [dict(s.to_dict(), cloud="aws") for s in steps]
    if not module.check_mode:
        aws_network.apply(steps)
    if module.params["state"] == "present":
        result["aws"] = {"groups": ids if not module.check_mode else {r: g["id"] for r, g in current.items()},
                         "rules": result["diff"]["after"]["aws"]}


def run_azure(module, plan, azure_rules, result):
    clients = clients_from_module(module)
    group = module.params["azure_resource_group"]
    try:
        current = azure_security.describe(clients, plan, group)
        result["diff"]["before"]["azure"] = azure_security.summary(current)
        if module.params["state"] == "absent":
            steps = azure_security.absent(clients, plan, group, current, module.params["wait_timeout"])
            result["diff"]["after"]["azure"] = {}
        else:
            if not module.params["azure_location"]:
                module.fail_json(msg="azure_location: required to create the NSGs")
            steps, wanted = azure_security.changes(clients, plan, group, module.params["azure_location"], current, azure_rules,
                                                   module.params["tags"], module.params["wait_timeout"], module.params["purge_rules"])
            result["diff"]["after"]["azure"] = azure_security.summary(wanted)
        result["changes"] += [dict(s.to_dict(), cloud="azure") for s in steps]
        if not module.check_mode:
            aws_network.apply(steps)
        if module.params["state"] == "present":
            result["azure"] = {"nsgs": {role: azure_security.nsg_name(plan, role) for role in ports.ROLES},
                               "rules": result["diff"]["after"]["azure"]}
    finally:
        clients.close()


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    plan, flows, aws_rules, azure_rules = compute(module)
    result = {"changed": False, "changes": [], "matrix": flows, "diff": {"before": {}, "after": {}}}

    def body():
        if "aws" in module.params["clouds"]:
            run_aws(module, plan, aws_rules, result)
        if "azure" in module.params["clouds"]:
            run_azure(module, plan, azure_rules, result)
    run_and_exit(module, result, body)


if __name__ == "__main__":
    main()
