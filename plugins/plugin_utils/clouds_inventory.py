# -*- coding: utf-8 -*-
# Copyright: hybrid.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Pure logic of the ``hybrid.cluster.clouds`` inventory: no SDK, no network, no Ansible objects.

Input: what the SDKs list, as mappings in the shape of the APIs (EC2 ``Reservations[].Instances[]``
items; Azure Resource Manager JSON with ``properties`` nesting, which is also what the Azure SDK's
models behave like). Output: an ``Inventory`` (hosts with their variables, groups with hosts and
children) that the plugin copies into Ansible's inventory.

Flow:

1. ``ec2_record(instance, region)`` and ``azure_records(listing)`` turn each cloud's listing into
   *records*: flat dicts of plain strings, lists and dicts (JSON-serializable, so they are what the
   inventory cache stores).
2. ``build_inventory(records, settings)`` names the hosts, picks their addresses, computes the host
   variables and the groups (cloud, region, zone, platform, Kubespray roles, per-cluster groups).
"""

from __future__ import annotations

import re

CLOUDS = ("aws", "azure")
KUBESPRAY_GROUPS = ("kube_control_plane", "kube_node", "etcd")
HOSTNAME_SOURCES = ("name", "computer_name", "private_dns_name", "private_ip_address", "public_ip_address",
                    "public_dns_name", "instance_id")
ADDRESS_PREFERENCES = ("private", "public", "auto")
TOPOLOGIES = ("mesh", "stretched")

DEFAULT_SETTINGS = {
    "platform_tag": "hybrid-cluster",
    "role_tag": "hybrid-cluster-node-role",
    "role_groups": {"control_plane": ["kube_control_plane", "etcd"], "worker": ["kube_node"]},
    "control_plane_in_kube_node": False,
    "topology": "mesh",
    "hostnames": ["name", "instance_id"],
    "hostname_preference": "auto",
    "jump_hosts": {},
    "include_stopped": True,
    "platform_group_prefix": "platform_",
}

# EC2 states that are gone or going; never inventory hosts.
EC2_GONE_STATES = ("shutting-down", "terminated")
EC2_LIVE_STATES = ("pending", "running", "stopping", "stopped")
RUNNING_STATES = ("running", "pending", "starting")

_UNSAFE_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


class InventoryDataError(ValueError):
    """Settings or listings that cannot make an inventory (wrong option values, broken data)."""


def safe_group_name(name):
    """A group name Ansible accepts without warnings: letters, digits and ``_``; no leading digit."""
    name = _UNSAFE_GROUP_CHARS.sub("_", str(name))
    if not name or name[0].isdigit():
        name = "_" + name
    return name


def _get(obj, *keys):
    """``obj[k1][k2]...`` for mappings (dicts or SDK models); None when a level is missing."""
    for key in keys:
        if obj is None:
            return None
        try:
            obj = obj.get(key)
        except AttributeError:
            return None
    return obj


def _text(value):
    if value is None:
        return None
    value = str(value)
    return value or None


def _tag_dict(tags):
    """Tags as a plain ``{str: str}`` from an EC2 tag list or an Azure tag mapping."""
    if not tags:
        return {}
    if isinstance(tags, (list, tuple)):
        result = {}
        for item in tags:
            key = _get(item, "Key")
            if key is not None:
                result[str(key)] = "" if _get(item, "Value") is None else str(_get(item, "Value"))
        return result
    return {str(key): "" if value is None else str(value) for key, value in tags.items()}


# ---------------------------------------------------------------------------------------------
# EC2


def ec2_record(instance, region):
    """A record from one item of ``describe_instances`` ``Reservations[].Instances[]``.

    Returns None for instances that are shutting down or terminated.
    """
    state = _text(_get(instance, "State", "Name")) or "unknown"
    if state in EC2_GONE_STATES:
        return None
    instance_id = _text(_get(instance, "InstanceId"))
    if not instance_id:
        raise InventoryDataError("an EC2 instance in %s has no InstanceId" % region)
    tags = _tag_dict(_get(instance, "Tags"))
    return {
        "cloud": "aws",
        "id": instance_id,
        "name": tags.get("Name") or None,
        "computer_name": None,
        "region": region,
        "zone": _text(_get(instance, "Placement", "AvailabilityZone")),
        "size": _text(_get(instance, "InstanceType")),
        "power_state": state,
        "private_ip": _text(_get(instance, "PrivateIpAddress")),
        "public_ip": _text(_get(instance, "PublicIpAddress")),
        "private_dns": _text(_get(instance, "PrivateDnsName")),
        "public_dns": _text(_get(instance, "PublicDnsName")),
        "subnet": _text(_get(instance, "SubnetId")),
        "network": _text(_get(instance, "VpcId")),
        "tags": tags,
        "extra": {
            "ec2_instance_id": instance_id,
            "ec2_image_id": _text(_get(instance, "ImageId")),
            "ec2_architecture": _text(_get(instance, "Architecture")),
            "ec2_key_name": _text(_get(instance, "KeyName")),
            "ec2_platform": _text(_get(instance, "PlatformDetails")) or _text(_get(instance, "Platform")),
            "ec2_launch_time": _text(_get(instance, "LaunchTime")),
            "ec2_security_group_ids": sorted(str(_get(g, "GroupId")) for g in (_get(instance, "SecurityGroups") or [])
                                             if _get(g, "GroupId")),
        },
    }


def ec2_records(reservations, region):
    """Records of every live instance in a list of ``Reservations`` (or a flat list of instances)."""
    records = []
    for item in reservations or []:
        instances = _get(item, "Instances")
        if instances is None and _get(item, "InstanceId"):
            instances = [item]
        for instance in instances or []:
            record = ec2_record(instance, region)
            if record is not None:
                records.append(record)
    return records


# ---------------------------------------------------------------------------------------------
# Azure


def _lower(value):
    return str(value).lower() if value else None


def resource_group_of(resource_id):
    """Resource group name from an ARM id (as written in the id), or None."""
    parts = str(resource_id or "").split("/")
    for index, part in enumerate(parts[:-1]):
        if part.lower() == "resourcegroups":
            return parts[index + 1]
    return None


def subscription_of(resource_id):
    parts = str(resource_id or "").split("/")
    for index, part in enumerate(parts[:-1]):
        if part.lower() == "subscriptions":
            return parts[index + 1]
    return None


def azure_power_state(view):
    """``running``, ``stopped``, ``deallocated``... from an instance view; None when absent."""
    for status in _get(view, "statuses") or []:
        code = _text(_get(status, "code")) or ""
        if code.lower().startswith("powerstate/"):
            return code.split("/", 1)[1].lower()
    return None


def _index_by_id(items):
    return {_lower(_get(item, "id")): item for item in items or [] if _get(item, "id")}


def _nic_address(nic, public_ips):
    """(private ip, public ip, public fqdn, subnet id) of a NIC's primary ip configuration."""
    configs = _get(nic, "properties", "ipConfigurations") or []
    chosen = None
    for config in configs:
        if _get(config, "properties", "primary"):
            chosen = config
            break
    if chosen is None and configs:
        chosen = configs[0]
    if chosen is None:
        return None, None, None, None
    props = _get(chosen, "properties") or {}
    public_ip = public_fqdn = None
    pip_ref = _get(props, "publicIPAddress")
    if pip_ref is not None:
        pip = public_ips.get(_lower(_get(pip_ref, "id"))) or pip_ref
        public_ip = _text(_get(pip, "properties", "ipAddress"))
        public_fqdn = _text(_get(pip, "properties", "dnsSettings", "fqdn"))
    return _text(_get(props, "privateIPAddress")), public_ip, public_fqdn, _text(_get(props, "subnet", "id"))


def _primary_nic(machine, nics_by_id, nics_by_vm):
    """The primary network interface of a VM or scale-set instance (joined in memory)."""
    refs = _get(machine, "properties", "networkProfile", "networkInterfaces") or []
    chosen = None
    for ref in refs:
        nic = nics_by_id.get(_lower(_get(ref, "id")))
        if nic is None:
            continue
        if chosen is None or _get(ref, "properties", "primary") or _get(ref, "primary"):
            chosen = nic
            if _get(ref, "properties", "primary") or _get(ref, "primary"):
                break
    if chosen is None:
        attached = nics_by_vm.get(_lower(_get(machine, "id"))) or []
        for nic in attached:
            if chosen is None or _get(nic, "properties", "primary"):
                chosen = nic
    return chosen


def _vnet_of(subnet_id):
    if not subnet_id:
        return None
    marker = subnet_id.lower().find("/subnets/")
    return subnet_id[:marker] if marker > 0 else None


def azure_machine_record(machine, nics_by_id, nics_by_vm, public_ips, scale_set=None):
    """A record for one VM (from the VM list) or scale-set instance (from a scale set's VM list)."""
    ident = _text(_get(machine, "id"))
    if not ident:
        raise InventoryDataError("an Azure virtual machine without an id")
    props = _get(machine, "properties") or {}
    tags = _tag_dict(_get(machine, "tags"))
    if not tags and scale_set is not None:
        tags = _tag_dict(_get(scale_set, "tags"))
    zones = _get(machine, "zones") or (_get(scale_set, "zones") if scale_set is not None else None) or []
    location = _text(_get(machine, "location")) or _text(_get(scale_set, "location"))
    location = location.replace(" ", "").lower() if location else None
    size = _text(_get(props, "hardwareProfile", "vmSize")) or _text(_get(machine, "sku", "name")) \
        or (_text(_get(scale_set, "sku", "name")) if scale_set is not None else None)
    nic = _primary_nic(machine, nics_by_id, nics_by_vm)
    private_ip = public_ip = public_fqdn = subnet = None
    if nic is not None:
        private_ip, public_ip, public_fqdn, subnet = _nic_address(nic, public_ips)
    power = azure_power_state(_get(props, "instanceView")) or azure_power_state(_get(machine, "instanceView")) or "unknown"
    scale_set_id = _text(_get(scale_set, "id")) if scale_set is not None else _text(_get(props, "virtualMachineScaleSet", "id"))
    name = _text(_get(machine, "name"))
    return {
        "cloud": "azure",
        "id": ident,
        "name": name,
        "computer_name": _text(_get(props, "osProfile", "computerName")) or _text(_get(props, "instanceView", "computerName")),
        "region": location,
        "zone": _text(zones[0]) if zones else None,
        "size": size,
        "power_state": power,
        "private_ip": private_ip,
        "public_ip": public_ip,
        "private_dns": None,
        "public_dns": public_fqdn,
        "subnet": subnet,
        "network": _vnet_of(subnet),
        "tags": tags,
        "extra": {
            "azure_vm_id": _text(_get(props, "vmId")),
            "azure_resource_id": ident,
            "azure_resource_group": resource_group_of(ident),
            "azure_subscription_id": subscription_of(ident),
            "azure_scale_set": scale_set_id.rsplit("/", 1)[-1] if scale_set_id else None,
            "azure_scale_set_id": scale_set_id,
            "azure_scale_set_mode": (_text(_get(scale_set, "properties", "orchestrationMode")) or "Uniform")
            if scale_set is not None else ("Flexible" if scale_set_id else None),
            "azure_instance_id": _text(_get(machine, "instanceId")) if scale_set is not None else None,
            "azure_nic_id": _text(_get(nic, "id")) if nic is not None else None,
            "azure_provisioning_state": _text(_get(props, "provisioningState")),
            "azure_os_type": _text(_get(props, "storageProfile", "osDisk", "osType")),
        },
    }


def azure_records(listing):
    """Records of the VMs and scale-set instances of one listing, joined in memory.

    ``listing`` holds the paged lists of one subscription (or resource group):
    ``virtual_machines`` (with instance view: ``statusOnly=true`` or ``$expand=instanceView``),
    ``network_interfaces``, ``public_ip_addresses``, ``scale_sets`` and, per scale set id (lower
    case), ``scale_set_vms[id]`` and ``scale_set_nics[id]``.
    """
    nics = list(listing.get("network_interfaces") or [])
    for extra in (listing.get("scale_set_nics") or {}).values():
        nics.extend(extra or [])
    nics_by_id = _index_by_id(nics)
    nics_by_vm = {}
    for nic in nics:
        owner = _lower(_get(nic, "properties", "virtualMachine", "id"))
        if owner:
            nics_by_vm.setdefault(owner, []).append(nic)
    public_ips = _index_by_id(listing.get("public_ip_addresses"))
    records = [azure_machine_record(vm, nics_by_id, nics_by_vm, public_ips) for vm in listing.get("virtual_machines") or []]
    scale_sets = _index_by_id(listing.get("scale_sets"))
    for scale_set_id, instances in sorted((listing.get("scale_set_vms") or {}).items()):
        scale_set = scale_sets.get(_lower(scale_set_id)) or {"id": scale_set_id}
        for instance in instances or []:
            records.append(azure_machine_record(instance, nics_by_id, nics_by_vm, public_ips, scale_set))
    return records


def uniform_scale_sets(scale_sets):
    """Scale sets whose instances are listed through the scale set (Uniform orchestration).

    Flexible scale sets' members are ordinary VMs and come with the VM list.
    """
    return [s for s in scale_sets or [] if (_text(_get(s, "properties", "orchestrationMode")) or "Uniform").lower() != "flexible"]


# ---------------------------------------------------------------------------------------------
# Inventory


def resolve_settings(settings=None):
    """Defaults plus ``settings``; validated. Unknown keys are refused."""
    merged = dict(DEFAULT_SETTINGS)
    for key, value in (settings or {}).items():
        if key not in DEFAULT_SETTINGS:
            raise InventoryDataError("unknown inventory setting %r" % key)
        if value is not None:
            merged[key] = value
    if merged["topology"] not in TOPOLOGIES:
        raise InventoryDataError("topology must be one of %s, got %r" % (", ".join(TOPOLOGIES), merged["topology"]))
    if merged["hostname_preference"] not in ADDRESS_PREFERENCES:
        raise InventoryDataError("hostname_preference must be one of %s, got %r"
                                 % (", ".join(ADDRESS_PREFERENCES), merged["hostname_preference"]))
    hostnames = merged["hostnames"]
    if isinstance(hostnames, str):
        hostnames = [hostnames]
    unknown = [h for h in hostnames if h not in HOSTNAME_SOURCES]
    if unknown or not hostnames:
        raise InventoryDataError("hostnames must be a non-empty list of %s; unknown: %s"
                                 % (", ".join(HOSTNAME_SOURCES), ", ".join(map(str, unknown)) or "(empty list)"))
    merged["hostnames"] = list(hostnames)
    role_groups = {}
    for value, groups in (merged["role_groups"] or {}).items():
        if isinstance(groups, str):
            groups = [groups]
        bad = [g for g in groups if g not in KUBESPRAY_GROUPS]
        if bad:
            raise InventoryDataError("role_groups[%s] may only name %s, got %s" % (value, ", ".join(KUBESPRAY_GROUPS), ", ".join(bad)))
        role_groups[str(value)] = list(groups)
    merged["role_groups"] = role_groups
    jump_hosts = dict(merged["jump_hosts"] or {})
    bad = [c for c in jump_hosts if c not in CLOUDS]
    if bad:
        raise InventoryDataError("jump_hosts keys must be aws and/or azure, got %s" % ", ".join(bad))
    merged["jump_hosts"] = jump_hosts
    return merged


def _hostname_candidate(record, source):
    if source == "name":
        return record.get("name")
    if source == "computer_name":
        return record.get("computer_name")
    if source == "private_dns_name":
        return record.get("private_dns")
    if source == "public_dns_name":
        return record.get("public_dns")
    if source == "private_ip_address":
        return record.get("private_ip")
    if source == "public_ip_address":
        return record.get("public_ip")
    if source == "instance_id":
        if record["cloud"] == "aws":
            return record["id"]
        return record["extra"].get("azure_vm_id") or record["id"].rsplit("/", 1)[-1]
    return None


def _short_id(record):
    if record["cloud"] == "aws":
        return record["id"]
    extra = record["extra"]
    if extra.get("azure_vm_id"):
        return extra["azure_vm_id"][:8]
    return (extra.get("azure_resource_group") or "rg").lower()


def assign_hostnames(records, hostnames):
    """``[(hostname, record)]``: the first of ``hostnames`` each record has; unique.

    Records are ordered by cloud and id first, so names are stable between runs. A name taken by an
    earlier record gets the record's id appended (``web-i-0abc...``); records without any of the
    sources fall back to their id.
    """
    taken = set()
    named = []
    collisions = []
    for record in sorted(records, key=lambda r: (r["cloud"], r["id"].lower())):
        name = None
        for source in hostnames:
            name = _hostname_candidate(record, source)
            if name:
                break
        if not name:
            name = _hostname_candidate(record, "instance_id")
        if name in taken:
            collisions.append(name)
            name = "%s-%s" % (name, _short_id(record))
            suffix = 2
            base = name
            while name in taken:
                name = "%s-%d" % (base, suffix)
                suffix += 1
        taken.add(name)
        named.append((name, record))
    return named, collisions


def select_address(record, preference, jump_host=None):
    """``ansible_host`` for a record: ``private``, ``public`` or ``auto``.

    ``auto`` takes the public address when there is one and no jump host is configured for the
    cloud, otherwise the private address. Either choice falls back to the other address.
    """
    private, public = record.get("private_ip"), record.get("public_ip")
    if preference == "public":
        return public or private
    if preference == "private":
        return private or public
    if jump_host:
        return private or public
    return public or private


class Inventory:
    """Hosts (name -> variables) and groups (name -> hosts, children) in insertion order."""

    def __init__(self):
        self.hosts = {}
        self.groups = {}
        self.warnings = []
        self._members = {}

    def group(self, name):
        if name not in self.groups:
            self.groups[name] = {"hosts": [], "children": []}
            self._members[name] = set()
        return self.groups[name]

    def add(self, group, host):
        entry = self.group(group)
        if host not in self._members[group]:
            self._members[group].add(host)
            entry["hosts"].append(host)

    def child(self, parent, child):
        self.group(child)
        entry = self.group(parent)
        if child not in entry["children"]:
            entry["children"].append(child)

    def as_dict(self):
        """Like ``ansible-inventory --list``: ``{"_meta": {"hostvars": ...}, group: {...}}``."""
        result = {"_meta": {"hostvars": self.hosts}}
        for name, entry in self.groups.items():
            result[name] = {key: list(value) for key, value in entry.items() if value}
        return result


def _kubespray_groups(record, settings):
    role = record["tags"].get(settings["role_tag"])
    if role is None:
        return []
    groups = list(settings["role_groups"].get(role, []))
    if settings["control_plane_in_kube_node"] and "kube_control_plane" in groups and "kube_node" not in groups:
        groups.append("kube_node")
    return [g for g in KUBESPRAY_GROUPS if g in groups]


def host_variables(record, settings, jump_host=None):
    """Host variables of a record: what Kubespray and the collection's roles read."""
    address = select_address(record, settings["hostname_preference"], jump_host)
    cloud = record["cloud"]
    tags = dict(record["tags"])
    variables = {
        "cloud": cloud,
        "region": record["region"],
        "zone": record["zone"],
        "instance_id": record["id"],
        "size": record["size"],
        "power_state": record["power_state"],
        "ip": record["private_ip"],
        "access_ip": record["private_ip"],
        "private_ip": record["private_ip"],
        "public_ip": record["public_ip"],
        "private_dns_name": record["private_dns"],
        "public_dns_name": record["public_dns"],
        "subnet": record["subnet"],
        "network": record["network"],
        "ansible_host": address,
        "platform": tags.get(settings["platform_tag"]),
        "node_role": tags.get(settings["role_tag"]),
        "%s_tags" % ("ec2" if cloud == "aws" else "azure"): tags,
    }
    if cloud == "azure":
        variables["location"] = record["region"]
        variables["computer_name"] = record.get("computer_name")
    for key, value in record["extra"].items():
        variables[key] = value
    if jump_host and address and address not in (jump_host, jump_host.rsplit("@", 1)[-1]):
        variables["ansible_ssh_common_args"] = "-o ProxyJump=%s" % jump_host
    return variables


def cluster_prefix(platform, cloud):
    """Per-cluster group prefix in the mesh topology: ``<platform>_<cloud>``."""
    return safe_group_name("%s_%s" % (platform, cloud))


def build_inventory(records, settings=None):
    """Hosts, variables and groups from the records of both clouds (see the module docstring).

    Groups: ``aws``/``azure``; ``<cloud>_<region>``; ``<cloud>_<zone>`` (AWS zone names already
    hold the region, Azure zones are ``<location>_<zone>``); ``<platform_group_prefix><platform>``;
    the Kubespray groups ``kube_control_plane``, ``kube_node``, ``etcd`` and their parent
    ``k8s_cluster``; with the mesh topology also ``<platform>_<cloud>`` and
    ``<platform>_<cloud>_<kubespray group>`` (plus ``<platform>_<cloud>_k8s_cluster``), one set per
    cluster, from which each cloud's Kubespray inventory is rendered.
    """
    settings = resolve_settings(settings)
    inventory = Inventory()
    for cloud in CLOUDS:
        inventory.group(cloud)
    for group in KUBESPRAY_GROUPS:
        inventory.group(group)
    inventory.child("k8s_cluster", "kube_control_plane")
    inventory.child("k8s_cluster", "kube_node")
    kept = [r for r in records if settings["include_stopped"] or r["power_state"] in RUNNING_STATES]
    named, collisions = assign_hostnames(kept, settings["hostnames"])
    for name in sorted(set(collisions)):
        inventory.warnings.append("several hosts are named %s; the later ones got their id appended" % name)
    for hostname, record in named:
        cloud = record["cloud"]
        jump_host = settings["jump_hosts"].get(cloud)
        inventory.hosts[hostname] = host_variables(record, settings, jump_host)
        # A host goes into the most specific of cloud > region > zone; the parents hold it through
        # their children (Ansible's group hierarchy).
        leaf = cloud
        if record["region"]:
            region_group = safe_group_name("%s_%s" % (cloud, record["region"]))
            inventory.child(cloud, region_group)
            leaf = region_group
            if record["zone"]:
                zone = record["zone"] if cloud == "aws" else "%s_%s" % (record["region"], record["zone"])
                zone_group = safe_group_name("%s_%s" % (cloud, zone))
                inventory.child(region_group, zone_group)
                leaf = zone_group
        inventory.add(leaf, hostname)
        platform = record["tags"].get(settings["platform_tag"])
        if platform:
            inventory.add(safe_group_name(settings["platform_group_prefix"] + platform), hostname)
        roles = _kubespray_groups(record, settings)
        for group in roles:
            inventory.add(group, hostname)
        if settings["topology"] == "mesh" and platform:
            prefix = cluster_prefix(platform, cloud)
            if not roles:
                inventory.add(prefix, hostname)
            else:
                for group in KUBESPRAY_GROUPS:
                    inventory.group("%s_%s" % (prefix, group))
                inventory.child("%s_k8s_cluster" % prefix, "%s_kube_control_plane" % prefix)
                inventory.child("%s_k8s_cluster" % prefix, "%s_kube_node" % prefix)
                inventory.child(prefix, "%s_k8s_cluster" % prefix)
                inventory.child(prefix, "%s_etcd" % prefix)
            for group in roles:
                inventory.add("%s_%s" % (prefix, group), hostname)
    return inventory
