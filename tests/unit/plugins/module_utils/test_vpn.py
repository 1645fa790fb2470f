"""Unit tests for the pure VPN design: keys, crypto, tunnel pairing."""

import re

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils import vpn
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import build_plan

AZURE_IPS = ["198.51.100.10", "198.51.100.11"]
AWS_OUTSIDE = {1: ["203.0.113.1", "203.0.113.2"], 2: ["203.0.113.3", "203.0.113.4"]}


@pytest.fixture(scope="module")
def plan():
    return build_plan({"name": "shop"})


def test_generated_keys_follow_aws_rules():
    keys = {vpn.generate_psk() for _index in range(200)}
    assert len(keys) == 200
    for key in keys:
        assert re.fullmatch(r"[A-Za-z0-9._]{8,64}", key) and not key.startswith(("0", ".", "_"))
        assert vpn.check_psk(key, "k") == key


@pytest.mark.parametrize("key, words", [
    ("short", "length 5"),
    ("has-a-dash-in-it", "rules"),
    ("0startswithzero", "starts with 0"),
    ("x" * 65, "length 65"),
])
def test_bad_keys_fail_without_echoing_them(key, words):
    with pytest.raises(vpn.VpnError) as info:
        vpn.check_psk(key, "pre_shared_keys[0]")
    assert words in str(info.value)
    assert key not in str(info.value)


def test_tunnel_keys_prefer_given_then_existing_then_new():
    keys, generated = vpn.tunnel_keys("Given.key_123", {})
    assert keys == ["Given.key_123"] * 4 and generated is False
    existing = {1: "Existing1key", 2: "Existing2key", 3: "Existing3key", 4: "Existing4key"}
    keys, generated = vpn.tunnel_keys(None, existing)
    assert keys == [existing[i] for i in range(1, 5)] and generated is False
    keys, generated = vpn.tunnel_keys(None, {1: "Existing1key"})
    assert keys[0] == "Existing1key" and len(set(keys)) == 4 and generated is True
    with pytest.raises(vpn.VpnError):
        vpn.tunnel_keys(["Abcdefgh1", "Abcdefgh2"], {})


def test_aws_tunnel_options_use_plan_inside_cidrs_and_one_suite(plan):
    keys = ["Key%dabcdefgh" % i for i in range(4)]
    options = vpn.aws_tunnel_options(plan, keys)
    assert [o["TunnelInsideCidr"] for o in options[1]] == ["169.254.21.0/30", "169.254.22.0/30"]
    assert [o["TunnelInsideCidr"] for o in options[2]] == ["169.254.21.4/30", "169.254.22.4/30"]
    assert [o["PreSharedKey"] for o in options[1] + options[2]] == keys
    for option in options[1] + options[2]:
        assert option["IKEVersions"] == [{"Value": "ikev2"}]
        assert option["Phase1DHGroupNumbers"] == [{"Value": 14}]
        assert "TunnelInsideIpv6Cidr" not in option


def test_pairs_match_outside_ips_to_inside_ranges(plan):
    pairs = vpn.pair_tunnels(plan, AZURE_IPS, AWS_OUTSIDE)
    assert [(p["aws_outside_ip"], p["azure_public_ip"], p["inside_cidr"]) for p in pairs] == [
        ("203.0.113.1", "198.51.100.10", "169.254.21.0/30"),
        ("203.0.113.2", "198.51.100.10", "169.254.22.0/30"),
        ("203.0.113.3", "198.51.100.11", "169.254.21.4/30"),
        ("203.0.113.4", "198.51.100.11", "169.254.22.4/30"),
    ]
    with pytest.raises(vpn.VpnError) as info:
        vpn.pair_tunnels(plan, AZURE_IPS[:1], AWS_OUTSIDE)
    assert info.value.field == "azure_public_ips"
    with pytest.raises(vpn.VpnError):
        vpn.pair_tunnels(plan, AZURE_IPS, {1: ["203.0.113.1"], 2: []})


def test_azure_side_bodies_for_bgp(plan):
    pairs = vpn.with_other_instance_addresses(plan, vpn.pair_tunnels(plan, AZURE_IPS, AWS_OUTSIDE))
    lng = vpn.local_network_gateway(pairs[2], "bgp", [plan["aws"]["network"]])
    assert lng["gatewayIpAddress"] == "203.0.113.3"
    assert lng["bgpSettings"] == {"asn": 64512, "bgpPeeringAddress": "169.254.21.5"}
    assert lng["localNetworkAddressSpace"]["addressPrefixes"] == []
    conn = vpn.azure_connection(pairs[2], "bgp", ["ipconf0", "ipconf1"], "lng3", "gw", "Secretkey123")
    assert conn["enableBgp"] is True
    assert conn["gatewayCustomBgpIpAddresses"] == [
        {"ipConfigurationId": "ipconf1", "customBgpIpAddress": "169.254.21.6"},
        {"ipConfigurationId": "ipconf0", "customBgpIpAddress": "169.254.21.2"},
    ]
    assert conn["ipsecPolicies"][0]["dhGroup"] == "DHGroup14"


def test_azure_side_bodies_for_static_routing(plan):
    pairs = vpn.pair_tunnels(plan, AZURE_IPS, AWS_OUTSIDE)
    lng = vpn.local_network_gateway(pairs[0], "static", vpn.static_routes(plan, "aws"))
    assert lng["localNetworkAddressSpace"]["addressPrefixes"] == [plan["aws"]["network"]]
    assert "bgpSettings" not in lng
    conn = vpn.azure_connection(pairs[0], "static", ["a", "b"], "lng", "gw", "Secretkey123")
    assert conn["enableBgp"] is False and "gatewayCustomBgpIpAddresses" not in conn
    assert vpn.static_routes(plan, "azure", native_routing=True) == [plan["azure"]["network"], plan["azure"]["pods"]]
