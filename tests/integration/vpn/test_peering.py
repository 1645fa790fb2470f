"""peering against both emulated clouds: both ends, pairing, idempotence, resume, teardown, secrets, timing."""

import json
import time

import pytest

from tests.integration.clouds import mutating_azure

GATEWAY_DELAY = 8  # seconds the emulated Azure gateway takes to provision (45 minutes in Azure)

HEAD = """
- name: VPN
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/hybrid.cluster.clouds:
      azure_location: westeurope
      azure_resource_group: shop-rg
      backoff_delay: 0.01
      backoff_max_delay: 0.05
      backoff_retries: {retries}
  tasks:
    - name: Plan
      hybrid.cluster.cidr_plan:
        name: shop
        aws: {{region: us-east-1, zones: [a]}}
      register: shop_plan

    - name: Network
      hybrid.cluster.cloud_network:
        plan: "{{{{ shop_plan.plan }}}}"
      check_mode: false
"""

VPN = """
    - name: Peering
      hybrid.cluster.peering:
        plan: "{{{{ shop_plan.plan }}}}"
        {options}
      register: vpn

    - name: Keep the result
      ansible.builtin.copy:
        content: "{{{{ vpn | to_json }}}}"
        dest: "{{{{ out_file }}}}"
        mode: "0600"
      check_mode: false
      diff: false
"""


@pytest.fixture
def clouds(clouds):  # pylint: disable=redefined-outer-name
    """The shared fixture, with a gateway that takes GATEWAY_DELAY seconds and polls every second."""
    clouds["azure"].configure(poll_retry_after=1)
    clouds["azure"].set_delay("Microsoft.Network/virtualNetworkGateways", GATEWAY_DELAY)
    return clouds


def run(run_playbook, tmp_path, clouds, options="", *args, retries=3):
    out = tmp_path / "vpn.json"
    if out.exists():
        out.unlink()
    proc = run_playbook(HEAD.format(retries=retries) + VPN.format(options=options), "-e", "out_file=%s" % out, "-v", *args,
                        env=clouds["env"])
    clouds["outputs"].append(proc.stdout + proc.stderr)
    return proc, (json.loads(out.read_text()) if out.exists() else None)


def aws_state(ec2):
    flt = [{"Name": "tag:hybrid-cluster", "Values": ["shop"]}]
    connections = [c for c in ec2.collect("describe_vpn_connections", "VpnConnections", Filters=flt) if c["State"] not in ("deleted", "deleting")]
    owned = [c for c in connections if any(t["Key"] == "hybrid-cluster" and t["Value"] == "shop" for t in c.get("Tags", []))]
    cgws = [g for g in ec2.collect("describe_customer_gateways", "CustomerGateways") if g["State"] not in ("deleted", "deleting")
            and any(t["Key"] == "hybrid-cluster" for t in g.get("Tags", []))]
    vgws = [g for g in ec2.collect("describe_vpn_gateways", "VpnGateways", Filters=flt) if g["State"] not in ("deleted", "deleting")]
    return {"connections": owned, "cgws": cgws, "vgws": vgws}


def azure_state(clients):
    network = clients.network
    return {
        "lngs": {g.name: g for g in network.local_network_gateways.list("shop-rg")},
        "connections": {c.name: c for c in network.virtual_network_gateway_connections.list("shop-rg")},
        "gateways": {g.name: g for g in network.virtual_network_gateways.list("shop-rg")},
        "pips": {p.name: p for p in network.public_ip_addresses.list("shop-rg")},
    }


def keys_in_aws(ec2):
    keys = set()
    for connection in aws_state(ec2)["connections"]:
        for tunnel in connection.get("Options", {}).get("TunnelOptions", []):
            if tunnel.get("PreSharedKey"):
                keys.add(tunnel["PreSharedKey"])
    return keys


def check_pairing(result, ec2, azure_clients):
    aws = aws_state(ec2)
    azure = azure_state(azure_clients)
    assert len(aws["connections"]) == 2 and len(aws["cgws"]) == 2 and len(aws["vgws"]) == 1
    assert len(azure["lngs"]) == 4 and len(azure["connections"]) == 4 and len(azure["gateways"]) == 1
    azure_ips = sorted(p.ip_address for p in azure["pips"].values())
    assert sorted(g["IpAddress"] for g in aws["cgws"]) == azure_ips  # every CGW points at an Azure gateway IP
    aws_outside = sorted(t["OutsideIpAddress"] for c in aws["connections"] for t in c["Options"]["TunnelOptions"])
    assert len(set(aws_outside)) == 4
    assert sorted(g.gateway_ip_address for g in azure["lngs"].values()) == aws_outside  # every LNG points at an AWS tunnel
    tunnels = {t["inside_cidr"]: t for t in result["tunnels"]}
    assert sorted(tunnels) == ["169.254.21.0/30", "169.254.21.4/30", "169.254.22.0/30", "169.254.22.4/30"]
    for connection in aws["connections"]:
        for tunnel in connection["Options"]["TunnelOptions"]:
            mine = tunnels[tunnel["TunnelInsideCidr"]]
            assert mine["aws_outside_ip"] == tunnel["OutsideIpAddress"]
    for lng in azure["lngs"].values():
        mine = [t for t in result["tunnels"] if t["aws_outside_ip"] == lng.gateway_ip_address][0]
        assert lng.bgp_settings.bgp_peering_address == mine["aws_inside_ip"]
        assert lng.bgp_settings.asn == mine["aws_asn"] == 64512
    gateway = list(azure["gateways"].values())[0]
    assert gateway.active_active is True and gateway.bgp_settings.asn == 65010
    custom = sorted(a for p in gateway.bgp_settings.bgp_peering_addresses for a in p.custom_bgp_ip_addresses)
    assert custom == sorted(t["azure_inside_ip"] for t in result["tunnels"])
    for name in azure["connections"]:
        key = azure_clients.network.virtual_network_gateway_connections.get_shared_key("shop-rg", name).value
        tunnel = int(name.rsplit("-", 1)[1])
        cidr = [t for t in result["tunnels"] if t["index"] == tunnel][0]["inside_cidr"]
        aws_key = [t["PreSharedKey"] for c in aws["connections"] for t in c["Options"]["TunnelOptions"] if t["TunnelInsideCidr"] == cidr][0]
        assert key == aws_key  # both ends of each tunnel share the same key


def assert_no_secret_leaked(clouds, keys, tmp_path):
    assert keys, "no keys to look for"
    for output in clouds["outputs"]:
        for key in keys:
            assert key not in output
    for path in tmp_path.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            for key in keys:
                assert key not in text, path


def test_build_pair_rerun_teardown(run_playbook, tmp_path, clouds, ec2, azure_clients):
    started = time.monotonic()
    proc, result = run(run_playbook, tmp_path, clouds)
    elapsed = time.monotonic() - started
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True and result["keys_generated"] is True
    check_pairing(result, ec2, azure_clients)
    # The AWS end is built while the Azure gateway provisions: well under twice the gateway's time
    # (the playbook also plans, makes both networks and starts Python several times).
    assert result["elapsed_seconds"] < 2 * GATEWAY_DELAY, result["elapsed_seconds"]
    assert elapsed < 2 * GATEWAY_DELAY + 30

    keys = keys_in_aws(ec2)
    assert len(keys) == 4

    aws_mark = clouds["proxy"].log()[-1]["seq"]
    azure_mark = clouds["azure"].last_request_seq
    proc, result = run(run_playbook, tmp_path, clouds, "", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is False, result["changes"]
    assert result["keys_generated"] is False
    assert clouds["proxy"].log(since=aws_mark, mutating=True) == []
    assert mutating_azure(clouds["azure"], azure_mark) == []
    assert keys_in_aws(ec2) == keys

    proc, result = run(run_playbook, tmp_path, clouds, "state: absent")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert aws_state(ec2) == {"connections": [], "cgws": [], "vgws": []}
    azure = azure_state(azure_clients)
    assert not azure["lngs"] and not azure["connections"] and not azure["gateways"] and not azure["pips"]
    assert_no_secret_leaked(clouds, keys, tmp_path)


@pytest.mark.parametrize("cloud, target", [
    ("azure", {"method": "PUT", "path": "publicIPAddresses"}),
    ("azure", {"method": "PUT", "path": "virtualNetworkGateways/"}),
    ("aws", {"action": "CreateCustomerGateway"}),
    ("aws", {"action": "CreateVpnConnection"}),
    ("aws", {"action": "EnableVgwRoutePropagation"}),
    ("azure", {"method": "PUT", "path": "localNetworkGateways"}),
    ("azure", {"method": "PUT", "path": "connections/"}),
])
def test_resume_after_a_failure_at_each_step(run_playbook, tmp_path, clouds, ec2, azure_clients, cloud, target):
    if cloud == "aws":
        clouds["proxy"].add_fault("error", action=target["action"], count=50)
    else:
        clouds["azure"].set_fault("error", method=target["method"], path=target["path"], count=50, status=500)
    proc, _result = run(run_playbook, tmp_path, clouds, retries=1)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stdout
    clouds["proxy"].clear_faults()
    clouds["azure"].clear_faults()

    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    check_pairing(result, ec2, azure_clients)  # exactly one of everything: no duplicates, no orphans
    proc, result = run(run_playbook, tmp_path, clouds)
    assert result["changed"] is False, result["changes"]


def test_check_mode_plans_without_changing(run_playbook, tmp_path, clouds, ec2, azure_clients):
    aws_mark = clouds["proxy"].log()[-1]["seq"] if clouds["proxy"].log() else 0
    proc, result = run(run_playbook, tmp_path, clouds, "", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    actions = {(c["cloud"], c["resource"]) for c in result["changes"]}
    assert ("azure", "vpn-gateway") in actions and ("aws", "vpn-connection") in actions
    assert aws_state(ec2)["connections"] == [] and not azure_state(azure_clients)["gateways"]
    assert [e for e in clouds["proxy"].log(since=aws_mark, mutating=True) if not e["action"].startswith(("CreateVpc", "CreateSubnet",
            "CreateRouteTable", "AssociateRouteTable", "CreateTags"))] == []


@pytest.mark.parametrize("options, words", [
    ("pre_shared_keys: [0startswithzero]", "starts with 0"),
    ("pre_shared_keys: [a-b-c-d-e-f]", "rules"),
    ("aws_gateway: transit\n        routing: static", "static routing through a transit gateway"),
    ("azure_gateway_sku: Basic", "Basic"),
])
def test_bad_input_fails_before_any_cloud_call(run_playbook, tmp_path, clouds, ec2, options, words):
    proc, _result = run(run_playbook, tmp_path, clouds, options)
    assert proc.returncode != 0 and words in proc.stdout
    assert "0startswithzero" not in proc.stdout and "a-b-c-d-e-f" not in proc.stdout
    assert aws_state(ec2)["cgws"] == []


def test_static_routing(run_playbook, tmp_path, clouds, ec2, azure_clients):
    proc, result = run(run_playbook, tmp_path, clouds, "routing: static")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    aws = aws_state(ec2)
    assert len(aws["connections"]) == 2
    for connection in aws["connections"]:
        assert connection["Options"]["StaticRoutesOnly"] is True
        assert [r["DestinationCidrBlock"] for r in connection.get("Routes", [])] == ["10.65.0.0/16"]
    azure = azure_state(azure_clients)
    assert len(azure["lngs"]) == 4
    for lng in azure["lngs"].values():
        assert lng.local_network_address_space.address_prefixes == ["10.64.0.0/16"]
        assert lng.bgp_settings is None or not lng.bgp_settings.asn
    assert all(c.enable_bgp is False for c in azure["connections"].values())
    assert list(azure["gateways"].values())[0].enable_bgp is False
    proc, result = run(run_playbook, tmp_path, clouds, "routing: static")
    assert result["changed"] is False, result["changes"]


def test_transit_gateway(run_playbook, tmp_path, clouds, ec2, azure_clients):
    proc, result = run(run_playbook, tmp_path, clouds, "aws_gateway: transit")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    flt = [{"Name": "tag:hybrid-cluster", "Values": ["shop"]}]
    tgws = [t for t in ec2.collect("describe_transit_gateways", "TransitGateways", Filters=flt) if t["State"] != "deleted"]
    assert len(tgws) == 1 and tgws[0]["Options"]["AmazonSideAsn"] == 64512
    aws = aws_state(ec2)
    assert aws["vgws"] == [] and len(aws["connections"]) == 2
    assert {c.get("TransitGatewayId") for c in aws["connections"]} == {tgws[0]["TransitGatewayId"]}
    tables = ec2.collect("describe_route_tables", "RouteTables", Filters=flt)
    routes = [r for t in tables for r in t["Routes"] if r.get("DestinationCidrBlock") == "10.65.0.0/16"]
    assert [r.get("TransitGatewayId") for r in routes] == [tgws[0]["TransitGatewayId"]]
    assert len(azure_state(azure_clients)["connections"]) == 4
    proc, result = run(run_playbook, tmp_path, clouds, "aws_gateway: transit")
    assert result["changed"] is False, result["changes"]
    proc, result = run(run_playbook, tmp_path, clouds, "aws_gateway: transit\n        state: absent")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [t for t in ec2.collect("describe_transit_gateways", "TransitGateways", Filters=flt) if t["State"] not in ("deleted", "deleting")] == []
