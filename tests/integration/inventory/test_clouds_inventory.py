"""hybrid.cluster.clouds against both emulators, through ``ansible-inventory`` and the built collection.

Each test seeds moto (directly, so seeding is not in the proxy's log) and the Azure emulator
(through its seed interface, which is not logged), runs ``ansible-inventory`` and checks the result
host by host against what was seeded, and the request logs against what the plugin promises.
"""

import json
import shutil
import subprocess

import pytest

from tests.integration.inventory.seed import seed_aws, seed_azure

FAST = "backoff_retries: 10\nbackoff_delay: 0.01\nbackoff_max_delay: 0.05\n"


def unwrap(value):
    """ansible-core 2.19 marks untrusted strings in ``--list`` output as ``{"__ansible_unsafe": ...}``."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


@pytest.fixture
def clouds(aws_env, azure_env, moto_emulator, azure_emulator, ansible_env, tmp_path):
    """Both emulators seeded; ``run(*args, config=...)`` runs ansible-inventory on a clouds.yml."""
    expected = seed_aws(aws_env["HYBRID_MOTO_URL"], region=aws_env["AWS_REGION"])
    expected.update(seed_azure(azure_emulator))
    env = dict(ansible_env, **aws_env, **azure_env)
    env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
    env["ANSIBLE_INVENTORY_ENABLED"] = "hybrid.cluster.clouds"
    env["COLUMNS"] = "2000"  # ansible-core 2.18 wraps warnings at the terminal width

    def run(*args, config="plugin: hybrid.cluster.clouds\n", extra_env=None):
        path = tmp_path / "test.clouds.yml"
        path.write_text(config + FAST)
        return subprocess.run(["ansible-inventory", "-i", str(path), *args], env=dict(env, **(extra_env or {})),
                              capture_output=True, text=True, timeout=600, check=False)

    class Clouds:
        pass

    result = Clouds()
    result.expected, result.run, result.proxy, result.azure, result.tmp_path = expected, run, moto_emulator.proxy, azure_emulator, tmp_path
    return result


def listed(proc):
    assert proc.returncode == 0, proc.stderr
    return unwrap(json.loads(proc.stdout))


def members(data, group):
    entry = data.get(group) or {}
    result = set(entry.get("hosts") or [])
    for child in entry.get("children") or []:
        result |= members(data, child)
    return result


def check_against_seed(data, expected):
    hostvars = data["_meta"]["hostvars"]
    assert set(hostvars) == set(expected)
    for name, facts in expected.items():
        got = hostvars[name]
        for key in ("cloud", "instance_id", "region", "zone", "size", "power_state", "public_ip", "platform"):
            assert got[key] == facts[key], (name, key, got[key], facts[key])
        assert got["ip"] == got["access_ip"] == facts["ip"], name
        assert got["subnet"].lower() == facts["subnet"].lower(), name
        assert got["node_role"] == facts["role"], name
        assert "tags" not in got
        assert ("ec2_tags" if facts["cloud"] == "aws" else "azure_tags") in got
        assert got["ansible_host"] == (facts["public_ip"] or facts["ip"]), name
        if facts.get("scale_set"):
            assert got["azure_scale_set"] == facts["scale_set"], name
    by_role = {}
    for name, facts in expected.items():
        by_role.setdefault((facts["cloud"], facts["role"]), set()).add(name)
    for cloud in ("aws", "azure"):
        assert members(data, cloud) == {n for n, f in expected.items() if f["cloud"] == cloud}
        control = by_role.get((cloud, "control_plane"), set())
        workers = by_role.get((cloud, "worker"), set())
        assert members(data, "shop_%s_kube_control_plane" % cloud) == control
        assert members(data, "shop_%s_etcd" % cloud) == control
        assert members(data, "shop_%s_kube_node" % cloud) == workers
    all_control = by_role[("aws", "control_plane")] | by_role[("azure", "control_plane")]
    assert members(data, "kube_control_plane") == members(data, "etcd") == all_control
    assert members(data, "kube_node") == by_role[("aws", "worker")] | by_role[("azure", "worker")]
    untagged = {n for n, f in expected.items() if f["role"] is None}
    assert untagged and not untagged & members(data, "k8s_cluster")


def test_list_matches_what_was_seeded(clouds):
    data = listed(clouds.run("--list"))
    check_against_seed(data, clouds.expected)
    kinds = {(f["cloud"], f["power_state"], bool(f.get("scale_set")), f["role"] is None) for f in clouds.expected.values()}
    assert ("aws", "stopped", False, False) in kinds and ("azure", "deallocated", False, False) in kinds
    assert ("aws", "running", False, True) in kinds and ("azure", "running", True, False) in kinds

    # AWS: only paginated DescribeInstances calls.
    actions = [e["action"] for e in clouds.proxy.log()]
    assert set(actions) == {"DescribeInstances"}
    # Azure: list calls only, nothing per VM (no GET of a VM, its instance view or a NIC).
    arm = [e for e in clouds.azure.requests() if e["path"].startswith("/subscriptions/")]
    assert all(e["method"] == "GET" for e in arm)
    paths = {e["path"].split("/providers/", 1)[1] for e in arm}
    assert paths == {"Microsoft.Compute/virtualMachines", "Microsoft.Network/networkInterfaces", "Microsoft.Network/publicIPAddresses",
                     "Microsoft.Compute/virtualMachineScaleSets", "Microsoft.Compute/virtualMachineScaleSets/shop-pool/virtualMachines",
                     "Microsoft.Compute/virtualMachineScaleSets/shop-pool/networkInterfaces"}, paths
    assert len(arm) == 6
    tokens = [e for e in clouds.azure.requests() if e["path"].endswith("/token")]
    assert len(tokens) == 1


def test_graph(clouds):
    proc = clouds.run("--graph")
    assert proc.returncode == 0, proc.stderr
    graph = proc.stdout
    for group in ("@aws:", "@azure:", "@k8s_cluster:", "@kube_control_plane:", "@etcd:", "@shop_aws:", "@shop_azure_k8s_cluster:",
                  "@platform_shop:", "@azure_westeurope_1:"):
        assert group in graph
    for name in clouds.expected:
        assert "--" + name + "\n" in graph, name


def test_resource_group_scope_tag_filter_and_options(clouds):
    config = """plugin: hybrid.cluster.clouds
resource_groups: [shop-rg]
platform: shop
include_stopped: false
hostname_preference: private
jump_hosts: {azure: admin@bastion.example}
control_plane_in_kube_node: true
topology: stretched
"""
    data = listed(clouds.run("--list", config=config))
    wanted = {n for n, f in clouds.expected.items() if f["platform"] == "shop" and f["power_state"] == "running"}
    assert set(data["_meta"]["hostvars"]) == wanted
    assert not [g for g in data if g.startswith("shop_")]
    assert members(data, "kube_control_plane") <= members(data, "kube_node")
    for name in wanted:
        got = data["_meta"]["hostvars"][name]
        assert got["ansible_host"] == got["ip"]
        if got["cloud"] == "azure":
            assert got["ansible_ssh_common_args"] == "-o ProxyJump=admin@bastion.example"
    filters = [e for e in clouds.proxy.log() if e["action"] == "DescribeInstances"]
    assert filters  # EC2 filtered server side: stopped and untagged instances never came back
    arm = [e["path"] for e in clouds.azure.requests() if e["path"].startswith("/subscriptions/")]
    assert all("/resourceGroups/shop-rg/" in p for p in arm)


def test_cache_hit_makes_no_request(clouds):
    config = "plugin: hybrid.cluster.clouds\ncache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" \
        % (clouds.tmp_path / "cache")
    first = listed(clouds.run("--list", config=config))
    proxy_mark = len(clouds.proxy.log())
    azure_mark = clouds.azure.last_request_seq
    assert proxy_mark and azure_mark
    second = listed(clouds.run("--list", config=config))
    assert second == first
    assert len(clouds.proxy.log()) == proxy_mark
    assert clouds.azure.requests(since=azure_mark) == []
    # without the cache it lists again (ansible-inventory has --flush-cache only from ansible-core 2.19 on)
    shutil.rmtree(clouds.tmp_path / "cache")
    listed(clouds.run("--list", config=config))
    assert len(clouds.proxy.log()) > proxy_mark and clouds.azure.requests(since=azure_mark)


def test_twenty_percent_throttling_still_gives_the_complete_inventory(clouds):
    clouds.azure.set_page_size(1)
    clouds.proxy.add_fault("throttle", rate=0.2)
    clouds.azure.set_fault("throttle", path="^/subscriptions/", rate=0.2)
    config = "plugin: hybrid.cluster.clouds\n"
    data = listed(clouds.run("--list", config=config))
    check_against_seed(data, clouds.expected)
    assert [e for e in clouds.proxy.log() if e["fault"] == "throttle"] or len(clouds.proxy.log()) < 5
    throttled = [e for e in clouds.azure.requests() if e["status"] == 429]
    assert throttled
    pages = [e for e in clouds.azure.requests() if e["status"] == 200 and e["path"].startswith("/subscriptions/")]
    assert len(pages) > 6  # several pages per list


def test_throttling_on_every_ec2_page(clouds):
    clouds.proxy.add_fault("throttle", action="DescribeInstances", count=3)
    data = listed(clouds.run("--list"))
    assert set(data["_meta"]["hostvars"]) == set(clouds.expected)
    assert [e["status"] for e in clouds.proxy.log(action="DescribeInstances")][:4] == [503, 503, 503, 200]


def test_failing_subscription_is_a_clear_error(clouds):
    config = """plugin: hybrid.cluster.clouds
subscriptions:
  - %s
  - 0badc0de-0000-4000-8000-000000000000
""" % clouds.azure.subscription_id
    proc = clouds.run("--list", config=config)
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert "Azure subscription 0badc0de-0000-4000-8000-000000000000" in message
    assert "SubscriptionNotFound" in message
    assert "shop-az-0000" not in proc.stdout


def test_failing_region_is_a_clear_error(clouds):
    clouds.proxy.add_fault("error", action="DescribeInstances")
    proc = clouds.run("--list", config="plugin: hybrid.cluster.clouds\nregions: [%s]\n" % "us-east-1")
    assert proc.returncode != 0
    assert "AWS region us-east-1" in proc.stderr and "DescribeInstances" in proc.stderr
    assert "shop-aws-0000" not in proc.stdout


def test_tag_values_are_never_templated(clouds, aws_env):
    from tests.integration.inventory.seed import moto_client  # pylint: disable=import-outside-toplevel
    ec2 = moto_client(aws_env["HYBRID_MOTO_URL"], aws_env["AWS_REGION"])
    instance_id = clouds.expected["shop-aws-0000"]["instance_id"]
    ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "note", "Value": "{{ 6 * 7 }}"}])
    config = "plugin: hybrid.cluster.clouds\ncompose:\n  note: ec2_tags.note | default('')\n"
    data = listed(clouds.run("--list", config=config))
    assert data["_meta"]["hostvars"]["shop-aws-0000"]["note"] == "{{ 6 * 7 }}"
