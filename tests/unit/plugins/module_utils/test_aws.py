"""Pure logic of the AWS client layer: option/env resolution, backoff, tags, error messages."""

import random

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.hybrid.cluster.plugins.doc_fragments.aws import ModuleDocFragment
from ansible_collections.hybrid.cluster.plugins.module_utils import aws

BASE = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secretenv", "AWS_REGION": "eu-west-1"}


class FakeClientError(Exception):
    """Shaped like botocore's ClientError: only ``response`` matters to the classifier."""

    def __init__(self, code, status=400, message="boom", request_id="req-1"):
        super().__init__(code)
        self.response = {"Error": {"Code": code, "Message": message},
                         "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id}}


class EndpointConnectionError(Exception):
    """Same class name as botocore's: classification goes by name so tests need no botocore."""


class ConnectionClosedError(Exception):
    pass


class SSLError(EndpointConnectionError):
    pass


# --------------------------------------------------------------------------- resolution

def test_keys_and_region_from_awx_environment():
    conn = aws.resolve_connection({}, dict(BASE, AWS_SECURITY_TOKEN="tok"))
    assert (conn.access_key, conn.secret_key, conn.session_token, conn.region) == ("AKIDENV", "secretenv", "tok", "eu-west-1")
    assert conn.sources == {"access_key": "env:AWS_ACCESS_KEY_ID", "secret_key": "env:AWS_SECRET_ACCESS_KEY",
                            "session_token": "env:AWS_SECURITY_TOKEN", "region": "env:AWS_REGION"}
    assert conn.profile is None and conn.endpoint_url is None


def test_session_token_prefers_aws_session_token():
    conn = aws.resolve_connection({}, dict(BASE, AWS_SESSION_TOKEN="new", AWS_SECURITY_TOKEN="old"))
    assert conn.session_token == "new" and conn.sources["session_token"] == "env:AWS_SESSION_TOKEN"


def test_legacy_key_variables_and_default_region():
    env = {"AWS_ACCESS_KEY": "A", "AWS_SECRET_KEY": "S", "AWS_DEFAULT_REGION": "us-east-2"}
    conn = aws.resolve_connection(None, env)
    assert (conn.access_key, conn.secret_key, conn.region) == ("A", "S", "us-east-2")
    assert conn.sources["region"] == "env:AWS_DEFAULT_REGION"


def test_aws_region_wins_over_default_region():
    conn = aws.resolve_connection({}, dict(BASE, AWS_DEFAULT_REGION="us-east-2"))
    assert conn.region == "eu-west-1"


def test_options_win_over_environment():
    params = {"access_key": "AKIDOPT", "secret_key": "secretopt", "region": "ap-south-1",
              "endpoint_url": "http://127.0.0.1:1/", "session_token": None}
    conn = aws.resolve_connection(params, dict(BASE, AWS_SESSION_TOKEN="envtoken", AWS_ENDPOINT_URL="http://127.0.0.1:2"))
    assert (conn.access_key, conn.region, conn.endpoint_url) == ("AKIDOPT", "ap-south-1", "http://127.0.0.1:1")
    assert conn.session_token is None  # an environment token never pairs with keys given as options


def test_option_token_pairs_with_environment_keys():
    conn = aws.resolve_connection({"session_token": "opt"}, BASE)
    assert conn.session_token == "opt" and conn.sources["session_token"] == "option"


def test_environment_keys_win_over_environment_profile():
    conn = aws.resolve_connection({}, dict(BASE, AWS_PROFILE="dev"))
    assert conn.profile is None and conn.access_key == "AKIDENV"


def test_profile_option_wins_over_environment_keys():
    conn = aws.resolve_connection({"profile": "prod"}, BASE)
    assert conn.profile == "prod" and conn.access_key is None and conn.sources["profile"] == "option"


def test_profile_from_environment_and_region_from_profile():
    seen = []
    conn = aws.resolve_connection({}, {"AWS_PROFILE": "dev"}, profile_region=lambda p: seen.append(p) or "ca-central-1")
    assert (conn.profile, conn.region, conn.sources["region"]) == ("dev", "ca-central-1", "profile")
    assert seen == ["dev"]


def test_profile_region_not_looked_up_when_region_is_set():
    conn = aws.resolve_connection({}, BASE, profile_region=lambda p: pytest.fail("looked up"))
    assert conn.region == "eu-west-1"


@pytest.mark.parametrize("params, env, text", [
    ({"profile": "p", "access_key": "a", "secret_key": "s"}, {}, "mutually exclusive"),
    ({"access_key": "a"}, {}, "secret_key is missing"),
    ({"secret_key": "s"}, {}, "access_key is missing"),
    ({}, {"AWS_ACCESS_KEY_ID": "a", "AWS_REGION": "r"}, "AWS_ACCESS_KEY_ID"),
    ({}, {"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "s"}, "no AWS region"),
    ({"region": "r", "endpoint_url": "127.0.0.1:5000"}, {}, "not an http(s) URL"),
    ({"region": "r", "backoff_retries": "many"}, {}, "backoff_retries must be a number"),
])
def test_configuration_errors_are_clear(params, env, text):
    with pytest.raises(aws.AWSConfigurationError, match=text.replace("(", r"\(").replace(")", r"\)")):
        aws.resolve_connection(params, env)


def test_endpoint_precedence():
    env = dict(BASE, AWS_URL="http://127.0.0.1:3", AWS_ENDPOINT_URL_EC2="http://127.0.0.1:4")
    conn = aws.resolve_connection({}, env)
    assert conn.endpoint_url == "http://127.0.0.1:3" and conn.sources["endpoint_url"] == "env:AWS_URL"
    assert conn.endpoint_for("ec2") == "http://127.0.0.1:4"
    assert conn.endpoint_for("sts") == "http://127.0.0.1:3"
    conn = aws.resolve_connection({}, dict(env, AWS_ENDPOINT_URL="http://127.0.0.1:5"))
    assert conn.endpoint_url == "http://127.0.0.1:5"
    conn = aws.resolve_connection({"endpoint_url": "http://127.0.0.1:6"}, env)
    assert conn.endpoint_for("ec2") == "http://127.0.0.1:6"  # an explicit option beats everything
    conn = aws.resolve_connection({}, dict(BASE, AWS_ENDPOINT_URL_RESOURCE_GROUPS_TAGGING_API="http://[::1]:7"))
    assert conn.endpoint_for("resourcegroupstaggingapi") is None
    assert conn.endpoint_for("resource-groups-tagging-api") == "http://[::1]:7"


def test_certificates_and_retry_options():
    conn = aws.resolve_connection({"validate_certs": False}, dict(BASE, AWS_CA_BUNDLE="/etc/ca.pem"))
    assert conn.verify() is False and conn.ca_bundle == "/etc/ca.pem"
    conn = aws.resolve_connection({"aws_ca_bundle": "/opt/ca.pem"}, dict(BASE, AWS_CA_BUNDLE="/etc/ca.pem"))
    assert conn.verify() == "/opt/ca.pem"
    conn = aws.resolve_connection({"backoff_retries": 2, "backoff_delay": "0.5", "backoff_max_delay": 4}, BASE)
    assert conn.retry == aws.RetryPolicy(retries=2, delay=0.5, max_delay=4.0)
    assert aws.resolve_connection({}, BASE).retry == aws.RetryPolicy()


def test_summary_and_repr_hide_secrets():
    conn = aws.resolve_connection({}, dict(BASE, AWS_SESSION_TOKEN="Zq9token"))
    summary = conn.summary()
    assert summary["secret_key"] == "<set>" and summary["session_token"] == "<set>"
    for text in (repr(conn), str(summary)):
        assert "secretenv" not in text and "Zq9token" not in text


def test_argument_spec_matches_doc_fragment():
    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = aws.aws_argument_spec()
    assert set(options) == set(spec)
    for name, entry in spec.items():
        doc = options[name]
        assert doc["type"] == entry["type"], name
        assert doc.get("default") == entry.get("default"), name
        assert sorted(doc.get("aliases", [])) == sorted(entry.get("aliases", [])), name
    assert spec["secret_key"]["no_log"] is True and spec["session_token"]["no_log"] is True
    assert spec["access_key"]["no_log"] is False


# --------------------------------------------------------------------------- backoff

def test_backoff_ceiling_doubles_up_to_the_maximum():
    policy = aws.RetryPolicy(retries=8, delay=0.5, max_delay=5)
    assert [policy.ceiling(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 5, 5]
    assert policy.ceiling(500) == 5 and policy.attempts == 9


@given(st.integers(min_value=0, max_value=200), st.floats(min_value=0, max_value=10), st.floats(min_value=0, max_value=100),
       st.integers(min_value=0, max_value=2**32))
def test_backoff_stays_within_its_ceiling(retry_number, delay, max_delay, seed):
    policy = aws.RetryPolicy(delay=delay, max_delay=max_delay)
    value = policy.backoff(retry_number, random.Random(seed))
    assert 0 <= value <= policy.ceiling(retry_number) <= max_delay


def test_backoff_is_jittered():
    policy = aws.RetryPolicy(delay=1, max_delay=60)
    rng = random.Random(7)
    values = {round(policy.backoff(4, rng), 6) for dummy in range(50)}
    assert len(values) > 40 and max(values) <= 16


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        aws.RetryPolicy(retries=-1)
    with pytest.raises(ValueError):
        aws.RetryPolicy(delay=-1)


@pytest.mark.parametrize("exc, kind", [
    (FakeClientError("RequestLimitExceeded", 503), "throttle"),
    (FakeClientError("Throttling", 400), "throttle"),
    (FakeClientError("ThrottlingException", 400), "throttle"),
    (FakeClientError("TooManyRequestsException", 429), "throttle"),
    (FakeClientError("Whatever", 429), "throttle"),
    (FakeClientError("InternalError", 500), "server"),
    (FakeClientError("Unknown", 502), "server"),
    (FakeClientError("ServiceUnavailable", 503), "server"),
    (FakeClientError("InvalidVpcID.NotFound", 400), None),
    (FakeClientError("UnauthorizedOperation", 403), None),
    (EndpointConnectionError(), "connection"),
    (ConnectionClosedError(), "ambiguous"),
    (SSLError(), None),
    (ValueError(), None),
])
def test_error_classification(exc, kind):
    assert aws.classify_error(exc) == kind


def test_extra_codes_are_retried():
    assert aws.classify_error(FakeClientError("IncorrectState"), extra_codes=("IncorrectState",)) == "throttle"


def run_with_failures(failures, policy, safe=True):
    calls, sleeps, retries = [], [], []

    def func():
        calls.append(1)
        if len(calls) <= len(failures):
            raise failures[len(calls) - 1]
        return "done"

    result = aws.call_with_retry(func, policy, "DescribeVpcs", safe_to_repeat=safe, sleep=sleeps.append,
                                 rng=random.Random(1), on_retry=lambda *args: retries.append(args[:3]))
    return result, calls, sleeps, retries


def test_retry_until_success():
    policy = aws.RetryPolicy(retries=5, delay=1, max_delay=3)
    failures = [FakeClientError("RequestLimitExceeded", 503), FakeClientError("InternalError", 500), EndpointConnectionError()]
    result, calls, sleeps, retries = run_with_failures(failures, policy)
    assert result == ("done", 4) and len(calls) == 4
    assert retries == [("DescribeVpcs", 1, "throttle"), ("DescribeVpcs", 2, "server"), ("DescribeVpcs", 3, "connection")]
    assert [s <= c for s, c in zip(sleeps, (1, 2, 3))] == [True, True, True]


def test_retry_gives_up_after_the_last_attempt():
    policy = aws.RetryPolicy(retries=2, delay=0)
    with pytest.raises(FakeClientError) as caught:
        run_with_failures([FakeClientError("Throttling")] * 5, policy)
    assert caught.value.hybrid_attempts == 3


def test_client_errors_are_not_retried():
    with pytest.raises(FakeClientError) as caught:
        run_with_failures([FakeClientError("InvalidParameterValue")], aws.RetryPolicy(delay=0))
    assert caught.value.hybrid_attempts == 1


def test_ambiguous_failures_only_retried_when_safe():
    policy = aws.RetryPolicy(delay=0)
    assert run_with_failures([ConnectionClosedError()], policy, safe=True)[0] == ("done", 2)
    with pytest.raises(ConnectionClosedError):
        run_with_failures([ConnectionClosedError()], policy, safe=False)
    assert run_with_failures([ConnectionClosedError()], aws.RetryPolicy(delay=0, retry_ambiguous=True), safe=False)[0][1] == 2
    # Unsent requests are always safe to repeat.
    assert run_with_failures([EndpointConnectionError()], policy, safe=False)[0] == ("done", 2)


def test_read_only_operations():
    assert aws.is_read_only("DescribeVpcs") and aws.is_read_only("GetConsoleOutput") and aws.is_read_only("ListTagsForResource")
    assert not aws.is_read_only("CreateVpc") and not aws.is_read_only("AttachVpnGateway") and not aws.is_read_only(None)


def test_retry_decorator_converts_errors():
    attempts = []

    @aws.retry(aws.RetryPolicy(retries=1, delay=0))
    def flaky():
        attempts.append(1)
        raise aws.AWSError("boom", code="X")

    with pytest.raises(aws.AWSError, match="boom"):
        flaky()
    assert len(attempts) == 1  # an AWSError without a retryable response is final


# --------------------------------------------------------------------------- errors

def test_format_client_error():
    response = FakeClientError("InvalidVpcID.NotFound", 400, "The vpc ID 'vpc-1' does not exist", "abc").response
    assert aws.format_client_error(response, "DescribeVpcs", "ec2", attempts=3) == (
        "ec2 DescribeVpcs failed: InvalidVpcID.NotFound: The vpc ID 'vpc-1' does not exist "
        "(HTTP 400, request id abc, after 3 attempts)")
    assert aws.format_client_error({}, None) == "AWS request failed: UnknownError: no message from the service"


def test_error_from_client_error_keeps_details():
    err = aws.error_from_exception(FakeClientError("RequestLimitExceeded", 503, "Request limit exceeded."), "CreateVpc", "ec2", 11)
    assert isinstance(err, aws.AWSError) and err.retryable and not err.is_not_found()
    assert err.to_dict() == {"code": "RequestLimitExceeded", "operation": "CreateVpc", "service": "ec2",
                             "http_status": 503, "request_id": "req-1", "attempts": 11}
    assert str(err) == "ec2 CreateVpc failed: RequestLimitExceeded: Request limit exceeded. (HTTP 503, request id req-1, after 11 attempts)"
    assert aws.is_error_code(err, "Throttling", "RequestLimitExceeded") and not aws.is_error_code(ValueError(), "X")


def test_error_from_botocore_exceptions():
    botocore_exceptions = pytest.importorskip("botocore.exceptions")
    parsers = pytest.importorskip("botocore.parsers")
    err = aws.error_from_exception(botocore_exceptions.NoCredentialsError(), "DescribeVpcs", "ec2")
    assert isinstance(err, aws.AWSConfigurationError) and "AWS_ACCESS_KEY_ID" in str(err) and "metadata" in str(err)
    err = aws.error_from_exception(botocore_exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
                                   "DescribeVpcs", "ec2", attempts=4)
    assert err.code == "ConnectionError" and "http://127.0.0.1:9" in str(err) and "after 4 attempts" in str(err)
    err = aws.error_from_exception(parsers.ResponseParserError("invalid XML received: <html>"), "CreateVpnConnectionRoute", "ec2")
    assert "not a valid AWS response" in str(err) and "do not implement" in str(err)
    err = aws.error_from_exception(botocore_exceptions.ParamValidationError(report="Invalid type for CidrBlock"), "CreateVpc")
    assert err.code == "ParamValidation" and "CidrBlock" in str(err)
    real = botocore_exceptions.ClientError(FakeClientError("Throttling", 400).response, "DescribeVpcs")
    assert aws.classify_error(real) == "throttle"


# --------------------------------------------------------------------------- tags and filters

def test_tag_conversions():
    tags = {"b": "2", "a": 1, "c": None}
    assert aws.tags_to_aws(tags) == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}, {"Key": "c", "Value": ""}]
    assert aws.tags_from_aws([{"Key": "a", "Value": "1"}, {"key": "b", "value": "2"}, {"Value": "x"}]) == {"a": "1", "b": "2"}
    assert aws.tags_from_aws(None) == {} and aws.tags_to_aws(None) == []
    assert aws.tag_specifications("vpc", {"Name": "x"}) == [{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "x"}]}]
    assert aws.tag_specifications("vpc", {}) == []


@given(st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=20), max_size=10))
def test_tag_round_trip(tags):
    assert aws.tags_from_aws(aws.tags_to_aws(tags)) == tags


def test_ownership_tags():
    assert aws.owner_tags("shop", {"Name": "x"}) == {"Name": "x", "hybrid-cluster": "shop"}
    assert aws.owner_tags("shop", {"hybrid-cluster": "other"}) == {"hybrid-cluster": "shop"}
    with pytest.raises(ValueError):
        aws.owner_tags("")
    assert aws.is_owned([{"Key": "hybrid-cluster", "Value": "shop"}], "shop")
    assert not aws.is_owned({"hybrid-cluster": "other"}, "shop") and not aws.is_owned(None, "shop")
    assert aws.owner_filters("shop", {"vpc-id": "vpc-1"}) == [
        {"Name": "tag:hybrid-cluster", "Values": ["shop"]}, {"Name": "vpc-id", "Values": ["vpc-1"]}]


def test_filters():
    assert aws.filters_to_aws({"state": ["available", "pending"], "is-default": False, "tag:n": 5}) == [
        {"Name": "is-default", "Values": ["false"]},
        {"Name": "state", "Values": ["available", "pending"]},
        {"Name": "tag:n", "Values": ["5"]},
    ]


def test_diff_tags():
    current = [{"Key": "Name", "Value": "old"}, {"Key": "keep", "Value": "1"}, {"Key": "hybrid-cluster", "Value": "shop"},
               {"Key": "aws:cloudformation:stack-name", "Value": "s"}]
    assert aws.diff_tags(current, {"Name": "new", "extra": 2}) == ({"Name": "new", "extra": "2"}, ["keep"])
    assert aws.diff_tags(current, {"Name": "new"}, purge=False) == ({"Name": "new"}, [])
    assert aws.diff_tags(current, None) == ({}, [])
    assert aws.diff_tags({"a": "1"}, {"a": "1"}) == ({}, [])
    assert aws.diff_tags({"a": "1", "hybrid-cluster": "x"}, {}) == ({}, ["a"])


# --------------------------------------------------------------------------- boto3 missing

def test_clear_error_without_boto3(monkeypatch):
    monkeypatch.setattr(aws, "HAS_BOTO3", False)
    conn = aws.resolve_connection({}, BASE)  # resolution itself needs no boto3
    with pytest.raises(aws.AWSConfigurationError, match="boto3"):
        conn.session()

    class FakeModule:
        params = {}

        def fail_json(self, **kwargs):
            raise SystemExit(kwargs)

    with pytest.raises(SystemExit) as caught:
        aws.check_boto3(FakeModule())
    assert "boto3" in caught.value.args[0]["msg"]


# --------------------------------------------------------------------------- sessions (no network)

def test_sessions_never_use_metadata_credentials(monkeypatch):
    pytest.importorskip("boto3")
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile")  # ignored: the keys win, and must not break the session
    conn = aws.resolve_connection({"region": "us-east-1"}, BASE)
    session = conn.session()
    resolver = session._session.get_component("credential_provider")  # pylint: disable=protected-access
    methods = [provider.METHOD for provider in resolver.providers]
    assert "env" in methods and "iam-role" not in methods and "container-role" not in methods
    credentials = session.get_credentials()
    assert (credentials.access_key, credentials.secret_key) == ("AKIDENV", "secretenv")
    client = conn.client("ec2", session=session)
    assert client.raw.meta.config.retries["total_max_attempts"] == 1  # our loop owns retries
    assert client.operation_name("describe_vpcs") == "DescribeVpcs" and client.operation_name("CreateVpc") == "CreateVpc"
    with pytest.raises(aws.AWSError, match="no operation"):
        client.operation_name("make_coffee")


def test_no_credentials_anywhere_gives_none_without_metadata(monkeypatch, tmp_path):
    pytest.importorskip("boto3")
    for name in aws.ENV_ACCESS_KEY + aws.ENV_SECRET_KEY + aws.ENV_SESSION_TOKEN + aws.ENV_PROFILE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    conn = aws.resolve_connection({"region": "us-east-1"}, {})
    assert conn.session().get_credentials() is None
