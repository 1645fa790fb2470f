"""cloud_preflight against both emulated clouds, through ansible-playbook and the built collection."""

import json

import yaml

from tests.emulators.azure import EmulatorClient
from tests.integration.clouds import mutating_azure

FAST = {"backoff_delay": 0.01, "backoff_max_delay": 0.05}


def playbook(args, task_extra=None, play_extra=None):
    task = {"name": "Preflight", "hybrid.cluster.cloud_preflight": dict(FAST, **args), "register": "preflight",
            "ignore_errors": True}
    task.update(task_extra or {})
    copy = {"content": "{{ preflight | to_json }}", "dest": "{{ out_file }}", "mode": "0600"}
    keep = {"name": "Keep the result", "ansible.builtin.copy": copy, "check_mode": False, "diff": False}
    play = {"name": "Preflight", "hosts": "localhost", "gather_facts": False, "tasks": [task, keep]}
    play.update(play_extra or {})
    return yaml.safe_dump([play], sort_keys=False)


def run(run_playbook, tmp_path, clouds, args, *extra, env=None, task_extra=None, play_extra=None):
    out = tmp_path / "result.json"
    if out.exists():
        out.unlink()
    proc = run_playbook(playbook(args, task_extra, play_extra), "-e", "out_file=%s" % out, *extra,
                        env=dict(clouds["env"], **(env or {})))
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    result = json.loads(out.read_text()) if out.exists() else None
    return proc, result


def rows(result, cloud):
    return {row["name"]: row for row in result["clouds"][cloud]["quotas"]}


def test_both_clouds_pass_and_nothing_changes(run_playbook, tmp_path, clouds):
    aws_mark = clouds["proxy"].log()[-1]["seq"] if clouds["proxy"].log() else 0
    azure_mark = clouds["azure"].last_request_seq
    args = {"name": "shop", "azure_location": "West Europe", "aws_instances": 6, "azure_vms": 6, "azure_cores": 24,
            "azure_core_family": "standardDSv5Family"}
    proc, result = run(run_playbook, tmp_path, clouds, args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["failed"] is False and result["changed"] is False and result["problems"] == []

    aws = result["clouds"]["aws"]
    assert aws["account"] == "123456789012" and aws["arn"].startswith("arn:aws:") and aws["region"] == "us-east-1"
    quotas = rows(result, "aws")
    assert set(quotas) == {"vpcs", "vpn_connections", "customer_gateways", "vpn_gateways", "vcpus", "instances", "elastic_ips"}
    # moto answers Service Quotas for the VPC quotas; it counts its default VPC.
    assert quotas["vpcs"] == {"name": "vpcs", "description": "VPCs per Region", "code": "L-F678F1CE", "used": 1, "limit": 5,
                              "needed": 1, "available": 4, "source": "applied", "status": "ok"}
    # It has no EC2 quotas: AWS's documented defaults are assumed, with a warning.
    assert quotas["vpn_connections"]["source"] == "assumed-default" and quotas["vpn_connections"]["limit"] == 50
    assert quotas["vpn_connections"]["needed"] == 2 and quotas["customer_gateways"]["needed"] == 2
    assert quotas["vpn_gateways"]["limit"] == 5 and quotas["vpn_gateways"]["status"] == "ok"
    assert quotas["instances"] == {"name": "instances", "description": "Running instances (EC2 account attribute max-instances)",
                                   "code": "max-instances", "used": 0, "limit": 20, "needed": 6, "available": 20,
                                   "source": "account-attributes", "status": "ok"}
    assert quotas["elastic_ips"]["limit"] == 5 and quotas["elastic_ips"]["needed"] == 0
    assert quotas["vcpus"]["status"] == "unknown" and quotas["vcpus"]["needed"] == 0
    assert any("AWS's documented defaults are assumed" in w and "(ec2 L-3E6EC3A3) 50 [NoSuchResourceException]" in w
               for w in result["warnings"])

    azure = result["clouds"]["azure"]
    assert azure["subscription_id"] == clouds["azure"].subscription_id and azure["state"] == "Enabled"
    assert azure["display_name"] and azure["tenant_id"] == clouds["azure"].tenant_id and azure["location"] == "westeurope"
    quotas = rows(result, "azure")
    assert quotas["VirtualNetworks"] == {"name": "VirtualNetworks", "description": "Virtual Networks", "code": "Microsoft.Network",
                                         "used": 0, "limit": 1000, "needed": 1, "available": 1000, "source": "usages",
                                         "status": "ok"}
    assert quotas["PublicIPAddresses"]["needed"] == 2 and quotas["StandardSkuPublicIpAddresses"]["needed"] == 2
    assert quotas["NetworkSecurityGroups"]["needed"] == 2 and quotas["RouteTables"]["needed"] == 1
    assert quotas["cores"]["needed"] == 24 and quotas["virtualMachines"]["needed"] == 6
    assert quotas["standardDSv5Family"]["needed"] == 24 and quotas["standardDSv5Family"]["status"] == "ok"

    # Read-only: no mutating call in either cloud.
    assert clouds["proxy"].mutating_calls(since=aws_mark) == []
    assert mutating_azure(clouds["azure"], azure_mark) == []
    assert [e["action"] for e in clouds["proxy"].log(since=aws_mark, action="GetCallerIdentity")] == ["GetCallerIdentity"]
    paths = [e["path"] for e in clouds["azure"].requests(since=azure_mark) if e["path"].startswith("/subscriptions")]
    assert paths[0] == "/subscriptions/%s" % clouds["azure"].subscription_id  # the credential check comes first


def test_check_mode_gives_the_same_result(run_playbook, tmp_path, clouds):
    args = {"name": "shop", "azure_location": "westeurope"}
    proc, normal = run(run_playbook, tmp_path, clouds, args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc, checked = run(run_playbook, tmp_path, clouds, args, "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert checked["changed"] is False
    assert checked["clouds"] == normal["clouds"]


def test_aws_quota_too_low_fails_with_the_fix_and_owned_resources_count(run_playbook, tmp_path, clouds, ec2):
    vpcs = [ec2.create_vpc(CidrBlock="10.%d.0.0/16" % i)["Vpc"]["VpcId"] for i in (1, 2, 3, 4)]  # with moto's default VPC: 5 of 5
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["aws"], "name": "shop"})
    assert result["failed"] is True, proc.stdout
    assert result["failed"] is True
    expected = ("aws.vpcs: VPCs per Region in us-east-1: 5 of 5 in use, the platform needs 1 more. Fix: remove VPCs that are "
                "no longer used or request a quota increase to at least 6 in Service Quotas (service vpc, quota L-F678F1CE) "
                "in us-east-1")
    assert result["problems"] == [expected]
    assert expected in result["msg"]
    assert rows(result, "aws")["vpcs"]["status"] == "too_low"
    assert result["clouds"]["aws"]["account"] == "123456789012"

    # One of them is the platform's own VPC: nothing more is needed, the check passes.
    ec2.create_tags(Resources=[vpcs[0]], Tags=[{"Key": "hybrid-cluster", "Value": "shop"}])
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["aws"], "name": "shop"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rows(result, "aws")["vpcs"]["needed"] == 0 and rows(result, "aws")["vpcs"]["status"] == "ok"
    # Without the name the platform's VPC is not recognised.
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["aws"]})
    assert result["failed"] is True and [p.split(":")[0] for p in result["problems"]] == ["aws.vpcs"]


def test_azure_quotas_too_low_fail_with_the_fix(run_playbook, tmp_path, clouds):
    client = EmulatorClient(clouds["env"]["HYBRID_AZURE_EMULATOR_URL"], clouds["env"]["AZURE_CA_BUNDLE"])
    client.configure(usages={"Microsoft.Compute/cores": {"limit": 10, "currentValue": 8},
                             "Microsoft.Network/VirtualNetworks": {"limit": 3, "currentValue": 3}})
    args = {"clouds": ["azure"], "azure_location": "westeurope", "azure_cores": 24, "azure_vms": 3}
    proc, result = run(run_playbook, tmp_path, clouds, args)
    assert result["failed"] is True, proc.stdout
    assert result["problems"] == [
        "azure.VirtualNetworks: Virtual Networks in westeurope: 3 of 3 in use, the platform needs 1 more. Fix: delete virtual "
        "networks in westeurope that are no longer used or request a higher limit (Azure portal, Quotas, Networking: Virtual "
        "Networks) of at least 4",
        "azure.cores: Total Regional vCPUs in westeurope: 8 of 10 in use, the platform needs 24 more. Fix: request a vCPU quota "
        "increase for westeurope (Azure portal, Quotas, Compute: Total Regional vCPUs) to at least 32, or use fewer or smaller VMs",
    ]
    assert result["msg"].startswith("Preflight found 2 problems: azure.VirtualNetworks: ")
    quotas = rows(result, "azure")
    assert quotas["cores"]["status"] == "too_low" and quotas["virtualMachines"]["status"] == "ok"


def test_owned_azure_network_counts_as_built(run_playbook, tmp_path, clouds):
    sub = clouds["azure"].subscription_id
    vnet = "/subscriptions/%s/resourceGroups/shop-rg/providers/Microsoft.Network/virtualNetworks/shop-vnet" % sub
    clouds["azure"].seed([{"id": vnet, "location": "westeurope", "tags": {"hybrid-cluster": "shop"},
                           "properties": {"addressSpace": {"addressPrefixes": ["10.65.0.0/16"]}}}])
    clouds["azure"].configure(usages={"Microsoft.Network/VirtualNetworks": {"limit": 1}})
    args = {"clouds": ["azure"], "azure_location": "westeurope", "plan": {"name": "shop"}}
    proc, result = run(run_playbook, tmp_path, clouds, args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert rows(result, "azure")["VirtualNetworks"]["used"] == 1 and rows(result, "azure")["VirtualNetworks"]["needed"] == 0
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["azure"], "azure_location": "westeurope", "name": "other"})
    assert result["failed"] is True and result["problems"][0].startswith("azure.VirtualNetworks: Virtual Networks in westeurope: 1 of 1")


def test_wrong_azure_secret_is_named_without_traceback_or_secret(run_playbook, tmp_path, clouds):
    wrong = "wrong-secret-Zq8uY2"
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["azure"], "azure_location": "westeurope"}, "-vvv",
                       env={"AZURE_SECRET": wrong})
    assert result["failed"] is True, proc.stdout
    assert len(result["problems"]) == 1
    line = result["problems"][0]
    assert line.startswith("azure: the service principal could not sign in: AADSTS7000215: Invalid client secret provided.")
    assert line.endswith("Fix: check secret (AZURE_SECRET, AZURE_CLIENT_SECRET): use the client secret's value, not its id")
    assert result["clouds"]["azure"]["subscription_id"] is None
    assert wrong not in proc.stdout + proc.stderr


def test_refused_aws_credentials_are_named(run_playbook, tmp_path, clouds):
    clouds["proxy"].add_fault("error", action="GetCallerIdentity", status=403, code="InvalidClientTokenId",
                              message="The security token included in the request is invalid.")
    mark = clouds["proxy"].log()[-1]["seq"] if clouds["proxy"].log() else 0
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["aws"]})
    assert result["failed"] is True, proc.stdout
    assert result["problems"] == [
        "aws: the credentials were refused: sts GetCallerIdentity failed: InvalidClientTokenId: The security token included "
        "in the request is invalid. (HTTP 403, request id %s). Fix: check access_key (AWS_ACCESS_KEY_ID): AWS does not know "
        "this access key" % result["problems"][0].split("request id ")[1].split(")")[0]]
    assert result["clouds"]["aws"]["account"] is None and result["clouds"]["aws"]["quotas"] == []
    # Nothing else was asked once the credentials were refused.
    assert [e["action"] for e in clouds["proxy"].log(since=mark)] == ["GetCallerIdentity"]


def test_no_secret_reaches_the_output(run_playbook, tmp_path, clouds):
    aws_secret = "aws-secret-Kx71Ljq0"
    azure_secret = clouds["env"]["AZURE_SECRET"]
    args = {"azure_location": "westeurope", "access_key": "AKIDPREFLIGHTTEST", "secret_key": aws_secret,
            "session_token": "session-token-Hh3Pq", "secret": azure_secret}
    proc, result = run(run_playbook, tmp_path, clouds, args, "-vvv", env={"AZURE_SECRET": "", "AWS_SECRET_ACCESS_KEY": ""})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout + proc.stderr + json.dumps(result)
    for secret in (aws_secret, azure_secret, "session-token-Hh3Pq"):
        assert secret not in text


def test_unavailable_quota_apis_only_warn(run_playbook, tmp_path, clouds):
    clouds["proxy"].add_fault("error", action="GetServiceQuota", status=400, code="AccessDeniedException",
                              message="User is not authorized to perform: servicequotas:GetServiceQuota")
    clouds["azure"].set_fault("error", path=r"/providers/Microsoft\.Compute/locations/[^/]+/usages", status=403,
                              code="AuthorizationFailed", message="no access to compute usages")
    proc, result = run(run_playbook, tmp_path, clouds, {"azure_location": "westeurope", "azure_cores": 4})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    aws = rows(result, "aws")
    assert aws["vpcs"]["source"] == "assumed-default" and aws["vpcs"]["limit"] == 5 and aws["vpcs"]["status"] == "ok"
    azure = rows(result, "azure")
    assert azure["cores"] == {"name": "cores", "description": "cores", "code": "Microsoft.Compute", "used": None, "limit": None,
                              "needed": 4, "available": None, "source": "unavailable", "status": "unknown"}
    assert azure["VirtualNetworks"]["status"] == "ok"
    warnings = " ".join(result["warnings"])
    assert "AccessDeniedException" in warnings and "L-F678F1CE" in warnings
    assert "the Microsoft.Compute usages of westeurope could not be read" in warnings and "AuthorizationFailed" in warnings


def test_module_defaults_of_the_clouds_group(run_playbook, tmp_path, clouds):
    defaults = {"module_defaults": {"group/hybrid.cluster.clouds": {"azure_location": "westeurope", "azure_resource_group": "shop-rg",
                                                                    "region": "us-east-1", "tags": {"env": "test"},
                                                                    "wait_timeout": 600}}}
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["aws", "azure"]}, play_extra=defaults)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["clouds"]["azure"]["location"] == "westeurope"


def test_missing_azure_location_fails_before_any_call(run_playbook, tmp_path, clouds):
    aws_mark = clouds["proxy"].log()[-1]["seq"] if clouds["proxy"].log() else 0
    azure_mark = clouds["azure"].last_request_seq
    proc, result = run(run_playbook, tmp_path, clouds, {"clouds": ["aws", "azure"]})
    assert result["failed"] is True, proc.stdout
    assert result["msg"] == ("azure_location: required when azure is in clouds. Fix: set it to the region the platform is built "
                             "in, for example westeurope")
    assert clouds["proxy"].log(since=aws_mark) == []
    assert clouds["azure"].requests(since=azure_mark) == []
