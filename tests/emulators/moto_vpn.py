"""Site-to-site VPN behaviour for moto's EC2 emulation, closer to what AWS documents.

moto 5.2 keeps a VPN connection as little more than its ids: it ignores ``Options`` and
``TunnelOptions``, returns no ``VgwTelemetry`` (so no tunnel outside addresses), a fixed
``CustomerGatewayConfiguration`` (one constant pre-shared key for every tunnel), no ``Routes``, and
answers ``CreateVpnConnectionRoute``, ``DeleteVpnConnectionRoute``, ``EnableVgwRoutePropagation``,
``DisableVgwRoutePropagation`` and ``ModifyVpnTunnelOptions`` with an HTTP 500 page. This module
patches moto's EC2 backend and response classes, in the moto server process, before it serves:

* ``CreateVpnConnection`` honours ``Options`` (``StaticRoutesOnly``, ``LocalIpv4NetworkCidr`` /
  ``RemoteIpv4NetworkCidr`` and the IPv6 pair, ``TunnelInsideIpVersion``, ``TunnelBandwidth``,
  ``EnableAcceleration``, ``OutsideIpAddressType``) and ``Options.TunnelOptions`` (inside CIDR,
  pre-shared key, phase 1/2 and IKE settings) and validates them as the EC2 API reference
  describes (``InvalidParameterValue`` / ``InvalidParameterCombination``); missing inside CIDRs
  and keys are generated as AWS does.
* ``DescribeVpnConnections`` returns ``Options`` with ``TunnelOptions`` (``OutsideIpAddress``,
  ``TunnelInsideCidr``, ``PreSharedKey`` and the settings given), ``VgwTelemetry`` (one entry per
  tunnel), ``Routes``, ``Category``, and a ``CustomerGatewayConfiguration`` built from the real
  tunnels (outside and inside addresses, keys, ASNs). Each connection gets two outside addresses
  of its own from 198.18.0.0/15 (a benchmarking range: data only, nothing ever contacts them).
  Filters: ``vpn-connection-id``, ``state``, ``type``, ``category``, ``customer-gateway-id``,
  ``vpn-gateway-id``, ``transit-gateway-id``, ``bgp-asn``, ``option.static-routes-only``,
  ``route.destination-cidr-block``, ``tag:<key>``, ``tag-key``, ``tag-value``.
* ``CreateVpnConnectionRoute`` / ``DeleteVpnConnectionRoute`` keep static routes (``Routes``).
* ``EnableVgwRoutePropagation`` / ``DisableVgwRoutePropagation`` keep ``PropagatingVgws`` of a
  route table; the static routes (and the emulated BGP routes, see below) of available VPN
  connections on a propagating gateway appear in its ``Routes`` with ``Origin``
  ``EnableVgwRoutePropagation``.
* ``ModifyVpnTunnelOptions`` (tunnel chosen by its outside address) and
  ``ModifyVpnConnectionOptions`` change the described state.
* ``DeleteVpnConnection`` goes through ``deleting`` to ``deleted``; deleted connections stay
  listed (filter them with ``state``) and their inside CIDRs are free again.
* ``DescribeCustomerGateways`` applies its ``state``, ``tag:*``, ``tag-key``, ``tag-value``,
  ``bgp-asn``, ``ip-address``, ``type`` and ``customer-gateway-id`` filters (moto ignores most).
* VPN connections on a transit gateway: the ``vpn`` attachment follows the connection's state,
  is associated with / propagates to the transit gateway's default route tables when its
  options say so (and shows up in ``GetTransitGatewayRouteTableAssociations`` /
  ``...Propagations``), is detached from its route tables on deletion, and an attachment that is
  already associated cannot be associated again (``Resource.AlreadyAssociated``).

Timing and tunnel state are emulator settings (process-wide, back to their defaults on
``/moto-api/reset``):

==========================  =========================================================  =======
setting                     meaning                                                    default
==========================  =========================================================  =======
``provisioning_delay``      seconds a new connection stays ``pending``                 0
``deletion_delay``          seconds a deleted connection stays ``deleting``            0
``tunnel_status``           ``UP`` or ``DOWN``: telemetry of available connections     UP
``bgp_routes``              CIDRs the emulated peer advertises on BGP connections      []
==========================  =========================================================  =======

Defaults come from ``HYBRID_MOTO_VPN_PROVISIONING_DELAY``, ``HYBRID_MOTO_VPN_DELETION_DELAY``,
``HYBRID_MOTO_VPN_TUNNEL_STATUS`` and ``HYBRID_MOTO_VPN_BGP_ROUTES`` (comma separated) in moto's
environment. At run time, through moto's own API (``HYBRID_MOTO_URL``, or the proxy's address)::

    GET  /moto-api/hybrid/vpn    {"settings": {...}, "connections": {"vpn-...": {...}}}
    POST /moto-api/hybrid/vpn    {"provisioning_delay": 5, "tunnel_status": "DOWN"}
    POST /moto-api/hybrid/vpn    {"vpn_connection_id": "vpn-...", "available_in": 0,
                                  "tunnel_status": ["UP", "DOWN"], "bgp_routes": ["10.8.0.0/16"]}

The second form changes one existing connection: ``available_in`` (seconds from now; 0 makes a
pending connection available), ``tunnel_status`` (one value or one per tunnel), ``bgp_routes``.
``VpnControl(url)`` wraps these requests for tests.

``install()`` applies the patches once; it checks every moto class and method it relies on first
and raises ``MotoLayoutError`` naming what is missing, so a moto upgrade that moves things fails
at server start instead of answering wrongly. ``tests/emulators/moto_server.py`` calls it in the
moto process (``HYBRID_MOTO_VPN=0`` there leaves moto unpatched).
"""

import http.client
import ipaddress
import json
import os
import re
import secrets
import string
import threading
import time
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

CONTROL_PATH = "/moto-api/hybrid/vpn"

# AWS's rules for tunnel options (EC2 API reference, VpnTunnelOptionsSpecification).
INSIDE_RANGE = ipaddress.ip_network("169.254.0.0/16")
INSIDE_IPV6_RANGE = ipaddress.ip_network("fd00::/8")
RESERVED_INSIDE_CIDRS = tuple(ipaddress.ip_network(cidr) for cidr in (
    "169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30",
    "169.254.5.0/30", "169.254.169.252/30"))
PRE_SHARED_KEY = re.compile(r"^[A-Za-z1-9._][A-Za-z0-9._]{7,63}$")
PHASE_ENCRYPTION = ("AES128", "AES256", "AES128-GCM-16", "AES256-GCM-16")
PHASE_INTEGRITY = ("SHA1", "SHA2-256", "SHA2-384", "SHA2-512")
PHASE1_DH_GROUPS = (2, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 35)
PHASE2_DH_GROUPS = (2, 5, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 35, 36, 37)
IKE_VERSIONS = ("ikev1", "ikev2")
DPD_ACTIONS = ("clear", "none", "restart")
STARTUP_ACTIONS = ("add", "start")
TUNNEL_STATUSES = ("UP", "DOWN")

# Outside addresses of the AWS tunnel endpoints: a benchmarking range, never contacted.
OUTSIDE_POOL = ipaddress.ip_network("198.18.0.0/15")

# Request member name -> the name DescribeVpnConnections uses for it.
_TUNNEL_SETTINGS = {
    "Phase1LifetimeSeconds": "Phase1LifetimeSeconds",
    "Phase2LifetimeSeconds": "Phase2LifetimeSeconds",
    "RekeyMarginTimeSeconds": "RekeyMarginTimeSeconds",
    "RekeyFuzzPercentage": "RekeyFuzzPercentage",
    "ReplayWindowSize": "ReplayWindowSize",
    "DPDTimeoutSeconds": "DpdTimeoutSeconds",
    "DPDTimeoutAction": "DpdTimeoutAction",
    "Phase1EncryptionAlgorithms": "Phase1EncryptionAlgorithms",
    "Phase2EncryptionAlgorithms": "Phase2EncryptionAlgorithms",
    "Phase1IntegrityAlgorithms": "Phase1IntegrityAlgorithms",
    "Phase2IntegrityAlgorithms": "Phase2IntegrityAlgorithms",
    "Phase1DHGroupNumbers": "Phase1DHGroupNumbers",
    "Phase2DHGroupNumbers": "Phase2DHGroupNumbers",
    "IKEVersions": "IkeVersions",
    "StartupAction": "StartupAction",
    "LogOptions": "LogOptions",
    "EnableTunnelLifecycleControl": "EnableTunnelLifecycleControl",
}

_CONNECTION_DEFAULTS = {
    "EnableAcceleration": False,
    "StaticRoutesOnly": False,
    "LocalIpv4NetworkCidr": "0.0.0.0/0",
    "RemoteIpv4NetworkCidr": "0.0.0.0/0",
    "OutsideIpAddressType": "PublicIpv4",
    "TunnelInsideIpVersion": "ipv4",
    "TunnelBandwidth": "standard",
}


class MotoLayoutError(RuntimeError):
    """moto's internals are not where this module expects them (a moto upgrade moved them)."""


class VpnApiError(Exception):
    """An EC2 error answer (code and message); turned into moto's EC2ClientError by the handlers."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


def _invalid(message):
    return VpnApiError("InvalidParameterValue", message)


# -- settings (process-wide, reset with /moto-api/reset)

def _env_number(name, default):
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw.strip() else default
    except ValueError:
        raise MotoLayoutError("%s must be a number of seconds, not %r" % (name, raw)) from None


def default_settings():
    """The settings after start and after every reset (from HYBRID_MOTO_VPN_* variables)."""
    status = os.environ.get("HYBRID_MOTO_VPN_TUNNEL_STATUS", "UP").strip().upper() or "UP"
    if status not in TUNNEL_STATUSES:
        raise MotoLayoutError("HYBRID_MOTO_VPN_TUNNEL_STATUS must be UP or DOWN, not %r" % status)
    routes = [item.strip() for item in os.environ.get("HYBRID_MOTO_VPN_BGP_ROUTES", "").split(",") if item.strip()]
    return {
        "provisioning_delay": _env_number("HYBRID_MOTO_VPN_PROVISIONING_DELAY", 0.0),
        "deletion_delay": _env_number("HYBRID_MOTO_VPN_DELETION_DELAY", 0.0),
        "tunnel_status": status,
        "bgp_routes": [_check_cidr(route, "bgp_routes") for route in routes],
    }


_LOCK = threading.RLock()
_SETTINGS = {}


def settings():
    with _LOCK:
        if not _SETTINGS:
            _SETTINGS.update(default_settings())
        return dict(_SETTINGS)


def reset_settings():
    with _LOCK:
        _SETTINGS.clear()
        _SETTINGS.update(default_settings())


def update_settings(changes):
    """Apply a dict of global settings (validated); returns the new settings."""
    clean = {}
    for key, value in changes.items():
        if key in ("provisioning_delay", "deletion_delay"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError("%s must be a number of seconds >= 0" % key)
            clean[key] = float(value)
        elif key == "tunnel_status":
            clean[key] = _check_status(value)
        elif key == "bgp_routes":
            clean[key] = [_check_cidr(route, key) for route in _as_list(value)]
        else:
            raise ValueError("unknown VPN emulator setting %r" % key)
    with _LOCK:
        settings()
        _SETTINGS.update(clean)
        return dict(_SETTINGS)


def _check_status(value):
    if not isinstance(value, str) or value.upper() not in TUNNEL_STATUSES:
        raise ValueError("tunnel_status must be UP or DOWN, not %r" % (value,))
    return value.upper()


def _check_cidr(value, what):
    try:
        return str(ipaddress.ip_network(value))
    except (TypeError, ValueError):
        raise ValueError("%s: %r is not a CIDR block" % (what, value)) from None


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# -- pure checks of the request (AWS's documented constraints)

def _values(items):
    """[{"Value": x}, ...] (the request shape of the algorithm lists) -> [x, ...]."""
    result = []
    for item in items or []:
        result.append(item.get("Value") if isinstance(item, dict) else item)
    return result


def _check_range(options, name, low, high, where):
    value = options.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _invalid("Value (%s) for parameter %s is invalid. %s must be between %s and %s."
                       % (value, where + name, name, low, high))


def _check_choices(options, name, allowed, where, convert=str):
    for value in _values(options.get(name)):
        try:
            ok = convert(value) in allowed
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise _invalid("Value (%s) for parameter %s is invalid. Valid values: %s."
                           % (value, where + name, ", ".join(str(item) for item in allowed)))


def check_pre_shared_key(key):
    """AWS: 8-64 letters, digits, '.' and '_', not starting with 0."""
    if not isinstance(key, str) or not PRE_SHARED_KEY.match(key):
        raise _invalid("Value for parameter PreSharedKey is invalid. Allowed characters are alphanumeric characters, "
                       "periods (.) and underscores (_); it must be 8 to 64 characters long and cannot start with zero (0).")
    return key


def check_inside_cidr(cidr):
    """AWS: a /30 from 169.254.0.0/16 that is not one of the reserved blocks; returns it canonical."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        raise _invalid("Value (%s) for parameter TunnelInsideCidr is invalid. This is not a valid CIDR block." % (cidr,)) from None
    if network.version != 4 or network.prefixlen != 30 or not network.subnet_of(INSIDE_RANGE):
        raise _invalid("Value (%s) for parameter TunnelInsideCidr is invalid. The inside CIDR must be a /30 block "
                       "from 169.254.0.0/16." % cidr)
    if network in RESERVED_INSIDE_CIDRS:
        raise _invalid("Value (%s) for parameter TunnelInsideCidr is invalid. The CIDR block %s is reserved and "
                       "cannot be used." % (cidr, network))
    return str(network)


def check_inside_ipv6_cidr(cidr):
    """AWS: a /126 from fd00::/8."""
    try:
        network = ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        network = None
    if network is None or network.version != 6 or network.prefixlen != 126 or not network.subnet_of(INSIDE_IPV6_RANGE):
        raise _invalid("Value (%s) for parameter TunnelInsideIpv6Cidr is invalid. The inside CIDR must be a /126 "
                       "block from fd00::/8." % (cidr,))
    return str(network)


def check_tunnel_settings(options, where="TunnelOptions."):
    """Phase 1/2, DPD and IKE settings of one tunnel (create or modify); raises VpnApiError."""
    _check_range(options, "Phase1LifetimeSeconds", 900, 28800, where)
    _check_range(options, "Phase2LifetimeSeconds", 900, 3600, where)
    phase1 = options.get("Phase1LifetimeSeconds", 28800)
    phase2 = options.get("Phase2LifetimeSeconds", 3600)
    if "Phase2LifetimeSeconds" in options and phase2 >= phase1:
        raise _invalid("Value (%s) for parameter %sPhase2LifetimeSeconds is invalid. It must be less than "
                       "Phase1LifetimeSeconds (%s)." % (phase2, where, phase1))
    _check_range(options, "RekeyMarginTimeSeconds", 60, max(60, phase2 // 2), where)
    _check_range(options, "RekeyFuzzPercentage", 0, 100, where)
    _check_range(options, "ReplayWindowSize", 64, 2048, where)
    _check_range(options, "DPDTimeoutSeconds", 30, 2 ** 31 - 1, where)
    if options.get("DPDTimeoutAction") is not None and options["DPDTimeoutAction"] not in DPD_ACTIONS:
        raise _invalid("Value (%s) for parameter %sDPDTimeoutAction is invalid. Valid values: clear, none, restart."
                       % (options["DPDTimeoutAction"], where))
    if options.get("StartupAction") is not None and options["StartupAction"] not in STARTUP_ACTIONS:
        raise _invalid("Value (%s) for parameter %sStartupAction is invalid. Valid values: add, start."
                       % (options["StartupAction"], where))
    _check_choices(options, "Phase1EncryptionAlgorithms", PHASE_ENCRYPTION, where)
    _check_choices(options, "Phase2EncryptionAlgorithms", PHASE_ENCRYPTION, where)
    _check_choices(options, "Phase1IntegrityAlgorithms", PHASE_INTEGRITY, where)
    _check_choices(options, "Phase2IntegrityAlgorithms", PHASE_INTEGRITY, where)
    _check_choices(options, "Phase1DHGroupNumbers", PHASE1_DH_GROUPS, where, int)
    _check_choices(options, "Phase2DHGroupNumbers", PHASE2_DH_GROUPS, where, int)
    _check_choices(options, "IKEVersions", IKE_VERSIONS, where)
    if options.get("PreSharedKey") is not None:
        check_pre_shared_key(options["PreSharedKey"])


def check_connection_options(options, transit_gateway_id):
    """The connection-level ``Options`` of CreateVpnConnection; returns them with AWS's defaults."""
    result = dict(_CONNECTION_DEFAULTS)
    for key, value in options.items():
        if key != "TunnelOptions" and value is not None:
            result[key] = value
    version = result["TunnelInsideIpVersion"]
    if version not in ("ipv4", "ipv6"):
        raise _invalid("Value (%s) for parameter TunnelInsideIpVersion is invalid. Valid values: ipv4, ipv6." % version)
    if version == "ipv6" and not transit_gateway_id:
        raise VpnApiError("InvalidParameterCombination", "IPv6 inside addresses are supported only for VPN connections "
                                                         "on a transit gateway")
    if result["TunnelBandwidth"] not in ("standard", "large"):
        raise _invalid("Value (%s) for parameter TunnelBandwidth is invalid. Valid values: standard, large."
                       % result["TunnelBandwidth"])
    if result["TunnelBandwidth"] == "large" and not transit_gateway_id:
        raise VpnApiError("InvalidParameterCombination", "Large bandwidth tunnels are supported only for VPN connections "
                                                         "on a transit gateway")
    if result["OutsideIpAddressType"] not in ("PrivateIpv4", "PublicIpv4", "Ipv6"):
        raise _invalid("Value (%s) for parameter OutsideIpAddressType is invalid." % result["OutsideIpAddressType"])
    for key in ("LocalIpv4NetworkCidr", "RemoteIpv4NetworkCidr", "LocalIpv6NetworkCidr", "RemoteIpv6NetworkCidr"):
        if key in options and options[key] is not None:
            try:
                network = ipaddress.ip_network(options[key], strict=True)
            except ValueError:
                network = None
            if network is None or network.version != (6 if "Ipv6" in key else 4):
                raise _invalid("Value (%s) for parameter %s is invalid. This is not a valid CIDR block." % (options[key], key))
    if version == "ipv6":
        result.pop("LocalIpv4NetworkCidr", None)
        result.pop("RemoteIpv4NetworkCidr", None)
        result.setdefault("LocalIpv6NetworkCidr", "::/0")
        result.setdefault("RemoteIpv6NetworkCidr", "::/0")
    return result


def generate_pre_shared_key(length=32):
    """A key AWS would accept (and generates): letters, digits, '.', '_'; the first one a letter."""
    alphabet = string.ascii_letters + string.digits + "._"
    return secrets.choice(string.ascii_letters) + "".join(secrets.choice(alphabet) for dummy in range(length - 1))


def generate_inside_cidr(taken):
    """A free, non-reserved /30 from 169.254.0.0/16 (AWS picks one at random)."""
    for dummy in range(10000):
        network = ipaddress.ip_network("169.254.%d.%d/30" % (secrets.randbelow(256), 4 * secrets.randbelow(64)))
        if network not in RESERVED_INSIDE_CIDRS and str(network) not in taken:
            return str(network)
    raise VpnApiError("InsufficientFreeAddressesInSubnet", "No free inside CIDR is left")


def generate_inside_ipv6_cidr(taken):
    for dummy in range(10000):
        base = int(INSIDE_IPV6_RANGE.network_address) + (secrets.randbits(118) << 2)
        network = ipaddress.ip_network((base, 126))
        if str(network) not in taken:
            return str(network)
    raise VpnApiError("InsufficientFreeAddressesInSubnet", "No free inside IPv6 CIDR is left")


def tunnel_view(tunnel):
    """One tunnel as DescribeVpnConnections shows it in ``Options.TunnelOptions``."""
    view = {"OutsideIpAddress": tunnel["OutsideIpAddress"]}
    if tunnel.get("TunnelInsideCidr"):
        view["TunnelInsideCidr"] = tunnel["TunnelInsideCidr"]
    if tunnel.get("TunnelInsideIpv6Cidr"):
        view["TunnelInsideIpv6Cidr"] = tunnel["TunnelInsideIpv6Cidr"]
    view["PreSharedKey"] = tunnel["PreSharedKey"]
    for request_name, response_name in _TUNNEL_SETTINGS.items():
        if request_name in tunnel["settings"]:
            value = tunnel["settings"][request_name]
            if isinstance(value, list):
                value = [{"Value": item} for item in _values(value)]
            view[response_name] = value
    return view


# -- the customer gateway configuration (the "generic" device XML AWS returns)

_ENCRYPTION_XML = {"AES128": "aes-128-cbc", "AES256": "aes-256-cbc", "AES128-GCM-16": "aes-128-gcm-16",
                   "AES256-GCM-16": "aes-256-gcm-16"}
_INTEGRITY_XML = {"SHA1": "sha1", "SHA2-256": "sha2-256", "SHA2-384": "sha2-384", "SHA2-512": "sha2-512"}
_IPSEC_INTEGRITY_XML = {"SHA1": "hmac-sha1-96", "SHA2-256": "hmac-sha256-128", "SHA2-384": "hmac-sha384-192",
                        "SHA2-512": "hmac-sha512-256"}


def _sub(parent, tag, text=None):
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _address(parent, tag, address, network=None):
    holder = _sub(parent, tag)
    _sub(holder, "ip_address", address)
    if network is not None:
        _sub(holder, "network_mask", network.netmask)
        _sub(holder, "network_cidr", network.prefixlen)


def _first(settings_, name, default, mapping=None):
    values = _values(settings_.get(name))
    if not values:
        return default
    return mapping.get(values[0], values[0]) if mapping else values[0]


def customer_gateway_configuration(connection_id, connection_type, customer_gateway, gateway_id, gateway_tag,
                                   amazon_asn, customer_asn, tunnels, static_routes_only):
    """The XML document of ``CustomerGatewayConfiguration`` for these tunnels."""
    root = ET.Element("vpn_connection", id=connection_id)
    _sub(root, "customer_gateway_id", customer_gateway["id"])
    _sub(root, gateway_tag, gateway_id or "")
    _sub(root, "vpn_connection_type", connection_type)
    for tunnel in tunnels:
        tunnel_settings = tunnel["settings"]
        element = _sub(root, "ipsec_tunnel")
        inside = ipaddress.ip_network(tunnel.get("TunnelInsideCidr") or tunnel["TunnelInsideIpv6Cidr"])
        hosts = list(inside.hosts()) if inside.version == 4 else [inside.network_address + 1, inside.network_address + 2]
        for side, outside, inside_host, asn in (("customer_gateway", customer_gateway["ip_address"], hosts[1], customer_asn),
                                                ("vpn_gateway", tunnel["OutsideIpAddress"], hosts[0], amazon_asn)):
            holder = _sub(element, side)
            _address(holder, "tunnel_outside_address", outside)
            _address(holder, "tunnel_inside_address", inside_host, inside)
            if not static_routes_only:
                bgp = _sub(holder, "bgp")
                _sub(bgp, "asn", asn)
                _sub(bgp, "hold_time", 30)
        pfs = "group%s" % _first(tunnel_settings, "Phase1DHGroupNumbers", 2)
        ike = _sub(element, "ike")
        _sub(ike, "authentication_protocol", _first(tunnel_settings, "Phase1IntegrityAlgorithms", "sha1", _INTEGRITY_XML))
        _sub(ike, "encryption_protocol", _first(tunnel_settings, "Phase1EncryptionAlgorithms", "aes-128-cbc", _ENCRYPTION_XML))
        _sub(ike, "lifetime", tunnel_settings.get("Phase1LifetimeSeconds", 28800))
        _sub(ike, "perfect_forward_secrecy", pfs)
        _sub(ike, "mode", "main")
        _sub(ike, "version", _first(tunnel_settings, "IKEVersions", "ikev1"))
        _sub(ike, "pre_shared_key", tunnel["PreSharedKey"])
        ipsec = _sub(element, "ipsec")
        _sub(ipsec, "protocol", "esp")
        _sub(ipsec, "authentication_protocol",
             _first(tunnel_settings, "Phase2IntegrityAlgorithms", "hmac-sha1-96", _IPSEC_INTEGRITY_XML))
        _sub(ipsec, "encryption_protocol", _first(tunnel_settings, "Phase2EncryptionAlgorithms", "aes-128-cbc", _ENCRYPTION_XML))
        _sub(ipsec, "lifetime", tunnel_settings.get("Phase2LifetimeSeconds", 3600))
        _sub(ipsec, "perfect_forward_secrecy", "group%s" % _first(tunnel_settings, "Phase2DHGroupNumbers", 2))
        _sub(ipsec, "mode", "tunnel")
        _sub(ipsec, "clear_df_bit", "true")
        _sub(ipsec, "fragmentation_before_encryption", "true")
        _sub(ipsec, "tcp_mss_adjustment", 1379)
        dpd = _sub(ipsec, "dead_peer_detection")
        _sub(dpd, "interval", 10)
        _sub(dpd, "retries", 3)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


# -- filters with EC2's semantics (any value of the resource matches any pattern; * and ? wildcards)

def _pattern(value):
    return re.compile("^" + ".*".join(".".join(re.escape(part) for part in chunk.split("?"))
                                      for chunk in str(value).split("*")) + "$")


def matches_filters(filters, lookup):
    """``filters`` {name: [values]}; ``lookup(name)`` gives the resource's values for a name (a list)."""
    for name, wanted in (filters or {}).items():
        have = [str(item).lower() if isinstance(item, bool) else str(item) for item in lookup(name) if item is not None]
        patterns = [_pattern(value) for value in _as_list(wanted)]
        if not any(pattern.match(item) for pattern in patterns for item in have):
            return False
    return True


def tag_lookup(tags, name):
    """Values of ``tag:<key>``, ``tag-key``, ``tag-value`` for a {key: value} dict; None for other names."""
    if name.startswith("tag:"):
        key = name[4:]
        return [tags[key]] if key in tags else []
    if name == "tag-key":
        return list(tags)
    if name == "tag-value":
        return list(tags.values())
    return None


# -- control client (tests, demos)

class VpnControl:
    """Drive the VPN settings of a running moto (``HYBRID_MOTO_URL`` or the fault proxy's URL)."""

    def __init__(self, url, timeout=10):
        rest = url.split("://", 1)[1].rstrip("/")
        if rest.startswith("["):
            host, port = rest[1:].split("]:", 1)
        else:
            host, port = rest.rsplit(":", 1)
        self.host, self.port, self.timeout = host, int(port), timeout

    def _request(self, method, body=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request(method, CONTROL_PATH, body=None if body is None else json.dumps(body),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError("VPN emulator control failed: HTTP %s %s" % (response.status, data))
        return data

    def state(self):
        """{"settings": {...}, "connections": {...}}"""
        return self._request("GET")

    def configure(self, **changes):
        """Change global settings: provisioning_delay, deletion_delay, tunnel_status, bgp_routes."""
        return self._request("POST", changes)["settings"]

    def connection(self, vpn_connection_id, **changes):
        """Change one connection: available_in, tunnel_status, bgp_routes."""
        return self._request("POST", dict(changes, vpn_connection_id=vpn_connection_id))["connection"]


# -- the patches

_INSTALLED = []


def _require(owner, names, where):
    missing = [name for name in names if not hasattr(owner, name)]
    if missing:
        raise MotoLayoutError("moto changed: %s has no %s; tests/emulators/moto_vpn.py needs updating"
                              % (where, ", ".join(missing)))


def _load_moto():
    """Import and check everything the patches touch; returns a namespace of moto objects."""
    try:
        # pylint: disable=import-outside-toplevel
        from moto.ec2 import exceptions as ec2_exceptions
        from moto.ec2 import models as ec2_models
        from moto.ec2 import responses as ec2_responses
        from moto.ec2.models import route_tables, transit_gateway_attachments, vpn_connections
        from moto.ec2.utils import random_vpn_connection_id
        from moto.moto_api._internal import urls as moto_api_urls
        from moto.core import responses as core_responses
    except ImportError as exc:
        raise MotoLayoutError("moto changed: %s; tests/emulators/moto_vpn.py needs updating" % exc) from exc
    _require(ec2_models, ["EC2Backend"], "moto.ec2.models")
    _require(ec2_models.EC2Backend, [
        "create_vpn_connection", "delete_vpn_connection", "describe_vpn_connections", "describe_customer_gateways",
        "get_customer_gateway", "get_route_table", "describe_vpn_gateways", "associate_transit_gateway_route_table",
        "enable_transit_gateway_route_table_propagation", "disable_transit_gateway_route_table_propagation",
        "disassociate_transit_gateway_route_table", "describe_tags"], "moto.ec2.models.EC2Backend")
    _require(ec2_responses, ["EC2Response"], "moto.ec2.responses")
    _require(ec2_responses.EC2Response, ["create_vpn_connection", "delete_vpn_connection", "describe_vpn_connections",
                                         "describe_customer_gateways", "_get_param", "_filters_from_querystring",
                                         "error_on_dryrun"], "moto.ec2.responses.EC2Response")
    _require(vpn_connections, ["VPNConnection"], "moto.ec2.models.vpn_connections")
    _require(route_tables, ["RouteTable"], "moto.ec2.models.route_tables")
    _require(route_tables.RouteTable, ["routes"], "moto.ec2.models.route_tables.RouteTable")
    _require(transit_gateway_attachments, ["TransitGatewayAttachment"], "moto.ec2.models.transit_gateway_attachments")
    _require(ec2_exceptions, ["EC2ClientError", "InvalidVpnConnectionIdError", "InvalidRouteTableIdError",
                              "InvalidVpnGatewayIdError", "InvalidCustomerGatewayIdError", "InvalidTransitGatewayID"],
             "moto.ec2.exceptions")
    _require(core_responses, ["ActionResult", "EmptyResult"], "moto.core.responses")
    _require(moto_api_urls, ["url_paths"], "moto.moto_api._internal.urls")
    if "{0}/moto-api/reset" not in moto_api_urls.url_paths:
        raise MotoLayoutError("moto changed: /moto-api/reset is not in moto.moto_api._internal.urls.url_paths")
    return {
        "models": ec2_models, "responses": ec2_responses, "exceptions": ec2_exceptions,
        "VPNConnection": vpn_connections.VPNConnection, "RouteTable": route_tables.RouteTable,
        "TransitGatewayAttachment": transit_gateway_attachments.TransitGatewayAttachment,
        "ActionResult": core_responses.ActionResult, "EmptyResult": core_responses.EmptyResult,
        "random_vpn_connection_id": random_vpn_connection_id, "urls": moto_api_urls,
    }


def install():
    """Patch moto (idempotent). Raises MotoLayoutError if moto's structure is not the expected one."""
    if _INSTALLED:
        return _INSTALLED[0]
    moto = _load_moto()
    reset_settings()
    installed = _apply(moto)
    _INSTALLED.append(installed)
    return installed


def now():
    return datetime.now(timezone.utc)


def clock():
    return time.time()


_OUTSIDE_LOCK = threading.Lock()
_OUTSIDE_NEXT = [1]


def allocate_outside_address():
    """The next unused tunnel outside address (never reused in this process, skips .0 and .255)."""
    with _OUTSIDE_LOCK:
        while True:
            offset = _OUTSIDE_NEXT[0]
            _OUTSIDE_NEXT[0] += 1
            if offset >= OUTSIDE_POOL.num_addresses:
                raise VpnApiError("AddressLimitExceeded", "The emulator ran out of tunnel outside addresses")
            address = OUTSIDE_POOL.network_address + offset
            if int(address) & 0xFF not in (0, 255):
                return str(address)


def _translated(func):
    """Run ``func``; a VpnApiError becomes moto's EC2ClientError (an EC2 XML error, HTTP 400)."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except VpnApiError as err:
            raise _EC2_CLIENT_ERROR[0](err.code, err.message) from None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


_EC2_CLIENT_ERROR = []
_LIVE = ("pending", "available")


def _tags_of(resource):
    return {tag["key"]: tag["value"] for tag in resource.get_tags()}


def _build_classes(moto):
    """The subclasses of moto's models that carry the extra VPN state."""
    base_connection = moto["VPNConnection"]
    base_attachment = moto["TransitGatewayAttachment"]

    class HybridVpnConnection(base_connection):
        """A VPN connection with options, tunnels, routes, telemetry and a state that moves with time."""

        def __init__(self, backend, vpn_connection_id, vpn_conn_type, customer_gateway_id, vpn_gateway_id,
                     transit_gateway_id, tags, options, tunnels, delay):
            self._state = "available"
            self._options = {}
            super().__init__(backend, vpn_connection_id=vpn_connection_id, vpn_conn_type=vpn_conn_type,
                             customer_gateway_id=customer_gateway_id, vpn_gateway_id=vpn_gateway_id,
                             transit_gateway_id=transit_gateway_id, tags=tags)
            self._options = options
            self.hybrid_tunnels = tunnels
            self.static_route_map = {}
            current = settings()
            self.bgp_routes = list(current["bgp_routes"])
            self.tunnel_status_override = None
            self.status_changed = now()
            self._ready_at = clock() + delay
            self._gone_at = None
            if delay > 0:
                self._state = "pending"

        # state moves on when it is read: pending -> available, deleting -> deleted
        @property
        def state(self):
            moment = clock()
            if self._state == "pending" and moment >= self._ready_at:
                self._state = "available"
                self.status_changed = now()
            elif self._state == "deleting" and moment >= self._gone_at:
                self._state = "deleted"
                self.status_changed = now()
            return self._state

        @state.setter
        def state(self, value):
            self._state = value

        def make_available_in(self, seconds):
            if self.state in ("pending", "available"):
                self._ready_at = clock() + max(0.0, float(seconds))
                self._state = "pending" if seconds > 0 else "available"
                self.status_changed = now()

        def begin_delete(self, delay):
            self._state = "deleting"
            self._gone_at = clock() + max(0.0, delay)
            self.status_changed = now()
            return self.state

        @property
        def options(self):
            result = dict(self._options)
            result["TunnelOptions"] = [tunnel_view(tunnel) for tunnel in self.hybrid_tunnels]
            return result

        @options.setter
        def options(self, value):
            if isinstance(value, dict):
                self._options = value

        @property
        def static_routes_only(self):
            return bool(self._options.get("StaticRoutesOnly"))

        @property
        def routes(self):
            return [dict(route) for route in self.static_route_map.values()]

        @property
        def category(self):
            return "VPN"

        @property
        def gateway_association_state(self):
            if self.vpn_gateway_id or self.transit_gateway_id:
                return "associated" if self.state in _LIVE else "disassociated"
            return "disassociated"

        def tunnel_statuses(self):
            if self.state != "available":
                return ["DOWN"] * len(self.hybrid_tunnels)
            wanted = self.tunnel_status_override or [settings()["tunnel_status"]]
            return [wanted[index] if index < len(wanted) else wanted[-1] for index in range(len(self.hybrid_tunnels))]

        def learned_routes(self):
            """What the tunnels carry: the static routes, or the emulated peer's BGP routes."""
            if self.static_routes_only:
                return sorted(self.static_route_map)
            return list(self.bgp_routes)

        @property
        def vgw_telemetry(self):
            result = []
            for tunnel, status in zip(self.hybrid_tunnels, self.tunnel_statuses()):
                accepted = len(self.learned_routes()) if status == "UP" else 0
                if status == "UP":
                    message = "" if self.static_routes_only else "%d BGP ROUTES" % accepted
                else:
                    message = ""
                result.append({"OutsideIpAddress": tunnel["OutsideIpAddress"], "Status": status,
                               "LastStatusChange": self.status_changed, "StatusMessage": message,
                               "AcceptedRouteCount": accepted})
            return result

        @property
        def customer_gateway_configuration(self):
            backend = self.ec2_backend
            customer = backend.customer_gateways.get(self.customer_gateway_id)
            customer_view = {"id": self.customer_gateway_id,
                             "ip_address": getattr(customer, "ip_address", "") or ""}
            customer_asn = getattr(customer, "bgp_asn", None) or 65000
            if self.transit_gateway_id:
                gateway = backend.transit_gateways.get(self.transit_gateway_id)
                amazon_asn = (getattr(gateway, "options", None) or {}).get("AmazonSideAsn") or 64512
                gateway_tag, gateway_id = "transit_gateway_id", self.transit_gateway_id
            else:
                gateway = backend.vpn_gateways.get(self.vpn_gateway_id) if self.vpn_gateway_id else None
                amazon_asn = getattr(gateway, "amazon_side_asn", None) or 64512
                gateway_tag, gateway_id = "vpn_gateway_id", self.vpn_gateway_id
            return customer_gateway_configuration(self.id, self.type, customer_view, gateway_id, gateway_tag,
                                                  amazon_asn, customer_asn, self.hybrid_tunnels, self.static_routes_only)

        def filter_values(self, name):
            tags = tag_lookup(_tags_of(self), name)
            if tags is not None:
                return tags
            customer = self.ec2_backend.customer_gateways.get(self.customer_gateway_id)
            table = {
                "vpn-connection-id": [self.id],
                "state": [self.state],
                "type": [self.type],
                "category": [self.category],
                "customer-gateway-id": [self.customer_gateway_id],
                "customer-gateway-configuration": [self.customer_gateway_configuration],
                "vpn-gateway-id": [self.vpn_gateway_id],
                "transit-gateway-id": [self.transit_gateway_id],
                "bgp-asn": [getattr(customer, "bgp_asn", None)],
                "option.static-routes-only": [self.static_routes_only],
                "route.destination-cidr-block": list(self.static_route_map),
            }
            if name not in table:
                raise VpnApiError("InvalidParameterValue", "The filter '%s' is invalid" % name)
            return table[name]

        def get_filter_value(self, filter_name, method_name=None):
            values = self.filter_values(filter_name)
            return values[0] if len(values) == 1 else values

    class HybridVpnAttachment(base_attachment):
        """The ``vpn`` transit gateway attachment of a connection: its state follows the connection."""

        def __init__(self, backend, connection, transit_gateway, tags=None):
            self._state = "available"
            self.connection = connection
            super().__init__(backend, resource_id=connection.id, resource_type="vpn",
                             transit_gateway=transit_gateway, tags=tags)
            self.transit_gateway_route_table = None

        @property
        def state(self):
            if self._state != "available":
                return self._state
            connection_state = self.connection.state
            return "available" if connection_state == "available" else connection_state

        @state.setter
        def state(self, value):
            self._state = value

        @property
        def association(self):
            data = self._association_data
            if self.state in _LIVE and data.get("transitGatewayRouteTableId"):
                return {"State": "associated", "TransitGatewayRouteTableId": data["transitGatewayRouteTableId"]}
            return None

    return HybridVpnConnection, HybridVpnAttachment


def _tunnels_for_request(backend, specs, connection_options, vpn_gateway_id, transit_gateway_id, exclude=None):
    """Validate ``Options.TunnelOptions`` and build the two tunnels (generated values where none given)."""
    specs = list(specs or [])
    if len(specs) > 2:
        raise _invalid("Value for parameter TunnelOptions is invalid. A VPN connection has two tunnels; at most two "
                       "tunnel options can be given.")
    ipv6 = connection_options.get("TunnelInsideIpVersion") == "ipv6"
    taken_v4, taken_v6 = _inside_cidrs_in_use(backend, vpn_gateway_id, transit_gateway_id, exclude)
    tunnels = []
    for index in range(2):
        spec = {key: value for key, value in (specs[index] if index < len(specs) else {}).items() if value is not None}
        where = "TunnelOptions[%d]." % index
        check_tunnel_settings(spec, where)
        tunnel = {"settings": {key: spec[key] for key in _TUNNEL_SETTINGS if key in spec}}
        if ipv6:
            if spec.get("TunnelInsideCidr"):
                raise VpnApiError("InvalidParameterCombination",
                                  "An ipv4 inside cidr is not allowed for VPNs using an ipv6 inside ip version")
            cidr = check_inside_ipv6_cidr(spec["TunnelInsideIpv6Cidr"]) if spec.get("TunnelInsideIpv6Cidr") else None
            cidr = _claim(cidr, taken_v6, generate_inside_ipv6_cidr, "TunnelInsideIpv6Cidr", vpn_gateway_id or transit_gateway_id)
            tunnel["TunnelInsideIpv6Cidr"] = cidr
        else:
            if spec.get("TunnelInsideIpv6Cidr"):
                raise VpnApiError("InvalidParameterCombination",
                                  "An ipv6 inside cidr is not allowed for VPNs using an ipv4 inside ip version")
            cidr = check_inside_cidr(spec["TunnelInsideCidr"]) if spec.get("TunnelInsideCidr") else None
            cidr = _claim(cidr, taken_v4, generate_inside_cidr, "TunnelInsideCidr", vpn_gateway_id or transit_gateway_id)
            tunnel["TunnelInsideCidr"] = cidr
        tunnel["PreSharedKey"] = check_pre_shared_key(spec["PreSharedKey"]) if spec.get("PreSharedKey") else generate_pre_shared_key()
        tunnels.append(tunnel)
    return tunnels


def _claim(cidr, taken, generate, parameter, gateway_id):
    """Reserve ``cidr`` (or a generated one) in ``taken`` {cidr: owner}; a clash is InvalidParameterValue."""
    if cidr is None:
        cidr = generate(taken)
    elif cidr in taken:
        raise _invalid("Value (%s) for parameter %s is invalid. The CIDR block is already used by %s%s."
                       % (cidr, parameter, taken[cidr], " on %s" % gateway_id if gateway_id else ""))
    taken[cidr] = "another tunnel of this VPN connection"
    return cidr


def _inside_cidrs_in_use(backend, vpn_gateway_id, transit_gateway_id, exclude=None):
    """Inside CIDRs that must stay unique: IPv4 per virtual private gateway, IPv6 per transit gateway."""
    taken_v4, taken_v6 = {}, {}
    for connection in backend.vpn_connections.values():
        if connection is exclude or connection.state == "deleted" or not hasattr(connection, "hybrid_tunnels"):
            continue
        for tunnel in connection.hybrid_tunnels:
            if vpn_gateway_id and connection.vpn_gateway_id == vpn_gateway_id and tunnel.get("TunnelInsideCidr"):
                taken_v4[tunnel["TunnelInsideCidr"]] = connection.id
            if transit_gateway_id and connection.transit_gateway_id == transit_gateway_id and tunnel.get("TunnelInsideIpv6Cidr"):
                taken_v6[tunnel["TunnelInsideIpv6Cidr"]] = connection.id
    return taken_v4, taken_v6


def _apply(moto):  # pylint: disable=too-many-locals,too-many-statements
    """Install the subclasses, backend methods, response handlers and the control endpoint."""
    exceptions = moto["exceptions"]
    _EC2_CLIENT_ERROR.append(exceptions.EC2ClientError)
    connection_class, attachment_class = _build_classes(moto)
    backend_class = moto["models"].EC2Backend
    response_class = moto["responses"].EC2Response
    route_table_class = moto["RouteTable"]
    action_result, empty_result = moto["ActionResult"], moto["EmptyResult"]
    original_associate = backend_class.associate_transit_gateway_route_table
    original_routes = route_table_class.routes

    def live_connection(backend, vpn_connection_id):
        connection = backend.vpn_connections.get(vpn_connection_id)
        if connection is None or connection.state == "deleted":
            raise exceptions.InvalidVpnConnectionIdError(vpn_connection_id)
        return connection

    # -- backend (the EC2 model)

    @_translated
    def create_vpn_connection(self, vpn_conn_type, customer_gateway_id, vpn_gateway_id=None, transit_gateway_id=None,
                              tags=None, options=None):
        options = dict(options or {})
        if vpn_gateway_id and transit_gateway_id:
            raise _invalid("The request must not contain both parameter vpnGatewayId and transitGatewayId")
        if vpn_conn_type != "ipsec.1":
            raise _invalid("Value (%s) for parameter type is invalid. Valid values: ipsec.1." % vpn_conn_type)
        customer = self.get_customer_gateway(customer_gateway_id)
        if customer.state == "deleted":
            raise exceptions.InvalidCustomerGatewayIdError(customer_gateway_id)
        if vpn_gateway_id:
            gateway = self.vpn_gateways.get(vpn_gateway_id)
            if gateway is None or gateway.state == "deleted":
                raise exceptions.InvalidVpnGatewayIdError(vpn_gateway_id)
        transit_gateway = None
        if transit_gateway_id:
            transit_gateway = self.transit_gateways.get(transit_gateway_id)
            if transit_gateway is None or getattr(transit_gateway, "state", "available") == "deleted":
                raise exceptions.InvalidTransitGatewayID(transit_gateway_id)
        connection_options = check_connection_options(options, transit_gateway_id)
        tunnels = _tunnels_for_request(self, options.get("TunnelOptions"), connection_options, vpn_gateway_id,
                                       transit_gateway_id)
        for tunnel in tunnels:
            tunnel["OutsideIpAddress"] = allocate_outside_address()
        connection = connection_class(self, moto["random_vpn_connection_id"](), vpn_conn_type, customer_gateway_id,
                                      vpn_gateway_id, transit_gateway_id, tags, connection_options, tunnels,
                                      settings()["provisioning_delay"])
        self.vpn_connections[connection.id] = connection
        if transit_gateway is not None:
            attach_to_transit_gateway(self, connection, transit_gateway)
        return connection

    def attach_to_transit_gateway(backend, connection, transit_gateway):
        attachment = attachment_class(backend, connection, transit_gateway)
        backend.transit_gateway_attachments[attachment.id] = attachment
        tgw_options = getattr(transit_gateway, "options", None) or {}
        tables = backend.transit_gateways_route_tables
        if tgw_options.get("DefaultRouteTableAssociation") == "enable" and tgw_options.get("AssociationDefaultRouteTableId") in tables:
            backend.associate_transit_gateway_route_table(attachment.id, tgw_options["AssociationDefaultRouteTableId"])
        if tgw_options.get("DefaultRouteTablePropagation") == "enable" and tgw_options.get("PropagationDefaultRouteTableId") in tables:
            backend.enable_transit_gateway_route_table_propagation(attachment.id, tgw_options["PropagationDefaultRouteTableId"])
        return attachment

    def detach_from_transit_gateway(backend, attachment):
        for table in backend.transit_gateways_route_tables.values():
            table.route_table_associations.pop(attachment.id, None)
            table.route_table_propagation = [item for item in table.route_table_propagation
                                             if item.transitGatewayAttachmentId != attachment.id]
        backend.transit_gateway_associations.pop(attachment.id, None)
        backend.transit_gateway_propagations.pop(attachment.id, None)
        attachment._association_data = {}  # pylint: disable=protected-access
        attachment.propagation = {}

    def delete_vpn_connection(self, vpn_connection_id):
        connection = self.vpn_connections.get(vpn_connection_id)
        if connection is None:
            raise exceptions.InvalidVpnConnectionIdError(vpn_connection_id)
        if connection.state in ("deleting", "deleted"):
            return connection
        if hasattr(connection, "begin_delete"):
            connection.begin_delete(settings()["deletion_delay"])
        else:
            connection.state = "deleted"
        for attachment in list(self.transit_gateway_attachments.values()):
            if attachment.resource_type == "vpn" and attachment.resource_id == connection.id:
                detach_from_transit_gateway(self, attachment)
                if not isinstance(attachment, attachment_class):
                    attachment.state = "deleted"
        return connection

    @_translated
    def describe_vpn_connections(self, vpn_connection_ids=None, filters=None):
        connections = list(self.vpn_connections.values())
        if vpn_connection_ids:
            known = {connection.id for connection in connections}
            for wanted in vpn_connection_ids:
                if wanted not in known:
                    raise exceptions.InvalidVpnConnectionIdError(wanted)
            connections = [connection for connection in connections if connection.id in vpn_connection_ids]
        return [connection for connection in connections
                if not filters or matches_filters(filters, connection.filter_values)]

    @_translated
    def describe_customer_gateways(self, filters=None, customer_gateway_ids=None):
        gateways = list(self.customer_gateways.values())
        if customer_gateway_ids:
            known = {gateway.id for gateway in gateways}
            for wanted in customer_gateway_ids:
                if wanted not in known:
                    raise exceptions.InvalidCustomerGatewayIdError(wanted)
            gateways = [gateway for gateway in gateways if gateway.id in customer_gateway_ids]

        def lookup_for(gateway):
            def lookup(name):
                tags = tag_lookup(_tags_of(gateway), name)
                if tags is not None:
                    return tags
                table = {"customer-gateway-id": [gateway.id], "type": [gateway.type], "state": [gateway.state],
                         "bgp-asn": [gateway.bgp_asn], "ip-address": [gateway.ip_address],
                         "device-name": [getattr(gateway, "device_name", None)]}
                if name not in table:
                    raise VpnApiError("InvalidParameterValue", "The filter '%s' is invalid" % name)
                return table[name]
            return lookup
        return [gateway for gateway in gateways if not filters or matches_filters(filters, lookup_for(gateway))]

    @_translated
    def create_vpn_connection_route(self, vpn_connection_id, destination_cidr_block):
        connection = live_connection(self, vpn_connection_id)
        if connection.transit_gateway_id:
            raise _invalid("Static routes of VPN connection %s are not supported: it is attached to transit gateway %s; "
                           "use transit gateway routes" % (connection.id, connection.transit_gateway_id))
        try:
            cidr = str(ipaddress.ip_network(destination_cidr_block, strict=False))
        except (TypeError, ValueError):
            raise _invalid("Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block."
                           % (destination_cidr_block,)) from None
        connection.static_route_map[cidr] = {"DestinationCidrBlock": cidr, "Source": "Static", "State": "available"}

    @_translated
    def delete_vpn_connection_route(self, vpn_connection_id, destination_cidr_block):
        connection = live_connection(self, vpn_connection_id)
        try:
            cidr = str(ipaddress.ip_network(destination_cidr_block, strict=False))
        except (TypeError, ValueError):
            cidr = destination_cidr_block
        if cidr not in connection.static_route_map:
            raise VpnApiError("InvalidRoute.NotFound", "The route with destination-cidr-block %s does not exist in VPN "
                                                       "connection %s" % (destination_cidr_block, vpn_connection_id))
        del connection.static_route_map[cidr]

    @_translated
    def enable_vgw_route_propagation(self, gateway_id, route_table_id):
        table = self.get_route_table(route_table_id)
        gateway = self.vpn_gateways.get(gateway_id)
        if gateway is None or gateway.state == "deleted":
            raise exceptions.InvalidVpnGatewayIdError(gateway_id)
        attached = any(attachment.vpc_id == table.vpc_id and attachment.state == "attached"
                       for attachment in getattr(gateway, "attachments", {}).values())
        if not attached:
            raise VpnApiError("Gateway.NotAttached", "resource %s is not attached to network %s" % (gateway_id, table.vpc_id))
        gateways = table.__dict__.setdefault("hybrid_propagating_vgws", [])
        if gateway_id not in gateways:
            gateways.append(gateway_id)

    @_translated
    def disable_vgw_route_propagation(self, gateway_id, route_table_id):
        table = self.get_route_table(route_table_id)
        if gateway_id not in self.vpn_gateways:
            raise exceptions.InvalidVpnGatewayIdError(gateway_id)
        gateways = table.__dict__.setdefault("hybrid_propagating_vgws", [])
        if gateway_id in gateways:
            gateways.remove(gateway_id)

    @_translated
    def modify_vpn_tunnel_options(self, vpn_connection_id, outside_ip_address, tunnel_options):
        connection = live_connection(self, vpn_connection_id)
        if connection.state != "available":
            raise VpnApiError("IncorrectState", "VPN connection %s is in state %s; it can be modified only when available"
                                                % (connection.id, connection.state))
        matching = [tunnel for tunnel in connection.hybrid_tunnels if tunnel["OutsideIpAddress"] == outside_ip_address]
        if not matching:
            raise _invalid("Value (%s) for parameter VpnTunnelOutsideIpAddress is invalid. It is not an outside address "
                           "of VPN connection %s." % (outside_ip_address, connection.id))
        tunnel = matching[0]
        spec = {key: value for key, value in (tunnel_options or {}).items() if value is not None}
        check_tunnel_settings(spec, "TunnelOptions.")
        ipv6 = connection.options.get("TunnelInsideIpVersion") == "ipv6"
        taken_v4, taken_v6 = _inside_cidrs_in_use(self, connection.vpn_gateway_id, connection.transit_gateway_id, exclude=connection)
        for other in connection.hybrid_tunnels:
            if other is not tunnel:
                taken_v4.setdefault(other.get("TunnelInsideCidr"), "the other tunnel of this VPN connection")
                taken_v6.setdefault(other.get("TunnelInsideIpv6Cidr"), "the other tunnel of this VPN connection")
        changes = {}
        if spec.get("TunnelInsideCidr"):
            if ipv6:
                raise VpnApiError("InvalidParameterCombination",
                                  "An ipv4 inside cidr is not allowed for VPNs using an ipv6 inside ip version")
            cidr = check_inside_cidr(spec["TunnelInsideCidr"])
            if cidr != tunnel.get("TunnelInsideCidr"):
                changes["TunnelInsideCidr"] = _claim(cidr, taken_v4, None, "TunnelInsideCidr", connection.vpn_gateway_id)
        if spec.get("TunnelInsideIpv6Cidr"):
            if not ipv6:
                raise VpnApiError("InvalidParameterCombination",
                                  "An ipv6 inside cidr is not allowed for VPNs using an ipv4 inside ip version")
            cidr = check_inside_ipv6_cidr(spec["TunnelInsideIpv6Cidr"])
            if cidr != tunnel.get("TunnelInsideIpv6Cidr"):
                changes["TunnelInsideIpv6Cidr"] = _claim(cidr, taken_v6, None, "TunnelInsideIpv6Cidr",
                                                         connection.transit_gateway_id)
        if spec.get("PreSharedKey"):
            changes["PreSharedKey"] = spec["PreSharedKey"]
        tunnel.update(changes)
        tunnel["settings"].update({key: spec[key] for key in _TUNNEL_SETTINGS if key in spec})
        connection.status_changed = now()
        return connection

    @_translated
    def modify_vpn_connection_options(self, vpn_connection_id, changes):
        connection = live_connection(self, vpn_connection_id)
        check_connection_options(dict(connection.options, **changes), connection.transit_gateway_id)
        options = dict(connection.options)
        options.pop("TunnelOptions", None)
        options.update({key: value for key, value in changes.items() if value is not None})
        connection.options = options
        return connection

    @_translated
    def associate_transit_gateway_route_table(self, transit_gateway_attachment_id, transit_gateway_route_table_id):
        if transit_gateway_attachment_id in self.transit_gateway_associations:
            current = self.transit_gateway_associations[transit_gateway_attachment_id]
            raise VpnApiError("Resource.AlreadyAssociated", "Transit Gateway Attachment %s is already associated to a "
                                                            "route table (%s)." % (transit_gateway_attachment_id,
                                                                                   current.transit_gateway_route_table_id))
        return original_associate(self, transit_gateway_attachment_id, transit_gateway_route_table_id)

    backend_methods = {
        "create_vpn_connection": create_vpn_connection,
        "delete_vpn_connection": delete_vpn_connection,
        "describe_vpn_connections": describe_vpn_connections,
        "describe_customer_gateways": describe_customer_gateways,
        "create_vpn_connection_route": create_vpn_connection_route,
        "delete_vpn_connection_route": delete_vpn_connection_route,
        "enable_vgw_route_propagation": enable_vgw_route_propagation,
        "disable_vgw_route_propagation": disable_vgw_route_propagation,
        "modify_vpn_tunnel_options": modify_vpn_tunnel_options,
        "modify_vpn_connection_options": modify_vpn_connection_options,
        "associate_transit_gateway_route_table": associate_transit_gateway_route_table,
    }
    for name, method in backend_methods.items():
        setattr(backend_class, name, method)

    # -- route tables: PropagatingVgws and propagated routes

    def propagating_vgws(self):
        return [{"GatewayId": gateway_id} for gateway_id in self.__dict__.get("hybrid_propagating_vgws", [])]

    def routes(self):
        result = list(original_routes.fget(self))
        seen = {route.destination_cidr_block for route in result if getattr(route, "destination_cidr_block", None)}
        for gateway_id in self.__dict__.get("hybrid_propagating_vgws", []):
            for connection in self.ec2_backend.vpn_connections.values():
                if connection.vpn_gateway_id != gateway_id or not hasattr(connection, "learned_routes"):
                    continue
                if connection.state != "available" or "UP" not in connection.tunnel_statuses():
                    continue  # routes propagate over a tunnel that is up
                for cidr in connection.learned_routes():
                    if cidr not in seen:
                        seen.add(cidr)
                        result.append({"DestinationCidrBlock": cidr, "GatewayId": gateway_id,
                                       "Origin": "EnableVgwRoutePropagation", "State": "active"})
        return result

    route_table_class.propagating_vgws = property(propagating_vgws)
    route_table_class.routes = property(routes)

    # -- response handlers (the EC2 query API)

    def handle_create_vpn_connection(self):
        self.error_on_dryrun()
        from moto.ec2.utils import add_tag_specification  # pylint: disable=import-outside-toplevel
        connection = self.ec2_backend.create_vpn_connection(
            self._get_param("Type"), self._get_param("CustomerGatewayId"),
            vpn_gateway_id=self._get_param("VpnGatewayId"), transit_gateway_id=self._get_param("TransitGatewayId"),
            tags=add_tag_specification(self._get_param("TagSpecifications", [])), options=self._get_param("Options") or {})
        return action_result({"VpnConnection": connection})

    def handle_delete_vpn_connection(self):
        self.error_on_dryrun()
        self.ec2_backend.delete_vpn_connection(self._get_param("VpnConnectionId"))
        return empty_result()

    def handle_describe_vpn_connections(self):
        self.error_on_dryrun()
        connections = self.ec2_backend.describe_vpn_connections(
            vpn_connection_ids=self._get_param("VpnConnectionIds", []), filters=self._filters_from_querystring())
        return action_result({"VpnConnections": connections})

    def handle_describe_customer_gateways(self):
        self.error_on_dryrun()
        gateways = self.ec2_backend.describe_customer_gateways(self._filters_from_querystring(),
                                                               self._get_param("CustomerGatewayIds", []))
        return action_result({"CustomerGateways": gateways})

    def handle_create_vpn_connection_route(self):
        self.ec2_backend.create_vpn_connection_route(self._get_param("VpnConnectionId"), self._get_param("DestinationCidrBlock"))
        return empty_result()

    def handle_delete_vpn_connection_route(self):
        self.ec2_backend.delete_vpn_connection_route(self._get_param("VpnConnectionId"), self._get_param("DestinationCidrBlock"))
        return empty_result()

    def handle_enable_vgw_route_propagation(self):
        self.error_on_dryrun()
        self.ec2_backend.enable_vgw_route_propagation(self._get_param("GatewayId"), self._get_param("RouteTableId"))
        return empty_result()

    def handle_disable_vgw_route_propagation(self):
        self.error_on_dryrun()
        self.ec2_backend.disable_vgw_route_propagation(self._get_param("GatewayId"), self._get_param("RouteTableId"))
        return empty_result()

    def handle_modify_vpn_tunnel_options(self):
        self.error_on_dryrun()
        connection = self.ec2_backend.modify_vpn_tunnel_options(
            self._get_param("VpnConnectionId"), self._get_param("VpnTunnelOutsideIpAddress"),
            self._get_param("TunnelOptions") or {})
        return action_result({"VpnConnection": connection})

    def handle_modify_vpn_connection_options(self):
        self.error_on_dryrun()
        changes = {key: self._get_param(key) for key in ("LocalIpv4NetworkCidr", "RemoteIpv4NetworkCidr",
                                                         "LocalIpv6NetworkCidr", "RemoteIpv6NetworkCidr", "TunnelBandwidth")}
        connection = self.ec2_backend.modify_vpn_connection_options(self._get_param("VpnConnectionId"), changes)
        return action_result({"VpnConnection": connection})

    handlers = {
        "create_vpn_connection": handle_create_vpn_connection,
        "delete_vpn_connection": handle_delete_vpn_connection,
        "describe_vpn_connections": handle_describe_vpn_connections,
        "describe_customer_gateways": handle_describe_customer_gateways,
        "create_vpn_connection_route": handle_create_vpn_connection_route,
        "delete_vpn_connection_route": handle_delete_vpn_connection_route,
        "enable_vgw_route_propagation": handle_enable_vgw_route_propagation,
        "disable_vgw_route_propagation": handle_disable_vgw_route_propagation,
        "modify_vpn_tunnel_options": handle_modify_vpn_tunnel_options,
        "modify_vpn_connection_options": handle_modify_vpn_connection_options,
    }
    for name, handler in handlers.items():
        handler.__name__ = name
        setattr(response_class, name, handler)

    # -- control endpoint and reset

    url_paths = moto["urls"].url_paths
    original_reset = url_paths["{0}/moto-api/reset"]

    def hybrid_reset(request, full_url, headers):
        result = original_reset(request, full_url, headers)
        if request.method == "POST":
            reset_settings()
        return result

    def hybrid_vpn_control(request, full_url, headers):  # pylint: disable=unused-argument
        return control_request(request.method, request.get_data() or b"")

    url_paths["{0}/moto-api/reset"] = hybrid_reset
    url_paths["{0}%s" % CONTROL_PATH] = hybrid_vpn_control
    return {"connection_class": connection_class, "attachment_class": attachment_class,
            "backend_methods": sorted(backend_methods), "actions": sorted(handlers)}


def _all_connections():
    """Every patched VPN connection in every account and region of this moto process."""
    from moto.ec2.models import ec2_backends  # pylint: disable=import-outside-toplevel
    for account in list(ec2_backends.values()):
        for backend in list(account.values()):
            for connection in list(getattr(backend, "vpn_connections", {}).values()):
                if hasattr(connection, "hybrid_tunnels"):
                    yield connection


def _connection_summary(connection):
    return {"state": connection.state, "tunnel_status": connection.tunnel_statuses(),
            "bgp_routes": list(connection.bgp_routes),
            "outside_ip_addresses": [tunnel["OutsideIpAddress"] for tunnel in connection.hybrid_tunnels]}


def control_request(method, body):
    """The /moto-api/hybrid/vpn endpoint: (status, headers, JSON body)."""
    headers = {"Content-Type": "application/json"}
    try:
        if method == "GET":
            data = {"settings": settings(),
                    "connections": {connection.id: _connection_summary(connection) for connection in _all_connections()}}
            return 200, headers, json.dumps(data)
        if method != "POST":
            return 405, headers, json.dumps({"error": "use GET or POST"})
        request = json.loads(body or b"{}")
        if not isinstance(request, dict):
            raise ValueError("the body must be a JSON object")
        if "vpn_connection_id" not in request:
            return 200, headers, json.dumps({"settings": update_settings(request)})
        wanted = request.pop("vpn_connection_id")
        found = [connection for connection in _all_connections() if connection.id == wanted]
        if not found:
            return 404, headers, json.dumps({"error": "no VPN connection %s" % wanted})
        connection = found[0]
        for key, value in request.items():
            if key == "available_in":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError("available_in must be a number of seconds >= 0")
                connection.make_available_in(value)
            elif key == "tunnel_status":
                connection.tunnel_status_override = [_check_status(item) for item in _as_list(value)] or None
                connection.status_changed = now()
            elif key == "bgp_routes":
                connection.bgp_routes = [_check_cidr(route, key) for route in _as_list(value)]
            else:
                raise ValueError("unknown VPN connection setting %r" % key)
        return 200, headers, json.dumps({"connection": _connection_summary(connection)})
    except ValueError as exc:
        return 400, headers, json.dumps({"error": str(exc)})
