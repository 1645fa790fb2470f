# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Subject alternative names of the Kubernetes API server certificate.

Two filters, documented in required_sans.yml and missing_sans.yml next to this file:

* ``required_sans`` lists every name and address the API server certificate of one cluster must
  carry, deduplicated and in a fixed order (DNS names alphabetically, then IPv4 and IPv6 addresses
  numerically).
* ``missing_sans`` compares the names a certificate carries with such a list and returns the ones
  it lacks.

Everything here is pure computation: no host is contacted and nothing is read from disk.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

# Host variables that hold a control plane node's addresses: Kubespray's own (ip, access_ip),
# Ansible's connection address, and what the AWS and Azure inventories publish.
DEFAULT_ADDRESS_KEYS = (
    "ip",
    "access_ip",
    "ansible_host",
    "public_ip",
    "private_ip",
    "public_ip_address",
    "private_ip_address",
    "public_ipv4_address",
    "public_ipv4_addresses",
    "private_ipv4_addresses",
)

# Keys read from a load balancer entry given as a mapping.
LOAD_BALANCER_KEYS = ("dns_name", "dns_names", "fqdn", "name", "ip", "ips", "address", "addresses")

# RFC 1123 labels; underscores are tolerated because some cloud-made names carry them.
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")

_KIND_ORDER = {"dns": 0, "ipv4": 1, "ipv6": 2}


def _fail(msg):
    raise AnsibleFilterError("cert_sans: %s" % msg)


def _as_list(value):
    """None -> [], a scalar -> [scalar], a list/tuple/set -> list."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]


def classify(value, where="value"):
    """Return (kind, canonical text) of one SAN: kind is dns, ipv4 or ipv6.

    IP addresses come back in their canonical form (IPv6 compressed, lower case); DNS names in
    lower case without a trailing dot. Anything else raises an error naming ``where``.
    """
    if isinstance(value, bool) or not isinstance(value, (str, bytes)):
        _fail("%s: expected a host name or an IP address, got %r" % (where, value))
    text = to_text(value, errors="surrogate_or_strict").strip()
    if not text:
        _fail("%s: empty name" % where)
    candidate = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        pass
    else:
        return ("ipv4" if address.version == 4 else "ipv6", str(address))
    name = text.lower()
    if name.endswith("."):
        name = name[:-1]
    labels = name.split(".")
    if labels and labels[0] == "*":
        labels = labels[1:]
        if not labels:
            _fail("%s: %r is not a valid wildcard name" % (where, text))
    # A last label of digits only reads as a (broken) IPv4 address, never as a host name.
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        _fail("%s: %r is neither an IP address nor a valid DNS name" % (where, text))
    return ("dns", name)


def _sort_key(item):
    kind, text = item
    if kind == "dns":
        return (_KIND_ORDER[kind], text, 0)
    return (_KIND_ORDER[kind], "", int(ipaddress.ip_address(text)))


def _lookup(node, key):
    """Value of a (possibly dotted) key in a mapping, or None when any step is missing."""
    current = node
    for part in key.split("."):
        if not isinstance(current, Mapping):
            return None
        try:
            current = current[part]
        except (KeyError, TypeError):
            return None
        except Exception:  # pylint: disable=broad-exception-caught
            # Host variables are templated when read; an undefined one means "not set".
            return None
    return current


def _first_service_addresses(service_cidrs):
    addresses = []
    for cidr in _as_list(service_cidrs):
        try:
            network = ipaddress.ip_network(to_text(cidr).strip(), strict=False)
        except ValueError as exc:
            _fail("service_cidrs: %r is not a network (%s)" % (cidr, exc))
        if network.num_addresses < 2:
            _fail("service_cidrs: %s holds no service address" % cidr)
        addresses.append(str(network.network_address + 1))
    return addresses


def _domain(cluster_domain):
    kind, name = classify(cluster_domain, "cluster_domain")
    if kind != "dns" or name.startswith("*"):
        _fail("cluster_domain: %r is not a DNS domain" % cluster_domain)
    return name


def required_sans(
    nodes,
    api_fqdn=None,
    load_balancers=None,
    service_cidrs=None,
    cluster_domain="cluster.local",
    extra=None,
    address_keys=None,
    include_localhost=True,
):
    """Every SAN the API server certificate of one cluster must carry, sorted and unique."""
    keys = list(DEFAULT_ADDRESS_KEYS) if address_keys is None else [to_text(k) for k in _as_list(address_keys)]
    found = {}

    def add(value, where):
        kind, text = classify(value, where)
        found.setdefault((kind, text), where)

    if isinstance(nodes, Mapping):
        _fail("nodes: expected a list of host variables or addresses, got a mapping")
    for index, node in enumerate(_as_list(nodes)):
        if isinstance(node, Mapping):
            for key in keys:
                for value in _as_list(_lookup(node, key)):
                    if value is None or (isinstance(value, str) and not value.strip()):
                        continue
                    add(value, "nodes[%d].%s" % (index, key))
        else:
            add(node, "nodes[%d]" % index)

    for value in _as_list(api_fqdn):
        add(value, "api_fqdn")

    balancers = load_balancers
    if isinstance(balancers, Mapping):
        # A mapping of cloud name to load balancer; it may also be one load balancer itself.
        if any(k in balancers for k in LOAD_BALANCER_KEYS):
            balancers = [balancers]
        else:
            balancers = [balancers[k] for k in sorted(balancers)]
    for index, balancer in enumerate(_as_list(balancers)):
        if isinstance(balancer, Mapping):
            unknown = sorted(set(balancer) - set(LOAD_BALANCER_KEYS))
            if unknown:
                _fail(
                    "load_balancers[%d]: unknown key(s) %s (known: %s)"
                    % (index, ", ".join(unknown), ", ".join(LOAD_BALANCER_KEYS))
                )
            for key in LOAD_BALANCER_KEYS:
                for value in _as_list(balancer.get(key)):
                    if value is None or (isinstance(value, str) and not value.strip()):
                        continue
                    add(value, "load_balancers[%d].%s" % (index, key))
        elif balancer is not None:
            add(balancer, "load_balancers[%d]" % index)

    domain = _domain(cluster_domain)
    for name in ("kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc." + domain):
        add(name, "kubernetes service")
    for address in _first_service_addresses(service_cidrs):
        add(address, "service_cidrs")

    if include_localhost:
        add("localhost", "localhost")
        add("127.0.0.1", "localhost")

    for value in _as_list(extra):
        add(value, "extra")

    return [text for _kind, text in sorted(found, key=_sort_key)]


def _wildcard_covers(pattern, name):
    """True when a single-label wildcard such as *.example.com matches name."""
    if not pattern.startswith("*."):
        return False
    head, sep, tail = name.partition(".")
    return bool(sep) and bool(head) and tail == pattern[2:]


def _flatten_actual(actual):
    if isinstance(actual, Mapping):
        values = []
        for key in ("dns", "ip", "dns_names", "ip_addresses"):
            values.extend(_as_list(actual.get(key)))
        return values
    return _as_list(actual)


def missing_sans(actual, required, wildcards=True):
    """The entries of required that the names in actual do not cover, in the order of required."""
    present = set()
    patterns = []
    for index, value in enumerate(_flatten_actual(actual)):
        if isinstance(value, str) and value.lower().startswith(("dns:", "ip address:", "ip:")):
            value = value.split(":", 1)[1]
        kind, text = classify(value, "actual[%d]" % index)
        present.add((kind, text))
        if kind == "dns" and text.startswith("*."):
            patterns.append(text)
    missing = []
    seen = set()
    for index, value in enumerate(_as_list(required)):
        kind, text = classify(value, "required[%d]" % index)
        if (kind, text) in seen:
            continue
        seen.add((kind, text))
        if (kind, text) in present:
            continue
        if wildcards and kind == "dns" and any(_wildcard_covers(p, text) for p in patterns):
            continue
        missing.append(text)
    return missing


class FilterModule:
    """Filters that compute the API server certificate's subject alternative names."""

    def filters(self):
        return {
            "required_sans": required_sans,
            "missing_sans": missing_sans,
        }
