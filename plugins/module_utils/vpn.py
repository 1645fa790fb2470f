# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure design of the AWS <-> Azure site-to-site VPN: keys, crypto policy, and how the ends pair.

The reference design (Microsoft's "VPN gateway with AWS, BGP, active-active"): an active-active
Azure virtual network gateway with two public IPs; on AWS one customer gateway per Azure public IP
and one VPN connection per customer gateway, each with two tunnels, so four tunnels in all. Each
AWS tunnel outside IP gets an Azure local network gateway and a connection. Inside addresses come
from the address plan (``plan['vpn']``); this module only pairs them with what the clouds report.

No cloud calls here. Pre-shared keys are generated with ``secrets`` and never formatted into
messages.
"""

from __future__ import annotations

import re
import secrets
import string

# AWS: 8-64 characters of letters, digits, '.' and '_', not starting with '0'. Azure accepts that too.
PSK_ALPHABET = string.ascii_letters + string.digits + "._"
PSK_LENGTH = 40
_PSK_RE = re.compile(r"^[A-Za-z0-9._]{8,64}$")

# One crypto suite both clouds accept (IKEv2, AES-256, SHA-256, DH group 14 for phase 1 and PFS),
# with AWS's default lifetimes: phase 1 28800 s, phase 2 3600 s.
CRYPTO = {
    "ike_version": "ikev2",
    "encryption": "AES256",
    "integrity": "SHA256",
    "dh_group": 14,
    "phase1_lifetime": 28800,
    "phase2_lifetime": 3600,
}
AZURE_IPSEC_POLICY = {
    "saLifeTimeSeconds": CRYPTO["phase2_lifetime"],
    "saDataSizeKilobytes": 102400000,
    "ipsecEncryption": "AES256",
    "ipsecIntegrity": "SHA256",
    "ikeEncryption": "AES256",
    "ikeIntegrity": "SHA256",
    "dhGroup": "DHGroup14",
    "pfsGroup": "PFS2048",
}
ROUTINGS = ("bgp", "static")


class VpnError(ValueError):
    """Bad VPN input; ``field`` names where, ``fix`` says what to do. Never contains a key."""

    def __init__(self, field, problem, fix):
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__("%s: %s. Fix: %s" % (field, problem, fix))


def generate_psk(length=PSK_LENGTH):
    """A random pre-shared key within AWS's rules (so Azure accepts it too)."""
    first = secrets.choice(PSK_ALPHABET.replace("0", "").replace(".", "").replace("_", ""))
    return first + "".join(secrets.choice(PSK_ALPHABET) for _index in range(length - 1))


def check_psk(value, field):
    """Validate a user-given key without ever echoing it."""
    if not isinstance(value, str) or not _PSK_RE.match(value):
        raise VpnError(field, "the pre-shared key breaks AWS's rules (length %s)" % (len(value) if isinstance(value, str) else "n/a"),
                       "use 8-64 letters, digits, '.' or '_', or leave it empty to generate one")
    if value.startswith("0"):
        raise VpnError(field, "the pre-shared key starts with 0, which AWS refuses", "start it with another character")
    return value


def tunnel_keys(given, existing):
    """Four keys: the user's (checked), else those read back from the clouds, else new ones.

    ``given`` is None, one key for all tunnels, or a list of four; ``existing`` maps tunnel index
    (1-4) to a key already configured. Returns ``(keys, generated)`` with ``keys`` a list of four.
    """
    if isinstance(given, str):
        given = [given] * 4
    if given is not None:
        if len(given) != 4:
            raise VpnError("pre_shared_keys", "expected one key or four, got %d" % len(given), "give one key or one per tunnel")
        return [check_psk(k, "pre_shared_keys[%d]" % i) for i, k in enumerate(given)], False
    keys = []
    generated = False
    for index in range(1, 5):
        key = existing.get(index)
        if not key:
            key = generate_psk()
            generated = True
        keys.append(key)
    return keys, generated


def aws_tunnel_options(plan, keys):
    """TunnelOptions for the two AWS VPN connections: ``{1: [t1, t2], 2: [t3, t4]}``."""
    options = {1: [], 2: []}
    for tunnel, key in zip(plan["vpn"]["tunnels"], keys):
        options[tunnel["aws_connection"]].append({
            "TunnelInsideCidr": tunnel["inside_cidr"],
            "PreSharedKey": key,
            "IKEVersions": [{"Value": CRYPTO["ike_version"]}],
            "Phase1EncryptionAlgorithms": [{"Value": "AES256"}],
            "Phase2EncryptionAlgorithms": [{"Value": "AES256"}],
            "Phase1IntegrityAlgorithms": [{"Value": "SHA2-256"}],
            "Phase2IntegrityAlgorithms": [{"Value": "SHA2-256"}],
            "Phase1DHGroupNumbers": [{"Value": CRYPTO["dh_group"]}],
            "Phase2DHGroupNumbers": [{"Value": CRYPTO["dh_group"]}],
            "Phase1LifetimeSeconds": CRYPTO["phase1_lifetime"],
            "Phase2LifetimeSeconds": CRYPTO["phase2_lifetime"],
        })
    return options


def pair_tunnels(plan, azure_public_ips, aws_outside_ips):
    """Join both ends of every tunnel.

    ``azure_public_ips``: the gateway's two public IPs, instance 0 first. ``aws_outside_ips``:
    ``{1: [ip, ip], 2: [ip, ip]}``, the outside IPs of each AWS VPN connection's tunnels in the
    order AWS lists them, matched to the plan's inside ranges by position.
    """
    if len(azure_public_ips) != 2:
        raise VpnError("azure_public_ips", "an active-active gateway has two public IPs, got %d" % len(azure_public_ips),
                       "wait until the gateway has both addresses")
    pairs = []
    for tunnel in plan["vpn"]["tunnels"]:
        connection = tunnel["aws_connection"]
        position = [t["index"] for t in plan["vpn"]["tunnels"] if t["aws_connection"] == connection].index(tunnel["index"])
        outside = (aws_outside_ips.get(connection) or [])
        if len(outside) != 2:
            raise VpnError("aws_outside_ips", "VPN connection %d reports %d tunnel outside IPs" % (connection, len(outside)),
                           "wait until AWS has assigned both tunnels")
        pairs.append(dict(tunnel, aws_outside_ip=outside[position], azure_public_ip=azure_public_ips[tunnel["azure_instance"]],
                          aws_asn=plan["vpn"]["aws_asn"], azure_asn=plan["vpn"]["azure_asn"]))
    return pairs


def local_network_gateway(pair, routing, aws_cidrs):
    """The Azure local network gateway standing for one AWS tunnel."""
    body = {"gatewayIpAddress": pair["aws_outside_ip"], "localNetworkAddressSpace": {"addressPrefixes": []}}
    if routing == "bgp":
        # With BGP the address space stays empty (the peer is an APIPA address): routes are learned.
        body["bgpSettings"] = {"asn": pair["aws_asn"], "bgpPeeringAddress": pair["aws_inside_ip"]}
    else:
        body["localNetworkAddressSpace"]["addressPrefixes"] = list(aws_cidrs)
    return body


def azure_connection(pair, routing, ip_configuration_ids, local_gateway_id, gateway_id, shared_key):
    """The Azure connection for one tunnel; custom BGP addresses name both gateway instances."""
    body = {
        "connectionType": "IPsec",
        "connectionProtocol": "IKEv2",
        "virtualNetworkGateway1": {"id": gateway_id},
        "localNetworkGateway2": {"id": local_gateway_id},
        "sharedKey": shared_key,
        "enableBgp": routing == "bgp",
        "usePolicyBasedTrafficSelectors": False,
        "ipsecPolicies": [dict(AZURE_IPSEC_POLICY)],
    }
    if routing == "bgp":
        other = 1 - pair["azure_instance"]
        body["gatewayCustomBgpIpAddresses"] = [
            {"ipConfigurationId": ip_configuration_ids[pair["azure_instance"]], "customBgpIpAddress": pair["azure_inside_ip"]},
            {"ipConfigurationId": ip_configuration_ids[other], "customBgpIpAddress": pair["other_instance_bgp_ip"]},
        ]
    return body


def with_other_instance_addresses(plan, pairs):
    """Each connection also names a custom address for the other gateway instance (Azure requires both)."""
    addresses = plan["vpn"]["azure_bgp_addresses"]
    out = []
    for pair in pairs:
        other = 1 - pair["azure_instance"]
        position = addresses[pair["azure_instance"]].index(pair["azure_inside_ip"])
        out.append(dict(pair, other_instance_bgp_ip=addresses[other][position]))
    return out


def static_routes(plan, cloud, native_routing=False):
    """Ranges the other side must route to ``cloud`` over the VPN when routing is static.

    The network always; the pod range too when Cilium routes pods natively instead of tunnelling
    them between node addresses. Service ranges are cluster-local and never routed.
    """
    section = plan[cloud]
    ranges = [section["network"]]
    if native_routing and section.get("pods"):
        ranges.append(section["pods"])
    return ranges
