"""Fixtures for tests that run the built collection through the ansible command-line tools.

The collection is built with ``ansible-galaxy collection build`` (``make build``, path passed in
``HYBRID_TEST_TARBALL``; built here when it is not set) and installed with
``ansible-galaxy collection install`` into a temporary collections path, exactly as users do.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EMULATOR_PLUGINS = ("tests.emulators.aws_fixtures", "tests.emulators.azure_fixtures")


def pytest_configure(config):
    """Every integration test can use both emulators' fixtures."""
    for plugin in EMULATOR_PLUGINS:
        if not config.pluginmanager.has_plugin(plugin):
            config.pluginmanager.import_plugin(plugin)


def _tool(name):
    return str(BIN / name)


@pytest.fixture(scope="session")
def collection_tarball(tmp_path_factory):
    tarball = os.environ.get("HYBRID_TEST_TARBALL")
    if tarball:
        return Path(tarball)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([_tool("ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True)
    return next(out.glob("hybrid-cluster-*.tar.gz"))


@pytest.fixture(scope="session")
def installed_collections(collection_tarball, tmp_path_factory):
    """A collections path holding the installed tarball (and nothing from the working tree)."""
    path = tmp_path_factory.mktemp("collections")
    subprocess.run([_tool("ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "-p", str(path),
                    str(collection_tarball)], check=True, capture_output=True, text=True)
    assert (path / "ansible_collections" / "hybrid" / "cluster" / "MANIFEST.json").is_file()
    return path


@pytest.fixture
def ansible_env(installed_collections, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update({
        # The built collection first, then its dependencies extracted from the ansible package
        # (make collections) when the Makefile says where they are.
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join(
            [str(installed_collections)] + [p for p in [os.environ.get("HYBRID_TEST_DEP_COLLECTIONS")] if p]),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_HOME": str(tmp_path / "home"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "PATH": str(BIN) + os.pathsep + env.get("PATH", ""),
    })
    return env


@pytest.fixture
def run_adhoc(ansible_env):
    """Run one module on localhost with ``ansible``; returns (returncode, parsed result, raw output)."""

    def run(module, args, *extra):
        proc = subprocess.run([_tool("ansible"), "localhost", "-m", module, "-a", args, *extra],
                              env=ansible_env, capture_output=True, text=True, timeout=300, check=False)
        out = proc.stdout
        result = None
        match = re.search(r"^localhost \| [A-Z!]+ => ", out, re.MULTILINE)
        if match:
            result = json.loads(out[match.end():])
        return proc.returncode, result, out + proc.stderr

    return run


@pytest.fixture
def run_playbook(ansible_env, tmp_path):
    """Write a playbook and run it with ``ansible-playbook``; returns the CompletedProcess."""

    def run(text, *extra, env=None):
        playbook = tmp_path / "playbook.yml"
        playbook.write_text(text)
        run_env = dict(ansible_env, **(env or {}))
        return subprocess.run([_tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook), *extra],
                              env=run_env, capture_output=True, text=True, timeout=1200, check=False)

    return run


@pytest.fixture
def clouds(aws_env, azure_env, moto_emulator, azure_emulator):
    """Both emulators reset, the environment for ansible-playbook, and where to look at requests."""
    env = dict(aws_env)
    env.update(azure_env)
    env["AWS_REGION"] = "us-east-1"
    return {"env": env, "proxy": moto_emulator.proxy, "azure": azure_emulator, "outputs": []}
