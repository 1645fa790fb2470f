#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloud_network
short_description: The platform's AWS VPC and Azure VNet, from the address plan
version_added: 1.0.0
description:
  - Ensures, in one call, the networks that the address plan of M(hybrid.cluster.cidr_plan) describes.
  - "AWS: the VPC, one subnet per node role and availability zone, one route table associated with every
    node subnet, and optionally an internet gateway with a default route."
  - "Azure: the resource group (created when missing), the VNet, one subnet per node role, the C(GatewaySubnet)
    the VPN gateway needs, and a route table associated with the node subnets."
  - Everything created carries the ownership tag C(hybrid-cluster=<name>) and a C(hybrid-cluster-role) tag, and is
    found again by them on the next run. Tags that drifted are put back; subnets the plan no longer has are
    removed (O(purge_subnets)). Ranges that a cloud cannot change in place (a VPC's primary CIDR, an AWS subnet's
    CIDR or zone) fail the task with the steps to take instead of replacing anything.
  - O(state=absent) removes, in dependency order, what carries the ownership tag and nothing else. An Azure
    resource group is removed only when this module created it and nothing else is left in it.
  - A second run with the same plan makes no change and no mutating cloud call.
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
extends_documentation_fragment:
  - hybrid.cluster.aws
  - hybrid.cluster.azure
attributes:
  check_mode:
    support: full
    description: Lists the steps it would take in RV(changes) without any mutating call.
  diff_mode:
    support: full
    description: Shows the networks before and after, without cloud ids.
options:
  plan:
    description: The address plan, as returned in RV(hybrid.cluster.cidr_plan#module:plan) by M(hybrid.cluster.cidr_plan).
    type: dict
    required: true
  state:
    description: Whether the networks should exist.
    type: str
    choices: [present, absent]
    default: present
  clouds:
    description: Which clouds to manage in this call.
    type: list
    elements: str
    choices: [aws, azure]
    default: [aws, azure]
  azure_location:
    description: Azure region of the resource group and the VNet. Required to create them.
    type: str
  azure_resource_group:
    description: Azure resource group that holds the platform's network. Created (and tagged) when missing.
    type: str
  aws_internet_gateway:
    description: Attach an internet gateway to the VPC and route 0.0.0.0/0 to it from the node subnets.
    type: bool
    default: false
  tags:
    description: Extra tags for everything created, besides the ownership and role tags.
    type: dict
    default: {}
  purge_subnets:
    description: Remove subnets that carry the ownership tag (AWS) or sit in the owned VNet (Azure) but are not in the plan.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each long-running Azure operation.
    type: int
    default: 1800
notes:
  - The plan's tunnel ranges and ASNs are used by M(hybrid.cluster.peering), not here.
seealso:
  - module: hybrid.cluster.cidr_plan
"""

EXAMPLES = r"""
- name: Plan the addresses
  hybrid.cluster.cidr_plan:
    name: shop
    aws: {region: us-west-2}
  register: shop_plan

- name: Create the VPC and the VNet
  hybrid.cluster.cloud_network:
    plan: "{{ shop_plan.plan }}"
    region: us-west-2
    azure_location: westeurope
    azure_resource_group: shop-rg

- name: Remove both networks again
  hybrid.cluster.cloud_network:
    plan: "{{ shop_plan.plan }}"
    state: absent
    region: us-west-2
    azure_resource_group: shop-rg
"""

RETURN = r"""
changes:
  description: The steps taken (or, in check mode, that would be taken), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {action: create, resource: vpc, name: shop-vpc, detail: {cidr: 10.64.0.0/16}}
    - {action: tag, resource: subnet, name: shop-workers-us-west-2a, detail: {set: [hybrid-cluster-role]}}
aws:
  description: The AWS network after the run (ids are absent in check mode for what does not exist yet).
  returned: when aws is in O(clouds) and O(state=present)
  type: dict
  contains:
    vpc_id:
      description: The VPC id.
      type: str
      sample: vpc-0abc
    subnets:
      description: Subnet ids by subnet name.
      type: dict
      sample: {shop-workers-us-west-2a: subnet-0abc}
    route_table_id:
      description: The node route table id.
      type: str
      sample: rtb-0abc
azure:
  description: The Azure network after the run.
  returned: when azure is in O(clouds) and O(state=present)
  type: dict
  contains:
    vnet_id:
      description: The VNet's resource id.
      type: str
    subnets:
      description: Subnet ranges by subnet name.
      type: dict
      sample: {GatewaySubnet: 10.65.17.0/27}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybrid.cluster.plugins.module_utils import aws_network, azure_network
from ansible_collections.hybrid.cluster.plugins.module_utils.aws import client_from_module
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import clients_from_module
from ansible_collections.hybrid.cluster.plugins.module_utils.cloud_module import cloud_argument_spec, run_and_exit, verified_plan


def argument_spec():
    return cloud_argument_spec(dict(
        plan=dict(type="dict", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        clouds=dict(type="list", elements="str", choices=["aws", "azure"], default=["aws", "azure"]),
        azure_location=dict(type="str"),
        azure_resource_group=dict(type="str"),
        aws_internet_gateway=dict(type="bool", default=False),
        tags=dict(type="dict", default={}),
        purge_subnets=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
    ))


def check_plan(module):
    plan = verified_plan(module)
    if "azure" in module.params["clouds"]:
        if not module.params["azure_resource_group"]:
            module.fail_json(msg="azure_resource_group: required when azure is in clouds")
        if module.params["state"] == "present" and not module.params["azure_location"]:
            module.fail_json(msg="azure_location: required to create the Azure network")
    return plan


def run_aws(module, plan, result):
    ec2 = client_from_module(module, "ec2")
    region = ec2.raw.meta.region_name
    current = aws_network.describe(ec2, plan["name"])
    if module.params["state"] == "absent":
        steps = aws_network.absent(ec2, current)
        wanted = None
    else:
        wanted = aws_network.desired(plan, region, module.params["aws_internet_gateway"], module.params["tags"])
        steps = aws_network.changes(ec2, current, wanted, module.params["purge_subnets"])
    result["changes"] += [dict(s.to_dict(), cloud="aws") for s in steps]
    result["diff"]["before"]["aws"] = aws_network.summary(current)
    result["diff"]["after"]["aws"] = aws_network.summary(wanted) if wanted else None
    if steps and not module.check_mode:
        aws_network.apply(steps)
    if wanted:
        after = current if module.check_mode or not steps else aws_network.describe(ec2, plan["name"])
        result["aws"] = {"vpc_id": (after["vpc"] or {}).get("id"),
                         "subnets": {k: v["id"] for k, v in after["subnets"].items()},
                         "route_table_id": (after["route_table"] or {}).get("id")}


def run_azure(module, plan, result):
    clients = clients_from_module(module)
    try:
        group = module.params["azure_resource_group"]
        current = azure_network.describe(clients, plan, group)
        timeout = module.params["wait_timeout"]
        if module.params["state"] == "absent":
            warnings = []
            steps = azure_network.absent(clients, plan, current, timeout, warnings)
            wanted = None
        else:
            wanted = azure_network.desired(plan, module.params["azure_location"], group, module.params["tags"])
            steps = azure_network.changes(clients, plan, current, wanted, module.params["azure_location"], timeout,
                                          module.params["purge_subnets"])
        result["changes"] += [dict(s.to_dict(), cloud="azure") for s in steps]
        result["diff"]["before"]["azure"] = azure_network.summary(current)
        result["diff"]["after"]["azure"] = azure_network.summary(_predicted(wanted, current)) if wanted else None
        if steps and not module.check_mode:
            aws_network.apply(steps)
        if module.params["state"] == "absent":
            for warning in warnings:
                module.warn(warning)
        if wanted:
            after = current if module.check_mode or not steps else azure_network.describe(clients, plan, group)
            result["azure"] = {"vnet_id": (after["vnet"] or {}).get("id"),
                               "subnets": {k: v["cidr"] for k, v in after["subnets"].items()}}
    finally:
        clients.close()


def _predicted(wanted, current):
    """The Azure state after the run; an existing resource group is left as it is."""
    return {
        "resource_group": current["resource_group"] or {"name": wanted["resource_group"]["name"],
                                                        "location": wanted["resource_group"]["location"],
                                                        "tags": wanted["resource_group"]["tags"]},
        "route_table": {"name": wanted["route_table"]["name"], "tags": wanted["route_table"]["tags"]},
        "vnet": {"name": wanted["vnet"]["name"], "cidrs": wanted["vnet"]["cidrs"], "tags": wanted["vnet"]["tags"]},
        "subnets": wanted["subnets"],
    }


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    plan = check_plan(module)
    result = {"changed": False, "changes": [], "diff": {"before": {}, "after": {}}}
    clouds = module.params["clouds"]

    def body():
        if "aws" in clouds:
            run_aws(module, plan, result)
        if "azure" in clouds:
            run_azure(module, plan, result)
    run_and_exit(module, result, body)


if __name__ == "__main__":
    main()
