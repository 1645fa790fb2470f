"""Contract tests: replay Azure's own REST API examples against the emulator.

Each example file (``x-ms-examples`` from the Azure REST API specs) names an operation, its
parameters and the responses Azure documents. The test seeds what the operation needs (the resource
group, parent resources, referenced resources, or the documented resource itself for reads), sends
the request over HTTPS with a real token, and checks the status code and the *shape* of the body:
every key of the documented response must be present with a value of the same JSON type (values
themselves differ: ids, addresses, GUIDs). Published examples live in
``../shared/contracts/azure-rest-examples`` (or ``HYBRID_AZURE_CONTRACTS``).
"""

import copy
import json
import os
import re
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = Path(os.environ.get("HYBRID_AZURE_CONTRACTS") or ROOT.parent / "shared" / "contracts" / "azure-rest-examples")
EXAMPLES = sorted(CONTRACTS.glob("*/*/*.json")) if CONTRACTS.is_dir() else []

RG = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
RESOURCE_PATHS = {
    "ResourceGroups": "/subscriptions/{subscriptionId}/resourcegroups/{resourceGroupName}",
    "VirtualNetworks": RG + "Microsoft.Network/virtualNetworks/{virtualNetworkName}",
    "Subnets": RG + "Microsoft.Network/virtualNetworks/{virtualNetworkName}/subnets/{subnetName}",
    "NetworkSecurityGroups": RG + "Microsoft.Network/networkSecurityGroups/{networkSecurityGroupName}",
    "SecurityRules": RG + "Microsoft.Network/networkSecurityGroups/{networkSecurityGroupName}/securityRules/{securityRuleName}",
    "PublicIPAddresses": RG + "Microsoft.Network/publicIPAddresses/{publicIpAddressName}",
    "NetworkInterfaces": RG + "Microsoft.Network/networkInterfaces/{networkInterfaceName}",
    "RouteTables": RG + "Microsoft.Network/routeTables/{routeTableName}",
    "VirtualNetworkGateways": RG + "Microsoft.Network/virtualNetworkGateways/{virtualNetworkGatewayName}",
    "LocalNetworkGateways": RG + "Microsoft.Network/localNetworkGateways/{localNetworkGatewayName}",
    "VirtualNetworkGatewayConnections": RG + "Microsoft.Network/connections/{virtualNetworkGatewayConnectionName}",
    "VpnGateways": RG + "Microsoft.Network/vpnGateways/{gatewayName}",
    "VirtualMachines": RG + "Microsoft.Compute/virtualMachines/{vmName}",
    "VirtualMachineScaleSets": RG + "Microsoft.Compute/virtualMachineScaleSets/{virtualMachineScaleSetName}",
    "VirtualMachineScaleSetVMs": RG + "Microsoft.Compute/virtualMachineScaleSets/{virtualMachineScaleSetName}/virtualMachines/{instanceId}",
}
# Older-style files without an operationId (the README names their operation).
FILE_OPERATIONS = {
    "SubnetCreate": "Subnets_CreateOrUpdate",
    "NetworkSecurityGroupGet": "NetworkSecurityGroups_Get",
    "PublicIpAddressGet": "PublicIPAddresses_Get",
    "LocalNetworkGatewayCreate": "LocalNetworkGateways_CreateOrUpdate",
    "VirtualNetworkGatewayConnectionGetSharedKey": "VirtualNetworkGatewayConnections_GetSharedKey",
    "VirtualNetworkGatewayConnectionDelete": "VirtualNetworkGatewayConnections_Delete",
}
# Resource types the emulator does not implement (Virtual WAN): their examples are skipped with this reason.
NOT_EMULATED = {"VpnGateways": "Virtual WAN VPN gateways (vpnGateways) are not emulated; the collection uses "
                               "virtualNetworkGateways"}
# Back-references Azure computes from *other* resources (NICs in a subnet, the NIC using a public IP):
# the emulator shows them only when such resources exist, which a replayed example does not create.
# ``nextLink`` appears only when there is a next page; ``customData`` is write-only (kept out of responses).
ALLOWED_MISSING = re.compile(r"(\.ipConfigurations|\.ipConfiguration|\.networkInterfaces|\.virtualMachine|^\$\.nextLink"
                             r"|\.osProfile\.customData): missing$")
SUB_RE = re.compile(r"/subscriptions/[^/\"]+", re.IGNORECASE)
SEED_PREFIX = "10.%d.0.0/16"


def example_id(path):
    return "/".join(path.parts[-3:])


def operation_of(example, path):
    operation = example.get("operationId") or FILE_OPERATIONS[path.stem]
    group, verb = operation.split("_", 1)
    return group, verb


def item_path(group, params):
    template = RESOURCE_PATHS[group]
    return re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], template)


def request_for(group, verb, params):
    """(method, path) of the operation."""
    if verb in ("List", "ListAll"):
        template = RESOURCE_PATHS[group].rsplit("/", 1)[0]
        if verb == "ListAll":
            template = template.split("/resourceGroups/")[0] + "/providers/" + template.split("/providers/")[1]
        return "GET", re.sub(r"\{(\w+)\}", lambda m: params[m.group(1)], template)
    path = item_path(group, params)
    return {
        "Get": ("GET", path), "CreateOrUpdate": ("PUT", path), "Delete": ("DELETE", path),
        "GetSharedKey": ("GET", path + "/sharedkey"),
        "SetSharedKey": ("PUT", path + "/sharedkey"),
    }[verb]


def rewrite(value, subscription):
    return json.loads(SUB_RE.sub("/subscriptions/" + subscription, json.dumps(value)))


def type_of(rid):
    """Lower-cased ARM type of an id (``microsoft.network/virtualnetworks/subnets``)."""
    parts = rid.strip("/").split("/")
    if len(parts) == 4:
        return "microsoft.resources/resourcegroups"
    index = [p.lower() for p in parts].index("providers")
    rest = parts[index + 2:]
    return "/".join([parts[index + 1]] + rest[0::2]).lower()


def shape_mismatches(expected, actual, where="$"):
    """Keys of ``expected`` missing in ``actual`` or holding another JSON type."""
    problems = []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return ["%s: expected an object, got %s" % (where, type(actual).__name__)]
        for key, value in expected.items():
            if key not in actual:
                problems.append("%s.%s: missing" % (where, key))
            else:
                problems.extend(shape_mismatches(value, actual[key], "%s.%s" % (where, key)))
    elif isinstance(expected, list):
        if not isinstance(actual, list):
            return ["%s: expected a list, got %s" % (where, type(actual).__name__)]
        if expected and actual and all(isinstance(e, dict) for e in expected):
            for item in expected:
                match = _matching_item(item, actual)
                if match is not None:
                    problems.extend(shape_mismatches(item, match, "%s[%s]" % (where, item.get("name", 0))))
    elif isinstance(expected, bool):
        if not isinstance(actual, bool):
            problems.append("%s: expected a boolean, got %r" % (where, actual))
    elif isinstance(expected, (int, float)):
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            problems.append("%s: expected a number, got %r" % (where, actual))
    elif isinstance(expected, str):
        if not isinstance(actual, str):
            problems.append("%s: expected a string, got %r" % (where, actual))
    return problems


def _matching_item(item, candidates):
    name = item.get("name")
    if name is not None:
        for candidate in candidates:
            if isinstance(candidate, dict) and str(candidate.get("name", "")).lower() == str(name).lower():
                return candidate
        return None
    return candidates[0] if isinstance(candidates[0], dict) else None


class Seeder:
    """Seeds the minimal valid resources an example needs (parents and referenced resources)."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.sub = "/subscriptions/%s" % emulator.subscription_id
        self.counter = 0
        self.notes = []

    def exists(self, rid):
        return self.emulator.arm.store.get(rid) is not None

    def group_of(self, rid):
        return "/".join(rid.split("/")[:5])

    def minimal(self, rid, wanted_ip_configs=()):
        """A minimal body for ``rid`` (seeding its own prerequisites first); None if not emulated."""
        kind = type_of(rid)
        group = self.group_of(rid)
        if kind == "microsoft.resources/resourcegroups":
            return {"location": "westeurope"}
        net = group + "/providers/Microsoft.Network"
        if kind == "microsoft.network/virtualnetworks":
            return {"properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/8"]}}}
        if kind == "microsoft.network/virtualnetworks/subnets":
            self.ensure(rid.rsplit("/", 2)[0])
            self.counter += 1
            return {"properties": {"addressPrefix": SEED_PREFIX % self.counter}}
        if kind == "microsoft.network/publicipaddresses":
            return {"sku": {"name": "Standard"}, "properties": {"publicIPAllocationMethod": "Static"}}
        if kind in ("microsoft.network/networksecuritygroups", "microsoft.network/routetables"):
            return {}
        if kind == "microsoft.network/localnetworkgateways":
            return {"properties": {"gatewayIpAddress": "198.51.100.200", "localNetworkAddressSpace": {"addressPrefixes": ["172.16.0.0/16"]}}}
        if kind == "microsoft.network/virtualnetworkgateways":
            subnet = net + "/virtualNetworks/seed-gateway-vnet/subnets/GatewaySubnet"
            self.ensure(subnet)
            names = list(wanted_ip_configs) or ["default"]
            configs = []
            for index, name in enumerate(names):
                pip = net + "/publicIPAddresses/seed-gateway-pip%d" % index
                self.ensure(pip)
                configs.append({"name": name, "properties": {"subnet": {"id": subnet}, "publicIPAddress": {"id": pip}}})
            return {"properties": {"gatewayType": "Vpn", "vpnType": "RouteBased", "sku": {"name": "VpnGw2", "tier": "VpnGw2"},
                                   "activeActive": len(configs) == 2, "enableBgp": True, "ipConfigurations": configs}}
        if kind == "microsoft.network/connections":
            gateway = net + "/virtualNetworkGateways/seed-gateway"
            local = net + "/localNetworkGateways/seed-local-gateway"
            self.ensure(gateway)
            self.ensure(local)
            return {"properties": {"connectionType": "IPsec", "virtualNetworkGateway1": {"id": gateway},
                                   "localNetworkGateway2": {"id": local}, "sharedKey": "seeded-key"}}
        if kind == "microsoft.compute/virtualmachines":
            return {"properties": {"hardwareProfile": {"vmSize": "Standard_B2s"},
                                   "networkProfile": {"networkInterfaces": [{"id": net + "/networkInterfaces/seed-nic"}]}}}
        if kind == "microsoft.compute/virtualmachinescalesets":
            return {"sku": {"name": "Standard_B2s", "capacity": 0}, "properties": {"virtualMachineProfile": {
                "networkProfile": {"networkInterfaceConfigurations": [{"name": "nic", "properties": {"ipConfigurations": []}}]}}}}
        if kind == "microsoft.network/networkinterfaces":
            subnet = net + "/virtualNetworks/seed-vnet/subnets/seed-subnet"
            self.ensure(subnet)
            return {"properties": {"ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}]}}
        if self.emulator.arm.type_for(kind) is None:
            return None
        if kind.count("/") > 1:  # a child: its parent first
            self.ensure(rid.rsplit("/", 2)[0])
        return {}

    def ensure(self, rid, body=None, wanted_ip_configs=()):
        """Seed ``rid`` unless it exists; ``body`` (a documented body) is laid over the minimal one."""
        if self.exists(rid) and body is None:
            return True
        minimal = self.minimal(rid, wanted_ip_configs)
        if minimal is None:
            return False
        merged = _merge(minimal, body or {})
        merged["id"] = rid
        if type_of(rid) != "microsoft.resources/resourcegroups":
            merged.setdefault("location", "westeurope")
        self.emulator.seed([merged], strict=False)
        return True

    def references(self, body):
        """Seed every resource ``body`` refers to; drop references to what the emulator cannot hold."""
        refs = []
        _collect(body, refs)
        gateways = {}
        for rid in refs:
            match = re.match(r"(.*/virtualNetworkGateways/[^/]+)/ipConfigurations/([^/]+)$", rid, re.IGNORECASE)
            if match:
                gateways.setdefault(match.group(1), []).append(match.group(2))
        for gateway, names in gateways.items():
            self.ensure(gateway, wanted_ip_configs=list(dict.fromkeys(names)))
        for rid in refs:
            if not self.emulator.arm.resolve(rid):
                self.ensure(rid)
        return _strip_unresolved(body, self.emulator.arm.resolve, self.notes)


def _merge(base, over):
    result = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def _collect(value, refs):
    """Referenced ids; an object carrying an ``id`` is a reference, its nested content is not looked into."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("id", "ipConfigurationId", "ipconfigurationId") and isinstance(item, str) and item.startswith("/subscriptions/"):
                refs.append(item)
                if key == "id":
                    return
        for key, item in value.items():
            _collect(item, refs)
    elif isinstance(value, list):
        for item in value:
            _collect(item, refs)


def _strip_unresolved(value, resolve, notes):
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].startswith("/subscriptions/") \
                    and not resolve(item["id"]):
                notes.append("dropped %s -> %s (not emulated)" % (key, item["id"]))
                continue
            result[key] = _strip_unresolved(item, resolve, notes)
        return result
    if isinstance(value, list):
        kept = []
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"].startswith("/subscriptions/") \
                    and len(item) == 1 and not resolve(item["id"]):
                notes.append("dropped reference %s (not emulated)" % item["id"])
                continue
            kept.append(_strip_unresolved(item, resolve, notes))
        return kept
    return value


def send(emulator, token, method, path, api_version, body=None):
    url = "%s%s?api-version=%s" % (emulator.url, path, api_version)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": "Bearer " + token, "Content-Type": "application/json"})
    context = ssl.create_default_context(cafile=emulator.ca_bundle)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as err:
        raw = err.read()
        return err.code, dict(err.headers), json.loads(raw) if raw else None


@pytest.fixture
def token(azure_clients):
    return azure_clients.credential.get_token(azure_clients.cloud.credential_scope).token


def test_contract_examples_are_present():
    if not EXAMPLES:
        pytest.skip("Azure REST API examples not found at %s (set HYBRID_AZURE_CONTRACTS)" % CONTRACTS)
    assert len(EXAMPLES) >= 30


@pytest.mark.parametrize("path", EXAMPLES, ids=[example_id(p) for p in EXAMPLES])
def test_example(path, azure_emulator, token):
    example = json.loads(path.read_text(encoding="utf-8"))
    group, verb = operation_of(example, path)
    if group in NOT_EMULATED:
        pytest.skip(NOT_EMULATED[group])
    params = {k: v for k, v in example["parameters"].items() if not isinstance(v, dict)}
    params["subscriptionId"] = azure_emulator.subscription_id
    body_param = next((v for v in example["parameters"].values() if isinstance(v, dict)), None)
    responses = example["responses"]
    sub = azure_emulator.subscription_id
    seeder = Seeder(azure_emulator)
    method, url_path = request_for(group, verb, params)
    if group != "ResourceGroups":
        seeder.ensure("/subscriptions/%s/resourceGroups/%s" % (sub, params["resourceGroupName"])) \
            if "resourceGroupName" in params else None
    target = item_path(group, params) if verb not in ("List", "ListAll") else None

    if method == "PUT":
        if verb == "SetSharedKey" or (target and type_of(target).count("/") > 1):
            seeder.ensure(target.rsplit("/", 2)[0] if verb != "SetSharedKey" else target)
        body = seeder.references(rewrite(body_param, sub))
        if group == "ResourceGroups":
            azure_emulator.seed([{"id": "/subscriptions/%s/resourceGroups/seed" % sub, "location": "westeurope"}])
        status, headers, answer = send(azure_emulator, token, "PUT", url_path, params["api-version"], body)
        assert str(status) in responses, (status, answer, seeder.notes)
        documented = responses[str(status)].get("body") or responses.get("200", {}).get("body") or {}
    elif method == "DELETE":
        assert seeder.ensure(target)
        status, headers, answer = send(azure_emulator, token, "DELETE", url_path, params["api-version"])
        assert str(status) in responses, (status, answer)
        for header in responses[str(status)].get("headers", {}):
            assert header.lower() in {h.lower() for h in headers}, header
        if "204" in responses:
            assert send(azure_emulator, token, "DELETE", url_path, params["api-version"])[0] == 204
        documented, answer = {}, {}
    else:
        documented = responses["200"].get("body") or {}
        if verb in ("List", "ListAll"):
            parent = url_path.rsplit("/", 1)[0]
            if "/providers/" in parent and len(parent.split("/providers/", 1)[1].split("/")) >= 3:
                seeder.ensure(parent)
            for item in rewrite(documented.get("value", []), sub):
                rid = item.get("id") or "%s/%s" % (url_path, item["name"])
                if verb == "List" and "/resourceGroups/" in rid:
                    rid = url_path + "/" + rid.rstrip("/").rsplit("/", 1)[1]
                seeder.ensure("/".join(rid.split("/")[:5]))
                assert seeder.ensure(rid, item), rid
        elif verb == "GetSharedKey":
            seeder.ensure(target, {"properties": {"sharedKey": documented["value"]}})
        else:
            seeder.ensure(target, rewrite(documented, sub) if group != "ResourceGroups" else {"location": documented["location"]})
        status, headers, answer = send(azure_emulator, token, "GET", url_path, params["api-version"])
        assert status == 200, (status, answer)
    dropped = {n.split()[1] for n in seeder.notes if n.startswith("dropped ") and " -> " in n}
    problems = [p for p in shape_mismatches(rewrite(documented, sub), answer) if not ALLOWED_MISSING.search(p)
                and not any(p.endswith(".%s: missing" % key) for key in dropped)]
    assert not problems, "%s: %s (adaptations: %s)" % (example_id(path), problems, seeder.notes)
