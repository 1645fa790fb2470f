"""Authentication, cloud selection, TLS trust and the control interface."""

import json
import ssl
import urllib.error
import urllib.request

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils.azure import AzureClients, AzureClientError, call
from tests.emulators.azure import EmulatorClient
from tests.integration.azure.arm_helpers import LOC, make_group

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def raw_get(emulator, path, token=None):
    request = urllib.request.Request(emulator.url + path)
    if token:
        request.add_header("Authorization", "Bearer " + token)
    context = ssl.create_default_context(cafile=emulator.ca_bundle)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


@pytest.mark.parametrize("override, expected", [
    ({"secret": "wrong"}, "AADSTS7000215: Invalid client secret provided"),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, "AADSTS700016"),
    ({"tenant": "11111111-1111-1111-1111-111111111111"}, "Unable to get authority configuration"),
])
def test_bad_credentials_give_clear_errors(azure_env, azure_emulator, override, expected):
    clients = AzureClients(params=override, env=azure_env)
    try:
        with pytest.raises(AzureClientError) as err:
            call(lambda: list(clients.resource.resource_groups.list()))
    finally:
        clients.close()
    assert expected in str(err.value)
    assert "Azure authentication failed" in str(err.value)
    assert not [e for e in azure_emulator.requests() if e["path"].startswith("/subscriptions/")]


def test_one_token_for_a_session_and_no_secret_in_the_log(azure_clients, azure_env, azure_emulator):
    make_group(azure_clients)
    list(azure_clients.resource.resource_groups.list())
    list(azure_clients.network.virtual_networks.list("rg1"))
    entries = azure_emulator.requests()
    assert [e["method"] for e in entries if e["path"].endswith("/oauth2/v2.0/token")] == ["POST"]
    assert azure_env["AZURE_SECRET"] not in repr(entries)


def test_arm_requires_token_and_api_version(azure_clients, azure_emulator):
    make_group(azure_clients)
    path = "/subscriptions/%s/resourcegroups/rg1" % azure_emulator.subscription_id
    status, body = raw_get(azure_emulator, path + "?api-version=2025-04-01")
    assert (status, body["error"]["code"]) == (401, "AuthenticationFailed")
    status, body = raw_get(azure_emulator, path + "?api-version=2025-04-01", token="not.a.token")
    assert (status, body["error"]["code"]) == (401, "InvalidAuthenticationToken")
    token = azure_clients.credential.get_token(azure_clients.cloud.credential_scope).token
    status, body = raw_get(azure_emulator, path, token=token)
    assert (status, body["error"]["code"]) == (400, "MissingApiVersionParameter")
    status, body = raw_get(azure_emulator, path + "?api-version=2099-01-01", token=token)
    assert (status, body["name"]) == (200, "rg1")


def test_explicit_ca_bundle_wins_over_requests_ca_bundle(azure_env, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", SYSTEM_BUNDLE)
    monkeypatch.setenv("CURL_CA_BUNDLE", SYSTEM_BUNDLE)
    with AzureClients(env=azure_env) as clients:
        assert list(clients.resource.resource_groups.list()) == []
    without = dict(azure_env)
    del without["AZURE_CA_BUNDLE"]
    with AzureClients(env=without, backoff_retries=1, backoff_delay=0.01) as clients:
        with pytest.raises(AzureClientError) as err:
            call(lambda: list(clients.resource.resource_groups.list()))
    assert "CERTIFICATE_VERIFY_FAILED" in str(err.value)


def test_custom_cloud_from_options_and_no_metadata_probe(azure_env, monkeypatch, loopback_only):
    # Variables that would make other credential types reach for the instance metadata service.
    monkeypatch.setenv("IDENTITY_ENDPOINT", "http://169.254.169.254/metadata/identity/oauth2/token")
    monkeypatch.setenv("MSI_ENDPOINT", "http://169.254.169.254/metadata/identity/oauth2/token")
    env = {k: v for k, v in azure_env.items() if k not in ("AZURE_RESOURCE_MANAGER_URL", "AZURE_AUTHORITY_HOST")}
    params = {"cloud_environment": azure_env["AZURE_RESOURCE_MANAGER_URL"], "authority_url": azure_env["AZURE_AUTHORITY_HOST"]}
    with AzureClients(params=params, env=env) as clients:
        assert clients.cloud.custom is True
        assert clients.cloud.credential_scope == azure_env["AZURE_RESOURCE_MANAGER_URL"] + "/.default"
        make_group(clients)
    assert loopback_only == []
    monkeypatch.setenv("AZURE_REGIONAL_AUTHORITY_NAME", "tryautodetect")
    with pytest.raises(AzureClientError) as err:
        AzureClients(env=dict(azure_env, AZURE_REGIONAL_AUTHORITY_NAME="tryautodetect"))
    assert "instance metadata service" in str(err.value)


def test_control_interface_over_https(azure_clients, azure_emulator):
    control = EmulatorClient(azure_emulator.url, azure_emulator.ca_bundle)
    assert control.health()["subscription_id"] == azure_emulator.subscription_id
    sub = "/subscriptions/%s" % azure_emulator.subscription_id
    ids = control.seed([
        {"id": sub + "/resourceGroups/seeded", "location": LOC},
        {"id": sub + "/resourceGroups/seeded/providers/Microsoft.Network/virtualNetworks/v1", "location": LOC,
         "properties": {"addressSpace": {"addressPrefixes": ["10.9.0.0/16"]},
                        "subnets": [{"name": "s1", "properties": {"addressPrefix": "10.9.1.0/24"}}]}},
    ])
    assert len(ids) == 2
    assert [s.name for s in azure_clients.network.subnets.list("seeded", "v1")] == ["s1"]
    state = control.dump()
    assert any(r["id"].endswith("/subnets/s1") for r in state["resources"])
    rule = control.set_fault("throttle", method="GET", path="/virtualNetworks/v1$", count=1)
    assert [f["id"] for f in control.dump()["faults"]] == [rule]
    azure_clients.network.virtual_networks.get("seeded", "v1")
    assert [r["status"] for r in control.requests() if r["path"].endswith("/virtualNetworks/v1")] == [429, 200]
    control.set_delay("Microsoft.Network/virtualNetworkGateways", 3)
    assert control.configure(page_size=7)["page_size"] == 7
    assert control.dump()["settings"]["delays"] == {"microsoft.network/virtualnetworkgateways": {"put": 3.0, "delete": 3.0}}
    control.reset()
    assert control.dump()["resources"] == []


def ensure_nsg(clients, name, tags):
    """Idempotent 'present': read, compare, write only when something differs."""
    try:
        current = clients.network.network_security_groups.get("rg1", name)
        if current.tags == tags:
            return False
    except Exception:  # pylint: disable=broad-except
        pass
    clients.network.network_security_groups.begin_create_or_update("rg1", name, {"location": LOC, "tags": tags}).result()
    return True


def test_request_log_proves_a_second_run_makes_no_mutating_call(azure_clients, azure_emulator):
    make_group(azure_clients)
    assert ensure_nsg(azure_clients, "nsg1", {"hybrid-cluster": "shop"}) is True
    since = azure_emulator.last_request_seq
    assert ensure_nsg(azure_clients, "nsg1", {"hybrid-cluster": "shop"}) is False
    second_run = azure_emulator.requests(since=since)
    assert second_run and all(e["method"] == "GET" for e in second_run)
