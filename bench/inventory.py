"""Benchmark of the hybrid.cluster.clouds inventory against the raw listing and amazon.aws.aws_ec2.

Starts moto (behind the fault proxy) and the Azure Resource Manager emulator on 127.0.0.1, seeds
``--hosts`` EC2 instances and ``--hosts`` Azure VMs (some in scale sets, some with public IPs, some
stopped, some untagged), then, ``--runs`` times each, measures wall time, peak memory (max RSS of
the measured command, see ``MEASURE_SCRIPT``) and the requests each emulator saw (with the time
the emulators spent answering them) for:

* ``ours``: ``ansible-inventory --list`` with hybrid.cluster.clouds (both clouds, concurrently);
* ``floor``: the bare paginated SDK listing of the same data, sequential, in a fresh Python
  process (the work any inventory has to do: the same list calls, no joins, no Ansible);
* ``aws_ec2``: ``ansible-inventory --list`` with amazon.aws.aws_ec2 on the AWS half;
* ``ours_aws``: ours restricted to AWS, the like-for-like comparison with aws_ec2.

Run from the repository root: ``make bench-inventory`` (``BENCH_ARGS="--hosts 2500 --runs 3"``).
Everything is bounded: a per-command timeout, a fixed number of runs, loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / ".build" / "pytest"))

from tests.emulators.azure import AzureEmulator  # noqa: E402  pylint: disable=wrong-import-position
from tests.emulators.moto_server import CONFLICTING_ENV, MotoEmulator  # noqa: E402  pylint: disable=wrong-import-position
from tests.integration.inventory.seed import seed_aws, seed_azure  # noqa: E402  pylint: disable=wrong-import-position

FLOOR_SCRIPT = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, sys.argv[1])
    clouds = sys.argv[2].split(",")
    count = 0
    # Each client layer (and its SDK) is imported only when its cloud is listed, as the plugin does.
    if "aws" in clouds:
        from ansible_collections.hybrid.cluster.plugins.module_utils.aws import resolve_connection
        ec2 = resolve_connection({}).client("ec2").raw
        for page in ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 1000}):
            count += sum(len(r["Instances"]) for r in page["Reservations"])
    if "azure" in clouds:
        from ansible_collections.hybrid.cluster.plugins.module_utils.azure import AzureClients
        az = AzureClients()
        count += len(list(az.compute.virtual_machines.list_all(status_only="true")))
        list(az.network.network_interfaces.list_all())
        list(az.network.public_ip_addresses.list_all())
        for vmss in az.compute.virtual_machine_scale_sets.list_all():
            group, name = vmss.id.split("/")[4], vmss.name
            count += len(list(az.compute.virtual_machine_scale_set_vms.list(group, name, expand="instanceView")))
            list(az.network.network_interfaces.list_virtual_machine_scale_set_network_interfaces(group, name))
    print(count)
""")


# Runs one command and writes its wall time and peak RSS (JSON) to argv[1]. The command is started
# from this small process, not from the bench: Linux keeps the resident size a process had just
# before exec in its peak RSS (ru_maxrss), and a child of the bench starts out as a copy of the
# bench, which holds the emulators' data, so every command's "peak" would be at least the bench's.
MEASURE_SCRIPT = textwrap.dedent("""
    import json, os, subprocess, sys, time
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[2:])
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    with open(sys.argv[1], "w", encoding="utf-8") as out:
        json.dump({"seconds": seconds, "rss_mib": usage.ru_maxrss / 1024.0, "returncode": os.waitstatus_to_exitcode(status)}, out)
""")


def mix(hosts):
    """How ``hosts`` machines per cloud are split into kinds (same proportions at every size)."""
    untagged = max(2, hosts // 50)
    stopped = max(2, hosts // 25)
    scale_set = max(3, hosts // 10)
    flexible = max(2, hosts // 20)
    return {"untagged": untagged, "stopped": stopped, "scale_set": scale_set, "flexible": flexible,
            "azure_vms": hosts - untagged - scale_set - flexible, "aws_tagged": hosts - untagged}


def run_measured(cmd, env, timeout):
    """(seconds, peak RSS in MiB, returncode, stdout, stderr) of one command, measured by MEASURE_SCRIPT."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(suffix=".json") as report:
        wrapper = [sys.executable, "-c", MEASURE_SCRIPT, report.name] + cmd
        # pylint: disable-next=consider-using-with
        proc = subprocess.Popen(wrapper, env=env, stdout=out, stderr=err, start_new_session=True)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the wrapper's own process group: it and the command
            proc.wait()
            raise SystemExit("%s did not finish in %ss" % (cmd[0], timeout)) from None
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        if proc.returncode != 0:
            return 0.0, 0.0, proc.returncode, stdout, stderr
        measured = json.loads(Path(report.name).read_text(encoding="utf-8"))
        return measured["seconds"], measured["rss_mib"], measured["returncode"], stdout, stderr


class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = Path(workdir)
        self.moto = MotoEmulator(workdir=self.workdir / "moto", seed=1).start()
        self.azure = AzureEmulator(workdir=str(self.workdir / "azure")).start()
        self.azure.set_page_size(args.azure_page_size)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AZURE_", "ANSIBLE_")) and k not in CONFLICTING_ENV}
        env.update(self.moto.env())
        env.update(self.azure.env())
        env.update({"ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(ROOT / ".build" / "self"), args.collections]),
                    "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false", "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
                    "ANSIBLE_HOME": str(self.workdir / "home"), "ANSIBLE_LOCAL_TEMP": str(self.workdir / "tmp"),
                    "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "false"})
        self.env = env
        self.bin = Path(sys.executable).parent

    def stop(self):
        self.moto.stop()
        self.azure.stop()

    def seed(self):
        hosts = self.args.hosts
        parts = mix(hosts)
        started = time.perf_counter()
        aws = seed_aws(self.moto.url, region=self.moto.env()["AWS_REGION"], count=parts["aws_tagged"], untagged=parts["untagged"],
                       stopped=parts["stopped"], public_every=4, control_planes=3, batch=250)
        azure = seed_azure(self.azure, count=parts["azure_vms"], untagged=parts["untagged"], stopped=parts["stopped"],
                           public_every=4, scale_set_size=parts["scale_set"], flexible_size=parts["flexible"], control_planes=3)
        print("seeded %d EC2 instances and %d Azure VMs (%s) in %.1fs" % (len(aws), len(azure), parts, time.perf_counter() - started),
              flush=True)
        return len(aws), len(azure)

    def config(self, name, text):
        path = self.workdir / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def commands(self):
        region = self.moto.env()["AWS_REGION"]
        ours = self.config("bench.clouds.yml", "plugin: hybrid.cluster.clouds\nregions: [%s]\n" % region)
        ours_aws = self.config("aws.clouds.yml", "plugin: hybrid.cluster.clouds\nclouds: [aws]\nregions: [%s]\n" % region)
        stock = self.config("bench.aws_ec2.yml", "plugin: amazon.aws.aws_ec2\nregions: [%s]\nendpoint_url: %s\nhostnames: [instance-id]\n"
                            % (region, self.moto.endpoint_url))
        inventory = [str(self.bin / "ansible-inventory"), "--list", "-i"]
        floor = [sys.executable, "-c", FLOOR_SCRIPT, str(ROOT / ".build" / "pytest")]
        return {
            "ours": inventory + [ours],
            "floor": floor + ["aws,azure"],
            "ours_aws": inventory + [ours_aws],
            "floor_aws": floor + ["aws"],
            "aws_ec2": inventory + [stock],
        }

    def measure(self, name, cmd):
        proxy_before = len(self.moto.proxy.log())
        azure_before = self.azure.last_request_seq
        seconds, rss, code, out, err = run_measured(cmd, self.env, self.args.timeout)
        if code != 0:
            raise SystemExit("%s failed (exit %s):\n%s" % (name, code, err[-3000:]))
        aws_log = self.moto.proxy.log()[proxy_before:]
        azure_log = self.azure.requests(since=azure_before)
        hosts = None
        if out.lstrip().startswith("{"):
            hosts = len(json.loads(out)["_meta"]["hostvars"])
        else:
            hosts = int(out.strip() or 0)
        return {"seconds": seconds, "rss_mib": rss, "aws_requests": len(aws_log), "azure_requests": len(azure_log),
                "azure_arm_requests": sum(1 for e in azure_log if e["path"].startswith("/subscriptions/")), "hosts": hosts,
                # Time the emulators spent answering (moto through the proxy; the Azure emulator's handlers).
                "aws_serving_s": sum(e["duration"] for e in aws_log),
                "azure_serving_s": sum(e["duration_ms"] for e in azure_log) / 1000.0,
                # The machine's 1-minute load average when the command ended (other work on it shows here).
                "load": os.getloadavg()[0]}

    def run(self):
        seeded = self.seed()
        results = {}
        commands = self.commands()
        for run in range(self.args.runs):
            for name, cmd in commands.items():
                if name == "aws_ec2" and self.args.skip_aws_ec2:
                    continue
                sample = self.measure(name, cmd)
                results.setdefault(name, []).append(sample)
                print("run %d %-8s %7.2fs %7.1f MiB  hosts %5s  requests aws %4d azure %4d (ARM %d)  "
                      "serving aws %5.2fs azure %5.2fs  load %.1f" % (
                          run + 1, name, sample["seconds"], sample["rss_mib"], sample["hosts"], sample["aws_requests"],
                          sample["azure_requests"], sample["azure_arm_requests"], sample["aws_serving_s"],
                          sample["azure_serving_s"], sample["load"]), flush=True)
        return seeded, results


def summary(seeded, results, args):
    def med(name, key):
        return statistics.median(s[key] for s in results[name]) if name in results else None

    lines = ["", "hosts per cloud: %d (seeded: %d EC2, %d Azure), runs: %d, Azure page size: %d"
             % (args.hosts, seeded[0], seeded[1], args.runs, args.azure_page_size),
             "%-9s %9s %10s %8s %8s %8s %10s %10s" % ("", "median s", "peak MiB", "AWS req", "ARM req", "hosts", "moto s", "Azure s")]
    for name in results:
        row = (name, med(name, "seconds"), med(name, "rss_mib"), med(name, "aws_requests"), med(name, "azure_arm_requests"),
               med(name, "hosts"), med(name, "aws_serving_s"), med(name, "azure_serving_s"))
        lines.append("%-9s %9.2f %10.1f %8d %8d %8d %10.2f %10.2f" % row)
    lines.append("(moto s, Azure s: time the emulators spent answering, included in the wall time)")
    loads = [sample["load"] for samples in results.values() for sample in samples]
    lines.append("load average (1 min) at the end of the commands: %.1f to %.1f on %d CPUs"
                 % (min(loads), max(loads), os.cpu_count() or 0))
    lines.append("")
    lines.append("ours / floor (both clouds):      %.2fx" % (med("ours", "seconds") / med("floor", "seconds")))
    lines.append("ours_aws / floor_aws:            %.2fx" % (med("ours_aws", "seconds") / med("floor_aws", "seconds")))
    if "aws_ec2" in results:
        lines.append("ours_aws / aws_ec2:              %.2fx" % (med("ours_aws", "seconds") / med("aws_ec2", "seconds")))
        lines.append("ours (both clouds) / aws_ec2:    %.2fx" % (med("ours", "seconds") / med("aws_ec2", "seconds")))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--hosts", type=int, default=200, help="machines per cloud (default: %(default)s)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds one command may take (default: %(default)s)")
    parser.add_argument("--azure-page-size", type=int, default=100, help="items per Azure list page (default: %(default)s)")
    parser.add_argument("--collections", default=str(ROOT / ".build" / "bench-collections"),
                        help="collections path that holds amazon.aws (default: %(default)s)")
    parser.add_argument("--skip-aws-ec2", action="store_true", help="do not run amazon.aws.aws_ec2")
    parser.add_argument("--json", help="also write the raw samples to this file")
    args = parser.parse_args(argv)
    if not (Path(args.collections) / "ansible_collections" / "amazon" / "aws").is_dir():
        args.skip_aws_ec2 = True
        print("amazon.aws not found under %s: aws_ec2 is skipped" % args.collections)
    with tempfile.TemporaryDirectory(prefix="bench-inventory-") as workdir:
        bench = Bench(args, workdir)
        try:
            seeded, results = bench.run()
        finally:
            bench.stop()
    text = summary(seeded, results, args)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"hosts": args.hosts, "seeded": seeded, "results": results}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
