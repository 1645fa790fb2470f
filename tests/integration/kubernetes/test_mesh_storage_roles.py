"""The clustermesh and rook roles through ansible-playbook, against kubeconfigs that point at a
closed port on 127.0.0.1: in check mode and in normal mode they must stop before changing
anything, with a message naming the cluster and the API server, not a traceback."""

import json

import pytest

pytestmark = pytest.mark.usefixtures("k8s_collections")

PLAYBOOK = """
- name: {phase}
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan
      hybrid.cluster.cidr_plan:
        name: shop
        topology: {topology}
      register: cidr

    - name: Role
      ansible.builtin.include_role:
        name: hybrid.cluster.{role}
        tasks_from: {tasks_from}
      vars:
        {role}_plan: "{{{{ cidr.plan }}}}"
        {role}_kubeconfigs: "{{{{ kubeconfigs }}}}"
        {role}_work_dir: "{{{{ work }}}}"
{extra}
"""


def playbook(role, topology="mesh", tasks_from="main", extra=""):
    return PLAYBOOK.format(phase=role, role=role, topology=topology, tasks_from=tasks_from, extra=extra)


def run(run_playbook, k8s_env, tmp_path, kubeconfigs, text, *args):
    proc = run_playbook(text, "-e", json.dumps({"kubeconfigs": kubeconfigs, "work": str(tmp_path / "work")}), *args, env=k8s_env)
    return proc, proc.stdout + proc.stderr


@pytest.mark.parametrize("role", ["clustermesh", "rook"])
@pytest.mark.parametrize("mode", [["--check"], []], ids=["check", "apply"])
def test_unreachable_api_fails_clearly(run_playbook, k8s_env, tmp_path, kubeconfigs, closed_port, role, mode):
    proc, out = run(run_playbook, k8s_env, tmp_path, kubeconfigs, playbook(role), *mode)
    assert proc.returncode == 2, out
    assert "Cluster shop-aws: the Kubernetes API server https://127.0.0.1:%d" % closed_port in out
    assert "does not answer" in out
    assert "Traceback" not in out
    # Nothing was made on the controller either (the CA comes after the check).
    assert not (tmp_path / "work" / "cilium-ca").exists()


@pytest.mark.parametrize("role", ["clustermesh", "rook"])
def test_missing_kubeconfig_names_the_cluster(run_playbook, k8s_env, tmp_path, kubeconfigs, role):
    kubeconfigs = dict(kubeconfigs, **{"shop-azure": str(tmp_path / "nowhere.conf")})
    proc, out = run(run_playbook, k8s_env, tmp_path, kubeconfigs, playbook(role), "--check")
    assert proc.returncode == 2
    assert "Cluster shop-azure: no kubeconfig at %s" % (tmp_path / "nowhere.conf") in out
    assert "Traceback" not in out


@pytest.mark.parametrize("role", ["clustermesh", "rook"])
def test_stretched_topology_is_refused(run_playbook, k8s_env, tmp_path, kubeconfigs, role):
    proc, out = run(run_playbook, k8s_env, tmp_path, kubeconfigs, playbook(role, topology="stretched"), "--check")
    assert proc.returncode == 2
    assert "hybrid_topology: mesh" in out
    assert "Traceback" not in out


def test_failover_needs_confirmation(run_playbook, k8s_env, tmp_path, kubeconfigs):
    proc, out = run(run_playbook, k8s_env, tmp_path, kubeconfigs, playbook("rook", tasks_from="failover"))
    assert proc.returncode == 2
    assert "Set rook_failover_confirm: true and rook_failover_to" in out
    confirmed = playbook("rook", tasks_from="failover", extra="        rook_failover_confirm: true\n        rook_failover_to: azure\n")
    proc, out = run(run_playbook, k8s_env, tmp_path, kubeconfigs, confirmed)
    assert proc.returncode == 2
    assert "Cluster shop-azure (the one to promote) does not answer; nothing was changed." in out
    assert "Traceback" not in out
