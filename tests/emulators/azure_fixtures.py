"""pytest fixtures for the Azure Resource Manager emulator.

Load them with ``pytest_plugins = ["tests.emulators.azure_fixtures"]`` (root conftest) or import the
fixture names into a conftest. One emulator serves the whole session; every test that uses
``azure_emulator`` starts from an empty, fault-free state.
"""

import ipaddress
import os
import socket

import pytest

from tests.emulators.azure import AzureEmulator

# Client-layer settings that keep tests fast: short poll interval and retry waits.
FAST_CLIENT_OPTIONS = {"polling_interval": 0.05, "backoff_delay": 0.01, "backoff_max_delay": 0.05}


@pytest.fixture(scope="session")
def azure_emulator_session(tmp_path_factory):
    """The running emulator, shared by the session (not reset)."""
    emulator = AzureEmulator(workdir=str(tmp_path_factory.mktemp("azure-emulator"))).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def azure_emulator(azure_emulator_session):
    """The emulator, reset before the test (no resources, faults, delays or logged requests)."""
    azure_emulator_session.reset()
    yield azure_emulator_session
    azure_emulator_session.reset()


@pytest.fixture
def azure_env(azure_emulator, monkeypatch):
    """AZURE_* environment pointing at the emulator (other AZURE_* variables removed)."""
    for name in list(os.environ):
        if name.startswith("AZURE_"):
            monkeypatch.delenv(name)
    env = azure_emulator.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def azure_clients(azure_env):
    """The collection's own client layer (AzureClients) bound to the emulator, tuned for speed."""
    from ansible_collections.hybrid.cluster.plugins.module_utils.azure import AzureClients  # pylint: disable=import-outside-toplevel
    clients = AzureClients(env=azure_env, **FAST_CLIENT_OPTIONS)
    yield clients
    clients.close()


def _is_loopback(address):
    host = address[0] if isinstance(address, tuple) else address
    if not isinstance(host, str):
        return True  # unix sockets and the like
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture
def loopback_only(monkeypatch):
    """Fail any attempt to open a connection to a non-loopback address (the instance metadata
    service, a public login host) and record it; the list of attempts is returned."""
    attempts = []
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            attempts.append(address)
            raise ConnectionRefusedError("test guard: connection to %r refused (loopback only)" % (address,))
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return attempts
