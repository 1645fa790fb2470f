"""cidr_plan through the ansible command-line tools, against the built and installed collection."""

import ipaddress
import json
import subprocess
import sys
from pathlib import Path


def test_ansible_doc_shows_the_module(ansible_env):
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "hybrid.cluster.cidr_plan"], env=ansible_env,
                          capture_output=True, text=True, check=True)
    assert "hybrid.cluster.cidr_plan" in proc.stdout and "GatewaySubnet" in proc.stdout
    assert "tunnel_inside_cidrs" in proc.stdout and "EXAMPLES" in proc.stdout


def test_adhoc_returns_a_plan(run_adhoc):
    code, result, out = run_adhoc("hybrid.cluster.cidr_plan", "name=shop")
    assert code == 0, out
    assert result["changed"] is False
    plan = result["plan"]
    assert plan["aws"]["cluster_name"] == "shop-aws"
    assert ipaddress.ip_network(plan["azure"]["network"]).prefixlen == 16
    assert len(plan["vpn"]["tunnels"]) == 4


def test_bad_input_fails_naming_field_and_fix(run_adhoc):
    code, result, out = run_adhoc("hybrid.cluster.cidr_plan", "name=shop supernet=10.64.0.1/12")
    assert code != 0
    assert "localhost | FAILED!" in out
    assert result["field"] == "supernet"
    assert "10.64.0.0/12" in result["msg"] and "Fix:" in result["msg"]
    assert "Traceback" not in out


PLAYBOOK = """
- name: Plan
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Allocate
      hybrid.cluster.cidr_plan:
        name: shop
        reserved: [10.64.0.0/16]
        aws: {region: us-west-2, workers: 9}
      register: allocated

    - name: Allocate again in check mode
      hybrid.cluster.cidr_plan:
        name: shop
        reserved: [10.64.0.0/16]
        aws: {region: us-west-2, workers: 9}
      check_mode: true
      register: again

    - name: Check the seed article's numbers
      hybrid.cluster.cidr_plan:
        name: seed
        topology: stretched
        explicit:
          aws: {pods: 192.168.128.0/20}
          azure: {pods: 192.168.144.0/20}
      register: seed

    - name: Write what was found
      ansible.builtin.copy:
        content: "{{ {'allocated': allocated, 'again': again, 'seed': seed} | to_json }}"
        dest: "{{ out_file }}"
        mode: "0600"
"""


def test_playbook_plan_is_stable_and_explicit_mode_reports_gaps(run_playbook, tmp_path):
    out_file = tmp_path / "out.json"
    proc = run_playbook(PLAYBOOK, "-e", "out_file=%s" % out_file)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads(out_file.read_text())
    allocated, again, seed = data["allocated"], data["again"], data["seed"]
    assert allocated["changed"] is False and again["changed"] is False
    assert allocated["plan"] == again["plan"]
    assert not ipaddress.ip_network(allocated["plan"]["aws"]["network"]).overlaps(ipaddress.ip_network("10.64.0.0/16"))
    assert allocated["plan"]["aws"]["zones"] == ["us-west-2a", "us-west-2b", "us-west-2c"]
    assert seed["plan"]["complete"] is False
    assert "aws.services" in seed["plan"]["missing"] and "azure.network" in seed["plan"]["missing"]
    assert any("aws.services" in w for w in seed.get("warnings", []))
    assert "[WARNING]" in proc.stdout + proc.stderr
