"""``python -m tests.emulators up``: starts, prints the environment, its emulators answer, stops cleanly."""

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import resolve_connection
from tests.emulators import __main__ as emulators_main
from tests.emulators.aws_fixtures import FAST_BACKOFF
from tests.emulators.fault_proxy import FaultProxyClient
from tests.emulators.moto_server import CONFLICTING_ENV, http_request

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT = 60


def read_until_ready(process, timeout):
    """Lines printed by ``up`` up to its ready marker."""
    lines = queue.Queue()

    def pump():
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        seen.append(line)
        if line == emulators_main.READY_MARKER:
            return seen
    raise AssertionError("no ready marker within %ss; output so far:\n%s" % (timeout, "\n".join(seen)))


def parse_exports(lines):
    env = {}
    for line in lines:
        if line.startswith("export "):
            name, value = line[len("export "):].split("=", 1)
            env[name] = shlex.split(value)[0] if value else ""
    return env


@pytest.fixture
def clean_environ():
    return {k: v for k, v in os.environ.items() if k not in CONFLICTING_ENV and not k.startswith(("AWS_ENDPOINT_URL", "AWS_URL"))}


def test_up_starts_prints_and_stops(tmp_path, clean_environ, monkeypatch):  # pylint: disable=redefined-outer-name
    env_file = tmp_path / "emulators.env"
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, "-m", "tests.emulators", "up", "--env-file", str(env_file), "--seed", "3"],
        cwd=str(ROOT), env=clean_environ, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = read_until_ready(process, START_TIMEOUT)
        env = parse_exports(lines)
        assert env["AWS_ACCESS_KEY_ID"] and env["AWS_SECRET_ACCESS_KEY"] and env["AWS_REGION"] == "us-east-1"
        assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        assert any(line.startswith("# AWS fault proxy control: ") for line in lines)
        assert any(line.startswith(("# Azure: ", "# Azure emulator unavailable")) for line in lines)
        assert parse_exports(env_file.read_text(encoding="utf-8").splitlines()) == env

        # The collection, configured only by the printed environment, reaches moto through the proxy.
        for name in CONFLICTING_ENV:
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        ec2 = resolve_connection(FAST_BACKOFF).client("ec2")
        proxy = FaultProxyClient(env["HYBRID_AWS_FAULT_PROXY"])
        proxy.add_fault("throttle", action="CreateVpc", count=1)
        vpc_id = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
        assert [v["VpcId"] for v in ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]] == [vpc_id]
        assert [(e["action"], e["status"]) for e in proxy.log()] == [
            ("CreateVpc", 503), ("CreateVpc", 200), ("DescribeVpcs", 200)]
        assert http_request(env["HYBRID_MOTO_URL"], "GET", "/moto-api/data.json")[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            process.stdout.close()
    assert process.returncode == 0
    with pytest.raises(OSError):
        http_request(env["AWS_ENDPOINT_URL"], "GET", "/_proxy/health", timeout=2)


def test_up_reports_azure_as_unavailable_when_it_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "tests.emulators.azure", None)  # makes the import fail
    args = emulators_main.parse_args(["up"])
    emulator, notes = emulators_main.start_azure(args)
    assert emulator is None
    assert notes[0].startswith("# Azure emulator unavailable: cannot import tests.emulators.azure")


def test_export_lines_quote_values():
    assert emulators_main.export_lines({"A": "x y", "B": None, "C": "it's"}) == ["export A='x y'", "export C='it'\"'\"'s'"]


def test_up_refuses_non_loopback_hosts():
    args = emulators_main.parse_args(["up", "--host", "0.0.0.0", "--no-azure"])
    with pytest.raises(ValueError, match="loopback"):
        emulators_main.start_aws(args)
