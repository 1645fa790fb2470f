#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloud_preflight
short_description: Check credentials and quotas in AWS and Azure before the platform is built
version_added: 1.0.0
description:
  - Read-only checks to run before anything is created, so that a build does not stop half-way on a refused
    credential or an exhausted quota.
  - "Credentials: one cheap read per cloud. AWS: STS C(GetCallerIdentity) (account and ARN). Azure: a C(GET) of the
    subscription (id, display name, state); the subscription must be C(Enabled)."
  - "AWS quotas of the region: VPCs, Site-to-Site VPN connections, customer gateways, virtual private gateways
    (or transit gateways with O(aws_gateway=transit)) and running On-Demand Standard vCPUs from Service Quotas, running
    instances and VPC Elastic IPs from the EC2 account attributes (C(max-instances), C(vpc-max-elastic-ips)). Each is
    compared with what is in use and what the platform needs: one VPC, two VPN connections, two customer gateways and
    one gateway (see M(hybrid.cluster.peering)), plus O(aws_instances) and O(aws_vcpus)."
  - "Azure quotas of O(azure_location): the network usages (virtual networks, public IPs, Standard public IPs, network
    security groups, route tables) and the compute usages (total regional vCPUs, virtual machines and, with
    O(azure_core_family), one VM family's vCPUs). The platform needs one VNet, two Standard public IPs for the
    active-active VPN gateway, one NSG per node role and one route table, plus O(azure_vms) and O(azure_cores)."
  - With O(name), resources that already carry the platform's ownership tag count as present, so that running the
    check again on a built platform does not ask for room a second time.
  - A quota that AWS or Azure does not report (Service Quotas unavailable, a usage missing from the list, no permission
    to read it) is not a failure; it is reported with status V(unknown) and a warning. Where only Service Quotas'
    default could not be read, AWS's documented default is assumed and the row says so (its C(source) is
    V(assumed-default), see RV(clouds.azure.quotas[].source)).
  - The task fails when a credential is refused, the Azure subscription is not enabled or a quota is too small for
    what the platform needs. Every problem is named in RV(problems), each with the cloud, the quota and the fix; the
    full result (RV(clouds)) is returned with the failure too.
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
extends_documentation_fragment:
  - hybrid.cluster.aws
  - hybrid.cluster.azure
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode runs the same checks and returns the same result.
  diff_mode:
    support: none
    description: Nothing is changed.
options:
  clouds:
    description: Which clouds to check.
    type: list
    elements: str
    choices: [aws, azure]
    default: [aws, azure]
  name:
    description:
      - Name of the platform (the plan's C(name), see M(hybrid.cluster.cidr_plan)). Resources carrying the ownership
        tag C(hybrid-cluster=<name>) count as already built and are not needed again.
      - Defaults to the C(name) of O(plan). Without either, every resource the platform needs counts as new.
    type: str
  plan:
    description:
      - The address plan from M(hybrid.cluster.cidr_plan); only its C(name) is read (see O(name)).
    type: dict
  aws_gateway:
    description: The AWS end of the VPN, as O(hybrid.cluster.peering#module:aws_gateway) of M(hybrid.cluster.peering).
    type: str
    choices: [vgw, transit]
    default: vgw
  aws_instances:
    description: EC2 instances the platform will still start (compared with the C(max-instances) account attribute).
    type: int
    default: 0
  aws_vcpus:
    description:
      - vCPUs of the EC2 instances the platform will still start, compared with the quota of running On-Demand
        Standard (A, C, D, H, I, M, R, T, Z) instances (C(L-1216C47A)).
    type: int
    default: 0
  azure_location:
    description: Azure region whose quotas are checked, the one the platform is built in. Required when azure is in O(clouds).
    type: str
  azure_vms:
    description: Azure virtual machines the platform will still create (compared with the C(virtualMachines) usage).
    type: int
    default: 0
  azure_cores:
    description: vCPUs of the Azure virtual machines the platform will still create (compared with the C(cores) usage).
    type: int
    default: 0
  azure_core_family:
    description:
      - Name of the VM family quota the platform's VM size falls in, as the compute usages list names it, for
        example V(standardDSv5Family) for C(Standard_D4s_v5). Checked against O(azure_cores) too.
    type: str
  azure_resource_group:
    description:
      - Not used; accepted so that C(module_defaults) for C(group/hybrid.cluster.clouds) can be shared with the other
        cloud modules (quotas belong to the subscription and location, not to a resource group).
    type: str
  tags:
    description: Not used; accepted for C(module_defaults) of C(group/hybrid.cluster.clouds), like O(azure_resource_group).
    type: dict
  wait_timeout:
    description: Not used; accepted for C(module_defaults) of C(group/hybrid.cluster.clouds), like O(azure_resource_group).
    type: int
notes:
  - Permissions needed besides signing in - AWS C(ec2:Describe*), C(servicequotas:GetServiceQuota) and
    C(servicequotas:ListAWSDefaultServiceQuotas) (without the last two the quotas are reported as unknown or assumed);
    Azure read access to the subscription (C(Reader)), which includes C(Microsoft.Network/locations/usages/read) and
    C(Microsoft.Compute/locations/usages/read).
  - AWS Service Quotas holds a value only for quotas that were changed; for the others AWS's default applies.
seealso:
  - module: hybrid.cluster.path_probe
  - module: hybrid.cluster.peering
"""

EXAMPLES = r"""
- name: Check both clouds before building the platform
  hybrid.cluster.cloud_preflight:
    name: shop
    region: us-west-2
    azure_location: westeurope
    aws_instances: 6
    aws_vcpus: 24
    azure_vms: 6
    azure_cores: 24
    azure_core_family: standardDSv5Family
  register: preflight

- name: Show what each quota leaves
  ansible.builtin.debug:
    msg: "{{ item.description }}: {{ item.used }} of {{ item.limit }} in use, {{ item.needed }} needed"
  loop: "{{ preflight.clouds.aws.quotas + preflight.clouds.azure.quotas }}"

- name: Only the Azure credentials and subscription
  hybrid.cluster.cloud_preflight:
    clouds: [azure]
    azure_location: westeurope
"""

RETURN = r"""
clouds:
  description: What each cloud reported. Also returned when the task fails.
  returned: always
  type: dict
  contains:
    aws:
      description: The AWS account and the quotas of the region.
      returned: when aws is in O(clouds)
      type: dict
      contains:
        account:
          description: The AWS account id (null when the credentials were refused).
          type: str
          sample: "123456789012"
        arn:
          description: ARN of the identity the credentials belong to.
          type: str
          sample: arn:aws:iam::123456789012:user/deployer
        region:
          description: The region whose quotas were read.
          type: str
          sample: us-west-2
        quotas:
          description: One entry per quota, see RV(clouds.azure.quotas) for the keys.
          type: list
          elements: dict
          sample:
            - {name: vpcs, description: VPCs per Region, code: L-F678F1CE, used: 1, limit: 5, needed: 1, available: 4,
               source: applied, status: ok}
    azure:
      description: The Azure subscription and the quotas of the location.
      returned: when azure is in O(clouds)
      type: dict
      contains:
        subscription_id:
          description: The subscription id.
          type: str
        display_name:
          description: The subscription's display name.
          type: str
        state:
          description: The subscription state (C(Enabled), C(Warned), C(PastDue), C(Disabled), C(Deleted)).
          type: str
          sample: Enabled
        tenant_id:
          description: The tenant the subscription belongs to.
          type: str
        location:
          description: The location whose quotas were read.
          type: str
          sample: westeurope
        quotas:
          description: One entry per quota.
          type: list
          elements: dict
          contains:
            name:
              description: Short name (AWS) or the usage name of the API (Azure, for example C(VirtualNetworks), C(cores)).
              type: str
            description:
              description: The quota as the cloud's documentation names it.
              type: str
            code:
              description: The Service Quotas quota code or EC2 account attribute (AWS); the resource provider (Azure).
              type: str
            used:
              description: How much is in use now; null when unknown.
              type: int
            limit:
              description: The quota; null when unknown.
              type: int
            needed:
              description: How much more the platform needs (what carries the ownership tag of O(name) already counts).
              type: int
            available:
              description: C(limit) minus C(used); null when either is unknown.
              type: int
            source:
              description:
                - Where the limit comes from. AWS - V(applied) or V(default) (Service Quotas), V(account-attributes),
                  V(assumed-default) (AWS's documented default, Service Quotas did not answer), V(unavailable).
                  Azure - V(usages), V(unavailable).
              type: str
            status:
              description:
              - V(ok), V(too_low) (the task fails) or V(unknown) (the limit could not be read, or only an assumed default
                is known and the need exceeds it; a warning says why when the platform needs some of it).
              type: str
          sample:
            - {name: cores, description: Total Regional vCPUs, code: Microsoft.Compute, used: 8, limit: 10, needed: 24,
               available: 2, source: usages, status: too_low}
problems:
  description: "Every problem found, each as C(<cloud>[.<quota>]: <problem>. Fix: <what to do>). Empty on success."
  returned: always
  type: list
  elements: str
  sample:
    - "azure.cores: Total Regional vCPUs in westeurope: 8 of 10 in use, the platform needs 24 more. Fix: request a vCPU quota
      increase for westeurope (Azure portal, Quotas, Compute) to at least 32, or use fewer or smaller VMs"
"""

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import (
    BOTO3_IMPORT_ERROR, HAS_BOTO3, AWSConfigurationError, AWSError, default_service_quotas, is_owned, profile_region_lookup,
    resolve_connection, service_quota)
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import (
    AZURE_IMPORT_ERROR, AZURE_REQUIRED_LIBS, HAS_AZURE, AzureClientError, AzureClients, get_subscription, location_usages,
    owned_resources)
from ansible_collections.hybrid.cluster.plugins.module_utils.cloud_module import cloud_argument_spec
from ansible_collections.hybrid.cluster.plugins.module_utils.ports import ROLES

# What the platform builds (cloud_network, cross_cloud_sg, peering): an active-active Azure gateway with
# two public IPs, one AWS customer gateway and one VPN connection per Azure public IP.
AZURE_GATEWAY_PUBLIC_IPS = 2
AWS_NEEDS = {"vpcs": 1, "vpn_connections": AZURE_GATEWAY_PUBLIC_IPS, "customer_gateways": AZURE_GATEWAY_PUBLIC_IPS,
             "vpn_gateways": 1, "transit_gateways": 1}

# key: (description, service code, quota code, AWS's documented default, what to delete to make room)
AWS_QUOTAS = {
    "vpcs": ("VPCs per Region", "vpc", "L-F678F1CE", 5, "VPCs"),
    "vpn_connections": ("Site-to-Site VPN connections per Region", "ec2", "L-3E6EC3A3", 50, "VPN connections"),
    "customer_gateways": ("Customer gateways per Region", "ec2", "L-4FB7FF5D", 50, "customer gateways"),
    "vpn_gateways": ("Virtual private gateways per Region", "ec2", "L-7029FAB6", 5, "virtual private gateways"),
    "transit_gateways": ("Transit gateways per account", "ec2", "L-A2478D36", 5, "transit gateways"),
    "vcpus": ("Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, vCPUs", "ec2", "L-1216C47A", None,
              "running instances"),
}
# EC2 account attribute: (key, description, what to delete to make room)
AWS_ATTRIBUTES = {
    "max-instances": ("instances", "Running instances (EC2 account attribute max-instances)", "instances"),
    "vpc-max-elastic-ips": ("elastic_ips", "VPC Elastic IP addresses (EC2 account attribute vpc-max-elastic-ips)",
                            "Elastic IP addresses"),
}
# States in which a resource still counts against its quota.
_LIVE_STATES = {
    "vpn_connections": ["pending", "available", "deleting"],
    "customer_gateways": ["pending", "available", "deleting"],
    "vpn_gateways": ["pending", "available", "deleting"],
    "transit_gateways": ["pending", "available", "modifying", "deleting"],
}
# Instance type prefixes of the Standard On-Demand vCPU quota (is4gen, im4gn belong to the I family).
STANDARD_FAMILIES = frozenset(("a", "c", "d", "h", "i", "m", "r", "t", "z", "is", "im"))

# Azure usage name -> (provider, resource type the usage counts or None, what to delete, platform's need or option)
AZURE_QUOTAS = (
    ("VirtualNetworks", "Microsoft.Network", "microsoft.network/virtualnetworks", "virtual networks", 1),
    ("PublicIPAddresses", "Microsoft.Network", "microsoft.network/publicipaddresses", "public IP addresses",
     AZURE_GATEWAY_PUBLIC_IPS),
    ("StandardSkuPublicIpAddresses", "Microsoft.Network", "microsoft.network/publicipaddresses", "Standard public IP addresses",
     AZURE_GATEWAY_PUBLIC_IPS),
    ("NetworkSecurityGroups", "Microsoft.Network", "microsoft.network/networksecuritygroups", "network security groups",
     len(ROLES)),
    ("RouteTables", "Microsoft.Network", "microsoft.network/routetables", "route tables", 1),
    ("cores", "Microsoft.Compute", None, "virtual machines", "azure_cores"),
    ("virtualMachines", "Microsoft.Compute", None, "virtual machines", "azure_vms"),
)
# Usages that only some subscriptions list; their absence is not worth a warning.
_AZURE_OPTIONAL = frozenset(("StandardSkuPublicIpAddresses",))

# Sign-in and request errors: code -> the fix.
AWS_CREDENTIAL_FIXES = {
    "InvalidClientTokenId": "check access_key (AWS_ACCESS_KEY_ID): AWS does not know this access key",
    "UnrecognizedClientException": "check access_key (AWS_ACCESS_KEY_ID): AWS does not know this access key",
    "AuthFailure": "check access_key and secret_key (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
    "SignatureDoesNotMatch": "check secret_key (AWS_SECRET_ACCESS_KEY): it does not belong to the access key",
    "IncompleteSignature": "check secret_key (AWS_SECRET_ACCESS_KEY)",
    "ExpiredToken": "renew the temporary credentials (session_token, AWS_SESSION_TOKEN) or use long-lived keys",
    "ExpiredTokenException": "renew the temporary credentials (session_token, AWS_SESSION_TOKEN) or use long-lived keys",
    "RequestExpired": "renew the temporary credentials or correct the controller's clock",
    "InvalidToken": "check session_token (AWS_SESSION_TOKEN) or leave it unset for long-lived keys",
    "AccessDenied": "allow sts:GetCallerIdentity for this identity (a service control policy may deny it)",
    "ConnectionError": "check endpoint_url (AWS_ENDPOINT_URL), the proxy settings and that the controller reaches AWS",
}
AZURE_SIGN_IN_FIXES = {
    "7000215": "check secret (AZURE_SECRET, AZURE_CLIENT_SECRET): use the client secret's value, not its id",
    "7000222": "the client secret has expired; create a new one for the app registration and set secret",
    "700016": "check client_id (AZURE_CLIENT_ID) and tenant (AZURE_TENANT): the application is not in this tenant",
    "90002": "check tenant (AZURE_TENANT): no such tenant",
    "900023": "check tenant (AZURE_TENANT): it must be a tenant id or domain name",
    "700024": "check client_id and that the client assertion is valid",
}
AZURE_ARM_FIXES = {
    "SubscriptionNotFound": "check subscription_id (AZURE_SUBSCRIPTION_ID) and that the service principal has a role in it",
    "AuthorizationFailed": "give the service principal a role on the subscription (Reader to check, Contributor to build)",
    "InvalidAuthenticationToken": "check cloud_environment / resource_manager_url: the token is for another cloud",
    "InvalidAuthenticationTokenTenant": "check tenant (AZURE_TENANT): the subscription belongs to another tenant",
    "ExpiredAuthenticationToken": "check the controller's clock",
}
_AADSTS = re.compile(r"AADSTS(\d+)")
_ARM_CODE = re.compile(r"\(HTTP \d+\) ([A-Za-z]+):")


def argument_spec():
    return cloud_argument_spec(dict(
        clouds=dict(type="list", elements="str", choices=["aws", "azure"], default=["aws", "azure"]),
        name=dict(type="str"),
        plan=dict(type="dict"),
        aws_gateway=dict(type="str", choices=["vgw", "transit"], default="vgw"),
        aws_instances=dict(type="int", default=0),
        aws_vcpus=dict(type="int", default=0),
        azure_location=dict(type="str"),
        azure_vms=dict(type="int", default=0),
        azure_cores=dict(type="int", default=0),
        azure_core_family=dict(type="str"),
        azure_resource_group=dict(type="str"),
        tags=dict(type="dict"),
        wait_timeout=dict(type="int"),
    ))


# ---------------------------------------------------------------- pure pieces

def problem(field, what, fix):
    """``<field>: <problem>. Fix: <fix>``, the form of every failure message of the collection."""
    return "%s: %s. Fix: %s" % (field, what.rstrip("."), fix)


def quota_row(name, description, code, used, limit, needed, source):
    """One quota entry; ``status`` is ok, too_low or unknown (see RETURN)."""
    limit = None if limit is None else int(limit)
    available = None if used is None or limit is None else limit - used
    if available is None:
        status = "unknown"
    elif needed > available:
        status = "unknown" if source == "assumed-default" else "too_low"
    else:
        status = "ok"
    return {"name": name, "description": description, "code": code, "used": used, "limit": limit, "needed": needed,
            "available": available, "source": source, "status": status}


def still_needed(need, owned):
    """What the platform still has to create when ``owned`` of ``need`` exist already."""
    return max(0, int(need) - int(owned))


def aws_credential_problem(err):
    """The problem line for a refused AWS sign-in (an ``AWSError``)."""
    if isinstance(err, AWSConfigurationError):
        return problem("aws", "no usable connection settings (%s)" % err,
                       "set the AWS options or the AWS_* variables listed in the message")
    fix = AWS_CREDENTIAL_FIXES.get(err.code) or "check the AWS credentials (access_key/secret_key/session_token or profile)"
    return problem("aws", "the credentials were refused: %s" % err, fix)


def azure_sign_in_problem(err):
    """The problem line for a failed Azure sign-in or subscription read (an ``AzureClientError``)."""
    text = str(err)
    match = _AADSTS.search(text)
    if match:
        fix = AZURE_SIGN_IN_FIXES.get(match.group(1), "check client_id, secret and tenant (AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT)")
        return problem("azure", "the service principal could not sign in: %s" % _first_sentence(text, match.start()), fix)
    code = getattr(err, "code", None)
    if not code:
        found = _ARM_CODE.search(text)
        code = found.group(1) if found else None
    fix = AZURE_ARM_FIXES.get(code)
    if fix is None and "authentication failed" in text.lower():
        fix = "check client_id, secret and tenant (AZURE_CLIENT_ID, AZURE_SECRET, AZURE_TENANT) and authority_url"
    if fix is None:
        fix = "check subscription_id, resource_manager_url, ca_bundle and that the controller reaches Azure"
    return problem("azure", "could not read the subscription: %s" % text, fix)


def _first_sentence(text, start):
    """``AADSTS7000215: Invalid client secret provided.`` out of Entra ID's long description."""
    tail = text[start:]
    end = tail.find(". ")
    return tail if end < 0 else tail[:end + 1]


def subscription_problem(subscription):
    state = subscription.get("state")
    if state == "Enabled":
        return None
    return problem("azure", "subscription %s (%s) is %s, not Enabled: Azure refuses to create resources in it"
                   % (subscription.get("subscription_id"), subscription.get("display_name"), state),
                   "re-enable the subscription (billing, Azure portal: Subscriptions) or set subscription_id to an enabled one")


def aws_quota_problem(row, region):
    wanted = row["used"] + row["needed"]
    if row["name"] in AWS_QUOTAS:
        _description, service, code, _default, things = AWS_QUOTAS[row["name"]]
        raise_it = "request a quota increase to at least %d in Service Quotas (service %s, quota %s) in %s" % (
            wanted, service, code, region)
    else:
        things = next((t for k, _d, t in AWS_ATTRIBUTES.values() if k == row["name"]), "resources")
        raise_it = "ask AWS for a limit of at least %d in %s (EC2 console, Limits)" % (wanted, region)
    return problem("aws.%s" % row["name"], "%s in %s: %d of %d in use, the platform needs %d more"
                   % (row["description"], region, row["used"], row["limit"], row["needed"]),
                   "remove %s that are no longer used or %s" % (things, raise_it))


def azure_quota_problem(row, location, provider, things):
    if provider == "Microsoft.Compute":
        fix = ("request a vCPU quota increase for %s (Azure portal, Quotas, Compute: %s) to at least %d, or use fewer or "
               "smaller VMs" % (location, row["description"], row["used"] + row["needed"]))
    else:
        fix = ("delete %s in %s that are no longer used or request a higher limit (Azure portal, Quotas, Networking: %s) "
               "of at least %d" % (things, location, row["description"], row["used"] + row["needed"]))
    return problem("azure.%s" % row["name"], "%s in %s: %d of %d in use, the platform needs %d more"
                   % (row["description"], location, row["used"], row["limit"], row["needed"]), fix)


def instance_vcpus(instance):
    """vCPUs of a running instance (cores x threads per core; 1 when EC2 does not say)."""
    options = instance.get("CpuOptions") or {}
    return int(options.get("CoreCount") or 1) * int(options.get("ThreadsPerCore") or 1)


def is_standard_on_demand(instance):
    """True for On-Demand instances of the Standard (A, C, D, H, I, M, R, T, Z) families."""
    if instance.get("InstanceLifecycle") in ("spot", "scheduled", "capacity-block"):
        return False
    prefix = re.match(r"[a-z]*", (instance.get("InstanceType") or "").lower()).group(0)
    return prefix in STANDARD_FAMILIES


def count_owned(items, name):
    """How many of ``items`` (EC2 descriptions with ``Tags``) carry the ownership tag of ``name``."""
    if not name:
        return 0
    return sum(1 for item in items if is_owned(item.get("Tags") or [], name))


# ---------------------------------------------------------------- AWS

class CloudCheck:  # pylint: disable=too-few-public-methods
    """What both halves share: the module, and the warnings and problems of the whole run."""

    def __init__(self, module, warnings, problems, result):
        self.module = module
        self.params = module.params
        self.warnings = warnings
        self.problems = problems
        self.result = result


class AwsCheck(CloudCheck):
    """The AWS half: identity, then the quotas of the region."""

    def __init__(self, module, warnings, problems):
        super().__init__(module, warnings, problems, {"account": None, "arn": None, "region": None, "quotas": []})
        self.connection = None
        self.session = None
        self.quota_client = None
        self.defaults = {}
        self.assumed = []

    def client(self, service):
        return self.connection.client(service, session=self.session)

    def run(self):
        if not HAS_BOTO3:
            self.module.fail_json(msg="aws: boto3 and botocore are not installed. Fix: pip install -r requirements.txt of "
                                      "the hybrid.cluster collection on the controller", exception=BOTO3_IMPORT_ERROR)
        try:
            self.connection = resolve_connection(self.params, profile_region=profile_region_lookup)
            self.result["region"] = self.connection.region
            self.session = self.connection.session()
            identity = self.client("sts").get_caller_identity()
        except AWSError as err:
            self.problems.append(aws_credential_problem(err))
            return self.result
        self.result["account"] = identity.get("Account")
        self.result["arn"] = identity.get("Arn")
        try:
            self.quotas(self.client("ec2"))
        except AWSError as err:
            self.problems.append(problem("aws", "could not read the resources in %s: %s" % (self.connection.region, err),
                                         "allow ec2:Describe* for this identity, or check endpoint_url and the connection"))
        return self.result

    def quotas(self, ec2):
        name = self.params["name"]
        rows = self.result["quotas"]
        vpcs = ec2.collect("describe_vpcs", "Vpcs")
        rows.append(self.service_quota_row("vpcs", len(vpcs), still_needed(AWS_NEEDS["vpcs"], count_owned(vpcs, name))))
        gateway = "transit_gateways" if self.params["aws_gateway"] == "transit" else "vpn_gateways"
        for key, method, list_key in (("vpn_connections", "describe_vpn_connections", "VpnConnections"),
                                      ("customer_gateways", "describe_customer_gateways", "CustomerGateways"),
                                      (gateway, "describe_" + gateway, "TransitGateways" if gateway == "transit_gateways" else "VpnGateways")):
            items = ec2.collect(method, list_key, Filters=[{"Name": "state", "Values": _LIVE_STATES[key]}])
            rows.append(self.service_quota_row(key, len(items), still_needed(AWS_NEEDS[key], count_owned(items, name))))

        instances = [i for reservation in ec2.collect("describe_instances", "Reservations",
                                                      Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])
                     for i in reservation.get("Instances") or []]
        vcpus = sum(instance_vcpus(i) for i in instances if is_standard_on_demand(i))
        rows.append(self.service_quota_row("vcpus", vcpus, self.params["aws_vcpus"]))
        addresses = ec2.collect("describe_addresses", "Addresses", Filters=[{"Name": "domain", "Values": ["vpc"]}])
        rows.extend(self.attribute_rows(ec2, len(instances), len(addresses)))
        if self.assumed:
            self.warnings.append("aws: AWS's documented defaults are assumed for the quotas Service Quotas did not give: %s"
                                 % "; ".join(self.assumed))
        for row in rows:
            if row["status"] == "too_low":
                self.problems.append(aws_quota_problem(row, self.connection.region))

    def attribute_rows(self, ec2, instances, addresses):
        """Running instances and VPC Elastic IPs against the EC2 account attributes."""
        attributes = {}
        try:
            for item in ec2.describe_account_attributes(AttributeNames=list(AWS_ATTRIBUTES))["AccountAttributes"]:
                values = [str(v.get("AttributeValue")) for v in item.get("AttributeValues") or []]
                attributes[item["AttributeName"]] = int(values[0]) if values and values[0].isdigit() else None
        except AWSError as err:
            self.warnings.append("aws: the EC2 account attributes could not be read (%s)" % err)
        rows = []
        for attribute, (key, description, _things) in AWS_ATTRIBUTES.items():
            used, needed = (instances, self.params["aws_instances"]) if key == "instances" else (addresses, 0)
            limit = attributes.get(attribute)
            if limit is None and needed:
                self.warnings.append("aws: EC2 did not report the account attribute %s; %s is unknown" % (attribute, description))
            rows.append(quota_row(key, description, attribute, used, limit, needed,
                                  "account-attributes" if limit is not None else "unavailable"))
        return rows

    def quotas_client(self):
        if self.quota_client is None:
            self.quota_client = self.client("service-quotas")
        return self.quota_client

    def service_quota_row(self, key, used, needed):
        description, service, code, default, _things = AWS_QUOTAS[key]
        try:
            quota = service_quota(self.quotas_client(), service, code, defaults=self.service_defaults)
        except AWSError as err:
            reason = err.code or str(err)
            if default is None:
                if needed:
                    self.warnings.append("aws: Service Quotas did not give %s (%s %s): %s; the quota is unknown"
                                         % (description, service, code, reason))
                return quota_row(key, description, code, used, None, needed, "unavailable")
            row = quota_row(key, description, code, used, default, needed, "assumed-default")
            note = "%s (%s %s) %d [%s]" % (description, service, code, default, reason)
            if row["status"] == "unknown":
                note += ", which %d in use plus %d needed exceed: the account needs a higher quota" % (used, needed)
            self.assumed.append(note)
            return row
        return quota_row(key, description, code, used, quota["value"], needed, quota["source"])

    def service_defaults(self, service):
        """AWS's defaults of a service, read once. Empty when Service Quotas does not know the service,
        None when the list cannot be read (then each default is asked for on its own)."""
        if service not in self.defaults:
            try:
                self.defaults[service] = default_service_quotas(self.quotas_client(), service)
            except AWSError as err:
                self.defaults[service] = {} if err.code == "NoSuchResourceException" else None
                self.module.debug("ListAWSDefaultServiceQuotas %s: %s" % (service, err))
        return self.defaults[service]


# ---------------------------------------------------------------- Azure

class AzureCheck(CloudCheck):
    """The Azure half: subscription, then the usages of the location."""

    def __init__(self, module, warnings, problems):
        location = (module.params["azure_location"] or "").replace(" ", "").lower()
        super().__init__(module, warnings, problems, {"subscription_id": None, "display_name": None, "state": None,
                                                      "tenant_id": None, "location": location, "quotas": []})
        self.location = location

    def run(self):
        if not HAS_AZURE:
            self.module.fail_json(msg="azure: the Azure SDK is not installed. Fix: pip install %s (requirements.txt of the "
                                      "hybrid.cluster collection) on the controller" % AZURE_REQUIRED_LIBS,
                                  exception=AZURE_IMPORT_ERROR)
        try:
            clients = AzureClients(self.params)
        except AzureClientError as err:
            self.problems.append(problem("azure", "no usable connection settings (%s)" % err,
                                         "set the Azure options or the AZURE_* variables named in the message"))
            return self.result
        try:
            self.check(clients)
        finally:
            clients.close()
        return self.result

    def check(self, clients):
        try:
            subscription = get_subscription(clients)
        except AzureClientError as err:
            self.problems.append(azure_sign_in_problem(err))
            return
        self.result.update(subscription)
        trouble = subscription_problem(subscription)
        if trouble:
            self.problems.append(trouble)
            return
        owned = {}
        if self.params["name"]:
            try:
                for resource in owned_resources(clients, self.params["name"]):
                    if (resource["location"] or "").replace(" ", "").lower() == self.location:
                        key = (resource["type"] or "").lower()
                        owned[key] = owned.get(key, 0) + 1
            except AzureClientError as err:
                self.warnings.append("azure: the resources tagged %s=%s could not be listed (%s); everything the platform "
                                     "needs counts as new" % ("hybrid-cluster", self.params["name"], err))
        usages = {}
        for provider in ("Microsoft.Network", "Microsoft.Compute"):
            try:
                usages[provider] = {u["name"]: u for u in location_usages(clients, provider, self.location) if u["name"]}
            except AzureClientError as err:
                usages[provider] = None
                self.warnings.append("azure: the %s usages of %s could not be read (%s); those quotas are unknown"
                                     % (provider, self.location, err))
        wanted = list(AZURE_QUOTAS)
        if self.params["azure_core_family"]:
            wanted.append((self.params["azure_core_family"], "Microsoft.Compute", None, "virtual machines", "azure_cores"))
        for usage_name, provider, resource_type, things, need in wanted:
            self.row(usages[provider], usage_name, provider, resource_type, things, need, owned)

    def row(self, listed, usage_name, provider, resource_type, things, need, owned):
        needed = self.params[need] if isinstance(need, str) else still_needed(need, owned.get(resource_type, 0))
        usage = (listed or {}).get(usage_name)
        if usage is None:
            if listed is not None and usage_name in _AZURE_OPTIONAL:
                return
            if listed is not None:
                self.warnings.append("azure: %s does not list the usage %s for %s; that quota is unknown"
                                     % (provider, usage_name, self.location))
            self.result["quotas"].append(quota_row(usage_name, usage_name, provider, None, None, needed, "unavailable"))
            return
        row = quota_row(usage_name, usage["localized_name"] or usage_name, provider, usage["current"], usage["limit"], needed, "usages")
        self.result["quotas"].append(row)
        if row["status"] == "too_low":
            self.problems.append(azure_quota_problem(row, self.location, provider, things))


# ---------------------------------------------------------------- main

def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    for option in ("aws_instances", "aws_vcpus", "azure_vms", "azure_cores"):
        if params[option] < 0:
            module.fail_json(msg="%s: %d is negative. Fix: give how many the platform will still create (0 or more)"
                             % (option, params[option]))
    if not params["name"] and params["plan"]:
        params["name"] = params["plan"].get("name")
    clouds = params["clouds"]
    if "azure" in clouds and not params["azure_location"]:
        module.fail_json(msg="azure_location: required when azure is in clouds. Fix: set it to the region the platform is "
                             "built in, for example westeurope")
    warnings = []
    problems = []
    result = {"changed": False, "clouds": {}, "problems": problems}
    if "aws" in clouds:
        result["clouds"]["aws"] = AwsCheck(module, warnings, problems).run()
    if "azure" in clouds:
        result["clouds"]["azure"] = AzureCheck(module, warnings, problems).run()
    for warning in warnings:
        module.warn(warning)
    if problems:
        plural = "" if len(problems) == 1 else "s"
        module.fail_json(msg="Preflight found %d problem%s: %s" % (len(problems), plural, " | ".join(problems)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
