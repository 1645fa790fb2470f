"""Fault injection, retries and error messages of the AWS client layer, over real HTTP to moto."""

import time

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import (
    AWSError,
    AWSWaitTimeout,
    RetryPolicy,
    resolve_connection,
)
from tests.emulators.aws_fixtures import FAST_BACKOFF
from tests.emulators.fault_proxy import FaultProxyClient


def test_throttled_call_is_retried_and_logged(ec2, fault_proxy):
    fault_proxy.add_fault("throttle", action="DescribeVpcs", count=3)
    retries = []
    client = resolve_connection(FAST_BACKOFF).client("ec2", on_retry=lambda *args: retries.append(args[:3]))
    assert client.describe_vpcs()["Vpcs"]
    assert retries == [("DescribeVpcs", 1, "throttle"), ("DescribeVpcs", 2, "throttle"), ("DescribeVpcs", 3, "throttle")]
    log = fault_proxy.log(action="DescribeVpcs")
    assert [(e["status"], e["fault"]) for e in log] == [(503, "throttle")] * 3 + [(200, None)]
    assert ec2.describe_vpcs()["Vpcs"]  # the rule is used up


def test_server_errors_and_dropped_reads_are_retried(ec2, fault_proxy):
    fault_proxy.add_fault("error", action="DescribeSubnets", count=2)
    fault_proxy.add_fault("drop", action="DescribeRouteTables", count=2)
    assert ec2.describe_subnets()["Subnets"]
    assert ec2.describe_route_tables()["RouteTables"]
    assert [e["status"] for e in fault_proxy.log(action="DescribeSubnets")] == [500, 500, 200]
    assert [e["fault"] for e in fault_proxy.log(action="DescribeRouteTables")] == ["drop", "drop", None]


def test_mutating_call_is_not_repeated_after_a_dropped_connection(ec2, fault_proxy):
    fault_proxy.add_fault("drop", action="CreateVpc", count=1)
    with pytest.raises(AWSError) as caught:
        ec2.create_vpc(CidrBlock="10.90.0.0/16")
    message = str(caught.value)
    assert "ec2 CreateVpc failed" in message and "Not retried" in message
    assert [e["fault"] for e in fault_proxy.log(action="CreateVpc")] == ["drop"]


def test_mutating_call_with_idempotency_token_is_retried_once_applied(ec2, fault_proxy):
    # RunInstances carries a ClientToken, filled once by the client layer and reused by the retry.
    fault_proxy.add_fault("drop", action="RunInstances", count=1)
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)
    assert [e["fault"] for e in fault_proxy.log(action="RunInstances")] == ["drop", None]
    reservations = ec2.paginate_all("describe_instances")["Reservations"]
    assert sum(len(r["Instances"]) for r in reservations) == 1


def test_retries_give_up_with_a_clear_message(fault_proxy):
    fault_proxy.add_fault("throttle", action="DescribeVpcs")
    client = resolve_connection(dict(FAST_BACKOFF, backoff_retries=3)).client("ec2")
    with pytest.raises(AWSError) as caught:
        client.describe_vpcs()
    err = caught.value
    assert err.code == "RequestLimitExceeded" and err.attempts == 4 and err.status == 503
    assert str(err).startswith("ec2 DescribeVpcs failed: RequestLimitExceeded: Request limit exceeded.")
    assert "after 4 attempts" in str(err)
    assert len(fault_proxy.log(action="DescribeVpcs")) == 4


def test_service_errors_are_clear_and_not_retried(ec2, fault_proxy):
    with pytest.raises(AWSError) as caught:
        ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    err = caught.value
    assert err.is_not_found() and err.code == "InvalidVpcID.NotFound" and err.operation == "DescribeVpcs"
    assert str(err).startswith("ec2 DescribeVpcs failed: InvalidVpcID.NotFound: ")
    assert "vpc-0123456789abcdef0" in str(err) and "HTTP 400" in str(err)

    with pytest.raises(AWSError) as caught:
        ec2.create_vpc(CidrBlock="10.300.0.0/16")
    assert caught.value.code == "InvalidParameterValue" and "10.300.0.0/16" in str(caught.value)
    assert len(fault_proxy.log(action="CreateVpc")) == 1  # a client error is final


def test_parameter_errors_never_reach_the_endpoint(ec2, fault_proxy):
    with pytest.raises(AWSError) as caught:
        ec2.create_vpc(CidrBlock=16)
    assert caught.value.code == "ParamValidation" and "CreateVpc" in str(caught.value)
    assert fault_proxy.log() == []


def test_unimplemented_emulator_action_is_explained(ec2, moto_emulator):
    with pytest.raises(AWSError) as caught:
        ec2.get_vpn_connection_device_types()
    message = str(caught.value)
    assert "GetVpnConnectionDeviceTypes failed" in message and "not a valid AWS response" in message
    deadline = time.monotonic() + 5  # moto logs the traceback just after it answered
    while "not been implemented" not in moto_emulator.log_tail() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "get_vpn_connection_device_types action has not been implemented" in moto_emulator.log_tail()


def test_unreachable_endpoint_is_reported(aws_env):  # pylint: disable=unused-argument
    from tests.emulators.moto_server import free_port  # pylint: disable=import-outside-toplevel
    url = "http://127.0.0.1:%d" % free_port()
    client = resolve_connection(dict(FAST_BACKOFF, backoff_retries=2, endpoint_url=url)).client("ec2")
    with pytest.raises(AWSError) as caught:
        client.describe_vpcs()
    assert caught.value.code == "ConnectionError" and url in str(caught.value) and caught.value.attempts == 3


def test_waiter_times_out_with_a_clear_message(ec2):
    with pytest.raises(AWSWaitTimeout) as caught:
        ec2.wait("vpc_exists", timeout=0.2, delay=0.05, VpcIds=["vpc-0123456789abcdef0"])
    assert "vpc_exists did not succeed within 0.2s" in str(caught.value)


def test_waiter_keeps_waiting_through_throttling(ec2, fault_proxy):
    vpc_id = ec2.create_vpc(CidrBlock="10.91.0.0/16")["Vpc"]["VpcId"]
    fault_proxy.add_fault("throttle", action="DescribeVpcs", count=2)
    response = ec2.wait("vpc_available", timeout=5, delay=0.01, VpcIds=[vpc_id])
    assert response["Vpcs"][0]["State"] == "available"
    assert [e["status"] for e in fault_proxy.log(action="DescribeVpcs")] == [503, 503, 200]


def test_latency_is_added(ec2, fault_proxy):
    fault_proxy.add_fault("latency", action="DescribeVpcs", delay=0.3)
    started = time.monotonic()
    ec2.describe_vpcs()
    assert time.monotonic() - started >= 0.3
    assert fault_proxy.log(action="DescribeVpcs")[0]["duration"] >= 0.3


def test_query_protocol_throttling_shape(aws_params, fault_proxy):
    sts = resolve_connection(aws_params).client("sts")
    fault_proxy.add_fault("throttle", action="GetCallerIdentity", count=2)
    assert sts.get_caller_identity()["Account"]
    log = fault_proxy.log(action="GetCallerIdentity")
    assert [(e["service"], e["status"]) for e in log] == [("sts", 400), ("sts", 400), ("sts", 200)]


def test_json_protocol_throttling_shape(aws_params, fault_proxy):
    logs = resolve_connection(aws_params).client("logs")
    fault_proxy.add_fault("throttle", service="logs", count=1)
    assert logs.describe_log_groups()["logGroups"] == []
    assert [(e["action"], e["status"]) for e in fault_proxy.log()] == [("DescribeLogGroups", 400), ("DescribeLogGroups", 200)]


def test_rest_protocol_throttling_shape(aws_params, fault_proxy):
    eks = resolve_connection(aws_params).client("eks")
    fault_proxy.add_fault("throttle", service="eks", count=1)
    assert eks.list_clusters()["clusters"] == []
    assert [(e["action"], e["status"], e["fault"]) for e in fault_proxy.log()] == [(None, 429, "throttle"), (None, 200, None)]


def test_control_interface_over_http(ec2, fault_proxy):
    remote = FaultProxyClient(fault_proxy.url)
    assert remote.health()["status"] == "ok"
    rule = remote.add_fault("throttle", action="Describe*", count=1)
    assert [r["id"] for r in remote.faults()] == [rule["id"]]
    ec2.describe_vpcs()
    ec2.create_vpc(CidrBlock="10.92.0.0/16")
    assert [(e["action"], e["fault"]) for e in remote.log()] == [
        ("DescribeVpcs", "throttle"), ("DescribeVpcs", None), ("CreateVpc", None)]
    assert [e["action"] for e in remote.mutating_calls()] == ["CreateVpc"]
    stats = remote.stats()
    assert stats["requests"] == 3 and stats["mutating"] == 1 and stats["by_fault"] == {"throttle": 1}
    assert [r["fired"] for r in remote.faults()] == [1]  # a used-up rule stays listed
    assert remote.clear_faults(rule["id"]) == 1 and remote.faults() == []
    remote.add_fault("error", action="CreateVpc")
    remote.reset()
    assert remote.log() == [] and remote.faults() == []


def test_control_interface_rejects_bad_rules(fault_proxy):
    remote = FaultProxyClient(fault_proxy.url)
    with pytest.raises(RuntimeError, match="unknown fault kind"):
        remote.add_fault("explode")
    with pytest.raises(RuntimeError, match="rate must be between 0 and 1"):
        remote.add_fault("throttle", rate=2)


def test_retry_policy_without_retries_fails_fast(aws_params, fault_proxy):
    client = resolve_connection(aws_params).client("ec2")
    client.policy = RetryPolicy(retries=0)
    fault_proxy.add_fault("throttle", action="DescribeVpcs", count=1)
    with pytest.raises(AWSError):
        client.describe_vpcs()
    assert len(fault_proxy.log()) == 1
