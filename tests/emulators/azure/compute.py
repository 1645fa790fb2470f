"""Microsoft.Compute: virtual machines and (uniform) scale sets with their instances and NICs.

Power state lives in the record's runtime and shows in the instance view (``$expand=instanceView``,
``/instanceView``, ``statusOnly=true`` on the subscription list). Power actions (start, powerOff,
deallocate, restart) are long-running POSTs. A scale set's instances and their network interfaces
are made from ``sku.capacity`` and the network profile; the network provider's scale-set NIC list
operations read them.
"""

import uuid

from .arm import ArmError, ResourceType, Response, bad_request, iso_time
from .ipam import mac_address
from .network import build_ip_configurations, require

VM = "microsoft.compute/virtualmachines"
VMSS = "microsoft.compute/virtualmachinescalesets"
VMSS_VM = VMSS + "/virtualmachines"
VMSS_NIC = VMSS_VM + "/networkinterfaces"

POWER_DISPLAY = {
    "running": "VM running", "stopped": "VM stopped", "deallocated": "VM deallocated",
    "starting": "VM starting", "stopping": "VM stopping", "deallocating": "VM deallocating",
}
ACTIONS = {"start": "running", "poweroff": "stopped", "deallocate": "deallocated", "restart": "running"}
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number, width=6):
    text = ""
    while number:
        number, digit = divmod(number, 36)
        text = _BASE36[digit] + text
    return text.rjust(width, "0")


def _image_os(storage):
    image = (storage or {}).get("imageReference") or {}
    offer = (image.get("offer") or "").lower()
    if "windows" in offer:
        return "Windows", "windows", "10.0.20348"
    if "debian" in offer:
        return "Linux", "debian", "12"
    return "Linux", "ubuntu", "22.04"


def _storage_defaults(name, storage):
    storage = dict(storage or {})
    os_type = _image_os(storage)[0]
    disk = dict(storage.get("osDisk") or {})
    disk.setdefault("osType", os_type)
    disk.setdefault("name", "%s_OsDisk_1_%s" % (name, uuid.uuid4().hex))
    disk.setdefault("createOption", "FromImage")
    disk.setdefault("caching", "ReadWrite")
    disk.setdefault("managedDisk", {"storageAccountType": "Premium_LRS"})
    disk.setdefault("deleteOption", "Detach")
    disk.setdefault("diskSizeGB", 30)
    storage["osDisk"] = disk
    storage.setdefault("dataDisks", [])
    return storage


def _os_profile(record, profile, name_key="computerName", default_name=None):
    profile = dict(profile or {})
    for secret in ("adminPassword", "customData"):
        if secret in profile:
            record["secrets"][secret] = profile.pop(secret)
    if default_name is not None:
        profile.setdefault(name_key, default_name)
    profile.setdefault("secrets", [])
    profile.setdefault("allowExtensionOperations", True)
    if "windowsConfiguration" not in profile:
        linux = profile.setdefault("linuxConfiguration", {})
        linux.setdefault("disablePasswordAuthentication", "adminPassword" not in record["secrets"])
        linux.setdefault("provisionVMAgent", True)
    return profile


def instance_view(arm, record):
    """The instance view of a VM or scale-set instance: provisioning and power statuses."""
    properties = record.get("properties") or {}
    state = arm.provisioning_state(record)
    power = record["runtime"].get("power", "running") if state == "Succeeded" else "starting"
    now = iso_time(record.get("ready_at") or record.get("created") or 0)
    os_name, os_version = _image_os(properties.get("storageProfile"))[1:]
    disk = (properties.get("storageProfile") or {}).get("osDisk") or {}
    statuses = [{"code": "ProvisioningState/%s" % state.lower(), "level": "Info",
                 "displayStatus": "Provisioning %s" % state.lower(), "time": now},
                {"code": "PowerState/%s" % power, "level": "Info", "displayStatus": POWER_DISPLAY.get(power, power)}]
    view = {
        "computerName": (properties.get("osProfile") or {}).get("computerName", record["name"]),
        "osName": os_name, "osVersion": os_version, "hyperVGeneration": "V2",
        "vmAgent": {"vmAgentVersion": "2.10.0.8", "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
             "message": "Guest Agent is running", "time": now}]},
        "disks": [{"name": disk.get("name", record["name"] + "_OsDisk"), "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": now}]}],
        "statuses": statuses,
    }
    if record["type_key"] == VMSS_VM:
        view["platformUpdateDomain"] = 0
        view["platformFaultDomain"] = 0
    return view


def _instance_view_handler(arm, request, record):
    if request.method != "GET":
        raise ArmError(405, "MethodNotAllowed", "instanceView supports GET only.")
    return Response(200, instance_view(arm, record))


def _power_handler(action):
    def handler(arm, request, record):
        if request.method != "POST":
            raise ArmError(405, "MethodNotAllowed", "%s supports POST only." % action)
        if not arm.is_ready(record):
            raise ArmError(409, "OperationNotAllowed", "Operation '%s' is not allowed on VM '%s' since the VM is being "
                           "provisioned." % (action, record["name"]))
        record["runtime"]["power"] = ACTIONS[action]
        operation = arm.new_operation(request, record, "action", 0.0)
        return Response(202, None, arm.operation_headers(request, operation, ("Azure-AsyncOperation", "Location")))
    return handler


class _Machine(ResourceType):
    """Shared by virtual machines and scale-set instances."""

    etag = False
    pending_state = "Creating"

    def __init__(self):
        super().__init__()
        self.subresources["instanceview"] = _instance_view_handler
        for action in ACTIONS:
            self.subresources[action] = _power_handler(action)

    def decorate(self, arm, record, view, expand):
        if expand and "instanceview" in expand.lower():
            view["properties"]["instanceView"] = instance_view(arm, record)
        if record["type_key"] == VM:
            view.setdefault("resources", [])
            view.setdefault("managedBy", "")


class VirtualMachine(_Machine):
    type_name = "Microsoft.Compute/virtualMachines"
    etag = True
    top_level_keys = ("zones", "identity", "plan", "extendedLocation", "managedBy", "placement")
    read_only_properties = ("vmId", "instanceView", "timeCreated")

    def prepare(self, arm, change, request, record, body, existing):
        properties = record["properties"]
        hardware = properties.get("hardwareProfile") or {}
        if not hardware.get("vmSize"):
            raise bad_request("InvalidParameter", "Required parameter 'hardwareProfile.vmSize' is missing (null).", "vmSize")
        nics = (properties.get("networkProfile") or {}).get("networkInterfaces") or []
        if not nics:
            raise bad_request("InvalidParameter", "Required parameter 'networkProfile' is missing (null).", "networkProfile")
        for index, nic in enumerate(nics):
            if not nic.get("id"):
                raise bad_request("InvalidParameter", "Network interface reference must have an id.", "networkInterfaces")
            nic.setdefault("properties", {}).setdefault("primary", index == 0)
            for user, _path in arm.store.referrers(nic["id"]):
                if user["type_key"] == VM and user["id"].lower() != record["id"].lower():
                    raise bad_request("NicInUse", "Network interface %s is already attached to virtual machine %s."
                                      % (nic["id"], user["id"]))
        old = (existing or {}).get("properties", {})
        properties["vmId"] = old.get("vmId") or str(uuid.uuid4())
        properties["timeCreated"] = old.get("timeCreated") or iso_time(request.now)
        properties["storageProfile"] = _storage_defaults(record["name"], properties.get("storageProfile"))
        properties["osProfile"] = _os_profile(record, properties.get("osProfile"), default_name=record["name"])
        properties.setdefault("diagnosticsProfile", {"bootDiagnostics": {"enabled": False}})
        record["runtime"].setdefault("power", body.get("powerState", "running"))


class ScaleSetInstance(_Machine):
    type_name = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines"
    tracked = True
    readonly = True
    read_only_properties = ("vmId", "instanceView")

    def decorate(self, arm, record, view, expand):
        super().decorate(arm, record, view, expand)
        view["instanceId"] = record["name"].rsplit("_", 1)[-1]


class ScaleSetNic(ResourceType):
    type_name = "Microsoft.Compute/virtualMachineScaleSets/virtualMachines/networkInterfaces"
    api_type = "Microsoft.Network/networkInterfaces"
    readonly = True

    def decorate(self, arm, record, view, expand):
        for config in view["properties"].get("ipConfigurations", []):
            config["properties"]["provisioningState"] = view["properties"]["provisioningState"]


class ScaleSet(ResourceType):
    type_name = "Microsoft.Compute/virtualMachineScaleSets"
    etag = False
    pending_state = "Creating"
    read_only_properties = ("uniqueId", "timeCreated")

    def __init__(self):
        super().__init__()
        self.collections["networkinterfaces"] = lambda arm, request, record: [
            r for r in arm.store.subtree(record["id"]) if r["type_key"] == VMSS_NIC and not r.get("deleting")]
        self.subresources["instanceview"] = self._instance_view

    @staticmethod
    def _instance_view(arm, request, record):
        instances = [r for r in arm.store.children(record["id"], VMSS_VM) if not r.get("deleting")]
        summary = {}
        for instance in instances:
            code = "ProvisioningState/%s" % arm.provisioning_state(instance).lower()
            summary[code] = summary.get(code, 0) + 1
        return Response(200, {
            "virtualMachine": {"statusesSummary": [{"code": k, "count": v} for k, v in sorted(summary.items())]},
            "statuses": [{"code": "ProvisioningState/%s" % arm.provisioning_state(record).lower(), "level": "Info",
                          "displayStatus": "Provisioning %s" % arm.provisioning_state(record).lower()}],
        })

    def prepare(self, arm, change, request, record, body, existing):
        sku = require(record["top"], "sku")
        if not sku.get("name"):
            raise bad_request("InvalidParameter", "Required parameter 'sku.name' is missing (null).", "sku")
        sku.setdefault("tier", "Standard")
        capacity = sku.setdefault("capacity", 2)
        if not isinstance(capacity, int) or capacity < 0:
            raise bad_request("InvalidParameter", "sku.capacity must be a non-negative integer.", "capacity")
        properties = record["properties"]
        properties.setdefault("orchestrationMode", "Uniform")
        properties.setdefault("upgradePolicy", {"mode": "Manual"})
        profile = properties.get("virtualMachineProfile")
        if properties["orchestrationMode"] == "Uniform" and not profile:
            raise bad_request("InvalidParameter", "Required parameter 'virtualMachineProfile' is missing (null).",
                              "virtualMachineProfile")
        profile = profile or {}
        configs = (profile.get("networkProfile") or {}).get("networkInterfaceConfigurations") or []
        if properties["orchestrationMode"] == "Uniform" and not configs:
            raise bad_request("InvalidParameter", "Required parameter 'networkInterfaceConfigurations' is missing (null).",
                              "networkInterfaceConfigurations")
        profile["osProfile"] = _os_profile(record, profile.get("osProfile"), "computerNamePrefix", record["name"][:9])
        profile["storageProfile"] = _storage_defaults(record["name"], profile.get("storageProfile"))
        properties["virtualMachineProfile"] = profile
        old = (existing or {}).get("properties", {})
        properties["uniqueId"] = old.get("uniqueId") or str(uuid.uuid4())
        properties["timeCreated"] = old.get("timeCreated") or iso_time(request.now)
        properties.setdefault("overprovision", False)
        properties.setdefault("singlePlacementGroup", True)
        if properties["orchestrationMode"] == "Uniform":
            self._instances(arm, change, record, sku, profile, configs)

    @staticmethod
    def _instances(arm, change, record, sku, profile, configs):
        current = sorted(arm.store.children(record["id"], VMSS_VM), key=lambda r: int(r["name"].rsplit("_", 1)[-1]))
        keep = current[:sku["capacity"]]
        for extra in current[sku["capacity"]:]:
            change.deletes.append(extra["id"])
        next_id = (int(current[-1]["name"].rsplit("_", 1)[-1]) + 1) if current else 0
        allocators = {}
        for _count in range(sku["capacity"] - len(keep)):
            index = next_id
            next_id += 1
            vm_id = "%s/virtualMachines/%d" % (record["id"], index)
            instance = {
                "id": vm_id, "name": "%s_%d" % (record["name"], index), "type_key": VMSS_VM, "etag": None,
                "created": record["created"], "pending_state": "Creating", "secrets": {}, "runtime": {"power": "running"},
                "location": record["location"], "tags": record.get("tags"), "top": {"sku": {"name": sku["name"], "tier": sku["tier"]}},
            }
            nic_refs = []
            for config in configs:
                nic = {
                    "id": "%s/networkInterfaces/%s" % (vm_id, config["name"]), "name": config["name"], "type_key": VMSS_NIC,
                    "etag": record["etag"], "created": record["created"], "pending_state": "Updating", "secrets": {},
                    "runtime": {}, "location": record["location"], "tags": record.get("tags"), "top": {},
                }
                config_props = config.get("properties") or {}
                kept = ("subnet", "primary", "privateIPAddressVersion")
                ip_configs = [{"name": c["name"], "properties": {k: v for k, v in (c.get("properties") or {}).items() if k in kept}}
                              for c in config_props.get("ipConfigurations") or []]
                nic["properties"] = {
                    "ipConfigurations": build_ip_configurations(
                        arm, nic, ip_configs, None, "Microsoft.Network/networkInterfaces/ipConfigurations", allocators),
                    "primary": bool(config_props.get("primary", len(nic_refs) == 0)),
                    "macAddress": mac_address(), "enableAcceleratedNetworking": bool(config_props.get("enableAcceleratedNetworking")),
                    "enableIPForwarding": bool(config_props.get("enableIPForwarding")),
                    "virtualMachine": {"id": vm_id}, "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
                }
                if config_props.get("networkSecurityGroup"):
                    nic["properties"]["networkSecurityGroup"] = {"id": config_props["networkSecurityGroup"]["id"]}
                nic_refs.append({"id": nic["id"], "properties": {"primary": nic["properties"]["primary"]}})
                change.puts.append(nic)
            instance["properties"] = {
                "latestModelApplied": True, "vmId": str(uuid.uuid4()),
                "hardwareProfile": {"vmSize": sku["name"]},
                "storageProfile": profile["storageProfile"],
                "osProfile": {"computerName": profile["osProfile"]["computerNamePrefix"] + _base36(index),
                              "adminUsername": profile["osProfile"].get("adminUsername")},
                "networkProfile": {"networkInterfaces": nic_refs},
                "networkProfileConfiguration": {"networkInterfaceConfigurations": configs},
            }
            change.puts.append(instance)


def register(arm):
    for rtype in (VirtualMachine(), ScaleSet(), ScaleSetInstance(), ScaleSetNic()):
        arm.register(rtype)
