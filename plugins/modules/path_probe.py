#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: path_probe
short_description: Measure round-trip time, loss and path MTU to other nodes, and the node's clock error
version_added: 1.0.0
description:
  - Runs B(on the managed node) (unlike the cloud modules of this collection, which run on the controller) and measures
    the network path from that node to each address of O(targets), with the node's own C(ping) (iputils).
  - "Round-trip time and loss: O(count) echo requests; C(min), C(avg), C(max) and C(mdev) in milliseconds as ping
    reports them, and the share of requests without a reply."
  - "Path MTU: the largest packet that gets through with the don't-fragment bit set (C(ping -M do -s <size>)), found by
    a binary search between O(min_mtu) and the MTU the kernel knows toward the target (the outgoing interface's,
    or a route's), at most O(max_mtu). A hop that reports its MTU (C(Frag needed ... mtu = N), C(message too long,
    mtu=N), C(Packet too big: mtu=N)) is tried next, so a reporting path takes two or three probes. The path MTU is
    measured in one direction, from this node to the target."
  - "Clock: when C(chronyc) is installed, its C(tracking) report (system time offset, root delay, root dispersion,
    leap status) and a conservative bound of the clock's error, RV(clock.max_error_ms) = |offset| + root delay / 2 +
    root dispersion. Two nodes' clocks differ by at most the sum of their bounds."
  - Without bounds the module only measures and reports; a target that does not answer has RV(targets[].reachable)
    false and RV(targets[].error) says what ping said.
  - With the optional bounds (O(max_rtt_ms), O(max_loss_pct), O(min_path_mtu), O(max_clock_error_ms)) the task fails
    when a measurement breaks one, naming the target, the value, the bound and the fix; with any of the first three, a
    target that answers no echo request fails the task too. The measurements are returned with the failure.
  - Needs nothing but Python 3 and the iputils C(ping) on the node; C(chronyc) is optional.
author:
  - hybrid.cluster maintainers (@hybrid-cluster)
attributes:
  check_mode:
    support: full
    description: The module only measures, so it measures in check mode too; it never reports a change.
  diff_mode:
    support: none
    description: Nothing is changed.
options:
  targets:
    description:
      - IPv4 or IPv6 addresses to measure, typically the other nodes' private addresses across the VPN.
    type: list
    elements: str
    required: true
  count:
    description: Echo requests sent to each target for the round-trip time and loss.
    type: int
    default: 5
  interval:
    description: Seconds between two echo requests (iputils refuses less than 0.002, and less than 0.2 to other users than root).
    type: float
    default: 0.2
  timeout:
    description: Seconds to wait for the last reply of each ping run (C(ping -W)).
    type: int
    default: 1
  probe_mtu:
    description: Measure the path MTU. Each probe that gets no answer costs about O(timeout) seconds.
    type: bool
    default: true
  min_mtu:
    description:
      - Smallest packet size (bytes, IP header included) the MTU search tries. When even this size does not get through
        with the don't-fragment bit set, RV(targets[].path_mtu) is null.
      - 1280 is the minimum MTU of IPv6 and well below any VPN path.
    type: int
    default: 1280
  max_mtu:
    description:
      - Largest packet size the MTU search tries. The kernel's MTU toward the target (65536 on the loopback interface) is
        lowered to this, so that the search does not test sizes no node uses; 9001 is the largest MTU on AWS.
    type: int
    default: 9001
  clock:
    description: Read C(chronyc -c tracking) when chronyc is installed.
    type: bool
    default: true
  max_rtt_ms:
    description: Fail when a target's average round-trip time is above this many milliseconds.
    type: float
  max_loss_pct:
    description: Fail when more than this share (percent) of a target's echo requests get no reply.
    type: float
  min_path_mtu:
    description: Fail when a target's path MTU is below this, or could not be measured.
    type: int
  max_clock_error_ms:
    description:
      - Fail when the node's clock is not synchronised or RV(clock.max_error_ms) is above this many milliseconds.
      - For a pair of nodes to stay within a bound B of each other, give each node B / 2 (Ceph's
        C(mon_clock_drift_allowed) of 0.05 s gives 25).
    type: float
notes:
  - Packet sizes are IP packet sizes, as an MTU is - the ICMP payload is 28 bytes smaller on IPv4 and 48 on IPv6.
  - The kernel remembers a path MTU it learnt (for about ten minutes); the search starts from it, so a path that got
    larger again is seen larger only once the kernel forgets the old value.
  - The targets are measured one after the other. Each must allow ICMP echo (security groups, NSGs).
seealso:
  - module: hybrid.cluster.cloud_preflight
  - name: hybrid.cluster preflight documentation
    description: What is checked and the bounds that matter (etcd, Ceph, Cilium), in docs/preflight.md of the collection.
    link: https://example.invalid/hybrid/cluster/docs/preflight.md
"""

EXAMPLES = r"""
- name: Measure from every node to the first control plane node of the other cloud
  hybrid.cluster.path_probe:
    targets: "{{ groups['azure'] | map('extract', hostvars, 'ip') | list }}"
    max_rtt_ms: 50
    min_path_mtu: 1400
    max_clock_error_ms: 25
  register: paths

- name: Show the path MTU per target
  ansible.builtin.debug:
    msg: "{{ item.address }}: {{ item.path_mtu }} bytes, {{ item.rtt_ms.avg }} ms"
  loop: "{{ paths.targets }}"

- name: Only the round-trip time, quickly
  hybrid.cluster.path_probe:
    targets: [10.65.1.4]
    count: 3
    probe_mtu: false
    clock: false
"""

RETURN = r"""
targets:
  description: One entry per target, in the order of O(targets). Also returned when the task fails.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The target address.
      type: str
      sample: 10.65.1.4
    reachable:
      description: Whether at least one echo request got a reply.
      type: bool
    transmitted:
      description: Echo requests sent.
      type: int
    received:
      description: Replies received.
      type: int
    loss_pct:
      description: Share of echo requests without a reply, in percent.
      type: float
      sample: 0.0
    rtt_ms:
      description: Round-trip time in milliseconds (C(min), C(avg), C(max), C(mdev)); null without a reply.
      type: dict
      sample: {min: 11.2, avg: 11.9, max: 13.1, mdev: 0.6}
    path_mtu:
      description: The largest packet (bytes, IP header included) that got through unfragmented; null when not measured.
      type: int
      sample: 1400
    interface_mtu:
      description: The MTU the kernel knows toward the target (interface, route or a path MTU it learnt).
      type: int
      sample: 9001
    mtu_probes:
      description: How many sizes the MTU search tried.
      type: int
    reported_mtu:
      description: The last MTU a hop (or the kernel) reported in reply to a too large probe, if any.
      type: int
    error:
      description: What ping said when a target did not answer, or why the path MTU is unknown.
      type: str
clock:
  description: The node's clock as chrony sees it.
  returned: always
  type: dict
  contains:
    available:
      description: Whether chronyc answered. Without it only RV(clock.error) is set.
      type: bool
    synchronised:
      description: Whether chrony follows a real time source (not its own local clock, leap status not C(Not synchronised)).
      type: bool
    reference_id:
      description: chrony's reference id (hex).
      type: str
    reference:
      description: Name or address of the source chrony follows.
      type: str
    stratum:
      description: Stratum of the node.
      type: int
    offset_ms:
      description: System time offset in milliseconds (positive when the clock is behind).
      type: float
    root_delay_ms:
      description: Round-trip delay to the stratum-1 source, in milliseconds.
      type: float
    root_dispersion_ms:
      description: Dispersion accumulated up to the stratum-1 source, in milliseconds.
      type: float
    leap_status:
      description: C(Normal), C(Insert second), C(Delete second) or C(Not synchronised).
      type: str
    max_error_ms:
      description: Bound of the clock's error, |offset| + root delay / 2 + root dispersion, in milliseconds.
      type: float
      sample: 1.27
    error:
      description: Why the clock could not be read (chronyc missing, chronyd not running).
      type: str
problems:
  description: "The bounds a measurement broke, each as C(<where>: <problem>. Fix: <what to do>). Empty on success."
  returned: always
  type: list
  elements: str
"""

import ipaddress
import re
import socket

from ansible.module_utils.basic import AnsibleModule

IP_MTU = getattr(socket, "IP_MTU", 14)
IPV6_MTU = getattr(socket, "IPV6_MTU", 24)
HEADER = {4: 28, 6: 48}  # IP + ICMP header bytes in front of ping's payload
MTU_PROBE_COUNT = 3
PACKAGE_HINT = "install the iputils-ping package (Debian, Ubuntu) or iputils (RHEL, Fedora)"

_SENT = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_ERRORS = re.compile(r"\+(\d+) errors?")
_LOSS = re.compile(r"([\d.]+)% packet loss")
_RTT = re.compile(r"(?:rtt|round-trip) min/avg/max(?:/(?:mdev|stddev))? = ([\d.]+)/([\d.]+)/([\d.]+)(?:/([\d.]+))? ms")
_REPORTED_MTU = re.compile(r"mtu\s*[=:]\s*(\d+)", re.IGNORECASE)
_NOT_SYNCED_IDS = ("00000000", "7F7F0101")


def problem(field, what, fix):
    """``<field>: <problem>. Fix: <fix>``, the form of every failure message of the collection."""
    return "%s: %s. Fix: %s" % (field, what.rstrip("."), fix)


# ---------------------------------------------------------------- parsing

def parse_ping(output):
    """The summary of an iputils (or busybox) ping run: transmitted, received, errors, loss_pct, rtt_ms."""
    result = {"transmitted": 0, "received": 0, "errors": 0, "loss_pct": None, "rtt_ms": None}
    sent = _SENT.search(output)
    if sent:
        result["transmitted"], result["received"] = int(sent.group(1)), int(sent.group(2))
    errors = _ERRORS.search(output)
    if errors:
        result["errors"] = int(errors.group(1))
    loss = _LOSS.search(output)
    if loss:
        result["loss_pct"] = float(loss.group(1))
    elif result["transmitted"]:
        result["loss_pct"] = round(100.0 * (result["transmitted"] - result["received"]) / result["transmitted"], 3)
    rtt = _RTT.search(output)
    if rtt:
        values = [float(v) if v is not None else None for v in rtt.groups()]
        result["rtt_ms"] = dict(zip(("min", "avg", "max", "mdev"), values))
    return result


def reported_mtu(output):
    """The smallest MTU a ping run reports (a hop's Frag needed / Packet too big, or the kernel's local error)."""
    values = [int(v) for v in _REPORTED_MTU.findall(output)]
    return min(values) if values else None


def ping_error(output):
    """The first line that explains a failure (``From ... Destination Host Unreachable``, ``ping: ...``)."""
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("From ") or line.startswith("ping:") or line.startswith("connect:"):
            return line
    return None


def parse_tracking(line):
    """One line of ``chronyc -c tracking`` (14 comma-separated fields) as the RV(clock) dict."""
    fields = [f.strip() for f in line.strip().split(",")]
    if len(fields) < 14:
        raise ValueError("expected 14 comma-separated fields from chronyc -c tracking, got %d: %r" % (len(fields), line.strip()))
    offset = float(fields[4])
    delay = float(fields[10])
    dispersion = float(fields[11])
    return {
        "available": True,
        "synchronised": fields[0].upper() not in _NOT_SYNCED_IDS and fields[13] != "Not synchronised",
        "reference_id": fields[0],
        "reference": fields[1] or ("LOCAL" if fields[0].upper() == "7F7F0101" else None),
        "stratum": int(fields[2]),
        "offset_ms": round(offset * 1000.0, 6),
        "root_delay_ms": round(delay * 1000.0, 6),
        "root_dispersion_ms": round(dispersion * 1000.0, 6),
        "leap_status": fields[13],
        "max_error_ms": round(max_error_ms(offset, delay, dispersion), 6),
    }


def max_error_ms(offset_s, root_delay_s, root_dispersion_s):
    """chrony's bound of the clock error: |offset| + root delay / 2 + root dispersion (seconds in, ms out)."""
    return (abs(offset_s) + root_delay_s / 2.0 + root_dispersion_s) * 1000.0


# ---------------------------------------------------------------- the MTU search

def search_path_mtu(probe, low, high):
    """The largest size in [low, high] for which ``probe(size)`` passes.

    ``probe(size)`` returns ``(passed, reported)``; ``reported`` is an MTU a hop (or the kernel) named
    in reply, or None. Sizes above a reported MTU are not tried; the reported one is tried next.
    Returns ``(path_mtu or None, probes, last reported MTU or None)``. Sizes are assumed to pass up
    to the path MTU and fail above it.
    """
    best = None
    last_reported = None
    probes = 0
    lo, hi = low, high
    candidate = high
    while lo <= hi:
        probes += 1
        passed, reported = probe(candidate)
        if passed:
            best = candidate
            lo = candidate + 1
        else:
            hi = candidate - 1
            if reported is not None and reported < candidate:
                last_reported = reported
                hi = min(hi, reported)
                if lo <= hi == reported:
                    candidate = reported
                    continue
        candidate = (lo + hi + 1) // 2
    return best, probes, last_reported


def clamp_high(kernel_mtu, max_mtu):
    return max_mtu if not kernel_mtu else min(kernel_mtu, max_mtu)


def kernel_mtu(address, version):
    """The MTU the kernel uses toward ``address`` (route, interface or learnt path MTU); None if unknown."""
    family, level, option = (socket.AF_INET, socket.IPPROTO_IP, IP_MTU) if version == 4 else (socket.AF_INET6, socket.IPPROTO_IPV6, IPV6_MTU)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.connect((address, 9))  # UDP: nothing is sent
        return sock.getsockopt(level, option)
    except OSError:
        return None
    finally:
        sock.close()


# ---------------------------------------------------------------- checks

def target_problems(index, target, params):
    """The bounds ``target`` (a RV(targets) entry) breaks."""
    where = "targets[%d] %s" % (index, target["address"])
    bounded = any(params.get(key) is not None for key in ("max_rtt_ms", "max_loss_pct", "min_path_mtu"))
    if not target["reachable"]:
        if not bounded:
            return []
        detail = "; ".join(x for x in ("%s%% loss" % _number(target["loss_pct"]), target.get("error")) if x)
        return [problem(where, "no reply to any of %d echo requests (%s)" % (params.get("count") or target["transmitted"], detail),
                        "check the address, that the VPN is up and routes to it, and that security groups and NSGs allow "
                        "ICMP echo from this node")]
    found = []
    avg = (target["rtt_ms"] or {}).get("avg")
    if params.get("max_rtt_ms") is not None and avg is not None and avg > params["max_rtt_ms"]:
        found.append(problem(where, "average round-trip time %s ms is above max_rtt_ms %s" % (_number(avg), _number(params["max_rtt_ms"])),
                             "keep each etcd cluster within one cloud (topology mesh) or find the slow hop; raise max_rtt_ms "
                             "only if the bound was too strict"))
    if params.get("max_loss_pct") is not None and target["loss_pct"] is not None and target["loss_pct"] > params["max_loss_pct"]:
        found.append(problem(where, "%s%% of the echo requests got no reply, more than max_loss_pct %s"
                             % (_number(target["loss_pct"]), _number(params["max_loss_pct"])),
                             "check both VPN tunnels' status and the links on the path; measure again with a larger count"))
    if params.get("min_path_mtu") is not None and params.get("probe_mtu", True):
        if target["path_mtu"] is None:
            found.append(problem(where, "the path MTU could not be measured (%s)" % (target.get("error") or "no probe got through"),
                                 "allow ICMP 'fragmentation needed' / 'packet too big' back to this node, or lower min_mtu"))
        elif target["path_mtu"] < params["min_path_mtu"]:
            found.append(problem(where, "path MTU %d is below min_path_mtu %d" % (target["path_mtu"], params["min_path_mtu"]),
                                 "set the pod network's MTU from the measured path MTU (Cilium: path MTU - 50 with VXLAN, "
                                 "- 130 with VXLAN and WireGuard) or find the hop that lowers it"))
    return found


def clock_problems(clock, params):
    limit = params.get("max_clock_error_ms")
    if limit is None or not params.get("clock", True):
        return []
    fix = "install and configure chrony with the hybrid.cluster.ntp role, and wait until it is synchronised"
    if not clock.get("available"):
        return [problem("clock", "the clock could not be read (%s)" % clock.get("error"), fix)]
    if not clock["synchronised"]:
        return [problem("clock", "chrony is not synchronised to a time source (reference %s, leap status %s)"
                        % (clock["reference"] or clock["reference_id"], clock["leap_status"]), fix)]
    if clock["max_error_ms"] > limit:
        values = tuple(_number(clock[key]) for key in ("max_error_ms", "offset_ms", "root_delay_ms", "root_dispersion_ms"))
        return [problem("clock", "the clock's error may reach %s ms (offset %s ms, root delay %s ms, root dispersion %s ms), "
                        "more than max_clock_error_ms %s" % (values + (_number(limit),)),
                        "use a closer or better time source (the cloud's own: Amazon Time Sync Service, the Hyper-V clock) "
                        "and let chrony settle")]
    return []


def _number(value):
    return ("%.3f" % value).rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


# ---------------------------------------------------------------- running ping and chronyc

class Prober:
    """Runs ping and chronyc through the module."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.ping = module.get_bin_path("ping")
        if self.ping is None:
            module.fail_json(msg=problem("ping", "the ping command was not found on this node", PACKAGE_HINT))

    def run(self, argv):
        rc, out, err = self.module.run_command(argv, environ_update={"LC_ALL": "C", "LANG": "C"})
        return rc, (out or "") + (err or "")

    def ping_run(self, address, version, count, size=None):
        argv = [self.ping, "-%d" % version, "-n", "-c", str(count), "-i", str(self.params["interval"]), "-W", str(self.params["timeout"])]
        if size is not None:
            argv += ["-M", "do", "-s", str(size - HEADER[version])]
        argv.append(address)
        rc, output = self.run(argv)
        if rc != 0:
            self.refuse(rc, output)
        return rc, output

    def refuse(self, rc, output):
        """Fail when ping cannot work at all: not the iputils ping, refused arguments, no permission.

        Other failures (no reply, ``connect: Network is unreachable``) concern one target; they are
        reported in its ``error``.
        """
        message = ping_error(output) or output.strip() or "exit code %d" % rc
        lowered = output.lower()
        if "invalid option" in lowered or "unrecognized option" in lowered or "usage:" in lowered:
            self.module.fail_json(msg=problem("ping", "%s is not the iputils ping (%s)" % (self.ping, message), PACKAGE_HINT))
        if "invalid argument" in lowered or "cannot flood" in lowered:
            self.module.fail_json(msg=problem("ping", "ping refused the arguments (%s)" % message,
                                              "check interval, timeout, count and max_mtu"))
        if "permission" in lowered or "not permitted" in lowered:
            self.module.fail_json(msg=problem("ping", "ping may not open an ICMP socket as this user (%s)" % message,
                                              "run the task with become, or allow ICMP sockets (sysctl net.ipv4.ping_group_range) "
                                              "or give ping the cap_net_raw capability"))

    def measure(self, address):
        version = ipaddress.ip_address(address).version
        rc, output = self.ping_run(address, version, self.params["count"])
        summary = parse_ping(output)
        target = {"address": address, "reachable": summary["received"] > 0, "transmitted": summary["transmitted"],
                  "received": summary["received"], "loss_pct": summary["loss_pct"] if summary["loss_pct"] is not None else 100.0,
                  "rtt_ms": summary["rtt_ms"], "path_mtu": None, "interface_mtu": None, "mtu_probes": 0, "reported_mtu": None,
                  "error": None if summary["received"] else (ping_error(output) or "no reply (ping exit code %d)" % rc)}
        if target["reachable"] and self.params["probe_mtu"]:
            self.path_mtu(target, version)
        return target

    def path_mtu(self, target, version):
        address = target["address"]
        target["interface_mtu"] = kernel_mtu(address, version)
        high = clamp_high(target["interface_mtu"], self.params["max_mtu"])
        low = min(self.params["min_mtu"], high)

        def probe(size):
            dummy, output = self.ping_run(address, version, MTU_PROBE_COUNT, size)
            return parse_ping(output)["received"] > 0, reported_mtu(output)

        best, probes, last_reported = search_path_mtu(probe, low, high)
        target.update(path_mtu=best, mtu_probes=probes, reported_mtu=last_reported)
        if best is None:
            target["error"] = ("no probe of %d bytes or more got through with the don't-fragment bit set%s"
                               % (low, "; a hop reported mtu=%d" % last_reported if last_reported else ""))

    def clock(self):
        chronyc = self.module.get_bin_path("chronyc")
        if chronyc is None:
            return {"available": False, "error": "chronyc is not installed"}
        rc, output = self.run([chronyc, "-c", "tracking"])
        line = next((x for x in output.splitlines() if x.count(",") >= 13), None)
        if rc != 0 or line is None:
            return {"available": False, "error": "chronyc -c tracking: %s" % (output.strip() or "exit code %d" % rc)}
        try:
            return parse_tracking(line)
        except ValueError as exc:
            return {"available": False, "error": str(exc)}


def check_params(module):
    params = module.params
    for index, address in enumerate(params["targets"]):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            module.fail_json(msg=problem("targets[%d]" % index, "%r is not an IP address" % address,
                                         "give IPv4 or IPv6 addresses, for example the inventory's ip or ansible_host"))
    if not params["targets"]:
        module.fail_json(msg=problem("targets", "the list is empty", "give at least one address"))
    if params["count"] < 1:
        module.fail_json(msg=problem("count", "%d is less than 1" % params["count"], "send at least one echo request"))
    if params["timeout"] < 1:
        module.fail_json(msg=problem("timeout", "%d is less than 1 second" % params["timeout"], "wait at least 1 second"))
    if params["interval"] < 0.002:
        module.fail_json(msg=problem("interval", "%s s is shorter than ping allows" % params["interval"], "use 0.002 s or more"))
    if not 68 <= params["min_mtu"] <= params["max_mtu"] <= 65535:
        module.fail_json(msg=problem("min_mtu", "min_mtu %d and max_mtu %d must satisfy 68 <= min_mtu <= max_mtu <= 65535"
                                     % (params["min_mtu"], params["max_mtu"]), "correct min_mtu or max_mtu"))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            targets=dict(type="list", elements="str", required=True),
            count=dict(type="int", default=5),
            interval=dict(type="float", default=0.2),
            timeout=dict(type="int", default=1),
            probe_mtu=dict(type="bool", default=True),
            min_mtu=dict(type="int", default=1280),
            max_mtu=dict(type="int", default=9001),
            clock=dict(type="bool", default=True),
            max_rtt_ms=dict(type="float"),
            max_loss_pct=dict(type="float"),
            min_path_mtu=dict(type="int"),
            max_clock_error_ms=dict(type="float"),
        ),
        supports_check_mode=True,
    )
    check_params(module)
    prober = Prober(module)
    targets = [prober.measure(address) for address in module.params["targets"]]
    clock = prober.clock() if module.params["clock"] else {"available": False, "error": "not read (clock: false)"}
    problems = []
    for index, target in enumerate(targets):
        problems.extend(target_problems(index, target, module.params))
    problems.extend(clock_problems(clock, module.params))
    result = {"changed": False, "targets": targets, "clock": clock, "problems": problems}
    if problems:
        plural = "" if len(problems) == 1 else "s"
        module.fail_json(msg="Path probe found %d problem%s: %s" % (len(problems), plural, " | ".join(problems)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
