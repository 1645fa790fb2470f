"""cross_cloud_sg against both emulated clouds, through ansible-playbook and the built collection."""

import json

import pytest

from tests.integration.clouds import mutating_azure

HEAD = """
- name: Security
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan
      hybrid.cluster.cidr_plan:
        name: shop
        aws: {region: us-east-1, zones: [a]}
      register: shop_plan

    - name: Network
      hybrid.cluster.cloud_network:
        plan: "{{ shop_plan.plan }}"
        azure_location: westeurope
        azure_resource_group: shop-rg
        backoff_delay: 0.01
      check_mode: false
"""

SG = """
    - name: Rules
      hybrid.cluster.cross_cloud_sg:
        plan: "{{{{ shop_plan.plan }}}}"
        azure_location: westeurope
        azure_resource_group: shop-rg
        backoff_delay: 0.01
        {options}
      register: rules

    - name: Keep the result
      ansible.builtin.copy:
        content: "{{{{ rules | to_json }}}}"
        dest: "{{{{ out_file }}}}"
        mode: "0600"
      check_mode: false
      diff: false
"""


def run(run_playbook, tmp_path, clouds, options="admin_cidrs: [203.0.113.0/24]", *args):
    out = tmp_path / "rules.json"
    if out.exists():
        out.unlink()
    proc = run_playbook(HEAD + SG.format(options=options), "-e", "out_file=%s" % out, *args, env=clouds["env"])
    return proc, (json.loads(out.read_text()) if out.exists() else None)


def groups(ec2):
    flt = [{"Name": "tag:hybrid-cluster", "Values": ["shop"]}]
    return {g["GroupName"]: g for g in ec2.collect("describe_security_groups", "SecurityGroups", Filters=flt)}


def atoms(group):
    out = set()
    for perm in group["IpPermissions"]:
        for r in perm.get("IpRanges", []):
            out.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), r["CidrIp"]))
        for r in perm.get("UserIdGroupPairs", []):
            out.add((perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"), r["GroupId"]))
    return out


def test_least_privilege_rules_idempotence_and_teardown(run_playbook, tmp_path, clouds, ec2, azure_clients):
    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True

    found = groups(ec2)
    cp, workers = found["shop-control-plane"], found["shop-workers"]
    cp_atoms, worker_atoms = atoms(cp), atoms(workers)
    # etcd only from the control plane group, never from a CIDR
    etcd = {a for a in cp_atoms if a[1] == 2379}
    assert etcd == {("tcp", 2379, 2380, cp["GroupId"])}
    # nothing is open to the world; admin range only for SSH and the API
    assert not any(a[3] == "0.0.0.0/0" for a in cp_atoms | worker_atoms)
    assert {a[1] for a in cp_atoms if a[3] == "203.0.113.0/24"} == {22, 6443}
    # the other cloud's subnets reach the tunnel port and the clustermesh apiserver, not the kubelet
    assert ("udp", 8472, 8472, "10.65.0.0/20") in worker_atoms
    assert ("tcp", 32379, 32379, "10.65.0.0/20") in worker_atoms
    assert not any(a[1] == 10250 and a[3].startswith("10.65.") for a in worker_atoms)
    assert len(cp_atoms) <= 60 and len(worker_atoms) <= 60

    nsg = azure_clients.network.network_security_groups.get("shop-rg", "shop-workers-nsg")
    rules = sorted(nsg.security_rules, key=lambda r: r.priority)
    assert rules[-1].access == "Deny" and rules[-1].priority == 4096
    assert all(r.access == "Allow" for r in rules[:-1])
    assert len({r.priority for r in rules}) == len(rules)
    assert not any("*" in (r.source_address_prefixes or []) or "0.0.0.0/0" in (r.source_address_prefixes or []) for r in rules)
    vnet = azure_clients.network.virtual_networks.get("shop-rg", "shop-vnet")
    attached = {s.name: (s.network_security_group.id if s.network_security_group else None) for s in vnet.subnets}
    assert attached["shop-workers"].endswith("/shop-workers-nsg")
    assert attached["shop-control-plane"].endswith("/shop-control-plane-nsg")
    assert attached["GatewaySubnet"] is None

    # second run: no change, no mutating call
    aws_mark = clouds["proxy"].log()[-1]["seq"]
    azure_mark = clouds["azure"].last_request_seq
    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is False, result["changes"]
    assert clouds["proxy"].log(since=aws_mark, mutating=True) == []
    assert mutating_azure(clouds["azure"], azure_mark) == []

    # drift: a hand-made "all TCP from anywhere" rule is shown, then removed
    ec2.authorize_security_group_ingress(GroupId=workers["GroupId"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    proc, result = run(run_playbook, tmp_path, clouds, "admin_cidrs: [203.0.113.0/24]", "--check", "--diff")
    assert proc.returncode == 0 and result["changed"] is True
    assert "tcp:0-65535 from 0.0.0.0/0" in proc.stdout
    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    assert not any(a[3] == "0.0.0.0/0" for a in atoms(groups(ec2)["shop-workers"]))

    # drift in Azure: a rule added to an NSG by hand is removed, and the hand-detached NSG put back
    network = azure_clients.network
    network.security_rules.begin_create_or_update("shop-rg", "shop-workers-nsg", "hand-made-ssh", {"properties": {
        "priority": 200, "direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "*",
        "sourcePortRange": "*", "destinationAddressPrefix": "*", "destinationPortRange": "22"}}).result()
    proc, result = run(run_playbook, tmp_path, clouds)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    assert [c["name"] for c in result["changes"] if c["cloud"] == "azure"] == ["shop-workers-nsg"]
    rules = {r.name for r in network.network_security_groups.get("shop-rg", "shop-workers-nsg").security_rules}
    assert "hand-made-ssh" not in rules and "hc-deny-other-inbound" in rules

    # teardown
    proc, result = run(run_playbook, tmp_path, clouds, "state: absent")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert groups(ec2) == {}
    names = [n.name for n in azure_clients.network.network_security_groups.list("shop-rg")]
    assert names == []


def test_check_mode_changes_nothing(run_playbook, tmp_path, clouds, ec2, azure_clients):
    proc, _result = run(run_playbook, tmp_path, clouds, "state: absent")  # the network only
    assert proc.returncode == 0, proc.stdout + proc.stderr
    aws_mark = clouds["proxy"].log()[-1]["seq"]
    azure_mark = clouds["azure"].last_request_seq
    proc, result = run(run_playbook, tmp_path, clouds, "admin_cidrs: [203.0.113.0/24]", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["changed"] is True
    assert {c["action"] for c in result["changes"]} >= {"create", "authorize", "attach"}
    assert groups(ec2) == {}
    assert clouds["proxy"].log(since=aws_mark, mutating=True) == []
    assert mutating_azure(clouds["azure"], azure_mark) == []
    assert list(azure_clients.network.network_security_groups.list("shop-rg")) == []


@pytest.mark.parametrize("options, words", [
    ("components: [kubernetes, consul]", "consul"),
    ("extra_sources: [{component: etcd, cidrs: [198.51.100.0/24]}]", "public address space"),
    ("admin_cidrs: [10.0.0.1/8]", "host bits"),
])
def test_invalid_input_fails_and_creates_nothing(run_playbook, tmp_path, clouds, ec2, options, words):
    proc, _result = run(run_playbook, tmp_path, clouds, options)
    assert proc.returncode != 0
    assert words in proc.stdout
    assert groups(ec2) == {}
