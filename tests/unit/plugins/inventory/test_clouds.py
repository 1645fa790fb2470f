"""The hybrid.cluster.clouds inventory plugin with its listing replaced by recorded data.

The plugin runs inside a real ``InventoryManager`` (config file, options, constructed features,
cache plugin); only ``fetch_all`` (the cloud listing) is replaced.
"""

import sys
from pathlib import Path

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, inventory_loader

from tests.unit.plugins.plugin_utils.test_clouds_inventory import azure_listing, ec2_fleet

from ansible_collections.hybrid.cluster.plugins.plugin_utils.clouds_inventory import azure_records

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module", autouse=True)
def collection_loader():
    """Ansible's collection loader for the working tree.

    Other tests import the collection as a plain package; the plugin loader needs the modules
    loaded through its own finder (collection metadata), so the plain copies are dropped first.
    """
    from ansible.utils.collection_loader import AnsibleCollectionConfig  # pylint: disable=import-outside-toplevel
    if AnsibleCollectionConfig.collection_finder is None:
        for name in [m for m in sys.modules if m == "ansible_collections" or m.startswith("ansible_collections.")]:
            del sys.modules[name]
        init_plugin_loader([str(ROOT / ".build" / "pytest")])


@pytest.fixture
def plugin_module():
    plugin = inventory_loader.get("hybrid.cluster.clouds")
    return sys.modules[type(plugin).__module__]


def source_error(plugin_module, failures):
    return plugin_module.SourceError(failures)


@pytest.fixture
def listing(plugin_module, monkeypatch):
    """Replace the listing; ``calls`` records each call's arguments."""
    calls = []
    result = {"records": ec2_fleet() + azure_records(azure_listing()), "error": None}

    def fake_fetch_all(regions, aws_params, filters, subscriptions, azure_params, tag_filters=None, workers=8, environ=None):
        calls.append({"regions": regions, "filters": filters, "subscriptions": subscriptions, "aws_params": aws_params,
                      "azure_params": azure_params, "tag_filters": tag_filters, "workers": workers})
        error = result["error"]
        if isinstance(error, Exception):
            raise error  # pylint: disable=raising-bad-type
        return [dict(r) for r in result["records"]]

    monkeypatch.setattr(plugin_module, "fetch_all", fake_fetch_all)
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", "sub-env")
    result["calls"] = calls
    return result


def inventory(tmp_path, text, name="test.clouds.yml", cache=True):
    path = tmp_path / name
    path.write_text(text)
    return InventoryManager(loader=DataLoader(), sources=[str(path)], cache=cache)


def group_hosts(inv, group):
    return {h.name for h in inv.groups[group].get_hosts()}


def test_verify_file(tmp_path, collection_loader):
    plugin = inventory_loader.get("hybrid.cluster.clouds")
    for name, ok in (("prod.clouds.yml", True), ("clouds.yaml", True), ("x.clouds.yaml", True),
                     ("x.aws_ec2.yml", False), ("clouds.json", False)):
        path = tmp_path / name
        path.write_text("plugin: hybrid.cluster.clouds\n")
        assert plugin.verify_file(str(path)) is ok, name


def test_parse_groups_vars_and_defaults(tmp_path, listing):
    inv = inventory(tmp_path, "plugin: hybrid.cluster.clouds\n")
    assert listing["calls"][0]["regions"] == ["us-west-2"]
    assert listing["calls"][0]["subscriptions"] == [("sub-env", None)]
    filters = {f["Name"]: f["Values"] for f in listing["calls"][0]["filters"]}
    assert filters == {"instance-state-name": ["pending", "running", "stopping", "stopped"]}
    assert group_hosts(inv, "kube_control_plane") == {"cp-a", "cp0"}
    assert group_hosts(inv, "shop_azure_kube_node") == {"w0", "pool_0", "pool_1"}
    assert group_hosts(inv, "aws") == {"cp-a", "w-a", "i-0c"}
    host = inv.get_host("cp0")
    assert host.vars["ip"] == "10.1.0.4" and host.vars["cloud"] == "azure" and "azure_tags" in host.vars


def test_options_reach_the_listing(tmp_path, listing):
    inventory(tmp_path, """
plugin: hybrid.cluster.clouds
regions: [eu-west-1, us-east-2]
filters: {vpc-id: vpc-9}
platform: shop
include_stopped: false
subscriptions:
  - sub-a
  - {subscription_id: sub-b, resource_groups: [rg1, rg2]}
azure_tag_filters: {team: [blue]}
max_workers: 3
backoff_retries: 2
client_id: app
""")
    call = listing["calls"][0]
    assert call["regions"] == ["eu-west-1", "us-east-2"]
    filters = {f["Name"]: f["Values"] for f in call["filters"]}
    assert filters == {"vpc-id": ["vpc-9"], "tag:hybrid-cluster": ["shop"], "instance-state-name": ["running", "pending"]}
    assert call["subscriptions"] == [("sub-a", None), ("sub-b", ["rg1", "rg2"])]
    assert call["tag_filters"] == {"team": ["blue"], "hybrid-cluster": "shop"}
    assert call["workers"] == 3 and call["aws_params"]["backoff_retries"] == 2 and call["azure_params"]["client_id"] == "app"


def test_only_one_cloud(tmp_path, listing):
    listing["records"] = ec2_fleet()
    inv = inventory(tmp_path, "plugin: hybrid.cluster.clouds\nclouds: [aws]\nsubscription_id: ''\n")
    assert listing["calls"][0]["subscriptions"] == []
    assert group_hosts(inv, "aws") == {"cp-a", "w-a", "i-0c"}


def test_constructed_features(tmp_path, listing):
    inv = inventory(tmp_path, """
plugin: hybrid.cluster.clouds
compose:
  ansible_user: "'ubuntu' if cloud == 'aws' else 'azureuser'"
groups:
  stopped: power_state != 'running'
keyed_groups:
  - key: size
    prefix: size
""")
    assert inv.get_host("cp-a").vars["ansible_user"] == "ubuntu"
    assert inv.get_host("cp0").vars["ansible_user"] == "azureuser"
    assert group_hosts(inv, "stopped") == {"w-a", "w0"}
    assert group_hosts(inv, "size_t3_medium") == {"cp-a", "w-a", "i-0c"}


def test_tag_values_are_not_templated(tmp_path, listing):
    records = ec2_fleet()
    records[0]["tags"]["evil"] = "{{ lookup('env', 'HOME') }}"
    listing["records"] = records
    inv = inventory(tmp_path, "plugin: hybrid.cluster.clouds\ncompose:\n  copied: ec2_tags.evil\n")
    assert inv.get_host("cp-a").vars["copied"] == "{{ lookup('env', 'HOME') }}"


def test_cache_hit_makes_no_listing(tmp_path, listing):
    config = """
plugin: hybrid.cluster.clouds
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: %s
""" % (tmp_path / "cache")
    inventory(tmp_path, config)
    assert len(listing["calls"]) == 1
    inv = inventory(tmp_path, config)
    assert len(listing["calls"]) == 1  # served from the cache
    assert group_hosts(inv, "kube_control_plane") == {"cp-a", "cp0"}
    inventory(tmp_path, config, cache=False)  # --flush-cache: list again and refresh
    assert len(listing["calls"]) == 2
    inventory(tmp_path, config + "regions: [ap-south-1]\n")  # a different listing plan is a miss
    assert len(listing["calls"]) == 3
    inv = inventory(tmp_path, config + "regions: [ap-south-1]\ntopology: stretched\n")  # grouping only: still a hit
    assert len(listing["calls"]) == 3
    assert not [g for g in inv.groups if g.startswith("shop_")]


def test_failing_source_fails_the_whole_inventory(tmp_path, listing, monkeypatch, plugin_module):
    monkeypatch.setattr("ansible.constants.INVENTORY_UNPARSED_IS_FAILED", True)
    listing["error"] = source_error(plugin_module, [("AWS region eu-nowhere-1", "ec2 DescribeInstances failed: AuthFailure")])
    with pytest.raises(Exception) as err:
        inventory(tmp_path, "plugin: hybrid.cluster.clouds\n")
    assert "No inventory was parsed" in str(err.value) or "eu-nowhere-1" in str(err.value)


def test_failing_source_message(tmp_path, listing, plugin_module):
    plugin = inventory_loader.get("hybrid.cluster.clouds")
    listing["error"] = source_error(plugin_module, [("Azure subscription sub-x", "SubscriptionNotFound: gone")])
    path = tmp_path / "x.clouds.yml"
    path.write_text("plugin: hybrid.cluster.clouds\n")
    from ansible.inventory.data import InventoryData  # pylint: disable=import-outside-toplevel
    with pytest.raises(Exception, match="Azure subscription sub-x failed.*SubscriptionNotFound"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)


def test_bad_grouping_option_is_a_parser_error(tmp_path, listing):
    plugin = inventory_loader.get("hybrid.cluster.clouds")
    path = tmp_path / "x.clouds.yml"
    path.write_text("plugin: hybrid.cluster.clouds\nrole_groups: {worker: [workers]}\n")
    from ansible.inventory.data import InventoryData  # pylint: disable=import-outside-toplevel
    with pytest.raises(Exception, match="workers"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)


def test_missing_region_and_subscription(tmp_path, listing, monkeypatch):
    from ansible.inventory.data import InventoryData  # pylint: disable=import-outside-toplevel
    plugin = inventory_loader.get("hybrid.cluster.clouds")
    path = tmp_path / "x.clouds.yml"
    path.write_text("plugin: hybrid.cluster.clouds\nclouds: [azure]\n")
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID")
    with pytest.raises(Exception, match="no Azure subscription"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)
    path.write_text("plugin: hybrid.cluster.clouds\nclouds: [aws]\n")
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(Exception, match="no AWS region"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)


def test_client_layer_that_cannot_be_imported_is_a_parser_error(tmp_path, listing, monkeypatch, plugin_module):
    from ansible.inventory.data import InventoryData  # pylint: disable=import-outside-toplevel
    plugin = inventory_loader.get("hybrid.cluster.clouds")
    path = tmp_path / "x.clouds.yml"

    def missing():
        raise ImportError("No module named 'azure'")

    monkeypatch.setattr(plugin_module, "azure_layer", missing)
    path.write_text("plugin: hybrid.cluster.clouds\nclouds: [azure]\n")
    with pytest.raises(Exception, match="cannot load its client layers: No module named 'azure'"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)
    listing["error"] = ImportError("No module named 'boto3'")
    path.write_text("plugin: hybrid.cluster.clouds\nclouds: [aws]\nregions: [us-west-2]\n")
    with pytest.raises(Exception, match="cannot load its client layers: No module named 'boto3'"):
        plugin.parse(InventoryData(), DataLoader(), str(path), cache=False)
