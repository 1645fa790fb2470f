"""pytest fixtures for the AWS emulator (moto server behind the fault proxy).

Load them with ``pytest_plugins = ["tests.emulators.aws_fixtures"]`` in the top-level
``conftest.py`` (or import the plugin from a directory's ``pytest_configure``, as
``tests/integration/aws/conftest.py`` does).

* ``moto_emulator`` (session): one moto process and proxy for the whole run.
* ``aws_env`` (function): resets moto and the proxy, removes conflicting variables and sets the
  emulator's ``AWS_*`` variables in ``os.environ``; returns them as a dict.
* ``fault_proxy`` (function): the proxy of a freshly reset emulator (rules and log empty).
* ``aws_params``: module-style options with tiny backoff delays, for ``resolve_connection``.
* ``aws_connection`` / ``ec2``: the collection's connection and EC2 client for the emulator.
"""

import pytest

from tests.emulators.moto_server import CONFLICTING_ENV, MotoEmulator

# Fast retries for tests: tens of milliseconds instead of seconds.
FAST_BACKOFF = {"backoff_retries": 10, "backoff_delay": 0.01, "backoff_max_delay": 0.05}


@pytest.fixture(scope="session")
def moto_emulator(tmp_path_factory):
    """moto server plus fault proxy, started once per test session."""
    emulator = MotoEmulator(workdir=tmp_path_factory.mktemp("moto"), seed=20240601).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def aws_env(moto_emulator, monkeypatch):
    """A clean emulator and an environment that points at it."""
    moto_emulator.reset()
    for name in CONFLICTING_ENV:
        monkeypatch.delenv(name, raising=False)
    env = moto_emulator.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def fault_proxy(moto_emulator, aws_env):  # pylint: disable=unused-argument,redefined-outer-name
    """The proxy in front of moto, with no rules and an empty log."""
    return moto_emulator.proxy


@pytest.fixture
def aws_params(aws_env):  # pylint: disable=unused-argument,redefined-outer-name
    """Module options with fast backoff; credentials and endpoint come from the environment."""
    return dict(FAST_BACKOFF)


@pytest.fixture
def aws_connection(aws_params):  # pylint: disable=redefined-outer-name
    """The collection's ``AWSConnection`` for the emulator."""
    from ansible_collections.hybrid.cluster.plugins.module_utils.aws import resolve_connection  # pylint: disable=import-outside-toplevel
    return resolve_connection(aws_params)


@pytest.fixture
def ec2(aws_connection):  # pylint: disable=redefined-outer-name
    """The collection's retrying EC2 client for the emulator."""
    return aws_connection.client("ec2")
