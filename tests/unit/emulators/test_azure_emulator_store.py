"""The Azure emulator's reference index and list paging give what a full scan of the records gives."""

import random
from urllib.parse import parse_qs, urlsplit

from tests.emulators.azure import AzureEmulator
from tests.emulators.azure.arm import Request
from tests.emulators.azure.store import Store, walk_ids

RG = "/subscriptions/s/resourceGroups/G/providers/Microsoft.Network"
SUBNETS = [RG + "/virtualNetworks/v/subnets/%s" % name for name in ("a", "b")]


def scan_referrers(store, target_id, exclude_prefix=None):
    """What ``Store.referrers`` answered before it had an index: a walk over every record."""
    target = target_id.lower()
    exclude = (exclude_prefix or target_id).lower()
    found = []
    for key, record in store.records.items():
        if key == exclude or key.startswith(exclude + "/"):
            continue
        for path, ident in walk_ids(record.get("properties") or {}, ("properties",)):
            if ident.lower() == target or ident.lower().startswith(target + "/"):
                found.append((record, path))
    return found


def nic(name, subnet, public=None):
    config = {"name": "ip", "id": RG + "/networkInterfaces/%s/ipConfigurations/ip" % name, "properties": {"subnet": {"id": subnet}}}
    if public:
        config["properties"]["publicIPAddress"] = {"id": public}
    return {"id": RG + "/networkInterfaces/%s" % name, "type_key": "microsoft.network/networkinterfaces",
            "properties": {"ipConfigurations": [config]}}


def test_referrers_match_a_full_scan_through_puts_replacements_and_removals():
    rng = random.Random(7)
    store = Store()
    store.put({"id": RG + "/virtualNetworks/v", "type_key": "microsoft.network/virtualnetworks", "properties": {}})
    for subnet in SUBNETS:
        store.put({"id": subnet, "type_key": "microsoft.network/virtualnetworks/subnets", "properties": {}})
    names = ["Nic%d" % i for i in range(30)]
    for step in range(300):
        name = rng.choice(names)
        action = rng.random()
        if action < 0.6:
            public = RG + "/publicIPAddresses/%s-pip" % name if rng.random() < 0.5 else None
            store.put(nic(name.lower() if rng.random() < 0.3 else name, rng.choice(SUBNETS), public))
        elif action < 0.8:
            store.remove_subtree(RG + "/networkInterfaces/%s" % name)
        else:
            store.put({"id": RG + "/publicIPAddresses/%s-pip" % name, "type_key": "microsoft.network/publicipaddresses",
                       "properties": {}})
        targets = SUBNETS + [RG + "/virtualNetworks/V", RG + "/networkInterfaces/%s" % name,
                             RG + "/publicIPAddresses/%s-PIP" % name, RG + "/networkInterfaces/%s/ipConfigurations/ip" % name]
        for target in targets:
            assert store.referrers(target) == scan_referrers(store, target), (step, target)
        assert store.referrers(SUBNETS[0], RG) == scan_referrers(store, SUBNETS[0], RG) == []
    store.reset()
    assert store.referrers(SUBNETS[0]) == []


def test_a_list_page_renders_the_views_of_that_page_only():
    emulator = AzureEmulator()
    group = "/subscriptions/%s/resourceGroups/G" % emulator.subscription_id
    bodies = [{"id": group, "location": "westeurope"}]
    bodies += [{"id": group + "/providers/Microsoft.Network/networkSecurityGroups/nsg%03d" % i, "location": "westeurope"}
               for i in range(25)]
    emulator.seed(bodies)
    emulator.store.settings["page_size"] = 10
    rendered = []
    view = emulator.arm.view
    emulator.arm.view = lambda record, expand=None: rendered.append(record["name"]) or view(record, expand)
    path = "/subscriptions/%s/providers/Microsoft.Network/networkSecurityGroups" % emulator.subscription_id
    pages = []
    token = None
    while True:
        query = {"api-version": "2024-05-01"}
        if token:
            query["$skiptoken"] = token
        rendered.clear()
        body = emulator.arm.handle(Request("GET", path, query, {}, b"", "https://127.0.0.1:1")).body
        assert rendered == [item["name"] for item in body["value"]]
        pages.append([item["name"] for item in body["value"]])
        if "nextLink" not in body:
            break
        token = parse_qs(urlsplit(body["nextLink"]).query)["$skiptoken"][0]
    assert [len(page) for page in pages] == [10, 10, 5]
    assert sum(pages, []) == ["nsg%03d" % i for i in range(25)]
