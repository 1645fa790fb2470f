"""Fixtures for the Kubernetes phase roles run through ansible-playbook.

No Kubernetes API server can run here, so the roles' apply paths are exercised against a
kubeconfig that points at a closed port on 127.0.0.1, and Kubespray itself is replaced by a
stand-in playbook directory given through ``kubespray_source``, as users give a checkout.
"""

import os
import socket
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]


def dependency_collections():
    """Where kubernetes.core / community.crypto come from: the Makefile's extraction, if any."""
    paths = [p for p in os.environ.get("HYBRID_TEST_DEP_COLLECTIONS", "").split(os.pathsep) if p]
    local = ROOT / ".build" / "collections"
    if (local / "ansible_collections").is_dir():
        paths.append(str(local))
    return paths


def has_collection(namespace, name):
    return any((Path(p) / "ansible_collections" / namespace / name / "MANIFEST.json").is_file() for p in dependency_collections())


@pytest.fixture
def k8s_collections():
    """The roles' modules must resolve: kubernetes.core has to be on the collections path."""
    if not has_collection("kubernetes", "core"):
        pytest.skip("kubernetes.core is not on the collections path (make collections)")


@pytest.fixture
def k8s_env(installed_collections, tmp_path):
    """Environment overrides: the installed collection first, then its dependencies."""
    return {"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(installed_collections)] + dependency_collections())}


@pytest.fixture
def closed_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return port


def write_kubeconfig(path, name, port):
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": "https://127.0.0.1:%d" % port, "insecure-skip-tls-verify": True}}],
        "users": [{"name": "admin", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": "admin"}}],
        "current-context": name,
    }))
    path.chmod(0o600)
    return path


@pytest.fixture
def kubeconfigs(tmp_path, closed_port):
    """Kubeconfigs for shop-aws and shop-azure that point at a closed port."""
    out = tmp_path / "kubeconfig"
    out.mkdir()
    return {name: str(write_kubeconfig(out / ("%s.conf" % name), name, closed_port)) for name in ("shop-aws", "shop-azure")}


def python():
    return sys.executable
