"""Helpers shared by the integration tests that run the cloud modules against both emulators."""

MUTATING_METHODS = ("PUT", "PATCH", "DELETE", "POST")


def mutating_azure(azure, since):
    """Azure requests since ``since`` that could change something (the token endpoint and the
    emulator's own control interface aside)."""
    return [e for e in azure.requests(since) if e["method"] in MUTATING_METHODS
            and "/_emulator" not in e["path"] and "oauth2" not in e["path"]]
