"""The collection's phase playbooks (hybrid.cluster.<phase>) against both emulated clouds.

What is checked here is what the end-to-end demo (make demo-ci) does not reach: every way the
hybrid definition or a guard refuses to run, each before any cloud call, and check mode on a
platform that does not exist yet. The demo runs the phases themselves end to end.
"""

import json

import pytest

from tests.integration.clouds import mutating_azure

BASE = {
    "hybrid_name": "shop",
    "hybrid_aws": {"region": "us-east-1", "zones": ["a"]},
    "hybrid_azure": {"location": "westeurope"},
    "hybrid_nodes": {"aws": {"control_plane": 1, "workers": 1}, "azure": {"control_plane": 1, "workers": 1}},
}


def phase(name):
    return "- name: Phase {0}\n  ansible.builtin.import_playbook: hybrid.cluster.{0}\n".format(name)


def marks(clouds):
    log = clouds["proxy"].log()
    return (log[-1]["seq"] if log else 0), clouds["azure"].last_request_seq


def calls_since(clouds, mark, mutating_only=False):
    aws = clouds["proxy"].log(since=mark[0], mutating=mutating_only)
    azure = mutating_azure(clouds["azure"], mark[1]) if mutating_only else [
        e for e in clouds["azure"].requests(mark[1]) if "/_emulator" not in e["path"]]
    return aws, azure


def run_phase(run_playbook, clouds, tmp_path, name, definition, *args):
    definition = dict(definition, hybrid_work_dir=str(tmp_path / "work"))
    proc = run_playbook(phase(name), "-e", json.dumps(definition), *args, env=clouds["env"])
    return proc, proc.stdout + proc.stderr


@pytest.mark.parametrize("change, expected", [
    ({"hybrid_aws": {"region": "us-east-1", "regoin": "us-east-2"}}, "regoin"),
    ({"hybrid_name": None}, "hybrid_name"),
    ({"hybrid_topology": "ring"}, "hybrid_topology"),
    ({"hybrid_nodes": {"aws": {"control_plane": 2, "workers": 1}, "azure": {"control_plane": 1, "workers": 1}}},
     "hybrid_nodes: AWS and Azure would have an even number of etcd members (2, 1)"),
    ({"hybrid_topology": "stretched"}, "the stretched cluster would have an even number of etcd members (2)"),
    ({"hybrid_reserved": ["10.64.0.0/10"]}, "reserved"),
], ids=["typo", "no-name", "bad-topology", "even-etcd-mesh", "even-etcd-stretched", "reserved-overlap"])
def test_definition_refused_before_any_cloud_call(run_playbook, clouds, tmp_path, change, expected):
    definition = {k: v for k, v in dict(BASE, **change).items() if v is not None}
    mark = marks(clouds)
    proc, out = run_phase(run_playbook, clouds, tmp_path, "preflight", definition)
    assert proc.returncode != 0, out
    assert expected in out
    assert "Traceback" not in out
    assert calls_since(clouds, mark) == ([], [])


def test_teardown_needs_the_platform_name(run_playbook, clouds, tmp_path):
    mark = marks(clouds)
    for confirm in ({}, {"hybrid_teardown_confirm": "shop2"}):
        proc, out = run_phase(run_playbook, clouds, tmp_path, "teardown", dict(BASE, **confirm))
        assert proc.returncode != 0
        assert "hybrid_teardown_confirm: this removes the platform shop" in out
        assert "-e hybrid_teardown_confirm=shop" in out
    assert calls_since(clouds, mark) == ([], [])


def test_teardown_refuses_while_machines_are_listed(run_playbook, clouds, tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    k8s_cluster:\n      hosts:\n        shop-aws-cp-1:\n        shop-azure-w-1:\n")
    mark = marks(clouds)
    proc, out = run_phase(run_playbook, clouds, tmp_path, "teardown", dict(BASE, hybrid_teardown_confirm="shop"),
                          "-i", str(inventory))
    assert proc.returncode != 0
    assert "still lists 2 machine(s) of shop: shop-aws-cp-1, shop-azure-w-1" in out
    assert calls_since(clouds, mark, mutating_only=True) == ([], [])


def test_network_check_mode_on_a_new_platform_changes_nothing(run_playbook, clouds, tmp_path):
    mark = marks(clouds)
    proc, out = run_phase(run_playbook, clouds, tmp_path, "network", BASE, "--check", "--diff")
    assert proc.returncode == 0, out
    assert "Check mode: the VPC or the VNet does not exist yet" in out
    assert '"name": "shop-vpc"' in out or "shop-vpc" in out      # the diff shows what would be made
    assert calls_since(clouds, mark, mutating_only=True) == ([], [])
    assert not (tmp_path / "work" / "state" / "network.json").exists()


def test_preflight_reads_both_clouds_and_changes_nothing(run_playbook, clouds, tmp_path):
    mark = marks(clouds)
    proc, out = run_phase(run_playbook, clouds, tmp_path, "preflight", dict(BASE, hybrid_admin_cidrs=["0.0.0.0/0"]))
    assert proc.returncode == 0, out
    assert "changed=0" in out and "failed=0" in out
    # The credentials were read from both clouds (one cheap call each, plus the quotas).
    assert "arn:aws:" in out and "westeurope" in out
    # What the seed article got wrong is pointed out when the definition repeats it.
    assert "hybrid_admin_cidrs opens SSH and the Kubernetes API to the whole internet" in out
    assert "hybrid_topology is stretched" not in out and "encrypted twice" not in out
    aws, azure = calls_since(clouds, mark)
    assert aws and azure
    assert calls_since(clouds, mark, mutating_only=True) == ([], [])


def test_keys_in_the_definition_never_reach_the_output(run_playbook, clouds, tmp_path):
    key = "Kx9vQ2mTzR7wLp4sN8bYc3dF6hJ1"
    proc, out = run_phase(run_playbook, clouds, tmp_path, "preflight", dict(BASE, hybrid_vpn={"pre_shared_keys": [key]}), "-vvv")
    assert proc.returncode == 0, out[-3000:]
    assert key not in out
