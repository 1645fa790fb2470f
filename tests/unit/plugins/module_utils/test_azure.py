"""Pure logic of the Azure client layer: options and environment, clouds, errors, retry delays, tags."""

import email.utils

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils import azure

BASE_ENV = {"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_CLIENT_ID": "app", "AZURE_SECRET": "s3cret", "AZURE_TENANT": "tid"}


def test_environment_spellings_awx_first():
    env = {"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_CLIENT_ID": "app", "AZURE_CLIENT_SECRET": "other", "AZURE_SECRET": "awx",
           "AZURE_TENANT_ID": "t2", "AZURE_TENANT": "t1"}
    resolved = azure.resolve_auth_options({}, env)
    assert (resolved["secret"], resolved["tenant"]) == ("awx", "t1")
    resolved = azure.resolve_auth_options({}, {"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_CLIENT_ID": "app",
                                               "AZURE_CLIENT_SECRET": "other", "AZURE_TENANT_ID": "t2"})
    assert (resolved["secret"], resolved["tenant"]) == ("other", "t2")


def test_options_win_over_environment():
    resolved = azure.resolve_auth_options({"client_id": "opt", "secret": "optsecret", "tenant": " "}, BASE_ENV)
    assert (resolved["client_id"], resolved["secret"], resolved["tenant"]) == ("opt", "optsecret", "tid")
    assert resolved["cloud"] == azure.KNOWN_CLOUDS["AzureCloud"]
    assert resolved["ca_bundle"] is None


def test_missing_credentials_name_options_and_variables():
    with pytest.raises(azure.AzureClientError) as err:
        azure.resolve_auth_options({}, {"AZURE_SUBSCRIPTION_ID": "sub"})
    text = str(err.value)
    assert "missing client_id, secret, tenant" in text
    assert "AZURE_SECRET/AZURE_CLIENT_SECRET" in text and "AZURE_TENANT/AZURE_TENANT_ID" in text


def test_ca_bundle_must_exist(tmp_path):
    with pytest.raises(azure.AzureClientError):
        azure.resolve_auth_options({"ca_bundle": str(tmp_path / "missing.pem")}, BASE_ENV)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    assert azure.resolve_auth_options({}, dict(BASE_ENV, AZURE_CA_BUNDLE=str(bundle)))["ca_bundle"] == str(bundle)


def test_region_autodetection_is_refused():
    with pytest.raises(azure.AzureClientError) as err:
        azure.resolve_auth_options({}, dict(BASE_ENV, AZURE_REGIONAL_AUTHORITY_NAME="TryAutoDetect"))
    assert "instance metadata service" in str(err.value)
    assert azure.resolve_auth_options({}, dict(BASE_ENV, AZURE_REGIONAL_AUTHORITY_NAME="westeurope"))


@pytest.mark.parametrize("name, arm, authority", [
    (None, "https://management.azure.com", "https://login.microsoftonline.com"),
    ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com"),
    ("azure_public_cloud", "https://management.azure.com", "https://login.microsoftonline.com"),
    ("AzureChinaCloud", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    ("china", "https://management.chinacloudapi.cn", "https://login.chinacloudapi.cn"),
    ("AzureUSGovernment", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
    ("usgov", "https://management.usgovcloudapi.net", "https://login.microsoftonline.us"),
])
def test_named_clouds(name, arm, authority):
    cloud = azure.resolve_cloud(name)
    assert (cloud.resource_manager, cloud.authority, cloud.credential_scope) == (arm, authority, arm + "/.default")
    assert cloud.custom is False
    assert azure.instance_discovery_needed(cloud.authority)


def test_unknown_cloud():
    with pytest.raises(azure.AzureClientError) as err:
        azure.resolve_cloud("AzureGermanCloud")
    assert "AzureChinaCloud, AzureCloud, AzureUSGovernment" in str(err.value)


def test_custom_clouds():
    stack = azure.resolve_cloud("AzureUSGovernment", "https://management.local.azurestack.external/")
    assert stack.custom and stack.resource_manager == "https://management.local.azurestack.external"
    assert stack.authority == "https://login.microsoftonline.us"
    assert stack.credential_scope == "https://management.local.azurestack.external/.default"
    local = azure.resolve_cloud("https://127.0.0.1:8443", authority_url="127.0.0.1:8443")
    assert (local.resource_manager, local.authority) == ("https://127.0.0.1:8443", "https://127.0.0.1:8443")
    assert not azure.instance_discovery_needed(local.authority)
    adfs = azure.resolve_cloud(None, None, "https://adfs.contoso.example/adfs")
    assert adfs.custom and adfs.resource_manager == "https://management.azure.com"
    with pytest.raises(azure.AzureClientError):
        azure.resolve_cloud(None, "http://127.0.0.1:8080")


def test_argument_spec_matches_env_fallbacks():
    spec = azure.azure_argument_spec()
    assert spec["secret"]["no_log"] is True
    assert spec["ca_bundle"]["type"] == "path"
    for option, names in azure.ENV_FALLBACKS.items():
        assert list(spec[option]["fallback"][1]) == list(names)
    assert spec["backoff_retries"]["default"] == azure.DEFAULT_BACKOFF_RETRIES


@pytest.mark.parametrize("body, expected", [
    ({"error": {"code": "ResourceNotFound", "message": "The Resource 'x' was not found."}},
     "ResourceNotFound: The Resource 'x' was not found."),
    ('{"error": {"code": "InvalidParameter", "message": "Bad size.", "target": "vmSize"}}',
     "InvalidParameter: Bad size. (target: vmSize)"),
    ({"error": {"code": "Conflict", "message": "Outer.", "details": [{"code": "Inner", "message": "Why."}, "junk"]}},
     "Conflict: Outer.; Inner: Why."),
    ({"code": "BadRequest", "message": "OData style."}, "BadRequest: OData style."),
    ({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\nTrace ID: 1"},
     "invalid_client: AADSTS7000215: Invalid client secret provided."),
    (b'{"error": {"code": "X"}}', "X"),
    ("<html>gateway timeout</html>", "<html>gateway timeout</html>"),
    ([1, 2], "unknown error"),
])
def test_format_arm_error(body, expected):
    assert azure.format_arm_error(body) == expected


def test_format_arm_error_with_status_only():
    assert azure.format_arm_error("", 502) == "HTTP 502"
    assert azure.format_arm_error({"error": {}}, 500) == "HTTP 500"


def test_describe_plain_exception():
    assert azure.describe_azure_error(ValueError("boom")) == "boom"


@pytest.mark.parametrize("value, expected", [
    ("1", 1.0), (" 30 ", 30.0), ("0", 0.0), ("-5", 0.0), ("0.5", 0.5), (None, None), ("", None), ("soon", None), ("nan", None),
])
def test_parse_retry_after_seconds(value, expected):
    assert azure.parse_retry_after(value) == expected


def test_parse_retry_after_http_date():
    now = 1_700_000_000.0
    assert azure.parse_retry_after(email.utils.formatdate(now + 12, usegmt=True), now=now) == pytest.approx(12.0)
    assert azure.parse_retry_after(email.utils.formatdate(now - 12, usegmt=True), now=now) == 0.0


def test_retry_delay_honours_retry_after_up_to_the_cap():
    assert azure.retry_delay(1, retry_after=7, base_delay=1, max_delay=60) == 7
    assert azure.retry_delay(5, retry_after=300, base_delay=1, max_delay=60) == 60
    assert azure.retry_delay(1, retry_after=0, base_delay=1, max_delay=60, rand=lambda: 1.0) == 1.0


@pytest.mark.parametrize("attempt, ceiling", [(1, 2.0), (2, 4.0), (3, 8.0), (6, 50.0), (20, 50.0)])
def test_retry_delay_exponential_full_jitter(attempt, ceiling):
    assert azure.retry_delay(attempt, base_delay=2, max_delay=50, rand=lambda: 1.0) == ceiling
    assert azure.retry_delay(attempt, base_delay=2, max_delay=50, rand=lambda: 0.0) == 0.0
    assert azure.retry_delay(attempt, base_delay=2, max_delay=50, rand=lambda: 0.25) == ceiling * 0.25


def test_resolve_backoff():
    assert azure.resolve_backoff() == {"backoff_retries": 8, "backoff_delay": 1.0, "backoff_max_delay": 60.0}
    assert azure.resolve_backoff({"backoff_retries": 3}, backoff_delay=0.5)["backoff_retries"] == 3
    assert azure.resolve_backoff({"backoff_retries": 3}, backoff_retries=1)["backoff_retries"] == 1
    with pytest.raises(azure.AzureClientError):
        azure.resolve_backoff({"backoff_delay": -1})
    with pytest.raises(azure.AzureClientError):
        azure.resolve_backoff({"backoff_delay": "x"})


def test_tags():
    assert azure.ownership_tags("shop", {"env": "prod"}) == {"env": "prod", "hybrid-cluster": "shop"}
    assert azure.is_owned({"hybrid-cluster": "shop"}, "shop") and not azure.is_owned(None, "shop")
    assert azure.tag_problems({"hybrid-cluster": "shop"}) == []
    assert len(azure.tag_problems({"a/b": "x", "k": "v" * 300, "": "x"})) == 3
    assert azure.merge_tags({"a": "1"}, None) == (False, {"a": "1"})
    assert azure.merge_tags({"a": "1"}, {"a": "1"}) == (False, {"a": "1"})
    assert azure.merge_tags({"a": "1", "b": "2"}, {"a": "1"}) == (True, {"a": "1"})
    assert azure.merge_tags({"a": "1", "b": "2"}, {"c": 3}, purge=False) == (True, {"a": "1", "b": "2", "c": "3"})
