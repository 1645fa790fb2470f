"""Unit tests for path_probe: ping and chronyc parsing, the MTU search, the bounds, and module runs with stand-in commands."""

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.hybrid.cluster.plugins.modules import path_probe as mod

COLLECTIONS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".build", "pytest"))

PING_OK = """PING 10.65.1.4 (10.65.1.4) 56(84) bytes of data.
64 bytes from 10.65.1.4: icmp_seq=1 ttl=63 time=11.2 ms
64 bytes from 10.65.1.4: icmp_seq=2 ttl=63 time=13.1 ms
64 bytes from 10.65.1.4: icmp_seq=3 ttl=63 time=11.4 ms

--- 10.65.1.4 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 402ms
rtt min/avg/max/mdev = 11.213/11.902/13.104/0.851 ms
"""
PING_LOSS = """PING 10.65.1.4 (10.65.1.4) 56(84) bytes of data.
64 bytes from 10.65.1.4: icmp_seq=1 ttl=63 time=40.1 ms
From 10.64.0.1 icmp_seq=2 Destination Host Unreachable
64 bytes from 10.65.1.4: icmp_seq=3 ttl=63 time=42.0 ms
64 bytes from 10.65.1.4: icmp_seq=4 ttl=63 time=41.0 ms

--- 10.65.1.4 ping statistics ---
5 packets transmitted, 3 received, +1 errors, 40% packet loss, time 4006ms
rtt min/avg/max/mdev = 40.100/41.033/42.000/0.776 ms, pipe 2
"""
PING_NONE = """PING 172.21.255.254 (172.21.255.254) 56(84) bytes of data.
From 172.20.0.2 icmp_seq=1 Destination Host Unreachable
From 172.20.0.2 icmp_seq=2 Destination Host Unreachable

--- 172.21.255.254 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 1019ms
"""
PING_FRAG_NEEDED = """PING 172.21.0.3 (172.21.0.3) 1472(1500) bytes of data.
From 172.20.0.2 icmp_seq=1 Frag needed and DF set (mtu = 1400)

--- 172.21.0.3 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 401ms
ping: local error: message too long, mtu=1400
ping: local error: message too long, mtu=1400
"""
PING_LOCAL_ERROR = """PING 172.21.0.3 (172.21.0.3) 1373(1401) bytes of data.

--- 172.21.0.3 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms

ping: local error: message too long, mtu=1400
"""
PING6_TOO_BIG = """PING 2001:db8:1::4(2001:db8:1::4) 1452 data bytes
From 2001:db8::1 icmp_seq=1 Packet too big: mtu=1280

--- 2001:db8:1::4 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
"""
PING_BUSYBOX = """PING 10.65.1.4 (10.65.1.4): 56 data bytes
64 bytes from 10.65.1.4: seq=0 ttl=63 time=0.181 ms

--- 10.65.1.4 ping statistics ---
2 packets transmitted, 2 packets received, 0% packet loss
round-trip min/avg/max = 0.095/0.138/0.181 ms
"""
PING_UNREACHABLE_NET = "ping: connect: Network is unreachable\n"

TRACKING_SYNCED = ("AC140002,172.20.0.2,9,1795629536.933689754,-0.000009574,0.000000048,0.000000399,-0.013,0.002,0.393,"
                   "0.000043051,0.000002682,1.0,Normal\n")
TRACKING_NOT_SYNCED = "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised\n"
TRACKING_LOCAL = "7F7F0101,,8,1795629525.297765031,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,0.000000000,0.000000000,0.0,Normal\n"
TRACKING_AWS = ("A9FEA97B,169.254.169.123,4,1795629536.1,+0.000120000,+0.000001000,0.000023456,-12.345,+0.001,0.123,"
                "0.000456000,0.000200000,16.2,Normal\n")


# ---------------------------------------------------------------- ping output

def test_parse_ping_summary_and_rtt():
    assert mod.parse_ping(PING_OK) == {"transmitted": 3, "received": 3, "errors": 0, "loss_pct": 0.0,
                                       "rtt_ms": {"min": 11.213, "avg": 11.902, "max": 13.104, "mdev": 0.851}}


def test_parse_ping_with_loss_and_errors():
    result = mod.parse_ping(PING_LOSS)
    assert (result["transmitted"], result["received"], result["errors"], result["loss_pct"]) == (5, 3, 1, 40.0)
    assert result["rtt_ms"]["avg"] == 41.033


def test_parse_ping_without_reply():
    assert mod.parse_ping(PING_NONE) == {"transmitted": 2, "received": 0, "errors": 2, "loss_pct": 100.0, "rtt_ms": None}
    assert mod.ping_error(PING_NONE) == "From 172.20.0.2 icmp_seq=1 Destination Host Unreachable"
    assert mod.parse_ping(PING_UNREACHABLE_NET)["received"] == 0
    assert mod.ping_error(PING_UNREACHABLE_NET) == "ping: connect: Network is unreachable"


def test_parse_busybox_ping():
    result = mod.parse_ping(PING_BUSYBOX)
    assert (result["transmitted"], result["received"], result["loss_pct"]) == (2, 2, 0.0)
    assert result["rtt_ms"] == {"min": 0.095, "avg": 0.138, "max": 0.181, "mdev": None}


@pytest.mark.parametrize("output, expected", [
    (PING_FRAG_NEEDED, 1400),
    (PING_LOCAL_ERROR, 1400),
    (PING6_TOO_BIG, 1280),
    ("ping: local error: message too long, mtu: 1380\n", 1380),
    (PING_OK, None),
    (PING_NONE, None),
])
def test_reported_mtu(output, expected):
    assert mod.reported_mtu(output) == expected


# ---------------------------------------------------------------- chronyc

def test_parse_tracking_synchronised():
    clock = mod.parse_tracking(TRACKING_SYNCED)
    assert clock == {"available": True, "synchronised": True, "reference_id": "AC140002", "reference": "172.20.0.2",
                     "stratum": 9, "offset_ms": -0.009574, "root_delay_ms": 0.043051, "root_dispersion_ms": 0.002682,
                     "leap_status": "Normal", "max_error_ms": round(0.009574 + 0.043051 / 2 + 0.002682, 6)}


def test_parse_tracking_bound_follows_chrony():
    clock = mod.parse_tracking(TRACKING_AWS)
    # |0.12 ms| + 0.456 ms / 2 + 0.2 ms
    assert clock["max_error_ms"] == pytest.approx(0.12 + 0.228 + 0.2)
    assert clock["offset_ms"] == 0.12 and clock["reference"] == "169.254.169.123"


def test_parse_tracking_not_synchronised_and_local():
    clock = mod.parse_tracking(TRACKING_NOT_SYNCED)
    assert clock["synchronised"] is False and clock["leap_status"] == "Not synchronised" and clock["reference"] is None
    assert clock["max_error_ms"] == 1500.0
    local = mod.parse_tracking(TRACKING_LOCAL)
    assert local["synchronised"] is False and local["reference"] == "LOCAL" and local["stratum"] == 8


def test_parse_tracking_refuses_other_output():
    with pytest.raises(ValueError, match="14 comma-separated fields"):
        mod.parse_tracking("506 Cannot talk to daemon")


@given(st.floats(-1, 1), st.floats(0, 1), st.floats(0, 1))
def test_max_error_is_never_below_the_offset(offset, delay, dispersion):
    assert mod.max_error_ms(offset, delay, dispersion) >= abs(offset) * 1000.0


# ---------------------------------------------------------------- MTU search

def fake_path(mtu, reports=True):
    tried = []

    def probe(size):
        tried.append(size)
        if size <= mtu:
            return True, None
        return False, (mtu if reports else None)
    return probe, tried


def test_reporting_hop_takes_two_probes():
    probe, tried = fake_path(1400)
    assert mod.search_path_mtu(probe, 1280, 1500) == (1400, 2, 1400)
    assert tried == [1500, 1400]


def test_silent_path_is_found_by_binary_search():
    probe, tried = fake_path(1400, reports=False)
    best, probes, reported = mod.search_path_mtu(probe, 1280, 9001)
    assert (best, reported) == (1400, None)
    assert probes == len(tried) <= 14  # log2(9001 - 1280) + 1


def test_path_at_or_above_the_upper_bound_takes_one_probe():
    probe, tried = fake_path(65535)
    assert mod.search_path_mtu(probe, 1280, 9001) == (9001, 1, None)
    assert tried == [9001]


def test_path_below_the_lower_bound():
    probe, _tried = fake_path(1200)
    assert mod.search_path_mtu(probe, 1280, 1500) == (None, 1, 1200)
    probe, tried = fake_path(1000, reports=False)
    best, _probes, reported = mod.search_path_mtu(probe, 1280, 1500)
    assert (best, reported) == (None, None) and 1280 in tried


def test_a_lower_hop_behind_the_first_one():
    """The first hop says 1450, a later one (silently) allows only 1400."""
    tried = []

    def probe(size):
        tried.append(size)
        if size <= 1400:
            return True, None
        return False, 1450 if size > 1450 else None
    best, _probes, reported = mod.search_path_mtu(probe, 1280, 9001)
    assert (best, reported) == (1400, 1450)
    assert tried[:2] == [9001, 1450]


@given(st.integers(68, 9001), st.integers(68, 9001), st.integers(0, 12000), st.booleans())
def test_search_finds_the_largest_passing_size(low, high, mtu, reports):
    low, high = min(low, high), max(low, high)
    probe, tried = fake_path(mtu, reports)
    best, probes, _reported = mod.search_path_mtu(probe, low, high)
    expected = min(mtu, high) if mtu >= low else None
    assert best == expected
    assert probes == len(tried) == len(set(tried))
    assert all(low <= size <= high for size in tried)


def test_clamp_high():
    assert mod.clamp_high(65535, 9001) == 9001
    assert mod.clamp_high(1500, 9001) == 1500
    assert mod.clamp_high(None, 9001) == 9001


def test_kernel_mtu_of_the_loopback():
    assert mod.kernel_mtu("127.0.0.1", 4) >= 1500


# ---------------------------------------------------------------- bounds

def target(**overrides):
    base = {"address": "10.65.1.4", "reachable": True, "transmitted": 5, "received": 5, "loss_pct": 0.0,
            "rtt_ms": {"min": 11.0, "avg": 12.5, "max": 14.0, "mdev": 1.0}, "path_mtu": 1400, "interface_mtu": 9001,
            "mtu_probes": 2, "reported_mtu": 1400, "error": None}
    base.update(overrides)
    return base


def test_no_bounds_no_problems():
    assert mod.target_problems(0, target(), {}) == []


def test_unreachable_target_is_a_problem_under_a_bound():
    silent = target(reachable=False, received=0, loss_pct=100.0, rtt_ms=None, path_mtu=None,
                    error="From 10.64.0.1 icmp_seq=1 Destination Host Unreachable")
    assert mod.target_problems(1, silent, {"count": 5}) == []
    assert mod.target_problems(1, silent, {"count": 5, "max_clock_error_ms": 25.0}) == []
    found = mod.target_problems(1, silent, {"count": 5, "max_rtt_ms": 50.0})
    assert found == ["targets[1] 10.65.1.4: no reply to any of 5 echo requests (100% loss; From 10.64.0.1 icmp_seq=1 "
                     "Destination Host Unreachable). Fix: check the address, that the VPN is up and routes to it, and that "
                     "security groups and NSGs allow ICMP echo from this node"]


def test_bounds_name_value_bound_and_fix():
    params = {"max_rtt_ms": 10.0, "max_loss_pct": 0.0, "min_path_mtu": 1450, "probe_mtu": True}
    found = mod.target_problems(0, target(loss_pct=20.0), params)
    assert found == [
        "targets[0] 10.65.1.4: average round-trip time 12.5 ms is above max_rtt_ms 10. Fix: keep each etcd cluster within "
        "one cloud (topology mesh) or find the slow hop; raise max_rtt_ms only if the bound was too strict",
        "targets[0] 10.65.1.4: 20% of the echo requests got no reply, more than max_loss_pct 0. Fix: check both VPN tunnels' "
        "status and the links on the path; measure again with a larger count",
        "targets[0] 10.65.1.4: path MTU 1400 is below min_path_mtu 1450. Fix: set the pod network's MTU from the measured "
        "path MTU (Cilium: path MTU - 50 with VXLAN, - 130 with VXLAN and WireGuard) or find the hop that lowers it",
    ]
    unknown = mod.target_problems(0, target(path_mtu=None, error="no probe of 1280 bytes or more got through"), params)
    assert unknown[-1].startswith("targets[0] 10.65.1.4: the path MTU could not be measured (no probe of 1280 bytes")


def test_clock_bounds():
    synced = mod.parse_tracking(TRACKING_AWS)
    assert mod.clock_problems(synced, {"max_clock_error_ms": 25.0}) == []
    assert mod.clock_problems(synced, {}) == []
    assert mod.clock_problems(synced, {"max_clock_error_ms": 0.1})[0].startswith(
        "clock: the clock's error may reach 0.548 ms (offset 0.12 ms, root delay 0.456 ms, root dispersion 0.2 ms), more "
        "than max_clock_error_ms 0.1. Fix: ")
    assert mod.clock_problems(mod.parse_tracking(TRACKING_NOT_SYNCED), {"max_clock_error_ms": 25.0}) == [
        "clock: chrony is not synchronised to a time source (reference 00000000, leap status Not synchronised). Fix: install "
        "and configure chrony with the hybrid.cluster.ntp role, and wait until it is synchronised"]
    assert mod.clock_problems({"available": False, "error": "chronyc is not installed"}, {"max_clock_error_ms": 25.0}) == [
        "clock: the clock could not be read (chronyc is not installed). Fix: install and configure chrony with the "
        "hybrid.cluster.ntp role, and wait until it is synchronised"]


# ---------------------------------------------------------------- module runs with stand-in ping and chronyc

FAKE_PING = r'''#!{python}
"""Stand-in for iputils ping: a path with MTU {mtu} behind a router that reports it; 10.255.0.1 never answers."""
import sys
args = sys.argv[1:]
address = args[-1]
count = int(args[args.index("-c") + 1])
with open({log!r}, "a") as log:
    log.write(" ".join(args) + "\n")
if "{flavour}" == "busybox":
    sys.stderr.write("ping: unrecognized option: 4\nBusyBox v1.36.1 multi-call binary.\n\nUsage: ping [OPTIONS] HOST\n")
    sys.exit(1)
size = int(args[args.index("-s") + 1]) + 28 if "-s" in args else 84
print("PING %s (%s) %d(%d) bytes of data." % (address, address, size - 28, size))
if address == "10.255.0.1":
    print("\n--- %s ping statistics ---\n%d packets transmitted, 0 received, 100%% packet loss, time 1000ms\n" % (address, count))
    sys.exit(1)
if "-M" in args and size > {mtu}:
    print("From 10.64.0.1 icmp_seq=1 Frag needed and DF set (mtu = {mtu})")
    print("\n--- %s ping statistics ---\n%d packets transmitted, 0 received, +%d errors, 100%% packet loss, time 400ms\n"
          % (address, count, count))
    sys.exit(1)
print("\n--- %s ping statistics ---\n%d packets transmitted, %d received, 0%% packet loss, time 400ms" % (address, count, count))
print("rtt min/avg/max/mdev = 10.100/10.500/11.000/0.300 ms")
'''
FAKE_CHRONYC = "#!/bin/sh\nprintf '%s'\n" % TRACKING_AWS.strip()


def install(directory, name, text):
    path = directory / name
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def fake_bin(tmp_path):
    directory = tmp_path / "bin"
    directory.mkdir()
    log = tmp_path / "ping.log"
    install(directory, "ping", FAKE_PING.format(python=sys.executable, mtu=1400, log=str(log), flavour="iputils"))
    install(directory, "chronyc", FAKE_CHRONYC)
    return directory, log


def run_module(args, path):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS_DIR, PATH=str(path))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.hybrid.cluster.plugins.modules.path_probe"],
                          input=json.dumps({"ANSIBLE_MODULE_ARGS": args}), capture_output=True, text=True, env=env, check=False)
    return json.loads(proc.stdout)


def test_module_measures_rtt_mtu_and_clock(fake_bin):
    directory, log = fake_bin
    # 127.0.0.2: the kernel's MTU toward it is the loopback's, so max_mtu bounds the search.
    result = run_module({"targets": ["127.0.0.2"], "count": 3, "max_rtt_ms": 50, "min_path_mtu": 1400,
                         "max_clock_error_ms": 25, "_ansible_check_mode": True}, directory)
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["problems"] == []
    (probe,) = result["targets"]
    assert probe["rtt_ms"] == {"min": 10.1, "avg": 10.5, "max": 11.0, "mdev": 0.3}
    assert (probe["loss_pct"], probe["path_mtu"], probe["reported_mtu"], probe["mtu_probes"]) == (0.0, 1400, 1400, 2)
    assert result["clock"]["synchronised"] is True and result["clock"]["max_error_ms"] == pytest.approx(0.548)
    calls = log.read_text().splitlines()
    assert calls[0] == "-4 -n -c 3 -i 0.2 -W 1 127.0.0.2"
    assert calls[1:] == ["-4 -n -c 3 -i 0.2 -W 1 -M do -s 8973 127.0.0.2", "-4 -n -c 3 -i 0.2 -W 1 -M do -s 1372 127.0.0.2"]


def test_module_reports_an_unreachable_target_and_fails_under_a_bound(fake_bin):
    directory, _log = fake_bin
    result = run_module({"targets": ["127.0.0.2", "10.255.0.1"], "clock": False, "probe_mtu": False}, directory)
    assert result.get("failed") is not True and result["problems"] == []
    silent = result["targets"][1]
    assert (silent["reachable"], silent["loss_pct"], silent["rtt_ms"], silent["error"]) == (False, 100.0, None,
                                                                                            "no reply (ping exit code 1)")
    result = run_module({"targets": ["127.0.0.2", "10.255.0.1"], "clock": False, "max_loss_pct": 10}, directory)
    assert result["failed"] is True
    assert result["msg"].startswith("Path probe found 1 problem: targets[1] 10.255.0.1: no reply to any of 5 echo requests "
                                    "(100% loss; no reply (ping exit code 1)). Fix: ")
    assert [t["reachable"] for t in result["targets"]] == [True, False]
    assert result["targets"][1]["path_mtu"] is None and result["clock"]["available"] is False


def test_module_names_the_package_when_ping_is_missing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    if any(os.path.exists(os.path.join(d, "ping")) for d in ("/sbin", "/usr/sbin", "/usr/local/sbin")):
        pytest.skip("ping is installed in an sbin directory, which the module always searches")
    result = run_module({"targets": ["127.0.0.1"]}, empty)
    assert result["failed"] is True
    assert result["msg"] == ("ping: the ping command was not found on this node. Fix: install the iputils-ping package "
                             "(Debian, Ubuntu) or iputils (RHEL, Fedora)")


def test_module_refuses_another_ping(tmp_path):
    directory = tmp_path / "bin"
    directory.mkdir()
    install(directory, "ping", FAKE_PING.format(python=sys.executable, mtu=1400, log=str(tmp_path / "log"), flavour="busybox"))
    result = run_module({"targets": ["127.0.0.1"]}, directory)
    assert result["failed"] is True
    assert result["msg"] == ("ping: %s is not the iputils ping (ping: unrecognized option: 4). Fix: install the iputils-ping "
                             "package (Debian, Ubuntu) or iputils (RHEL, Fedora)" % (directory / "ping"))


@pytest.mark.parametrize("args, message", [
    ({"targets": ["node-1"]}, "targets[0]: 'node-1' is not an IP address. Fix: give IPv4 or IPv6 addresses"),
    ({"targets": []}, "targets: the list is empty. Fix: give at least one address"),
    ({"targets": ["127.0.0.1"], "min_mtu": 1500, "max_mtu": 1400}, "min_mtu: min_mtu 1500 and max_mtu 1400 must satisfy"),
    ({"targets": ["127.0.0.1"], "count": 0}, "count: 0 is less than 1. Fix: send at least one echo request"),
])
def test_module_checks_its_options_first(fake_bin, args, message):
    directory, log = fake_bin
    result = run_module(args, directory)
    assert result["failed"] is True and result["msg"].startswith(message)
    assert not log.exists()


def test_documentation_states_where_it_runs():
    assert "on the managed node" in textwrap.dedent(mod.DOCUMENTATION)
