#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: peering
short_description: The IPsec site-to-site VPN between the platform's AWS VPC and Azure VNet, both ends
version_added: 1.0.0
description:
  - Builds real connectivity between the VPC and the VNet made by M(hybrid.cluster.cloud_network). AWS has no
    "VPC peering" with an Azure VNet (VPC peering only joins two VPCs), so the clouds are joined the way both
    vendors document it, with an IPsec VPN. See the collection's C(docs/peering.md) for a diagram.
  - "Azure: two static Standard public IPs, an active-active route-based virtual network gateway in the
    C(GatewaySubnet) (BGP on with the plan's ASN and custom APIPA BGP addresses), one local network gateway per
    AWS tunnel (its outside IP and BGP peer address) and one connection per tunnel with its shared key and an
    IPsec/IKE policy both clouds accept (IKEv2, AES-256, SHA-256, DH group 14)."
  - "AWS: a virtual private gateway attached to the VPC (or a transit gateway with a VPC attachment,
    O(aws_gateway=transit)), one customer gateway per Azure public IP, two VPN connections (four tunnels) with the
    plan's tunnel inside ranges and the pre-shared keys, and routes to the VNet (route propagation from the
    gateway, or routes to the transit gateway)."
  - O(routing=static) uses static routes on both sides instead of BGP.
  - Order and speed. The Azure gateway takes 30-45 minutes to provision. The public IPs are made first (their
    addresses are known at once), the gateway's long-running operation is started right away, the AWS end is built
    while it runs, and the local network gateways and connections follow once both are ready. The whole call takes
    about as long as the gateway alone.
  - Pre-shared keys come from O(pre_shared_keys), else from the clouds (read back from the AWS VPN connections, so
    both ends stay equal without a local copy), else are generated with Python's C(secrets) within AWS's rules.
    They are never returned, logged, shown in a diff or written to a file.
  - Everything carries the ownership tag C(hybrid-cluster=<name>) and is found again by it, so a run that died
    half way is finished by the next one without duplicates. O(state=absent) removes both ends in reverse order,
    and only what carries the tag.
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
extends_documentation_fragment:
  - hybrid.cluster.aws
  - hybrid.cluster.azure
attributes:
  check_mode:
    support: full
    description: Lists the planned steps in RV(changes) without any mutating call.
  diff_mode:
    support: full
    description: Shows both ends before and after, without keys.
options:
  plan:
    description: The address plan, as returned by M(hybrid.cluster.cidr_plan).
    type: dict
    required: true
  state:
    description: Whether the VPN should exist.
    type: str
    choices: [present, absent]
    default: present
  routing:
    description: V(bgp) learns routes over four BGP sessions; V(static) configures the other side's ranges on both ends.
    type: str
    choices: [bgp, static]
    default: bgp
  aws_gateway:
    description:
      - V(vgw) attaches a virtual private gateway to the VPC. V(transit) uses a transit gateway with a VPC attachment,
        which allows ECMP over the tunnels and larger tunnels; it requires O(routing=bgp).
    type: str
    choices: [vgw, transit]
    default: vgw
  azure_gateway_sku:
    description: SKU of the Azure virtual network gateway (active-active and BGP need VpnGw1 or larger; AZ SKUs are zone-redundant).
    type: str
    default: VpnGw2AZ
  azure_resource_group:
    description: The resource group of the platform's VNet.
    type: str
    required: true
  azure_location:
    description: Azure region for the gateway and its resources. Required with O(state=present).
    type: str
  pre_shared_keys:
    description:
      - One key for all four tunnels, or four keys in tunnel order. 8-64 letters, digits, C(.) or C(_), not starting with 0.
      - Use Ansible Vault for them. When omitted, keys already configured in AWS are kept and missing ones generated.
    type: list
    elements: str
  tags:
    description: Extra tags for everything created, besides the ownership and role tags.
    type: dict
    default: {}
  wait:
    description:
      - Wait for the gateway and the VPN connections, then create the Azure local network gateways and connections.
      - With V(false) the call returns after starting them; run it again later to finish.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each long-running operation (the Azure gateway can take 45 minutes).
    type: int
    default: 3600
notes:
  - Run M(hybrid.cluster.cloud_network) first; the VPN uses its VPC, route table, VNet and C(GatewaySubnet).
seealso:
  - module: hybrid.cluster.cidr_plan
  - module: hybrid.cluster.cloud_network
  - name: Azure VPN gateway with AWS (BGP, active-active)
    description: The reference design.
    link: https://learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp
"""

EXAMPLES = r"""
- name: VPN between the VPC and the VNet, BGP over four tunnels
  hybrid.cluster.peering:
    plan: "{{ shop_plan.plan }}"
    region: us-west-2
    azure_resource_group: shop-rg
    azure_location: westeurope
  register: vpn

- name: Show the tunnels
  ansible.builtin.debug:
    var: vpn.tunnels

- name: Static routing through a transit gateway is refused; use BGP with it
  hybrid.cluster.peering:
    plan: "{{ shop_plan.plan }}"
    aws_gateway: transit
    routing: bgp
    region: us-west-2
    azure_resource_group: shop-rg
    azure_location: westeurope
    pre_shared_keys: "{{ vault_vpn_keys }}"

- name: Remove the VPN
  hybrid.cluster.peering:
    plan: "{{ shop_plan.plan }}"
    state: absent
    region: us-west-2
    azure_resource_group: shop-rg
"""

RETURN = r"""
tunnels:
  description: Both ends of each tunnel. Keys are never included.
  returned: when O(state=present) and both ends exist
  type: list
  elements: dict
  contains:
    index:
      description: Tunnel number, 1-4.
      type: int
    inside_cidr:
      description: The tunnel's inside /30.
      type: str
      sample: 169.254.21.0/30
    aws_outside_ip:
      description: Outside IP of the AWS tunnel endpoint.
      type: str
    azure_public_ip:
      description: Public IP of the Azure gateway instance the tunnel ends on.
      type: str
    aws_inside_ip:
      description: AWS's BGP peer address.
      type: str
    azure_inside_ip:
      description: Azure's BGP peer address (a custom APIPA address).
      type: str
    aws_asn:
      description: The Amazon side's ASN.
      type: int
    azure_asn:
      description: The Azure gateway's ASN.
      type: int
    aws_status:
      description: Tunnel status reported by AWS (V(UP) or V(DOWN)).
      type: str
    azure_status:
      description: Connection status reported by Azure.
      type: str
changes:
  description: The steps taken (or planned in check mode), in order.
  returned: always
  type: list
  elements: dict
  sample:
    - {cloud: azure, action: create, resource: vpn-gateway, name: shop-vpngw, detail: {sku: VpnGw2AZ}}
keys_generated:
  description: Whether new pre-shared keys were generated in this run (the keys themselves are never returned).
  returned: when O(state=present)
  type: bool
elapsed_seconds:
  description: Seconds the VPN took in this run (both ends were built side by side).
  returned: when the tunnels were set up in this run
  type: float
pending:
  description: With O(wait=false), what is still being provisioned; run the module again to finish.
  returned: when something is not finished
  type: list
  elements: str
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybrid.cluster.plugins.module_utils import aws_network, aws_vpn, azure_vpn, vpn
from ansible_collections.hybrid.cluster.plugins.module_utils.aws import client_from_module
from ansible_collections.hybrid.cluster.plugins.module_utils.aws_network import NetworkError
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import clients_from_module
from ansible_collections.hybrid.cluster.plugins.module_utils.cloud_module import cloud_argument_spec, run_and_exit, verified_plan


def argument_spec():
    return cloud_argument_spec(dict(
        plan=dict(type="dict", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        routing=dict(type="str", choices=list(vpn.ROUTINGS), default="bgp"),
        aws_gateway=dict(type="str", choices=["vgw", "transit"], default="vgw"),
        azure_gateway_sku=dict(type="str", default="VpnGw2AZ"),
        azure_resource_group=dict(type="str", required=True),
        azure_location=dict(type="str"),
        pre_shared_keys=dict(type="list", elements="str", no_log=True),
        tags=dict(type="dict", default={}),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
    ))


class Peering:
    """One run of the module: both ends described, compared and (unless check mode) changed."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.plan = module.params["plan"]
        self.group = module.params["azure_resource_group"]
        self.timeout = module.params["wait_timeout"]
        self.result = {"changed": False, "changes": [], "diff": {"before": {}, "after": {}}}
        self.ec2 = None
        self.clients = None

    # ------------------------------------------------------------------ input

    def validate(self):
        """Everything that can be checked before a cloud call."""
        params = self.params
        verified_plan(self.module)
        if params["aws_gateway"] == "transit" and params["routing"] == "static":
            self.module.fail_json(msg="routing: static routing through a transit gateway is not supported; use routing: bgp "
                                      "(the transit gateway then learns and propagates the routes) or aws_gateway: vgw")
        if params["state"] == "present" and not params["azure_location"]:
            self.module.fail_json(msg="azure_location: required to create the Azure end")
        if params["azure_gateway_sku"] == "Basic":
            self.module.fail_json(msg="azure_gateway_sku: Basic supports neither BGP nor active-active; use VpnGw1 or larger")
        if self.given_keys() is not None:
            try:
                vpn.tunnel_keys(self.given_keys(), {})
            except vpn.VpnError as err:
                self.module.fail_json(msg=str(err))

    # ------------------------------------------------------------------ helpers

    def record(self, cloud, steps):
        self.result["changes"] += [dict(s.to_dict(), cloud=cloud) for s in steps]
        if not self.module.check_mode:
            aws_network.apply(steps)

    def given_keys(self):
        """The user's keys: None, one key for every tunnel, or a list of four."""
        given = self.params["pre_shared_keys"]
        return given[0] if given is not None and len(given) == 1 else given

    def keys(self, aws_current, azure_current):
        existing = aws_vpn.existing_keys(self.plan, aws_current)
        for tunnel, name in zip(self.plan["vpn"]["tunnels"], azure_vpn.names(self.plan)["tunnels"]):
            if tunnel["index"] not in existing and tunnel["index"] in azure_current["connections"]:
                key = azure_vpn.shared_key(self.clients, self.group, name)
                if key:
                    existing[tunnel["index"]] = key
        keys, generated = vpn.tunnel_keys(self.given_keys(), existing)
        # Whatever happens next, these values are masked in every output.
        self.module.no_log_values.update(keys)
        return keys, generated

    def network(self):
        current = aws_network.describe(self.ec2, self.plan["name"])
        if current["vpc"] is None:
            if self.params["state"] == "absent":
                return None, []
            self.module.fail_json(msg="no VPC carries hybrid-cluster=%s; run hybrid.cluster.cloud_network first" % self.plan["name"])
        table = current["route_table"]
        return current["vpc"]["id"], [table["id"]] if table else []

    # ------------------------------------------------------------------ run

    def run(self):
        self.validate()
        self.ec2 = client_from_module(self.module, "ec2")
        self.clients = clients_from_module(self.module)
        try:
            vpc_id, tables = self.network()
            aws_current = aws_vpn.describe(self.ec2, self.plan, vpc_id) if vpc_id else None
            azure_current = azure_vpn.describe(self.clients, self.plan, self.group)
            self.result["diff"]["before"] = self.summary(aws_current, azure_current)
            if self.params["state"] == "absent":
                self.absent(vpc_id, tables, aws_current, azure_current)
            else:
                self.present(vpc_id, tables, aws_current, azure_current)
        finally:
            self.clients.close()

    def absent(self, vpc_id, tables, aws_current, azure_current):
        self.record("azure", azure_vpn.absent(self.clients, self.plan, self.group, azure_current, self.timeout))
        if aws_current is not None:
            self.record("aws", aws_vpn.absent(self.ec2, self.plan, vpc_id, tables, aws_current, self.timeout))
        self.result["diff"]["after"] = {}

    def present(self, vpc_id, tables, aws_current, azure_current):
        params, plan, check = self.params, self.plan, self.module.check_mode
        sku, routing, location = params["azure_gateway_sku"], params["routing"], params["azure_location"]
        keys, generated = self.keys(aws_current, azure_current)
        self.result["keys_generated"] = generated
        started = time.monotonic()

        # 1. Azure public IPs: their addresses are needed by the AWS customer gateways.
        self.record("azure", azure_vpn.public_ip_steps(self.clients, plan, self.group, location, azure_current, sku, params["tags"], self.timeout))
        if check and any(p is None for p in azure_current["public_ips"]):
            azure_ips = ["(public IP %d of the new gateway)" % i for i in (1, 2)]
        else:
            azure_ips = azure_vpn.gateway_public_ips(self.clients, plan, self.group)

        # 2. Start the gateway's long-running operation, and do not wait for it yet.
        step, holder = azure_vpn.start_gateway(self.clients, plan, self.group, location, azure_current, sku, routing, params["tags"])
        if step is not None:
            self.record("azure", [step])

        # 3. The AWS end, while Azure provisions the gateway.
        steps, dummy = aws_vpn.changes(self.ec2, plan, vpc_id, tables, aws_current, azure_ips, keys, routing, params["aws_gateway"],
                                       params["tags"], self.timeout)
        if not params["wait"]:
            steps = [s for s in steps if s.action != "wait"]
        self.record("aws", steps)

        pending = []
        if not params["wait"]:
            gateway_state = (azure_current["gateway"] or {}).get("state")
            if holder is not None or gateway_state not in (None, "Succeeded"):
                pending.append("the Azure virtual network gateway")
        elif not check:
            azure_vpn.finish_gateway(self.clients, plan, self.group, holder, self.timeout)
        if check or pending:
            if check:
                self.result["changes"].append({"cloud": "azure", "action": "ensure", "resource": "tunnels",
                                               "name": "4 local network gateways and connections",
                                               "detail": {"note": "planned once both ends are up"}})
            if pending:
                self.result["pending"] = pending
            self.result["diff"]["after"] = {"note": "the tunnels are listed once both ends exist"}
            return

        # 4. One local network gateway and connection per AWS tunnel.
        aws_now = aws_vpn.describe(self.ec2, plan, vpc_id)
        try:
            pairs = vpn.pair_tunnels(plan, azure_ips, aws_vpn.outside_ips(plan, aws_now))
        except vpn.VpnError as err:
            raise NetworkError(str(err)) from err
        azure_now = azure_vpn.describe(self.clients, plan, self.group)
        self.record("azure", azure_vpn.tunnel_steps(self.clients, plan, self.group, location, azure_now, pairs, keys, routing,
                                                    params["tags"], self.timeout, vpn.static_routes(plan, "aws")))
        azure_after = azure_vpn.describe(self.clients, plan, self.group)
        aws_status = aws_vpn.tunnel_status(aws_now)
        self.result["tunnels"] = [dict(pair, aws_status=aws_status.get(pair["aws_outside_ip"], "UNKNOWN"),
                                       azure_status=(azure_after["connections"].get(pair["index"]) or {}).get("status"))
                                  for pair in pairs]
        self.result["elapsed_seconds"] = round(time.monotonic() - started, 1)
        self.result["diff"]["after"] = self.summary(aws_now, azure_after)

    def summary(self, aws_current, azure_current):
        """Both ends without ids or keys, for diffs."""
        result = {"azure": {
            "public_ips": [p["ip"] if p else None for p in azure_current["public_ips"]],
            "gateway": None if azure_current["gateway"] is None else {
                k: azure_current["gateway"][k] for k in ("sku", "active_active", "bgp", "asn", "custom")},
            "local_gateways": {i: {k: v for k, v in g.items() if k in ("ip", "asn", "peer", "prefixes")}
                               for i, g in azure_current["local_gateways"].items()},
            "connections": sorted(azure_current["connections"]),
        }}
        if aws_current is not None:
            result["aws"] = {
                "gateway": "vgw" if aws_current["vgw"] else ("transit" if aws_current["tgw"] else None),
                "customer_gateways": {i: c["ip"] for i, c in aws_current["customer_gateways"].items()},
                "connections": {i: {"tunnels": [t["inside_cidr"] for t in c["tunnels"]], "routes": c["routes"], "static": c["static"]}
                                for i, c in aws_current["connections"].items()},
            }
        return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    peering = Peering(module)
    run_and_exit(module, peering.result, peering.run)


if __name__ == "__main__":
    main()
