"""path_probe run by ansible from the built collection: on this machine against 127.0.0.1, and on Debian node
containers (hybrid-node:bookworm) across two docker networks joined by a router whose route to the second network
has an MTU of 1400 (``ip route ... mtu lock 1400``), as a VPN path has.

Every network and container the test makes is named after a unique test id and removed at the end. Only those
containers' addresses and 127.0.0.1 are probed.
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
IMAGE = os.environ.get("HYBRID_NODE_IMAGE", "hybrid-node:bookworm")
SBIN = ("/sbin", "/usr/sbin", "/usr/local/sbin")


def adhoc(env, host, args, *extra, connection=None, inventory=None):
    """``ansible <host> -m hybrid.cluster.path_probe -a <json>``; returns (parsed result, output)."""
    argv = [str(Path(sys.executable).parent / "ansible"), host, "-m", "hybrid.cluster.path_probe", "-a", json.dumps(args)]
    if connection:
        argv += ["-c", connection, "-i", inventory, "-e", "ansible_python_interpreter=/usr/bin/python3"]
    proc = subprocess.run(argv + list(extra), env=env, capture_output=True, text=True, timeout=600, check=False)
    match = re.search(r"^%s \| ([A-Z!]+) => " % re.escape(host), proc.stdout, re.MULTILINE)
    assert match, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    result = json.loads(proc.stdout[match.end():])
    result["failed"] = match.group(1) == "FAILED!"  # the ad hoc output leaves the key out
    assert (proc.returncode != 0) == result["failed"], proc.stdout + proc.stderr
    return result, proc.stdout + proc.stderr


# ---------------------------------------------------------------- on this machine

def test_loopback_on_this_machine(ansible_env):
    if not shutil.which("ping", path=os.pathsep.join([ansible_env["PATH"]] + list(SBIN))):
        pytest.skip("ping (iputils-ping) is not installed on this machine; the container test measures 127.0.0.1 the same way")
    result, output = adhoc(ansible_env, "localhost", {"targets": ["127.0.0.1"], "count": 3, "clock": False})
    assert result["failed"] is False, output
    (target,) = result["targets"]
    assert target["reachable"] is True and target["loss_pct"] == 0.0 and target["rtt_ms"]["avg"] < 50
    # lo's MTU is 65536: the search stops at max_mtu.
    assert target["interface_mtu"] >= 9001 and target["path_mtu"] == 9001 and target["mtu_probes"] == 1


def test_missing_ping_on_this_machine_is_named(ansible_env):
    if shutil.which("ping", path=os.pathsep.join([ansible_env["PATH"]] + list(SBIN))):
        pytest.skip("ping is installed on this machine (test_loopback_on_this_machine measures with it)")
    result, _output = adhoc(ansible_env, "localhost", {"targets": ["127.0.0.1"]})
    assert result["failed"] is True
    assert result["msg"] == ("ping: the ping command was not found on this node. Fix: install the iputils-ping package "
                             "(Debian, Ubuntu) or iputils (RHEL, Fedora)")


# ---------------------------------------------------------------- on node containers

def docker_cli():
    for candidate in ("/usr/bin/docker", shutil.which("docker")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


def docker(*args, check=True):
    proc = subprocess.run([docker_cli()] + list(args), capture_output=True, text=True, timeout=300, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("docker %s failed: %s" % (" ".join(args), proc.stderr.strip()))
    return proc.stdout.strip()


def docker_collection_path(ansible_env):
    """The collections path with community.docker on it (make collections extracts it), or None."""
    paths = ansible_env["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep) + [str(ROOT / ".build" / "collections")]
    for path in paths:
        if (Path(path) / "ansible_collections" / "community" / "docker").is_dir():
            return os.pathsep.join(dict.fromkeys(ansible_env["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep) + [path]))
    return None


class Lab:
    """Networks <id>-a and <id>-b, node <id>-a on the first, node <id>-b on the second, <id>-router on both
    (and <id>-c on the second, without ping, when a test asks for it)."""

    def __init__(self, test_id):
        self.id = test_id
        self.networks = []
        self.containers = []
        self.ip = {}

    def network(self, name):
        docker("network", "create", "--label", "hybrid.cluster.test=path_probe", name)
        self.networks.append(name)
        return docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Subnet}}", name)

    def container(self, name, network, *options):
        docker("run", "-d", "--name", name, "--label", "hybrid.cluster.test=path_probe", "--network", network,
               "--cap-add", "NET_ADMIN", *options, IMAGE, "sleep", "infinity")
        self.containers.append(name)

    def address(self, container, network):
        return docker("inspect", "-f", "{{(index .NetworkSettings.Networks \"%s\").IPAddress}}" % network, container)

    def sh(self, container, script):
        return docker("exec", container, "sh", "-c", script)

    def build(self):
        net_a, net_b = "%s-a" % self.id, "%s-b" % self.id
        subnet_a, subnet_b = self.network(net_a), self.network(net_b)
        router, node_a, node_b = "%s-router" % self.id, "%s-a" % self.id, "%s-b" % self.id
        self.container(router, net_a, "--sysctl", "net.ipv4.ip_forward=1")
        docker("network", "connect", net_b, router)
        self.container(node_a, net_a)
        self.container(node_b, net_b)
        self.ip = {"router_a": self.address(router, net_a), "router_b": self.address(router, net_b),
                   "a": self.address(node_a, net_a), "b": self.address(node_b, net_b), "subnet_b": subnet_b}
        # No default routes: nothing leaves these two networks. The router's way into network b carries a locked
        # MTU of 1400, like a VPN path; the way back is left at 1500.
        self.sh(router, "ip route del default || true; ip route replace %s dev eth1 mtu lock 1400" % subnet_b)
        self.sh(node_a, "ip route del default || true; ip route add %s via %s" % (subnet_b, self.ip["router_a"]))
        self.sh(node_b, "ip route del default || true; ip route add %s via %s" % (subnet_a, self.ip["router_b"]))
        # Time: the router serves its own clock, node a follows it (chronyd -x: the clock itself is left alone).
        self.sh(router, "mkdir -p /run/chrony && printf 'local stratum 8\\nallow all\\n' > /tmp/chrony.conf "
                        "&& chronyd -x -f /tmp/chrony.conf")
        self.sh(node_a, "mkdir -p /run/chrony && printf 'server %s iburst minpoll -2 maxpoll -1\\n' > /tmp/chrony.conf "
                        "&& chronyd -x -f /tmp/chrony.conf && chronyc waitsync 40 0 0 0.5" % self.ip["router_a"])
        return self

    def remove(self):
        for name in reversed(self.containers):
            docker("rm", "-f", name, check=False)
        for name in self.networks:
            docker("network", "rm", name, check=False)


@pytest.fixture(scope="module")
def lab():
    if docker_cli() is None:
        pytest.skip("no docker client on this machine")
    info = subprocess.run([docker_cli(), "info"], capture_output=True, text=True, timeout=60, check=False)
    if info.returncode != 0:
        pytest.skip("the Docker engine is not running (hack/start-docker.sh starts it): %s" % info.stderr.strip()[:200])
    if subprocess.run([docker_cli(), "image", "inspect", IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.skip("the node image %s is missing (make node-image builds it)" % IMAGE)
    built = Lab("hc-probe-%s" % uuid.uuid4().hex[:8])
    try:
        yield built.build()
    finally:
        built.remove()


@pytest.fixture
def on_node(ansible_env, lab, tmp_path):
    path = docker_collection_path(ansible_env)
    if path is None:
        pytest.skip("the community.docker collection is not installed (make collections extracts it)")
    env = dict(ansible_env, ANSIBLE_COLLECTIONS_PATH=path)
    env["PATH"] = os.pathsep.join([os.path.dirname(docker_cli()), env["PATH"]])

    def run(node, args, *extra):
        name = "%s-%s" % (lab.id, node)
        return adhoc(env, name, args, *extra, connection="community.docker.docker", inventory=name + ",")
    return run


def by_address(result):
    return {t["address"]: t for t in result["targets"]}


def test_path_mtu_of_the_router_path_is_found(lab, on_node):
    result, output = on_node("a", {"targets": [lab.ip["b"], lab.ip["router_a"], "127.0.0.1"], "count": 3})
    assert result["failed"] is False, output
    assert result["changed"] is False and result["problems"] == []
    targets = by_address(result)
    across = targets[lab.ip["b"]]
    assert across["reachable"] and across["loss_pct"] == 0.0 and across["rtt_ms"]["avg"] > 0
    # 1500 is refused by the router with "Frag needed (mtu = 1400)", 1400 gets through.
    assert (across["path_mtu"], across["reported_mtu"], across["mtu_probes"]) == (1400, 1400, 2)
    assert across["interface_mtu"] == 1500
    assert targets[lab.ip["router_a"]]["path_mtu"] == 1500
    # lo's MTU is 65536: the search stops at max_mtu (9001 by default).
    loopback = targets["127.0.0.1"]
    assert loopback["interface_mtu"] >= 9001 and loopback["path_mtu"] == 9001 and loopback["mtu_probes"] == 1

    # The kernel now remembers 1400 toward b: the next run starts there.
    again, _output = on_node("a", {"targets": [lab.ip["b"]], "count": 2})
    assert by_address(again)[lab.ip["b"]]["interface_mtu"] == 1400 and by_address(again)[lab.ip["b"]]["mtu_probes"] == 1


def test_the_other_direction_and_max_mtu(lab, on_node):
    result, output = on_node("b", {"targets": [lab.ip["a"], "127.0.0.1"], "count": 2, "max_mtu": 2000})
    assert result["failed"] is False, output
    targets = by_address(result)
    # b -> a leaves the router on the 1500 route; the replies are fragmented on the way back, as ICMP echo replies may be.
    assert targets[lab.ip["a"]]["path_mtu"] == 1500
    assert targets["127.0.0.1"]["path_mtu"] == 2000


def test_clock_from_chrony(lab, on_node):
    result, output = on_node("a", {"targets": [lab.ip["router_a"]], "count": 2, "probe_mtu": False, "max_clock_error_ms": 25})
    assert result["failed"] is False, output
    clock = result["clock"]
    assert clock["available"] is True and clock["synchronised"] is True
    assert clock["reference"] == lab.ip["router_a"] and clock["stratum"] == 9 and clock["leap_status"] == "Normal"
    bound = abs(clock["offset_ms"]) + clock["root_delay_ms"] / 2 + clock["root_dispersion_ms"]
    assert clock["max_error_ms"] == pytest.approx(bound, abs=1e-5) and 0 < clock["max_error_ms"] < 25
    assert result["targets"][0]["path_mtu"] is None and result["targets"][0]["mtu_probes"] == 0

    # Node b runs no chronyd: the clock is reported unavailable, and fails a clock bound.
    result, _output = on_node("b", {"targets": [lab.ip["router_b"]], "count": 1, "probe_mtu": False})
    assert result["failed"] is False and result["clock"]["available"] is False
    assert "Cannot talk to daemon" in result["clock"]["error"]
    result, _output = on_node("b", {"targets": [lab.ip["router_b"]], "count": 1, "probe_mtu": False, "max_clock_error_ms": 25})
    assert result["failed"] is True and result["problems"][0].startswith("clock: the clock could not be read (chronyc -c tracking: ")


def test_bounds_fail_with_every_measurement(lab, on_node):
    silent = str(ipaddress.ip_network(lab.ip["subnet_b"]).broadcast_address - 1)  # in network b, no container there
    args = {"targets": [lab.ip["b"], silent], "count": 2, "min_path_mtu": 1450, "max_rtt_ms": 0.001,
            "max_clock_error_ms": 0.000001}
    result, _output = on_node("a", args, "--check")
    assert result["failed"] is True and result["changed"] is False
    problems = result["problems"]
    assert problems[0].startswith("targets[0] %s: average round-trip time " % lab.ip["b"])
    assert problems[0].endswith("ms is above max_rtt_ms 0.001. Fix: keep each etcd cluster within one cloud (topology mesh) "
                                "or find the slow hop; raise max_rtt_ms only if the bound was too strict")
    assert problems[1] == ("targets[0] %s: path MTU 1400 is below min_path_mtu 1450. Fix: set the pod network's MTU from the "
                           "measured path MTU (Cilium: path MTU - 50 with VXLAN, - 130 with VXLAN and WireGuard) or find the "
                           "hop that lowers it" % lab.ip["b"])
    assert problems[2].startswith("targets[1] %s: no reply to any of 2 echo requests (100%% loss" % silent)
    assert problems[3].startswith("clock: the clock's error may reach ")
    assert result["msg"].startswith("Path probe found 4 problems: ")
    assert [t["address"] for t in result["targets"]] == [lab.ip["b"], silent]


def test_missing_ping_on_a_node_is_named(lab, on_node):
    name = "%s-c" % lab.id
    lab.container(name, "%s-b" % lab.id)
    lab.sh(name, "rm -f /usr/bin/ping /bin/ping")
    result, _output = on_node("c", {"targets": [lab.ip["router_b"]]})
    assert result["failed"] is True
    assert result["msg"] == ("ping: the ping command was not found on this node. Fix: install the iputils-ping package "
                             "(Debian, Ubuntu) or iputils (RHEL, Fedora)")
