"""The kubespray role through ansible-playbook: rendering, the parallel run against a stand-in
Kubespray, log capture, failure reporting and the kubeconfig fetch. Kubespray is never
downloaded: the stand-in directory is given through kubespray_source as a checkout would be."""

import json
import sys
from pathlib import Path

import pytest
import yaml

STANDIN_CFG = """[defaults]
# stand-in for Kubespray's ansible.cfg
host_key_checking = False
retry_files_enabled = False
"""

# Records what it was given, sleeps so both clusters' runs overlap, writes an admin.conf, and
# fails for the cluster named in STANDIN_FAIL.
STANDIN_PLAYBOOK = """
- name: Stand-in Kubespray
  hosts: kube_control_plane[0]
  gather_facts: false
  become: false
  tasks:
    - name: Note the start
      ansible.builtin.set_fact:
        standin_started: "{{ lookup('ansible.builtin.pipe', 'date +%s.%N') }}"

    - name: Take a while
      ansible.builtin.wait_for:
        timeout: 3

    - name: Write what this run was given
      ansible.builtin.copy:
        dest: "{{ playbook_dir }}/runs/{{ cilium_cluster_name }}.json"
        mode: "0600"
        content: >-
          {{ {'started': standin_started | float,
              'ended': lookup('ansible.builtin.pipe', 'date +%s.%N') | float,
              'argv': lookup('ansible.builtin.pipe', 'tr "\\\\000" "\\\\n" < /proc/$PPID/cmdline').splitlines(),
              'cwd': lookup('ansible.builtin.pipe', 'pwd'),
              'ansible_config': lookup('ansible.builtin.env', 'ANSIBLE_CONFIG'),
              'log_path': lookup('ansible.builtin.env', 'ANSIBLE_LOG_PATH'),
              'inventory': ansible_inventory_sources,
              'groups': {'kube_control_plane': groups['kube_control_plane'], 'kube_node': groups['kube_node'],
                         'etcd': groups['etcd'], 'k8s_cluster': groups['k8s_cluster']},
              'first_host': {'ip': ip, 'access_ip': access_ip},
              'vars': {'kube_pods_subnet': kube_pods_subnet, 'kube_service_addresses': kube_service_addresses,
                       'cilium_cluster_id': cilium_cluster_id, 'cilium_mtu': cilium_mtu,
                       'cloud_provider': cloud_provider, 'external_cloud_provider': external_cloud_provider,
                       'etcd_election_timeout': etcd_election_timeout, 'kube_proxy_mode': kube_proxy_mode,
                       'ntp_enabled': ntp_enabled}} | to_json }}

    - name: Leave an admin kubeconfig
      ansible.builtin.copy:
        dest: "{{ playbook_dir }}/admin-{{ cilium_cluster_name }}.conf"
        mode: "0600"
        content: |
          apiVersion: v1
          kind: Config
          clusters:
            - name: cluster.local
              cluster:
                server: https://127.0.0.1:6443
          contexts:
            - name: kubernetes-admin@cluster.local
              context: {cluster: cluster.local, user: kubernetes-admin}
          current-context: kubernetes-admin@cluster.local
          users:
            - name: kubernetes-admin
              user: {token: stand-in}

    - name: Fail when asked to
      ansible.builtin.fail:
        msg: "stand-in Kubespray failure for {{ cilium_cluster_name }}: etcd did not start"
      when: cilium_cluster_name == lookup('ansible.builtin.env', 'STANDIN_FAIL')
"""

PLAYBOOK = """
- name: Kubernetes phase
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan
      hybrid.cluster.cidr_plan:
        name: shop
      register: cidr

    - name: Kubespray
      ansible.builtin.include_role:
        name: hybrid.cluster.kubespray
      vars:
        kubespray_plan: "{{ cidr.plan }}"
        kubespray_source: "{{ standin }}"
        kubespray_venv: ""
        kubespray_work_dir: "{{ work }}"
        kubespray_fetch_become: false
        kubespray_poll_interval: 1
        kubespray_extra_vars:
          kube_proxy_mode: nftables
        kubespray_node_role_vars:
          ntp_enabled: false

    - name: Keep what the role published
      ansible.builtin.copy:
        dest: "{{ work }}/published.json"
        mode: "0600"
        content: "{{ {'clusters': kubespray_clusters, 'kubeconfigs': kubespray_kubeconfigs | default({})} | to_json }}"
"""


def make_inventory(path, standin):
    hosts = {}
    groups = {"aws": {}, "azure": {}, "kube_control_plane": {}, "kube_node": {}}
    for cloud, net in (("aws", "10.64"), ("azure", "10.65")):
        for index in range(3):
            name = "%s-cp-%d" % (cloud, index)
            hosts[name] = {"ip": "%s.1.%d" % (net, 10 + index), "ansible_connection": "local",
                           "ansible_python_interpreter": sys.executable}
            if index == 0:
                hosts[name]["kubespray_admin_conf_path"] = str(standin / ("admin-shop-%s.conf" % cloud))
            groups[cloud][name] = None
            groups["kube_control_plane"][name] = None
        for index in range(2):
            name = "%s-w-%d" % (cloud, index)
            hosts[name] = {"ip": "%s.16.%d" % (net, 10 + index), "ansible_connection": "local",
                           "ansible_python_interpreter": sys.executable}
            groups[cloud][name] = None
            groups["kube_node"][name] = None
    inventory = {"all": {"hosts": hosts, "children": {g: {"hosts": members} for g, members in groups.items()}}}
    path.write_text(yaml.safe_dump(inventory))
    return path


@pytest.fixture(name="standin")
def fixture_standin(tmp_path):
    directory = tmp_path / "kubespray-standin"
    (directory / "runs").mkdir(parents=True)
    (directory / "ansible.cfg").write_text(STANDIN_CFG)
    (directory / "cluster.yml").write_text(STANDIN_PLAYBOOK)
    return directory


def run_role(run_playbook, k8s_env, tmp_path, standin, *extra, env=None, playbook=PLAYBOOK):
    inventory = make_inventory(tmp_path / "inventory.yml", standin)
    work = tmp_path / "work"
    proc = run_playbook(playbook, "-i", str(inventory), "-e", "standin=%s work=%s" % (standin, work), *extra,
                        env=dict(k8s_env, **(env or {})))
    return proc, work


def test_render_run_in_parallel_and_fetch_kubeconfigs(run_playbook, k8s_env, tmp_path, standin):
    proc, work = run_role(run_playbook, k8s_env, tmp_path, standin)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out

    inv_dir = work / "kubespray" / "inventory"
    runs = {}
    for name, cloud in (("shop-aws", "aws"), ("shop-azure", "azure")):
        hosts = yaml.safe_load((inv_dir / name / "hosts.yml").read_text())
        assert sorted(hosts["all"]["hosts"]) == sorted(["%s-cp-%d" % (cloud, i) for i in range(3)] + ["%s-w-%d" % (cloud, i) for i in range(2)])
        cilium = yaml.safe_load((inv_dir / name / "group_vars/k8s_cluster/k8s-net-cilium.yml").read_text())
        assert cilium["cilium_cluster_name"] == name and cilium["cilium_mtu"] == "1350"
        assert (inv_dir / name / "hosts.yml").stat().st_mode & 0o777 == 0o600
        runs[name] = json.loads((standin / "runs" / ("%s.json" % name)).read_text())

    for name, run in runs.items():
        argv = run["argv"]
        # The invocation: Kubespray's documented `ansible-playbook -i <inventory> cluster.yml -b`.
        assert Path(argv[1]).name == "ansible-playbook"
        assert argv[argv.index("-i") + 1] == str(inv_dir / name / "hosts.yml")
        assert "cluster.yml" in argv and "--become" in argv and "--become-user=root" in argv
        assert run["inventory"] == [str(inv_dir / name / "hosts.yml")]
        assert run["ansible_config"] == str(standin / "ansible.cfg")
        assert run["cwd"] == str(standin)
        assert run["log_path"] == str(work / "kubespray" / "logs" / ("%s.log" % name))
        assert run["groups"]["etcd"] == run["groups"]["kube_control_plane"] and len(run["groups"]["k8s_cluster"]) == 5
        assert run["vars"]["cloud_provider"] == "external" and run["vars"]["external_cloud_provider"] == "manual"
        assert run["vars"]["etcd_election_timeout"] == "5000"
        # Overrides and node role variables reach Kubespray.
        assert run["vars"]["kube_proxy_mode"] == "nftables" and run["vars"]["ntp_enabled"] is False
        log = work / "kubespray" / "logs" / ("%s.log" % name)
        assert "Stand-in Kubespray" in log.read_text()
        assert "PLAY RECAP" in (work / "kubespray" / "logs" / ("%s.output" % name)).read_text()
    assert runs["shop-aws"]["vars"]["kube_pods_subnet"] != runs["shop-azure"]["vars"]["kube_pods_subnet"]
    assert [runs[n]["vars"]["cilium_cluster_id"] for n in ("shop-aws", "shop-azure")] == [1, 2]

    # Both runs overlap in time: each started before the other ended.
    aws, azure = runs["shop-aws"], runs["shop-azure"]
    assert aws["started"] < azure["ended"] and azure["started"] < aws["ended"], runs

    published = json.loads((work / "published.json").read_text())
    assert [c["name"] for c in published["clusters"]] == ["shop-aws", "shop-azure"]
    for name, api in (("shop-aws", "10.64.1.10"), ("shop-azure", "10.65.1.10")):
        path = Path(published["kubeconfigs"][name])
        assert path == work / "kubeconfig" / ("%s.conf" % name)
        config = yaml.safe_load(path.read_text())
        assert config["clusters"][0]["cluster"]["server"] == "https://%s:6443" % api
        assert path.stat().st_mode & 0o777 == 0o600


def test_one_failing_cluster_is_named_with_its_log_tail(run_playbook, k8s_env, tmp_path, standin):
    proc, work = run_role(run_playbook, k8s_env, tmp_path, standin, env={"STANDIN_FAIL": "shop-azure"})
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "Kubespray failed for cluster shop-azure" in out
    assert "Kubespray failed for cluster shop-aws" not in out
    assert "stand-in Kubespray failure for shop-azure: etcd did not start" in out
    assert str(work / "kubespray" / "logs" / "shop-azure.log") in out
    assert "Traceback" not in out
    # The other cluster's run completed.
    assert (standin / "runs" / "shop-aws.json").is_file()


def test_check_mode_renders_nothing_and_runs_nothing(run_playbook, k8s_env, tmp_path, standin):
    proc, work = run_role(run_playbook, k8s_env, tmp_path, standin, "--check", "--diff")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Kubespray was not run" in out
    assert not (work / "kubespray" / "inventory").exists()
    assert not list((standin / "runs").iterdir())


def test_render_only_is_idempotent(run_playbook, k8s_env, tmp_path, standin):
    extra = ("-e", "kubespray_run=false")
    first, work = run_role(run_playbook, k8s_env, tmp_path, standin, *extra)
    assert first.returncode == 0, first.stdout + first.stderr
    second = run_role(run_playbook, k8s_env, tmp_path, standin, *extra)[0]
    assert second.returncode == 0
    recap = second.stdout[second.stdout.index("PLAY RECAP"):]
    # Only the final bookkeeping copy of the test playbook itself may change.
    assert "changed=1 " in recap or "changed=0 " in recap, recap
    assert not list((standin / "runs").iterdir())


def test_seed_topology_is_refused_before_anything_runs(run_playbook, k8s_env, tmp_path, standin):
    playbook = PLAYBOOK.replace("name: shop\n", "name: shop\n        topology: stretched\n")
    proc, work = run_role(run_playbook, k8s_env, tmp_path, standin, playbook=playbook)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "6 members is an even count" in out and "3 in aws, 3 in azure" in out
    assert "losing either site" in out
    assert "Traceback" not in out
    assert not (work / "kubespray").exists()
    assert not list((standin / "runs").iterdir())


def test_missing_source_fails_clearly(run_playbook, k8s_env, tmp_path, standin):
    proc = run_role(run_playbook, k8s_env, tmp_path, standin, "-e", "standin=/nonexistent/kubespray")[0]
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "/nonexistent/kubespray is neither a Kubespray checkout directory nor a git URL" in out
