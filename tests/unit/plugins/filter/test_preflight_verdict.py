"""Unit tests for the preflight_verdict filter: measurements held to the hybrid definition's bounds."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.hybrid.cluster.plugins.filter.preflight import FilterModule, preflight_verdict


def hybrid(topology="mesh", rook=True, **preflight):
    return {"topology": topology, "rook": {"enabled": rook}, "preflight": dict({"max_rtt_ms": 0, "min_path_mtu": 1280,
                                                                               "max_clock_skew_ms": 0}, **preflight)}


def probe(targets=(), error=None):
    out = {"targets": [{"address": a, "rtt_ms": {"min": r, "avg": r, "max": r, "mdev": 0.0}, "loss_pct": loss, "path_mtu": mtu}
                       for a, r, loss, mtu in targets]}
    if error is not None:
        out["clock"] = {"max_error_ms": error}
    return out


def nodes(rtt=20.0, mtu=1400, errors=(1.0, 2.0), loss=0):
    return {
        "aws-1": {"cloud": "aws", "probe": probe([("10.65.0.10", rtt, loss, mtu)], errors[0])},
        "azure-1": {"cloud": "azure", "probe": probe([("10.64.0.10", rtt / 2, 0, mtu + 100)], errors[1])},
    }


def test_within_bounds():
    verdict = preflight_verdict(nodes(), hybrid())
    assert verdict["problems"] == []
    assert verdict["rtt_ms"] == 20.0
    assert verdict["path_mtu"] == 1400          # the lowest of both directions
    assert verdict["clock_skew_ms"] == 3.0      # worst AWS error plus worst Azure error
    assert verdict["settings"] == {"path_mtu": 1400}   # no etcd timing for a mesh
    assert any("path MTU across the VPN: 1400" in line for line in verdict["summary"])


def test_default_bounds_follow_topology_and_rook():
    assert preflight_verdict({}, hybrid("stretched"))["bounds"]["max_rtt_ms"] == 50.0
    assert preflight_verdict({}, hybrid("mesh"))["bounds"]["max_rtt_ms"] == 300.0
    assert preflight_verdict({}, hybrid("mesh", rook=True))["bounds"]["max_clock_skew_ms"] == 50.0
    assert preflight_verdict({}, hybrid("mesh", rook=False))["bounds"]["max_clock_skew_ms"] == 500.0
    # A stretched cluster has no RBD mirroring, so Ceph's bound does not apply.
    assert preflight_verdict({}, hybrid("stretched", rook=True))["bounds"]["max_clock_skew_ms"] == 500.0
    assert preflight_verdict({}, hybrid(max_rtt_ms=80))["bounds"]["max_rtt_ms"] == 80.0


def test_stretched_rtt_too_high_names_the_fix():
    verdict = preflight_verdict(nodes(rtt=75.0), hybrid("stretched"))
    assert len(verdict["problems"]) == 1
    assert "75.0 ms from aws-1 to 10.65.0.10 is above 50 ms" in verdict["problems"][0]
    assert "hybrid_topology: mesh" in verdict["problems"][0]


def test_stretched_rtt_is_rounded_up_for_etcd():
    assert preflight_verdict(nodes(rtt=21.3), hybrid("stretched"))["settings"]["etcd_rtt_ms"] == 30
    assert preflight_verdict(nodes(rtt=0.2), hybrid("stretched"))["settings"]["etcd_rtt_ms"] == 10


def test_small_path_mtu_fails():
    verdict = preflight_verdict(nodes(mtu=1200), hybrid())
    assert any("Path MTU 1200 from aws-1 to 10.65.0.10 is below 1280" in p for p in verdict["problems"])


def test_clock_skew_against_ceph_bound():
    verdict = preflight_verdict(nodes(errors=(30.0, 25.0)), hybrid())
    assert verdict["clock_skew_ms"] == 55.0
    assert any("Ceph's mon_clock_drift_allowed" in p and "ntp_shared_servers" in p for p in verdict["problems"])
    assert preflight_verdict(nodes(errors=(30.0, 25.0)), hybrid(rook=False))["problems"] == []


def test_unreachable_peer_is_a_problem():
    verdict = preflight_verdict(nodes(loss=100), hybrid())
    assert any("No answer across the VPN for aws-1 -> 10.65.0.10" in p for p in verdict["problems"])


def test_unknown_clock_is_reported_not_failed():
    data = nodes()
    del data["azure-1"]["probe"]["clock"]
    verdict = preflight_verdict(data, hybrid())
    assert verdict["clock_skew_ms"] is None
    assert verdict["problems"] == []
    assert any("clock not known on azure-1" in line for line in verdict["summary"])


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="cloud must be aws or azure"):
        preflight_verdict({"x": {"cloud": "gcp", "probe": {}}}, hybrid())
    with pytest.raises(AnsibleFilterError, match="must map each node"):
        preflight_verdict(["x"], hybrid())
    with pytest.raises(AnsibleFilterError, match="hybrid_preflight.max_rtt_ms must be a number"):
        preflight_verdict({}, hybrid(max_rtt_ms="fast"))


def test_registered():
    assert FilterModule().filters()["preflight_verdict"] is preflight_verdict
