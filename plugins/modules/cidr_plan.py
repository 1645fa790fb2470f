#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cidr_plan
short_description: One non-overlapping address plan for an AWS and Azure hybrid platform
version_added: 1.0.0
description:
  - Computes every address range a hybrid Kubernetes platform needs in AWS and Azure from one supernet
    (or one per cloud) - the VPC and VNet, node subnets per role (spread over availability zones in AWS),
    the Azure C(GatewaySubnet), pod and service ranges per cluster, the per-node pod prefix, the tunnel
    inside ranges of a four-tunnel active-active site-to-site VPN, BGP ASNs and Cilium cluster names and ids.
  - The plan is deterministic. Allocation is first fit in an order that depends only on prefix sizes, so the
    same inputs always give the same plan, adding nodes never moves a range, and reserving a range that does
    not overlap an allocated one moves nothing. The returned RV(plan.fingerprint) changes exactly when the
    plan does.
  - With O(explicit) the module allocates nothing and only checks a plan written by hand, reporting the
    ranges it lacks in RV(plan.missing).
  - Every rule is checked before anything is returned; a broken rule fails the task with a message that names
    the field and the fix. The module never talks to a cloud and never reports a change.
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
attributes:
  check_mode:
    support: full
    description: The module computes a plan and changes nothing, so check mode returns the same plan.
  diff_mode:
    support: none
    description: Nothing is changed, so there is nothing to diff.
options:
  name:
    description:
      - Name of the platform. Used as the ownership tag value, as the prefix of subnet names, and for the
        Cilium cluster names (V(<name>-aws) and V(<name>-azure) with O(topology=mesh), V(<name>) when stretched).
      - Lowercase letters, digits and dashes; with O(topology=mesh) at most 26 characters so that the cluster
        names stay within Cilium's 32.
    type: str
    required: true
  topology:
    description:
      - V(mesh) plans one cluster per cloud, each with its own pod and service ranges, joined by Cilium ClusterMesh.
      - V(stretched) plans one cluster across both clouds with a single pod and service range.
    type: str
    choices: [mesh, stretched]
    default: mesh
  supernet:
    description:
      - The range both clouds are allocated from, unless a cloud has its own O(aws.supernet) or O(azure.supernet).
    type: str
    default: 10.64.0.0/12
  reserved:
    description:
      - Ranges already in use elsewhere (on-premises networks, other VPCs and VNets) that nothing in the plan may overlap.
    type: list
    elements: str
    default: []
  prefixes:
    description: Prefix lengths of the ranges the module allocates.
    type: dict
    default: {}
    suboptions:
      network:
        description: Size of the AWS VPC and the Azure VNet (AWS allows V(16) to V(28)).
        type: int
        default: 16
      workers_subnet:
        description: Size of each worker node subnet.
        type: int
        default: 20
      control_plane_subnet:
        description: Size of each control plane subnet.
        type: int
        default: 24
      gateway_subnet:
        description: Size of the Azure C(GatewaySubnet); Azure needs V(27) or a smaller number.
        type: int
        default: 27
      pods:
        description: Size of each cluster's pod range (Kubespray's C(kube_pods_subnet)).
        type: int
        default: 16
      services:
        description: Size of each cluster's service range (Kubespray's C(kube_service_addresses)).
        type: int
        default: 18
      node:
        description:
          - Pod prefix given to each node (Kubespray's C(kube_network_node_prefix)).
          - Must hold O(max_pods_per_node) addresses, and the pod range must hold one such block per node.
        type: int
        default: 24
  max_pods_per_node:
    description: Pods each node may run (Kubespray's C(kubelet_max_pods)).
    type: int
    default: 110
  aws:
    description: The AWS side.
    type: dict
    default: {}
    suboptions:
      supernet:
        description: Allocate the AWS ranges from this range instead of O(supernet).
        type: str
      region:
        description: AWS region; zone suffixes in O(aws.zones) such as V(a) are appended to it.
        type: str
      zones:
        description: Availability zones (or zone suffixes); each gets one subnet per node role.
        type: list
        elements: str
        default: [a, b, c]
      control_plane:
        description: Number of control plane nodes in AWS.
        type: int
        default: 3
      workers:
        description: Number of worker nodes in AWS.
        type: int
        default: 3
      asn:
        description: Private BGP ASN of the Amazon side of the VPN (V(64512) to V(65534) or V(4200000000) to V(4294967294)).
        type: int
        default: 64512
      cluster_name:
        description: Cilium cluster name of the AWS cluster (at most 32 characters, DNS-safe).
        type: str
      cluster_id:
        description: Cilium cluster id of the AWS cluster, V(1) to V(255), unique in the mesh.
        type: int
        default: 1
  azure:
    description: The Azure side.
    type: dict
    default: {}
    suboptions:
      supernet:
        description: Allocate the Azure ranges from this range instead of O(supernet).
        type: str
      control_plane:
        description: Number of control plane nodes in Azure.
        type: int
        default: 3
      workers:
        description: Number of worker nodes in Azure.
        type: int
        default: 3
      asn:
        description:
          - BGP ASN of the Azure virtual network gateway. Azure refuses V(65515), V(65517) to V(65520) and the
            IANA-reserved ASNs, and it must differ from O(aws.asn).
        type: int
        default: 65010
      cluster_name:
        description: Cilium cluster name of the Azure cluster (at most 32 characters, DNS-safe).
        type: str
      cluster_id:
        description: Cilium cluster id of the Azure cluster, V(1) to V(255), unique in the mesh.
        type: int
        default: 2
  tunnel_inside_cidrs:
    description:
      - Four /30 inside ranges for the VPN tunnels, in the order tunnel 1 and 2 of the first AWS VPN connection
        (to Azure gateway instance 0), then tunnel 1 and 2 of the second (to instance 1).
      - Each must lie in 169.254.21.0-169.254.22.255, the only range Azure accepts for custom BGP addresses.
      - When omitted, the first free /30s of 169.254.21.0/24 and 169.254.22.0/24 are used.
    type: list
    elements: str
  explicit:
    description:
      - A plan written by hand, checked instead of allocated. Keys V(aws) and V(azure) each take V(network),
        V(subnets) (a list of V(name), V(role) and V(cidr), plus V(zone) in AWS), V(pods), V(services),
        V(node_prefix), V(cluster_name), V(cluster_id) and V(asn); V(tunnels) takes the four inside ranges.
      - Anything left out is listed in RV(plan.missing) and the plan is marked incomplete rather than failing,
        so an existing network can be checked piece by piece.
    type: dict
notes:
  - Only IPv4 is planned.
  - AWS and Azure each keep five addresses in every subnet; node counts are checked against what remains.
seealso:
  - name: Azure VPN gateway with AWS (BGP, active-active)
    description: The reference design the tunnel plan follows.
    link: https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp
"""

EXAMPLES = r"""
- name: Plan the platform with the defaults (10.64.0.0/12, one cluster per cloud)
  hybrid.cluster.cidr_plan:
    name: shop
  register: shop_plan

- name: Plan from one range per cloud, keeping clear of on-premises networks
  hybrid.cluster.cidr_plan:
    name: shop
    aws:
      supernet: 10.80.0.0/13
      region: us-west-2
      zones: [a, b, c]
      workers: 12
    azure:
      supernet: 10.88.0.0/13
      workers: 8
      asn: 65020
    reserved:
      - 10.0.0.0/16
      - 10.80.0.0/16
    prefixes:
      services: 20

- name: One cluster stretched over both clouds
  hybrid.cluster.cidr_plan:
    name: lab
    topology: stretched

- name: Check the address plan of an existing setup, reporting what it lacks
  hybrid.cluster.cidr_plan:
    name: seed
    explicit:
      aws:
        pods: 192.168.128.0/20
      azure:
        pods: 192.168.144.0/20
  register: seed_check

- name: Show which ranges the existing setup still needs
  ansible.builtin.debug:
    var: seed_check.plan.missing
"""

RETURN = r"""
plan:
  description: The address plan.
  returned: always
  type: dict
  contains:
    name:
      description: The platform name.
      type: str
      sample: shop
    topology:
      description: V(mesh) or V(stretched).
      type: str
      sample: mesh
    complete:
      description: Whether every range the platform needs is in the plan (always true unless O(explicit) is used).
      type: bool
      sample: true
    missing:
      description: With O(explicit), the parts of the plan that were not given.
      type: list
      elements: str
      returned: when O(explicit) is used
      sample: [aws.network, aws.services]
    aws:
      description:
        - The AWS side. V(network) is the VPC range, V(subnets) the node subnets (V(name), V(role), V(cidr), V(zone)),
          V(pods) and V(services) the cluster's ranges, V(node_prefix), V(max_pods_per_node), V(cluster_name),
          V(cluster_id), V(asn), V(nodes) (counts per role), V(supernet) and V(zones).
      type: dict
      sample:
        network: 10.64.0.0/16
        subnets:
          - {name: shop-workers-a, role: workers, cidr: 10.64.0.0/20, zone: a}
        pods: 10.66.0.0/16
        services: 10.68.0.0/18
        node_prefix: 24
        cluster_name: shop-aws
        cluster_id: 1
        asn: 64512
    azure:
      description: The Azure side, shaped like RV(plan.aws); its subnets include V(GatewaySubnet) with role V(gateway).
      type: dict
      sample:
        network: 10.65.0.0/16
        subnets:
          - {name: GatewaySubnet, role: gateway, cidr: 10.65.17.0/27}
        cluster_name: shop-azure
        cluster_id: 2
        asn: 65010
    vpn:
      description:
        - The VPN design. V(tunnels) lists four tunnels with V(index), V(aws_connection) (1 or 2),
          V(azure_instance) (0 or 1), V(inside_cidr), V(aws_inside_ip) (first host) and V(azure_inside_ip)
          (second host); V(azure_bgp_addresses) lists the custom APIPA addresses per gateway instance.
      type: dict
      sample:
        aws_asn: 64512
        azure_asn: 65010
        tunnels:
          - {index: 1, aws_connection: 1, azure_instance: 0, inside_cidr: 169.254.21.0/30,
             aws_inside_ip: 169.254.21.1, azure_inside_ip: 169.254.21.2}
        azure_bgp_addresses: [[169.254.21.2, 169.254.22.2], [169.254.21.6, 169.254.22.6]]
    allocations:
      description: Every range in the plan once, reserved ranges included, sorted by address.
      type: list
      elements: dict
      sample:
        - {cidr: 10.64.0.0/16, cloud: aws, kind: vpc, field: aws.network}
    fingerprint:
      description: A digest of the plan's content; it changes exactly when the plan changes.
      type: str
      sample: 5046ff7c8be1fd92
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybrid.cluster.plugins.module_utils.plan import (
    DEFAULT_CLOUD,
    DEFAULT_MAX_PODS,
    DEFAULT_PREFIXES,
    DEFAULT_SUPERNET,
    TOPOLOGIES,
    PlanError,
    build_plan,
    check_plan,
)


def argument_spec():
    """The module's options; defaults come from the planning code so the two cannot drift."""
    prefixes = {key: {"type": "int", "default": value} for key, value in DEFAULT_PREFIXES.items()}
    aws = {
        "supernet": {"type": "str"},
        "region": {"type": "str"},
        "zones": {"type": "list", "elements": "str", "default": list(DEFAULT_CLOUD["aws"]["zones"])},
        "control_plane": {"type": "int", "default": DEFAULT_CLOUD["aws"]["control_plane"]},
        "workers": {"type": "int", "default": DEFAULT_CLOUD["aws"]["workers"]},
        "asn": {"type": "int", "default": DEFAULT_CLOUD["aws"]["asn"]},
        "cluster_name": {"type": "str"},
        "cluster_id": {"type": "int", "default": DEFAULT_CLOUD["aws"]["cluster_id"]},
    }
    azure = {
        "supernet": {"type": "str"},
        "control_plane": {"type": "int", "default": DEFAULT_CLOUD["azure"]["control_plane"]},
        "workers": {"type": "int", "default": DEFAULT_CLOUD["azure"]["workers"]},
        "asn": {"type": "int", "default": DEFAULT_CLOUD["azure"]["asn"]},
        "cluster_name": {"type": "str"},
        "cluster_id": {"type": "int", "default": DEFAULT_CLOUD["azure"]["cluster_id"]},
    }
    return {
        "name": {"type": "str", "required": True},
        "topology": {"type": "str", "choices": list(TOPOLOGIES), "default": "mesh"},
        "supernet": {"type": "str", "default": DEFAULT_SUPERNET},
        "reserved": {"type": "list", "elements": "str", "default": []},
        "prefixes": {"type": "dict", "default": {}, "options": prefixes},
        "max_pods_per_node": {"type": "int", "default": DEFAULT_MAX_PODS},
        "aws": {"type": "dict", "default": {}, "options": aws},
        "azure": {"type": "dict", "default": {}, "options": azure},
        "tunnel_inside_cidrs": {"type": "list", "elements": "str"},
        "explicit": {"type": "dict"},
    }


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    spec = {key: value for key, value in module.params.items() if key != "explicit"}
    try:
        if module.params["explicit"] is not None:
            plan = check_plan(spec, module.params["explicit"])
            for item in plan["missing"]:
                module.warn("The explicit plan has no %s; later phases need it." % item)
        else:
            plan = build_plan(spec)
    except PlanError as exc:
        module.fail_json(msg=str(exc), field=exc.field, fix=exc.fix)
    module.exit_json(changed=False, plan=plan)


if __name__ == "__main__":
    main()
