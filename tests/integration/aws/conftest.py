"""AWS emulator tests: the fixtures come from ``tests.emulators.aws_fixtures``."""

PLUGIN = "tests.emulators.aws_fixtures"


def pytest_configure(config):
    """Register the AWS fixtures unless the top-level conftest already did."""
    if not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
