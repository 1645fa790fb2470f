"""Unit tests for the cert_sans_info module: DER parsing, PEM handling, TLS endpoint, module runs."""

import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from ansible_collections.hybrid.cluster.plugins.modules import cert_sans_info as mod

COLLECTIONS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".build", "pytest"))


def make_cert(sans, common_name="kube-apiserver", key=None, not_after=None, extra_extensions=True):
    key = key or ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "hybrid")]
                     + ([x509.NameAttribute(NameOID.COMMON_NAME, common_name)] if common_name else []))
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(not_after or now + datetime.timedelta(days=365))
    )
    if extra_extensions:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    if sans is not None:
        general = []
        for value in sans:
            try:
                general.append(x509.IPAddress(ipaddress.ip_address(value)))
            except ValueError:
                general.append(x509.DNSName(value))
        builder = builder.add_extension(x509.SubjectAlternativeName(general), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return cert, key


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def test_parse_matches_cryptography():
    sans = ["kubernetes", "kubernetes.default.svc.cluster.local", "10.233.0.1", "127.0.0.1", "fd85::1", "*.example.com"]
    cert, _key = make_cert(sans)
    info = mod.parse_certificate(der(cert))
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert info["sans"]["dns"] == ext.get_values_for_type(x509.DNSName)
    assert info["sans"]["ip"] == [str(a) for a in ext.get_values_for_type(x509.IPAddress)]
    assert info["subject_common_name"] == "kube-apiserver"
    assert info["not_before"] == "2026-01-01T00:00:00Z"
    assert info["not_after"] == "2027-01-01T00:00:00Z"


def test_rsa_key_many_names_and_generalized_time():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sans = ["node-%03d.example.com" % i for i in range(200)] + ["10.0.%d.%d" % (i // 250, i % 250) for i in range(300)]
    cert, _key = make_cert(sans, key=key, not_after=datetime.datetime(2051, 6, 1, 12, 30, 5, tzinfo=datetime.timezone.utc))
    info = mod.parse_certificate(der(cert))
    assert len(info["sans"]["dns"]) == 200 and len(info["sans"]["ip"]) == 300
    assert info["not_after"] == "2051-06-01T12:30:05Z"


def test_certificate_without_sans_or_common_name():
    cert, _key = make_cert(None, common_name=None, extra_extensions=False)
    info = mod.parse_certificate(der(cert))
    assert info["sans"] == {"dns": [], "ip": []}
    assert info["subject_common_name"] is None


def test_pem_chain_reads_the_first_certificate_and_der_passes_through():
    first, _k1 = make_cert(["first.example.com"])
    second, _k2 = make_cert(["second.example.com"])
    blob = b"junk before\n" + pem(first) + pem(second)
    assert mod.parse_certificate(mod.certificate_der(blob))["sans"]["dns"] == ["first.example.com"]
    assert mod.certificate_der(der(first)) == der(first)


@pytest.mark.parametrize("blob", [b"", b"hello", b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"])
def test_garbage_is_refused(blob):
    with pytest.raises(mod.CertificateError):
        mod.parse_certificate(mod.certificate_der(blob))


def test_truncated_der_is_refused():
    cert, _key = make_cert(["kubernetes"])
    with pytest.raises(mod.CertificateError):
        mod.parse_certificate(der(cert)[:200])


def test_missing_names_normalises_and_honours_wildcards():
    sans = {"dns": ["kubernetes", "*.example.com"], "ip": ["10.0.0.1", "fd00::1"]}
    required = ["Kubernetes", "10.0.0.1", "FD00:0::1", "api.example.com", "a.b.example.com", "localhost", "localhost"]
    assert mod.missing_names(sans, required) == ["a.b.example.com", "localhost"]


@pytest.fixture
def tls_server(tmp_path):
    cert, key = make_cert(["kubernetes", "127.0.0.1"])
    cert_file = tmp_path / "server.crt"
    key_file = tmp_path / "server.key"
    cert_file.write_bytes(pem(cert))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_file), str(key_file))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    seen_names = []

    def serve():
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True) as tls:
                    seen_names.append(getattr(tls, "server_hostname", None))
                    tls.recv(1)
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], cert, cert_file
    listener.close()


def test_peer_certificate_reads_an_untrusted_server(tls_server):
    port, cert, _cert_file = tls_server
    assert mod.peer_certificate("127.0.0.1", port, None, 5) == der(cert)


def run_module(args):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_DIR)
    proc = subprocess.run(
        [sys.executable, "-m", "ansible_collections.hybrid.cluster.plugins.modules.cert_sans_info"],
        input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, env=env, check=False,
    )
    return json.loads(proc.stdout)


def test_module_on_a_file(tls_server):
    _port, _cert, cert_file = tls_server
    result = run_module({"path": str(cert_file), "required_sans": ["kubernetes", "localhost", "127.0.0.1"]})
    assert result["changed"] is False
    assert result["missing"] == ["localhost"]
    assert result["all_sans"] == ["kubernetes", "127.0.0.1"]
    assert result["source"] == str(cert_file)


def test_module_on_an_endpoint_and_on_content(tls_server):
    port, cert, _cert_file = tls_server
    result = run_module({"host": "127.0.0.1", "port": port, "required_sans": ["kubernetes"]})
    assert result["missing"] == []
    assert result["source"] == "127.0.0.1:%d" % port
    assert result["fingerprint_sha256"].replace(":", "").lower() == cert.fingerprint(hashes.SHA256()).hex()
    result = run_module({"content": pem(cert).decode()})
    assert "missing" not in result
    assert result["sans"] == {"dns": ["kubernetes"], "ip": ["127.0.0.1"]}


def test_module_failures_are_clear(tmp_path):
    result = run_module({"path": str(tmp_path / "absent.crt")})
    assert result["failed"] and "Cannot read" in result["msg"]
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    result = run_module({"host": "127.0.0.1", "port": port, "timeout": 2})
    assert result["failed"] and "127.0.0.1:%d" % port in result["msg"]
    result = run_module({"content": "not a certificate"})
    assert result["failed"] and "neither a PEM nor a DER" in result["msg"]
    result = run_module({})
    assert result["failed"]
