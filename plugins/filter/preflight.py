# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``preflight_verdict``: the measurements of ``hybrid.cluster.path_probe`` held to the bounds of
the hybrid definition (documented in preflight_verdict.yml next to this file).

The input maps each node to its cloud and its probe result. The verdict is:

* ``rtt_ms``: the highest average round-trip time between the clouds;
* ``path_mtu``: the lowest path MTU across the VPN;
* ``clock_skew_ms``: a bound on the clock difference between the clouds - the worst error
  (``max_error_ms``: offset plus half the root delay plus the root dispersion, as chrony reports
  them) of a node in one cloud plus the worst of a node in the other;
* ``problems``: one sentence per bound broken, each with its fix;
* ``summary``: what was measured, for the play's output;
* ``settings``: what the kubernetes phase takes from the measurements - the path MTU (Cilium's
  MTU follows from it) and, for a stretched cluster, the round-trip time for etcd's timings,
  rounded up to 10 ms so that small jitter does not change the rendered inventory.

Pure computation; nothing is contacted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

# Bounds used when the definition leaves them at 0.
STRETCHED_MAX_RTT_MS = 50.0     # one etcd across the VPN: heartbeats need a short, steady path
MESH_MAX_RTT_MS = 300.0         # ClusterMesh and asynchronous RBD mirroring tolerate more
ROOK_MAX_CLOCK_SKEW_MS = 50.0   # Ceph's mon_clock_drift_allowed (0.05 s)
MAX_CLOCK_SKEW_MS = 500.0       # etcd warns about peers more than 1 s apart; keep well inside
DEFAULT_MIN_PATH_MTU = 1280


def _fail(message):
    raise AnsibleFilterError("preflight_verdict: %s" % message)


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail("%s must be a number, not %r" % (what, value))
    return float(value)


def bounds(hybrid):
    """The bounds of a resolved hybrid definition (``hybrid`` fact), with the defaults filled in."""
    settings = dict((hybrid or {}).get("preflight") or {})
    topology = (hybrid or {}).get("topology", "mesh")
    rook = bool(((hybrid or {}).get("rook") or {}).get("enabled", True)) and topology == "mesh"
    max_rtt = _number(settings.get("max_rtt_ms", 0) or 0, "hybrid_preflight.max_rtt_ms")
    max_skew = _number(settings.get("max_clock_skew_ms", 0) or 0, "hybrid_preflight.max_clock_skew_ms")
    min_mtu = int(_number(settings.get("min_path_mtu", DEFAULT_MIN_PATH_MTU) or DEFAULT_MIN_PATH_MTU,
                          "hybrid_preflight.min_path_mtu"))
    return {
        "max_rtt_ms": max_rtt or (STRETCHED_MAX_RTT_MS if topology == "stretched" else MESH_MAX_RTT_MS),
        "max_clock_skew_ms": max_skew or (ROOK_MAX_CLOCK_SKEW_MS if rook else MAX_CLOCK_SKEW_MS),
        "min_path_mtu": min_mtu,
        "topology": topology,
        "rook": rook,
    }


def preflight_verdict(nodes, hybrid):
    """The verdict on ``nodes`` (``{host: {cloud, probe}}``) under the bounds of ``hybrid``."""
    if not isinstance(nodes, Mapping):
        _fail("the input must map each node to {cloud, probe}, not %r" % type(nodes).__name__)
    limits = bounds(hybrid)
    rtts, mtus, unreachable = [], [], []
    clock = {"aws": [], "azure": []}
    no_clock = []
    for host in sorted(nodes):
        entry = nodes[host] or {}
        cloud = entry.get("cloud")
        probe = entry.get("probe") or {}
        if cloud not in clock:
            _fail("node %s: cloud must be aws or azure, not %r" % (host, cloud))
        for target in probe.get("targets") or []:
            address = target.get("address")
            loss = target.get("loss_pct")
            rtt = (target.get("rtt_ms") or {}).get("avg")
            if rtt is None or (loss is not None and loss >= 100):
                unreachable.append("%s -> %s" % (host, address))
                continue
            rtts.append((_number(rtt, "rtt_ms.avg of %s -> %s" % (host, address)), host, address))
            if target.get("path_mtu") is not None:
                mtus.append((int(_number(target["path_mtu"], "path_mtu of %s -> %s" % (host, address))), host, address))
        error = (probe.get("clock") or {}).get("max_error_ms")
        if error is None:
            no_clock.append(host)
        else:
            clock[cloud].append((_number(error, "clock.max_error_ms of %s" % host), host))

    problems, summary = [], []
    if unreachable:
        problems.append("No answer across the VPN for %s: check the tunnels (hybrid.cluster.peering's tunnels and their "
                        "status), the route tables and the security rules." % ", ".join(unreachable))
    verdict = {"rtt_ms": None, "path_mtu": None, "clock_skew_ms": None, "bounds": limits}
    if rtts:
        worst = max(rtts)
        verdict["rtt_ms"] = round(worst[0], 3)
        summary.append("round-trip time between the clouds: at most %.1f ms (%s -> %s; bound %.0f ms)"
                       % (worst[0], worst[1], worst[2], limits["max_rtt_ms"]))
        if worst[0] > limits["max_rtt_ms"]:
            fix = ("use hybrid_topology: mesh (one etcd per cloud) or clouds in regions closer together"
                   if limits["topology"] == "stretched" else "choose regions closer together or a faster link")
            problems.append("Round-trip time %.1f ms from %s to %s is above %.0f ms. Fix: %s, or raise "
                            "hybrid_preflight.max_rtt_ms if you accept it." % (worst[0], worst[1], worst[2], limits["max_rtt_ms"], fix))
    if mtus:
        lowest = min(mtus)
        verdict["path_mtu"] = lowest[0]
        summary.append("path MTU across the VPN: %d (%s -> %s; at least %d needed)" % (lowest[0], lowest[1], lowest[2], limits["min_path_mtu"]))
        if lowest[0] < limits["min_path_mtu"]:
            problems.append("Path MTU %d from %s to %s is below %d: pods' packets would be fragmented or dropped. Fix: check "
                            "the VPN devices' MTU and MSS clamping on the path." % (lowest[0], lowest[1], lowest[2], limits["min_path_mtu"]))
    if clock["aws"] and clock["azure"]:
        worst_aws, worst_azure = max(clock["aws"]), max(clock["azure"])
        skew = worst_aws[0] + worst_azure[0]
        verdict["clock_skew_ms"] = round(skew, 3)
        summary.append("clock difference between the clouds: at most %.2f ms (%s and %s; bound %.0f ms)"
                       % (skew, worst_aws[1], worst_azure[1], limits["max_clock_skew_ms"]))
        if skew > limits["max_clock_skew_ms"]:
            problems.append("The clocks of %s and %s may differ by %.1f ms, above %.0f ms%s. Fix: let the ntp role (nodes "
                            "phase) synchronise both clouds to sources that agree (ntp_shared_servers), then measure again."
                            % (worst_aws[1], worst_azure[1], skew, limits["max_clock_skew_ms"],
                               " (Ceph's mon_clock_drift_allowed)" if limits["rook"] else ""))
    if no_clock:
        summary.append("clock not known on %s (chrony is not running there yet; the nodes phase sets it up)" % ", ".join(no_clock))

    settings = {}
    if verdict["path_mtu"] is not None:
        settings["path_mtu"] = verdict["path_mtu"]
    if verdict["rtt_ms"] is not None and limits["topology"] == "stretched":
        settings["etcd_rtt_ms"] = int(math.ceil(verdict["rtt_ms"] / 10.0)) * 10 or 10
    verdict.update({"problems": problems, "summary": summary, "settings": settings})
    return verdict


class FilterModule:
    """Preflight measurements held to the platform's bounds."""

    def filters(self):
        return {"preflight_verdict": preflight_verdict}
