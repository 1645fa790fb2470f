"""Azure emulator tests: the fixtures come from ``tests.emulators.azure_fixtures``."""

import pytest

PLUGIN = "tests.emulators.azure_fixtures"


def pytest_configure(config):
    """Register the Azure fixtures unless the top-level conftest already did."""
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)


@pytest.fixture(autouse=True)
def _no_traffic_off_loopback(loopback_only):
    """Every Azure test fails if anything tries to leave 127.0.0.1 / ::1."""
    yield
    assert not loopback_only, "connections off the loopback interface were attempted: %r" % loopback_only
