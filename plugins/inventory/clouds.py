# -*- coding: utf-8 -*-
# Copyright: hybrid.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: clouds
short_description: One inventory of EC2 instances and Azure virtual machines, with Kubespray groups
version_added: 1.0.0
description:
  - Lists the EC2 instances of one or more AWS regions and the virtual machines (including scale-set instances,
    Uniform and Flexible) of one or more Azure subscriptions or resource groups, and merges them into one inventory.
  - Hosts are grouped by cloud (V(aws), V(azure)), region or location, zone, platform (the value of the ownership
    tag) and, from a role tag, into the Kubespray groups C(kube_control_plane), C(kube_node), C(etcd) (children of
    C(k8s_cluster)). With O(topology=mesh) every cluster also gets its own set of groups, named
    C(<platform>_<cloud>_kube_control_plane), C(<platform>_<cloud>_kube_node), C(<platform>_<cloud>_etcd) and
    C(<platform>_<cloud>_k8s_cluster), all children of C(<platform>_<cloud>).
  - "Azure is listed with a constant number of paged list calls per subscription (or resource group): virtual
    machines with their power state, network interfaces, public IP addresses and scale sets, plus one instance list
    and one network interface list per Uniform scale set. Nothing is requested per virtual machine."
  - AWS regions are listed in parallel with paginated C(DescribeInstances) and the filters applied by EC2; both
    clouds are listed at the same time.
  - Throttling and server errors are retried with backoff (a C(Retry-After) from the service is honoured). When a
    region or subscription still fails, the whole source fails with an error that names it; a partial inventory is
    never returned.
  - The configuration file name must end with C(clouds.yml) or C(clouds.yaml).
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
extends_documentation_fragment:
  - constructed
  - inventory_cache
  - hybrid.cluster.aws
  - hybrid.cluster.azure
options:
  plugin:
    description: Marks the file as a configuration of this plugin.
    type: str
    required: true
    choices: [hybrid.cluster.clouds, clouds]
  clouds:
    description:
      - Which clouds to list.
    type: list
    elements: str
    choices: [aws, azure]
    default: [aws, azure]
  regions:
    description:
      - AWS regions to list, in parallel.
      - When empty, the single region of O(region) (or E(AWS_REGION), E(AWS_DEFAULT_REGION)) is listed.
    type: list
    elements: str
    default: []
  filters:
    description:
      - EC2 filters applied by EC2 itself, as a mapping of filter name to a value or a list of values, for example
        C(tag:hybrid-cluster-node-role) or C(vpc-id).
      - Unless C(instance-state-name) is given, only pending, running, stopping and stopped instances are listed
        (only running and pending ones when O(include_stopped=false)).
    type: dict
    default: {}
  subscriptions:
    description:
      - Azure subscriptions to list, in parallel. Each item is a subscription ID or a mapping with
        C(subscription_id) and an optional list C(resource_groups) that limits the listing to those groups.
      - When empty, the single subscription of O(subscription_id) (or E(AZURE_SUBSCRIPTION_ID)) is listed, limited to
        O(resource_groups) when set.
    type: list
    elements: raw
    default: []
  resource_groups:
    description:
      - Resource groups of the default subscription to list (each with its own list calls). Empty lists the
        whole subscription with subscription-wide list calls.
    type: list
    elements: str
    default: []
  azure_tag_filters:
    description:
      - Keep only Azure virtual machines and scale sets that carry these tags; a mapping of tag name to a value, a
        list of values, or null for any value. Applied to the lists as they arrive, before the scale sets' instances
        are listed.
    type: dict
    default: {}
  platform:
    description:
      - Only list the hosts of this platform (the value of the O(platform_tag) tag). EC2 filters on it; Azure keeps
        the matching virtual machines and scale sets.
    type: str
  platform_tag:
    description: Name of the ownership tag whose value names the platform (and the cluster prefix with O(topology=mesh)).
    type: str
    default: hybrid-cluster
  platform_group_prefix:
    description: Prefix of the per-platform group, C(<prefix><platform>).
    type: str
    default: platform_
  role_tag:
    description: Name of the tag that holds a host's Kubernetes role.
    type: str
    default: hybrid-cluster-node-role
  role_groups:
    description:
      - Kubespray groups for each value of O(role_tag). Values may only name C(kube_control_plane), C(kube_node) and
        C(etcd). Hosts whose role is not listed here (or untagged hosts) are in no Kubespray group.
    type: dict
    default:
      control_plane: [kube_control_plane, etcd]
      worker: [kube_node]
  control_plane_in_kube_node:
    description: Also put control plane hosts into C(kube_node), so that they run workloads.
    type: bool
    default: false
  topology:
    description:
      - V(mesh) (one Kubernetes cluster per cloud) adds the per-cluster groups described above; V(stretched)
        (one cluster over both clouds) has only the shared Kubespray groups.
    type: str
    choices: [mesh, stretched]
    default: mesh
  hostnames:
    description:
      - Preference list of what names a host; the first one a host has is used.
      - V(name) is the EC2 C(Name) tag or the Azure VM name (C(<scale set>_<instance id>) for Uniform scale-set
        instances); V(computer_name) the Azure OS computer name; V(instance_id) the EC2 instance ID or the Azure
        C(vmId).
      - A host without any of them is named by its ID. When two hosts get the same name, the later one (in the order
        of cloud and ID) gets its ID appended and a warning is shown.
    type: list
    elements: str
    choices: [name, computer_name, private_dns_name, private_ip_address, public_ip_address, public_dns_name, instance_id]
    default: [name, instance_id]
  hostname_preference:
    description:
      - Which address becomes C(ansible_host). V(private) and V(public) fall back to the other address when the
        preferred one is missing. V(auto) takes the public address unless there is none or a jump host is set for
        the host's cloud.
    type: str
    choices: [private, public, auto]
    default: auto
  jump_hosts:
    description:
      - SSH jump host per cloud (keys V(aws) and V(azure)), for example C(admin@bastion.example.com). Hosts of that
        cloud get C(ansible_ssh_common_args=-o ProxyJump=<jump host>).
    type: dict
    default: {}
  include_stopped:
    description: Also list stopped and deallocated hosts (with their C(power_state)).
    type: bool
    default: true
  max_workers:
    description: How many regions and subscriptions are listed at the same time.
    type: int
    default: 8
notes:
  - "Host variables: C(cloud), C(region) (and C(location) on Azure), C(zone), C(instance_id) (EC2 instance ID or Azure
    resource ID), C(size), C(power_state), C(ip) and C(access_ip) (the private address, as Kubespray reads them),
    C(private_ip), C(public_ip), C(private_dns_name), C(public_dns_name), C(subnet) (EC2 subnet ID or Azure subnet
    resource ID), C(network) (VPC ID or VNet resource ID), C(ansible_host), C(platform), C(node_role), C(ec2_tags) or
    C(azure_tags) (never C(tags)), and per cloud C(ec2_*) or C(azure_*) details such as C(azure_vm_id),
    C(azure_resource_group), C(azure_scale_set)."
  - Every string that comes from a cloud API is marked unsafe, so tag values are never templated.
  - A cache hit (see O(cache)) makes no request to either cloud. The cached data is the listing itself, so changing
    grouping options takes effect on a cache hit; changing what is listed (regions, subscriptions, filters) is a
    cache miss.
  - In AWX, use a custom credential type that injects both the AWS_* and the AZURE_* variables (an inventory
    source takes only one credential); the collection ships one under C(extensions/awx/). Inventory updates in AWX
    fail when a source fails to parse; on the command line set E(ANSIBLE_INVENTORY_UNPARSED_FAILED=true) to get a
    non-zero exit status when a region or subscription fails.
"""

EXAMPLES = r"""
# shop.clouds.yml: both clouds, credentials from the environment (AWS_*, AZURE_*)
plugin: hybrid.cluster.clouds
regions: [us-west-2]
platform: shop
---
# Several regions and subscriptions, private addresses through a jump host per cloud
plugin: hybrid.cluster.clouds
regions: [us-west-2, eu-central-1]
subscriptions:
  - 00000000-0000-0000-0000-000000000001
  - subscription_id: 00000000-0000-0000-0000-000000000002
    resource_groups: [shop-rg]
filters:
  tag:hybrid-cluster: shop
hostname_preference: private
jump_hosts:
  aws: admin@bastion-aws.example.com
  azure: admin@bastion-azure.example.com
control_plane_in_kube_node: true
---
# Cached for an hour in JSON files, with extra groups and variables
plugin: hybrid.cluster.clouds
regions: [us-west-2]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/hybrid-clouds
cache_timeout: 3600
keyed_groups:
  - key: size
    prefix: size
groups:
  stopped: power_state != 'running'
compose:
  ansible_user: "'ubuntu' if cloud == 'aws' else 'azureuser'"
"""

import hashlib
import json
import os

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.hybrid.cluster.plugins.plugin_utils.clouds_inventory import (
    DEFAULT_SETTINGS,
    InventoryDataError,
    build_inventory,
)

try:
    # The client layers (and with them the SDKs) are imported only for the clouds that are listed.
    from ansible_collections.hybrid.cluster.plugins.plugin_utils.clouds_sources import (
        AWS_OPTIONS,
        AZURE_OPTIONS,
        SourceError,
        aws_layer,
        azure_layer,
        ec2_filters,
        fetch_all,
    )
    IMPORT_ERROR = None
except ImportError as exc:  # the SDKs are checked by the client layers; this only guards odd installs
    IMPORT_ERROR = exc

display = Display()

CACHE_FORMAT = 1
LAYERS_ERROR = "hybrid.cluster.clouds cannot load its client layers: %s"


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """EC2 and Azure hosts in one inventory (see DOCUMENTATION)."""

    NAME = "hybrid.cluster.clouds"
    INVENTORY_FILE_SUFFIXES = ("clouds.yml", "clouds.yaml")

    def verify_file(self, path):
        if not super().verify_file(path):
            return False
        return path.endswith(self.INVENTORY_FILE_SUFFIXES)

    # ------------------------------------------------------------------ options
    def _option(self, name):
        try:
            return self.get_option(name)
        except KeyError:
            return None

    def _params(self, names):
        return {name: self._option(name) for name in names}

    def _aws_regions(self):
        regions = [str(r) for r in self._option("regions") or []]
        if regions:
            return regions
        aws = aws_layer()
        try:
            return [aws.resolve_connection(self._params(AWS_OPTIONS + ("region",))).region]
        except aws.AWSError as exc:
            raise AnsibleParserError("hybrid.cluster.clouds: no AWS region to list (set regions, region or AWS_REGION): %s" % exc) from exc

    def _azure_subscriptions(self):
        result = []
        for item in self._option("subscriptions") or []:
            if isinstance(item, dict):
                sub = item.get("subscription_id")
                groups = item.get("resource_groups") or []
            else:
                sub, groups = item, []
            if not sub:
                raise AnsibleParserError("hybrid.cluster.clouds: every item of subscriptions needs a subscription_id")
            result.append((str(sub), [str(g) for g in groups] or None))
        if result:
            return result
        sub = self._option("subscription_id")
        if not sub:
            sub = next((os.environ.get(n) for n in azure_layer().ENV_FALLBACKS["subscription_id"] if os.environ.get(n)), None)
        if not sub:
            raise AnsibleParserError("hybrid.cluster.clouds: no Azure subscription to list (set subscriptions, "
                                     "subscription_id or AZURE_SUBSCRIPTION_ID)")
        return [(str(sub), [str(g) for g in self._option("resource_groups") or []] or None)]

    def _settings(self):
        return {key: self._option(key) for key in DEFAULT_SETTINGS}

    def _fetch_plan(self):
        """What will be listed; also the fingerprint that a cached listing must match."""
        clouds = self._option("clouds") or ["aws", "azure"]
        plan = {"format": CACHE_FORMAT, "aws": None, "azure": None}
        tag_filters = dict(self._option("azure_tag_filters") or {})
        platform = self._option("platform")
        if platform:
            tag_filters[self._option("platform_tag")] = platform
        if "aws" in clouds:
            plan["aws"] = {
                "regions": self._aws_regions(),
                "filters": ec2_filters(self._option("filters"), platform, self._option("platform_tag"),
                                       self._option("include_stopped")),
                "endpoint": self._option("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL_EC2") or os.environ.get("AWS_ENDPOINT_URL"),
            }
        if "azure" in clouds:
            plan["azure"] = {
                "subscriptions": self._azure_subscriptions(),
                "tag_filters": tag_filters,
                "resource_manager": self._option("resource_manager_url") or os.environ.get("AZURE_RESOURCE_MANAGER_URL")
                or self._option("cloud_environment") or os.environ.get("AZURE_CLOUD_ENVIRONMENT"),
            }
        return plan

    @staticmethod
    def _fingerprint(plan):
        return hashlib.sha256(json.dumps(plan, sort_keys=True, default=str).encode("utf-8")).hexdigest()

    # ------------------------------------------------------------------ listing
    def _fetch(self, plan):
        aws = plan["aws"] or {}
        azure = plan["azure"] or {}
        try:
            return fetch_all(
                aws.get("regions") or [], self._params(AWS_OPTIONS), aws.get("filters"),
                [tuple(s) for s in azure.get("subscriptions") or []], self._params(AZURE_OPTIONS),
                tag_filters=azure.get("tag_filters"), workers=self._option("max_workers") or 8)
        except SourceError as exc:
            raise AnsibleError("hybrid.cluster.clouds: the inventory is incomplete, so none is returned. %s failed: %s"
                               % (", ".join(source for source, dummy in exc.failures), exc)) from exc
        except ImportError as exc:
            raise AnsibleParserError(LAYERS_ERROR % exc) from exc

    # ------------------------------------------------------------------ parse
    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache=cache)
        if IMPORT_ERROR is not None:
            raise AnsibleParserError(LAYERS_ERROR % IMPORT_ERROR)
        self._read_config_data(path)
        try:
            plan = self._fetch_plan()
        except ImportError as exc:
            raise AnsibleParserError(LAYERS_ERROR % exc) from exc
        fingerprint = self._fingerprint(plan)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache")
        records = None
        update_cache = False
        if use_cache:
            if cache:
                try:
                    cached = self._cache[cache_key]
                except KeyError:
                    cached = None
                if isinstance(cached, dict) and cached.get("fingerprint") == fingerprint:
                    records = cached.get("records")
            update_cache = records is None
        if records is None:
            records = self._fetch(plan)
        if update_cache:
            self._cache[cache_key] = {"fingerprint": fingerprint, "records": records}
        self._populate(records)

    def _populate(self, records):
        try:
            data = build_inventory(records, self._settings())
        except InventoryDataError as exc:
            raise AnsibleParserError("hybrid.cluster.clouds: %s" % exc) from exc
        for warning in data.warnings:
            display.warning("hybrid.cluster.clouds: %s" % warning)
        strict = self.get_option("strict")
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        for group in data.groups:
            self.inventory.add_group(group)
        for group, entry in data.groups.items():
            for child in entry["children"]:
                self.inventory.add_child(group, child)
        for hostname, variables in data.hosts.items():
            hostname = wrap_var(hostname)
            self.inventory.add_host(hostname)
            safe = wrap_var(variables)
            for key, value in safe.items():
                self.inventory.set_variable(hostname, key, value)
            self._set_composite_vars(compose, safe, hostname, strict=strict)
            self._add_host_to_composed_groups(groups, safe, hostname, strict=strict)
            self._add_host_to_keyed_groups(keyed_groups, safe, hostname, strict=strict)
        for group, entry in data.groups.items():
            for hostname in entry["hosts"]:
                self.inventory.add_host(wrap_var(hostname), group=group)
