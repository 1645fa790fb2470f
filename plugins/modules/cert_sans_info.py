#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cert_sans_info
short_description: Read the subject alternative names of a certificate file or a TLS endpoint
version_added: 1.0.0
description:
  - Reads an X.509 certificate - from a file on the managed host, from PEM text, or as the peer certificate a
    TLS server presents - and returns its subject alternative names (SANs), subject common name, validity and
    fingerprint.
  - The TLS handshake does not verify the certificate, since the point is to inspect one that may be wrong;
    nothing is sent after the handshake.
  - With O(required_sans) the module also returns the names the certificate lacks in RV(missing). It never
    fails because of them; the P(hybrid.cluster.missing_sans#filter) filter and the C(hybrid.cluster.cert_sans)
    role compare the same way.
  - Needs nothing but the Python standard library on the host it runs on.
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
attributes:
  check_mode:
    support: full
    description: The module only reads, so check mode returns the same result.
  diff_mode:
    support: none
    description: Nothing is changed.
options:
  path:
    description:
      - A certificate file (PEM or DER) on the managed host. With several PEM certificates in the file the first
        one is read.
    type: path
  content:
    description: The certificate as PEM text.
    type: str
  host:
    description: Name or address of a TLS server whose certificate is read, for example a Kubernetes API server.
    type: str
  port:
    description: TCP port of O(host).
    type: int
    default: 6443
  server_name:
    description:
      - Name sent in the TLS server name indication. Defaults to O(host) when it is a name; no name is sent
        for an address.
    type: str
  timeout:
    description: Seconds to wait for the connection and the handshake.
    type: int
    default: 10
  required_sans:
    description:
      - Names and addresses the certificate must carry; those it lacks are returned in RV(missing).
      - Usually the output of the P(hybrid.cluster.required_sans#filter) filter.
    type: list
    elements: str
notes:
  - Exactly one of O(path), O(content) and O(host) is needed.
seealso:
  - plugin: hybrid.cluster.required_sans
    plugin_type: filter
  - plugin: hybrid.cluster.missing_sans
    plugin_type: filter
"""

EXAMPLES = r"""
- name: Read the certificate the API server presents
  hybrid.cluster.cert_sans_info:
    host: 127.0.0.1
    port: 6443
    required_sans: "{{ api_sans }}"
  register: api_cert

- name: Fail on a missing name
  ansible.builtin.assert:
    that: api_cert.missing | length == 0
    fail_msg: "The API server certificate lacks {{ api_cert.missing | join(', ') }}"

- name: Read a certificate file
  hybrid.cluster.cert_sans_info:
    path: /etc/kubernetes/ssl/apiserver.crt
  register: file_cert
"""

RETURN = r"""
source:
  description: Where the certificate came from - the file path, V(content), or V(host:port).
  returned: success
  type: str
  sample: 127.0.0.1:6443
sans:
  description: The subject alternative names by kind, in the order the certificate lists them.
  returned: success
  type: dict
  contains:
    dns:
      description: DNS names, lower case.
      type: list
      elements: str
      sample: [kubernetes, kubernetes.default]
    ip:
      description: IP addresses in their canonical form.
      type: list
      elements: str
      sample: [10.233.0.1, 127.0.0.1]
  sample: {dns: [kubernetes], ip: [10.233.0.1]}
all_sans:
  description: Every DNS name and IP address of RV(sans) in one list.
  returned: success
  type: list
  elements: str
  sample: [kubernetes, 10.233.0.1]
subject_common_name:
  description: The common name of the subject, or V(null) when it has none.
  returned: success
  type: str
  sample: kube-apiserver
not_before:
  description: Start of the validity period, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2026-01-01T00:00:00Z"
not_after:
  description: End of the validity period, ISO 8601 in UTC.
  returned: success
  type: str
  sample: "2027-01-01T00:00:00Z"
fingerprint_sha256:
  description: SHA-256 fingerprint of the certificate (DER), colon-separated hex.
  returned: success
  type: str
  sample: "3A:0F:..."
missing:
  description: The entries of O(required_sans) the certificate lacks (wildcard names cover one label).
  returned: when O(required_sans) is given
  type: list
  elements: str
  sample: [203.0.113.20]
"""

import base64
import binascii
import hashlib
import ipaddress
import re
import socket
import ssl

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.DOTALL)
_OID_SAN = bytes.fromhex("551d11")  # 2.5.29.17
_OID_CN = bytes.fromhex("550403")  # 2.5.4.3


class CertificateError(Exception):
    """The bytes are not a certificate this module can read."""


def _read_tlv(data, offset):
    """One DER element at offset: (tag, content start, content end)."""
    if offset + 2 > len(data):
        raise CertificateError("truncated DER element")
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise CertificateError("unsupported DER length")
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise CertificateError("DER element runs past the end")
    return tag, offset, end


def _children(data, start, end):
    """The DER elements between start and end, as (tag, content start, content end)."""
    items = []
    offset = start
    while offset < end:
        tag, cstart, cend = _read_tlv(data, offset)
        items.append((tag, cstart, cend))
        offset = cend
    return items


def _time(data, tag, start, end):
    text = data[start:end].decode("ascii")
    if tag == 0x17:  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text
    elif tag != 0x18:  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise CertificateError("unexpected time encoding")
    return "%s-%s-%sT%s:%s:%sZ" % (text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14])


def _common_name(data, start, end):
    for rdn_tag, rstart, rend in _children(data, start, end):
        if rdn_tag != 0x31:
            continue
        for _tag, astart, aend in _children(data, rstart, rend):
            parts = _children(data, astart, aend)
            if len(parts) == 2 and parts[0][0] == 0x06 and data[parts[0][1]:parts[0][2]] == _OID_CN:
                return to_text(data[parts[1][1]:parts[1][2]], errors="surrogate_or_replace")
    return None


def parse_certificate(der):
    """SANs, subject CN and validity of a DER certificate, with the standard library only."""
    tag, start, end = _read_tlv(der, 0)
    if tag != 0x30:
        raise CertificateError("not a DER certificate")
    parts = _children(der, start, end)
    if not parts or parts[0][0] != 0x30:
        raise CertificateError("no TBSCertificate")
    tbs = _children(der, parts[0][1], parts[0][2])
    if tbs and tbs[0][0] == 0xA0:  # explicit version
        tbs = tbs[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, then optional fields
    if len(tbs) < 6:
        raise CertificateError("TBSCertificate too short")
    validity = _children(der, tbs[3][1], tbs[3][2])
    if len(validity) != 2:
        raise CertificateError("bad validity")
    result = {
        "subject_common_name": _common_name(der, tbs[4][1], tbs[4][2]),
        "not_before": _time(der, *validity[0]),
        "not_after": _time(der, *validity[1]),
        "sans": {"dns": [], "ip": []},
    }
    for field_tag, fstart, fend in tbs[6:]:
        if field_tag != 0xA3:  # [3] extensions
            continue
        (seq_tag, sstart, send), = _children(der, fstart, fend)
        if seq_tag != 0x30:
            raise CertificateError("bad extensions")
        for _tag, estart, eend in _children(der, sstart, send):
            ext = _children(der, estart, eend)
            if not ext or ext[0][0] != 0x06 or der[ext[0][1]:ext[0][2]] != _OID_SAN:
                continue
            value_tag, vstart, vend = ext[-1]
            if value_tag != 0x04:
                raise CertificateError("bad subjectAltName extension")
            names_tag, nstart, nend = _read_tlv(der, vstart)
            if names_tag != 0x30:
                raise CertificateError("bad GeneralNames")
            for name_tag, gstart, gend in _children(der, nstart, nend):
                raw = der[gstart:gend]
                if name_tag == 0x82:  # dNSName
                    result["sans"]["dns"].append(to_text(raw, errors="surrogate_or_replace").lower().rstrip("."))
                elif name_tag == 0x87 and len(raw) in (4, 16):  # iPAddress
                    result["sans"]["ip"].append(str(ipaddress.ip_address(raw)))
    return result


def certificate_der(blob):
    """DER bytes of the first certificate in PEM or DER input."""
    match = _PEM.search(blob)
    if match:
        try:
            return base64.b64decode(b"".join(match.group(1).split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CertificateError("bad PEM data: %s" % exc)
    if blob[:1] == b"\x30":
        return blob
    raise CertificateError("neither a PEM nor a DER certificate")


def peer_certificate(host, port, server_name, timeout):
    """DER certificate a TLS server presents; the handshake does not verify it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=timeout) as sock:
        with context.wrap_socket(sock, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    if not der:
        raise CertificateError("the server presented no certificate")
    return der


def _is_address(value):
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        return False
    return True


def _canonical(value):
    text = value.strip()
    try:
        return "ip", str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return "dns", text.lower().rstrip(".")


def missing_names(sans, required):
    present = set(("dns", n) for n in sans["dns"]) | set(("ip", a) for a in sans["ip"])
    wildcards = [n[2:] for n in sans["dns"] if n.startswith("*.")]
    missing = []
    for value in required:
        kind, text = _canonical(value)
        if (kind, text) in present or text in missing:
            continue
        if kind == "dns":
            head, sep, tail = text.partition(".")
            if sep and head and tail in wildcards:
                continue
        missing.append(text)
    return missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path"),
            content=dict(type="str"),
            host=dict(type="str"),
            port=dict(type="int", default=6443),
            server_name=dict(type="str"),
            timeout=dict(type="int", default=10),
            required_sans=dict(type="list", elements="str"),
        ),
        mutually_exclusive=[("path", "content", "host")],
        required_one_of=[("path", "content", "host")],
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params["path"]:
            source = params["path"]
            try:
                with open(params["path"], "rb") as handle:
                    der = certificate_der(handle.read())
            except (IOError, OSError) as exc:
                module.fail_json(msg="Cannot read %s: %s" % (params["path"], to_native(exc)))
        elif params["content"] is not None:
            source = "content"
            der = certificate_der(to_bytes(params["content"]))
        else:
            host = params["host"].strip("[]")
            source = "%s:%d" % (params["host"], params["port"])
            server_name = params["server_name"]
            if server_name is None and not _is_address(host):
                server_name = host
            try:
                der = peer_certificate(host, params["port"], server_name, params["timeout"])
            except (OSError, ssl.SSLError) as exc:
                module.fail_json(msg="Cannot read the certificate of %s: %s" % (source, to_native(exc)), source=source)
        info = parse_certificate(der)
    except CertificateError as exc:
        module.fail_json(msg="Cannot read the certificate: %s" % to_native(exc))
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        module.fail_json(msg="Cannot read the certificate: malformed DER (%s)" % to_native(exc))

    result = dict(
        changed=False,
        source=source,
        sans=info["sans"],
        all_sans=info["sans"]["dns"] + info["sans"]["ip"],
        subject_common_name=info["subject_common_name"],
        not_before=info["not_before"],
        not_after=info["not_after"],
        fingerprint_sha256=":".join("%02X" % b for b in hashlib.sha256(der).digest()),
    )
    if params["required_sans"] is not None:
        result["missing"] = missing_names(info["sans"], params["required_sans"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
