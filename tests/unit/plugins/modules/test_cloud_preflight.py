"""Unit tests for cloud_preflight's pure pieces: quota rows, needs, and the problem lines with their fixes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import AWSConfigurationError, AWSError, service_quota
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import AzureClientError
from ansible_collections.hybrid.cluster.plugins.modules import cloud_preflight as mod


def test_quota_row_statuses():
    assert mod.quota_row("vpcs", "VPCs per Region", "L-F678F1CE", 4, 5.0, 1, "applied") == {
        "name": "vpcs", "description": "VPCs per Region", "code": "L-F678F1CE", "used": 4, "limit": 5, "needed": 1,
        "available": 1, "source": "applied", "status": "ok"}
    assert mod.quota_row("vpcs", "d", "c", 5, 5, 1, "applied")["status"] == "too_low"
    assert mod.quota_row("vpcs", "d", "c", None, 5, 1, "applied")["status"] == "unknown"
    assert mod.quota_row("vpcs", "d", "c", 3, None, 0, "unavailable")["available"] is None
    # Over an assumed default the account may well have more: not a failure, but not ok either.
    assert mod.quota_row("vpn_connections", "d", "c", 50, 50, 2, "assumed-default")["status"] == "unknown"
    assert mod.quota_row("vpn_connections", "d", "c", 10, 50, 2, "assumed-default")["status"] == "ok"


@given(st.integers(0, 100), st.integers(0, 100), st.integers(0, 100))
def test_too_low_exactly_when_the_need_does_not_fit(used, limit, needed):
    row = mod.quota_row("q", "d", "c", used, limit, needed, "usages")
    assert (row["status"] == "too_low") == (used + needed > limit)


def test_still_needed():
    assert mod.still_needed(2, 0) == 2
    assert mod.still_needed(2, 1) == 1
    assert mod.still_needed(1, 3) == 0


def test_count_owned():
    items = [{"Tags": [{"Key": "hybrid-cluster", "Value": "shop"}]}, {"Tags": [{"Key": "hybrid-cluster", "Value": "other"}]}, {}]
    assert mod.count_owned(items, "shop") == 1
    assert mod.count_owned(items, None) == 0


@pytest.mark.parametrize("instance, standard", [
    ({"InstanceType": "m5.large"}, True),
    ({"InstanceType": "t3.micro"}, True),
    ({"InstanceType": "is4gen.xlarge"}, True),
    ({"InstanceType": "c6g.large", "InstanceLifecycle": "spot"}, False),
    ({"InstanceType": "p4d.24xlarge"}, False),
    ({"InstanceType": "inf1.xlarge"}, False),
    ({"InstanceType": "g5.xlarge"}, False),
])
def test_standard_on_demand_families(instance, standard):
    assert mod.is_standard_on_demand(instance) is standard


def test_instance_vcpus():
    assert mod.instance_vcpus({"CpuOptions": {"CoreCount": 2, "ThreadsPerCore": 2}}) == 4
    assert mod.instance_vcpus({}) == 1


def test_aws_quota_problem_names_region_code_and_fix():
    row = mod.quota_row("vpn_connections", "Site-to-Site VPN connections per Region", "L-3E6EC3A3", 49, 50, 2, "applied")
    assert mod.aws_quota_problem(row, "eu-west-1") == (
        "aws.vpn_connections: Site-to-Site VPN connections per Region in eu-west-1: 49 of 50 in use, the platform needs 2 "
        "more. Fix: remove VPN connections that are no longer used or request a quota increase to at least 51 in Service "
        "Quotas (service ec2, quota L-3E6EC3A3) in eu-west-1")
    row = mod.quota_row("instances", "Running instances (EC2 account attribute max-instances)", "max-instances", 19, 20, 6,
                        "account-attributes")
    assert mod.aws_quota_problem(row, "us-east-1").endswith(
        "Fix: remove instances that are no longer used or ask AWS for a limit of at least 25 in us-east-1 (EC2 console, Limits)")


def test_azure_quota_problems():
    row = mod.quota_row("PublicIPAddresses", "Public IP Addresses", "Microsoft.Network", 10, 10, 2, "usages")
    assert mod.azure_quota_problem(row, "westeurope", "Microsoft.Network", "public IP addresses") == (
        "azure.PublicIPAddresses: Public IP Addresses in westeurope: 10 of 10 in use, the platform needs 2 more. Fix: delete "
        "public IP addresses in westeurope that are no longer used or request a higher limit (Azure portal, Quotas, "
        "Networking: Public IP Addresses) of at least 12")


@pytest.mark.parametrize("code, fix", [
    ("InvalidClientTokenId", "check access_key (AWS_ACCESS_KEY_ID): AWS does not know this access key"),
    ("SignatureDoesNotMatch", "check secret_key (AWS_SECRET_ACCESS_KEY): it does not belong to the access key"),
    ("ExpiredToken", "renew the temporary credentials (session_token, AWS_SESSION_TOKEN) or use long-lived keys"),
    ("ConnectionError", "check endpoint_url (AWS_ENDPOINT_URL), the proxy settings and that the controller reaches AWS"),
    ("Something", "check the AWS credentials (access_key/secret_key/session_token or profile)"),
])
def test_aws_credential_problems(code, fix):
    line = mod.aws_credential_problem(AWSError("sts GetCallerIdentity failed: %s: nope" % code, code=code))
    assert line == "aws: the credentials were refused: sts GetCallerIdentity failed: %s: nope. Fix: %s" % (code, fix)


def test_aws_configuration_problem():
    line = mod.aws_credential_problem(AWSConfigurationError("no AWS region: set the region option or AWS_REGION"))
    assert line.startswith("aws: no usable connection settings (no AWS region: set the region option or AWS_REGION). Fix: ")


WRONG_SECRET = ("Azure authentication failed: Authentication failed: AADSTS7000215: Invalid client secret provided. Ensure "
                "the secret being sent in the request is the client secret value, not the client secret ID, for a secret "
                "added to app '6d6f'. Trace ID: 4b82 Correlation ID: 6b74 Timestamp: 2026-11-25 17:48:18Z")


@pytest.mark.parametrize("text, expected", [
    (WRONG_SECRET, "azure: the service principal could not sign in: AADSTS7000215: Invalid client secret provided. Fix: check "
                   "secret (AZURE_SECRET, AZURE_CLIENT_SECRET): use the client secret's value, not its id"),
    ("Azure authentication failed: AADSTS700016: Application with identifier 'x' was not found in the directory 'y'. More.",
     "azure: the service principal could not sign in: AADSTS700016: Application with identifier 'x' was not found in the "
     "directory 'y'. Fix: check client_id (AZURE_CLIENT_ID) and tenant (AZURE_TENANT): the application is not in this tenant"),
    ("Azure authentication failed: AADSTS90002: Tenant 't' not found.",
     "azure: the service principal could not sign in: AADSTS90002: Tenant 't' not found. Fix: check tenant (AZURE_TENANT): "
     "no such tenant"),
    ("Azure request failed (HTTP 404) SubscriptionNotFound: The subscription 's' could not be found.",
     "azure: could not read the subscription: Azure request failed (HTTP 404) SubscriptionNotFound: The subscription 's' could "
     "not be found. Fix: check subscription_id (AZURE_SUBSCRIPTION_ID) and that the service principal has a role in it"),
    ("Azure request failed (HTTP 403) AuthorizationFailed: The client 'c' does not have authorization.",
     "azure: could not read the subscription: Azure request failed (HTTP 403) AuthorizationFailed: The client 'c' does not "
     "have authorization. Fix: give the service principal a role on the subscription (Reader to check, Contributor to build)"),
    ("Azure request failed: <urllib3 connection refused>",
     "azure: could not read the subscription: Azure request failed: <urllib3 connection refused>. Fix: check subscription_id, "
     "resource_manager_url, ca_bundle and that the controller reaches Azure"),
])
def test_azure_sign_in_problems(text, expected):
    assert mod.azure_sign_in_problem(AzureClientError(text)) == expected


def test_azure_error_code_attribute_wins():
    err = AzureClientError("Azure request failed (HTTP 401) something")
    err.code = "InvalidAuthenticationTokenTenant"
    assert mod.azure_sign_in_problem(err).endswith("Fix: check tenant (AZURE_TENANT): the subscription belongs to another tenant")


@pytest.mark.parametrize("state", ["Disabled", "Warned", "PastDue", "Deleted"])
def test_subscription_must_be_enabled(state):
    subscription = {"subscription_id": "s-1", "display_name": "Production", "state": state, "tenant_id": "t"}
    assert mod.subscription_problem(subscription) == (
        "azure: subscription s-1 (Production) is %s, not Enabled: Azure refuses to create resources in it. Fix: re-enable "
        "the subscription (billing, Azure portal: Subscriptions) or set subscription_id to an enabled one" % state)
    assert mod.subscription_problem(dict(subscription, state="Enabled")) is None


class FakeQuotas:
    """A service-quotas client: applied values, defaults and errors by quota code."""

    def __init__(self, applied=None, defaults=None, fail=None):
        self.applied = applied or {}
        self.defaults = defaults or {}
        self.fail = fail or {}
        self.calls = []

    def get_service_quota(self, ServiceCode, QuotaCode):  # pylint: disable=invalid-name
        self.calls.append(("get", QuotaCode))
        if QuotaCode in self.fail:
            raise AWSError("denied", code=self.fail[QuotaCode])
        if QuotaCode not in self.applied:
            raise AWSError("none", code="NoSuchResourceException")
        return {"Quota": {"Value": self.applied[QuotaCode], "QuotaName": "q"}}

    def get_aws_default_service_quota(self, ServiceCode, QuotaCode):  # pylint: disable=invalid-name
        self.calls.append(("default", QuotaCode))
        return {"Quota": {"Value": self.defaults[QuotaCode], "QuotaName": "q"}}


def test_service_quota_applied_then_default():
    client = FakeQuotas(applied={"L-A": 10.0}, defaults={"L-B": 50.0})
    assert service_quota(client, "ec2", "L-A") == {"value": 10.0, "name": "q", "source": "applied"}
    assert service_quota(client, "ec2", "L-B") == {"value": 50.0, "name": "q", "source": "default"}
    assert client.calls == [("get", "L-A"), ("get", "L-B"), ("default", "L-B")]


def test_service_quota_uses_a_defaults_list_lazily():
    client = FakeQuotas(applied={"L-A": 10.0})
    asked = []

    def defaults(service):
        asked.append(service)
        return {"L-B": {"Value": 5.0, "QuotaName": "b"}}
    assert service_quota(client, "vpc", "L-A", defaults=defaults)["source"] == "applied" and asked == []
    assert service_quota(client, "vpc", "L-B", defaults=defaults) == {"value": 5.0, "name": "b", "source": "default"}
    assert asked == ["vpc"]
    with pytest.raises(AWSError) as info:
        service_quota(client, "vpc", "L-C", defaults={})
    assert info.value.code == "NoSuchResourceException"


def test_service_quota_passes_other_errors_on():
    client = FakeQuotas(fail={"L-A": "AccessDeniedException"})
    with pytest.raises(AWSError) as info:
        service_quota(client, "ec2", "L-A")
    assert info.value.code == "AccessDeniedException"


def test_needs_follow_the_platform_design():
    assert mod.AWS_NEEDS["vpn_connections"] == mod.AWS_NEEDS["customer_gateways"] == 2
    needs = {name: need for name, _provider, _type, _things, need in mod.AZURE_QUOTAS}
    assert needs["NetworkSecurityGroups"] == 2 and needs["PublicIPAddresses"] == 2 and needs["VirtualNetworks"] == 1
    assert needs["cores"] == "azure_cores" and needs["virtualMachines"] == "azure_vms"


def test_argument_spec_accepts_the_clouds_group_defaults():
    """module_defaults for group/hybrid.cluster.clouds must not hit an unsupported option."""
    spec = mod.argument_spec()
    for option in ("region", "azure_location", "azure_resource_group", "plan", "tags", "wait_timeout", "clouds",
                   "subscription_id", "secret", "secret_key", "backoff_delay"):
        assert option in spec
    assert spec["secret"]["no_log"] is True and spec["secret_key"]["no_log"] is True and spec["session_token"]["no_log"] is True
