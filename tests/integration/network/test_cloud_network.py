"""cloud_network against both emulated clouds, through ansible-playbook and the built collection."""

import json

from tests.integration.clouds import mutating_azure

PLAN_TASK = """
    - name: Plan
      hybrid.cluster.cidr_plan:
        name: shop
        aws: {region: us-east-1, zones: [a, b]}
      register: shop_plan
"""

NETWORK_TASK = """
    - name: Network
      hybrid.cluster.cloud_network:
        plan: "{{{{ shop_plan.plan }}}}"
        state: {state}
        azure_location: westeurope
        azure_resource_group: shop-rg
        backoff_delay: 0.01
        backoff_max_delay: 0.05
      register: network
      {extra}

    - name: Keep the result
      ansible.builtin.copy:
        content: "{{{{ network | to_json }}}}"
        dest: "{{{{ out_file }}}}"
        mode: "0600"
      check_mode: false
      diff: false
"""


def playbook(state="present", extra=""):
    return "- name: Network\n  hosts: localhost\n  gather_facts: false\n  tasks:\n" + PLAN_TASK + NETWORK_TASK.format(state=state, extra=extra)


def run(run_playbook, tmp_path, clouds, *args, state="present", extra=""):
    out = tmp_path / "result.json"
    proc = run_playbook(playbook(state, extra), "-e", "out_file=%s" % out, *args, env=clouds["env"])
    result = json.loads(out.read_text()) if out.exists() else None
    return proc, result


def owned_ec2(ec2):
    """Everything in moto carrying the ownership tag, by kind."""
    flt = [{"Name": "tag:hybrid-cluster", "Values": ["shop"]}]
    return {
        "vpcs": ec2.collect("describe_vpcs", "Vpcs", Filters=flt),
        "subnets": ec2.collect("describe_subnets", "Subnets", Filters=flt),
        "route_tables": ec2.collect("describe_route_tables", "RouteTables", Filters=flt),
    }


def test_create_then_nothing_to_do_then_teardown(run_playbook, tmp_path, clouds, ec2, azure_clients):
    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    actions = {(c["cloud"], c["action"], c["resource"]) for c in result["changes"]}
    assert ("aws", "create", "vpc") in actions and ("azure", "create", "virtual-network") in actions

    found = owned_ec2(ec2)
    assert [v["CidrBlock"] for v in found["vpcs"]] == ["10.64.0.0/16"]
    assert len(found["subnets"]) == 4  # workers and control plane in two zones
    assert {s["AvailabilityZone"] for s in found["subnets"]} == {"us-east-1a", "us-east-1b"}
    table = found["route_tables"][0]
    assert {a["SubnetId"] for a in table["Associations"] if a.get("SubnetId")} == {s["SubnetId"] for s in found["subnets"]}
    vnet = azure_clients.network.virtual_networks.get("shop-rg", "shop-vnet")
    assert vnet.address_space.address_prefixes == ["10.65.0.0/16"]
    subnets = {s.name: s for s in vnet.subnets}
    assert set(subnets) == {"shop-workers", "shop-control-plane", "GatewaySubnet"}
    assert subnets["GatewaySubnet"].route_table is None
    assert subnets["shop-workers"].route_table.id.endswith("/shop-nodes")
    assert result["aws"]["vpc_id"] == found["vpcs"][0]["VpcId"]

    # Second run: nothing to do, and no mutating call in either cloud.
    aws_mark = clouds["proxy"].log()[-1]["seq"]
    azure_mark = clouds["azure"].last_request_seq
    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is False and result["changes"] == []
    assert clouds["proxy"].log(since=aws_mark, mutating=True) == []
    assert clouds["proxy"].log(since=aws_mark), "the second run did not even look"
    assert mutating_azure(clouds["azure"], azure_mark) == []

    # Teardown leaves nothing with the ownership tag.
    proc, result = run(run_playbook, tmp_path, clouds, state="absent")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    assert owned_ec2(ec2) == {"vpcs": [], "subnets": [], "route_tables": []}
    groups = [g.name for g in azure_clients.resource.resource_groups.list()]
    assert "shop-rg" not in groups
    proc, result = run(run_playbook, tmp_path, clouds, state="absent")
    assert proc.returncode == 0 and result["changed"] is False


def test_check_mode_creates_nothing(run_playbook, tmp_path, clouds, ec2, azure_clients):
    aws_mark = clouds["proxy"].log()[-1]["seq"] if clouds["proxy"].log() else 0
    azure_mark = clouds["azure"].last_request_seq
    proc, result = run(run_playbook, tmp_path, clouds, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True and result["changes"]
    assert owned_ec2(ec2)["vpcs"] == []
    assert clouds["proxy"].log(since=aws_mark, mutating=True) == []
    assert mutating_azure(clouds["azure"], azure_mark) == []
    assert "shop-rg" not in [g.name for g in azure_clients.resource.resource_groups.list()]


def test_drift_is_shown_and_repaired(run_playbook, tmp_path, clouds, ec2):
    proc, _result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    subnet = owned_ec2(ec2)["subnets"][0]
    ec2.create_tags(Resources=[subnet["SubnetId"]], Tags=[{"Key": "hybrid-cluster-role", "Value": "hand-edited"},
                                                          {"Key": "extra", "Value": "x"}])

    aws_mark = clouds["proxy"].log()[-1]["seq"]
    proc, result = run(run_playbook, tmp_path, clouds, "--check", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    assert {c["action"] for c in result["changes"]} == {"tag", "untag"}
    assert "hand-edited" in proc.stdout  # the diff shows the drifted tag
    assert clouds["proxy"].log(since=aws_mark, mutating=True) == []

    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0 and result["changed"] is True
    tags = {t["Key"]: t["Value"] for t in ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]["Tags"]}
    assert tags["hybrid-cluster-role"] in ("workers", "control_plane") and "extra" not in tags
    proc, result = run(run_playbook, tmp_path, clouds)
    assert result["changed"] is False


def test_incomplete_plan_fails_before_any_call(run_playbook, tmp_path, clouds, ec2):
    text = """
- name: Bad plan
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Network from a plan that is not one
      hybrid.cluster.cloud_network:
        plan: {name: shop}
        azure_location: westeurope
        azure_resource_group: shop-rg
"""
    mark = clouds["proxy"].log()[-1]["seq"] if clouds["proxy"].log() else 0
    proc = run_playbook(text, env=clouds["env"])
    assert proc.returncode != 0
    assert "plan: not a complete address plan" in proc.stdout
    assert clouds["proxy"].log(since=mark) == []
    assert owned_ec2(ec2)["vpcs"] == []


def test_edited_plan_with_overlapping_ranges_fails_before_any_call(run_playbook, tmp_path, clouds, ec2):
    text = """
- name: Edited plan
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan
      hybrid.cluster.cidr_plan:
        name: shop
      register: shop_plan

    - name: Network from a plan whose VNet was moved onto the VPC
      hybrid.cluster.cloud_network:
        plan: "{{ shop_plan.plan | combine({'azure': shop_plan.plan.azure | combine({'network': shop_plan.plan.aws.network})}) }}"
        azure_location: westeurope
        azure_resource_group: shop-rg
"""
    mark = clouds["proxy"].log()[-1]["seq"] if clouds["proxy"].log() else 0
    azure_mark = clouds["azure"].last_request_seq
    proc = run_playbook(text, env=clouds["env"])
    assert proc.returncode != 0
    assert "overlaps" in proc.stdout and "plan.aws.network" in proc.stdout
    assert clouds["proxy"].log(since=mark) == []
    assert mutating_azure(clouds["azure"], azure_mark) == []
    assert owned_ec2(ec2)["vpcs"] == []
