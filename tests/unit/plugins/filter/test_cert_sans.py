"""Unit tests for the cert_sans filters (required_sans, missing_sans)."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError

from ansible_collections.hybrid.cluster.plugins.filter import cert_sans
from ansible_collections.hybrid.cluster.plugins.filter.cert_sans import FilterModule, missing_sans, required_sans

SERVICE_NAMES = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
]


def test_filters_are_registered():
    filters = FilterModule().filters()
    assert filters["required_sans"] is required_sans
    assert filters["missing_sans"] is missing_sans


def test_minimal_cluster():
    assert required_sans([], service_cidrs="10.233.0.0/18") == SERVICE_NAMES + ["localhost", "10.233.0.1", "127.0.0.1"]


def test_full_cluster_from_host_variables():
    nodes = [
        {
            "inventory_hostname": "shop-aws-cp-1",
            "ip": "10.64.1.10",
            "access_ip": "10.64.1.10",
            "ansible_host": "198.51.100.7",
            "public_ip_address": "198.51.100.7",
            "private_ip_address": "10.64.1.10",
            "unrelated": "10.9.9.9",
        },
        {
            "ip": "10.80.1.4",
            "ansible_host": "cp-2.azure.example.com.",
            "public_ipv4_address": ["203.0.113.20"],
            "private_ipv4_addresses": ["10.80.1.4", "10.80.1.5"],
        },
        {"ip": "10.64.2.10", "access_ip": "", "public_ip": None},
    ]
    sans = required_sans(
        nodes,
        api_fqdn="API.Shop.Example.com",
        load_balancers={
            "azure": {"ip": "10.80.0.100", "dns_name": "shop-api.westeurope.cloudapp.azure.com"},
            "aws": {"dns_name": "shop-api-0123.elb.us-west-2.amazonaws.com", "ips": ["10.64.0.50", "10.64.0.51"]},
        },
        service_cidrs="10.68.0.0/18",
        cluster_domain="shop.local",
        extra=["kube.internal", "192.0.2.1"],
    )
    assert sans == [
        "api.shop.example.com",
        "cp-2.azure.example.com",
        "kube.internal",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.shop.local",
        "localhost",
        "shop-api-0123.elb.us-west-2.amazonaws.com",
        "shop-api.westeurope.cloudapp.azure.com",
        "10.64.0.50",
        "10.64.0.51",
        "10.64.1.10",
        "10.64.2.10",
        "10.68.0.1",
        "10.80.0.100",
        "10.80.1.4",
        "10.80.1.5",
        "127.0.0.1",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.20",
    ]
    assert "10.9.9.9" not in sans


def test_addresses_sort_numerically_not_as_text():
    sans = required_sans(["10.0.0.10", "10.0.0.9", "9.0.0.1"], include_localhost=False, service_cidrs="10.233.0.0/18")
    assert sans[-4:] == ["9.0.0.1", "10.0.0.9", "10.0.0.10", "10.233.0.1"]


def test_dual_stack_and_ipv6_canonical_form():
    sans = required_sans(
        ["fd00:0:0:0::10", "[fd00::11]"],
        service_cidrs=["10.233.0.0/18", "fd85:ee78:d8a6:8607::1000/116"],
        include_localhost=False,
    )
    assert sans == SERVICE_NAMES + ["10.233.0.1", "fd00::10", "fd00::11", "fd85:ee78:d8a6:8607::1001"]


def test_custom_and_dotted_address_keys():
    nodes = [{"ansible_facts": {"default_ipv4": {"address": "10.1.0.5"}}, "ip": "10.1.0.6"}]
    sans = required_sans(nodes, address_keys=["ansible_facts.default_ipv4.address"], include_localhost=False)
    assert sans == SERVICE_NAMES + ["10.1.0.5"]


def test_host_variables_that_fail_to_resolve_are_skipped():
    class LazyVars(dict):
        def __getitem__(self, key):
            if key == "access_ip":
                raise RuntimeError("undefined variable")
            return super().__getitem__(key)

    sans = required_sans([LazyVars(ip="10.1.0.7", access_ip="x")], include_localhost=False)
    assert "10.1.0.7" in sans


def test_single_load_balancer_mapping_and_plain_entries():
    one = required_sans([], load_balancers={"dns_name": "lb.example.com", "ip": "10.0.0.1"}, include_localhost=False)
    assert one == ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                   "kubernetes.default.svc.cluster.local", "lb.example.com", "10.0.0.1"]
    plain = required_sans([], load_balancers=["lb2.example.com", None, "10.0.0.2"], include_localhost=False)
    assert "lb2.example.com" in plain and "10.0.0.2" in plain


def test_duplicates_across_sources_appear_once():
    sans = required_sans(
        [{"ip": "10.0.0.1", "access_ip": "10.0.0.1"}, "10.0.0.1"],
        api_fqdn=["api.example.com", "API.example.com."],
        extra=["127.0.0.1", "localhost", "Kubernetes"],
    )
    assert len(sans) == len(set(sans))
    assert sans.count("api.example.com") == 1


def test_order_of_inputs_does_not_matter():
    nodes = [{"ip": "10.0.0.%d" % i, "ansible_host": "cp%d.example.com" % i} for i in range(1, 6)]
    forward = required_sans(nodes, service_cidrs="10.96.0.0/12", extra=["b.example.com", "a.example.com"])
    backward = required_sans(list(reversed(nodes)), service_cidrs="10.96.0.0/12", extra=["a.example.com", "b.example.com"])
    assert forward == backward


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"nodes": ["not a name"]}, "nodes[0]"),
        ({"nodes": [{"ip": "10.0.0.300"}]}, "nodes[0].ip"),
        ({"nodes": [], "extra": [42]}, "extra: expected a host name"),
        ({"nodes": [], "extra": [""]}, "extra: empty name"),
        ({"nodes": [], "api_fqdn": "-bad-.example.com"}, "api_fqdn"),
        ({"nodes": [], "service_cidrs": "10.0.0.0/33"}, "service_cidrs"),
        ({"nodes": [], "service_cidrs": "10.0.0.1/32"}, "holds no service address"),
        ({"nodes": [], "cluster_domain": "10.0.0.1"}, "cluster_domain"),
        ({"nodes": [], "load_balancers": [{"dns": "x"}]}, "unknown key(s) dns"),
        ({"nodes": {"ip": "10.0.0.1"}}, "got a mapping"),
        ({"nodes": [], "extra": ["*"]}, "wildcard"),
    ],
)
def test_invalid_input_is_refused_with_its_origin(kwargs, message):
    nodes = kwargs.pop("nodes")
    with pytest.raises(AnsibleFilterError) as excinfo:
        required_sans(nodes, **kwargs)
    assert message in str(excinfo.value)


def test_missing_sans_reports_exactly_the_absent_names():
    required = required_sans(["10.0.0.1", "10.0.0.2"], api_fqdn="api.example.com", service_cidrs="10.233.0.0/18")
    present = [n for n in required if n not in ("10.0.0.2", "kubernetes.default.svc")]
    assert missing_sans(present, required) == ["kubernetes.default.svc", "10.0.0.2"]
    assert missing_sans(required, required) == []


def test_missing_sans_normalises_and_reads_openssl_prefixes():
    actual = ["DNS:Kubernetes", "IP Address:0:0:0:0:0:0:0:1", "IP:10.0.0.1", "dns:api.example.com."]
    assert missing_sans(actual, ["kubernetes", "::1", "10.0.0.1", "api.example.com", "localhost"]) == ["localhost"]


def test_missing_sans_accepts_module_output_mapping():
    actual = {"dns": ["kubernetes"], "ip": ["10.0.0.1"]}
    assert missing_sans(actual, ["kubernetes", "10.0.0.1", "10.0.0.2", "10.0.0.2"]) == ["10.0.0.2"]


def test_missing_sans_wildcards_cover_one_label_only():
    actual = ["*.example.com"]
    required = ["api.example.com", "a.b.example.com", "example.com"]
    assert missing_sans(actual, required) == ["a.b.example.com", "example.com"]
    assert missing_sans(actual, required, wildcards=False) == required


def test_missing_sans_does_not_confuse_a_name_with_an_address():
    assert missing_sans(["10.0.0.1"], ["10.0.0.1", "localhost"]) == ["localhost"]


def test_missing_sans_refuses_garbage():
    with pytest.raises(AnsibleFilterError):
        missing_sans(["not valid!"], ["kubernetes"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.ip_addresses(), max_size=12), st.randoms(use_true_random=False))
def test_result_is_sorted_unique_and_permutation_independent(addresses, rnd):
    texts = [str(a) for a in addresses]
    shuffled = list(texts)
    rnd.shuffle(shuffled)
    first = required_sans(texts, service_cidrs="10.233.0.0/18")
    second = required_sans(shuffled, service_cidrs="10.233.0.0/18")
    assert first == second
    assert len(first) == len(set(first))
    ips = [ipaddress.ip_address(s) for s in first if cert_sans.classify(s)[0] != "dns"]
    assert ips == sorted(ips, key=lambda a: (a.version, int(a)))
    for text in texts:
        assert str(ipaddress.ip_address(text)) in first
    assert missing_sans(first, first) == []
