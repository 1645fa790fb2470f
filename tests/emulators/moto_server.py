"""Start moto's server (the AWS emulator) on a loopback port, with the fault proxy in front of it.

>>> emu = MotoEmulator().start()
>>> emu.url            # moto itself
>>> emu.endpoint_url   # the fault proxy; what the collection talks to
>>> emu.env()          # AWS_* variables pointing boto3 and the collection at the proxy
>>> emu.reset()        # drop all moto resources, proxy rules and the request log
>>> emu.stop()

By default moto runs as a child process (``python -m moto.server``) so its state and its log are
separate from the test process; the log (where moto names actions it does not implement) is
``emu.log_path``. ``mode="thread"`` runs it in this process instead (faster start, shared state
with any in-process moto use).
"""

import http.client
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from tests.emulators.fault_proxy import FaultProxy, check_loopback, format_url

DUMMY_ACCESS_KEY = "testing"
DUMMY_SECRET_KEY = "testing"
DEFAULT_REGION = "us-east-1"
_REPOSITORY_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Variables that would send traffic elsewhere or pick other credentials; callers that apply
# env() to a whole environment should remove these first (the pytest fixtures do).
CONFLICTING_ENV = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
)


# The child process: moto's threaded server (which logs request errors with their traceback, so
# "action has not been implemented" shows up in the log), bound to the port we ask for (0: any
# free one), which it reports through a file once listening; it runs until SIGTERM/SIGINT or until
# its parent process is gone.
_CHILD = """
import logging, os, signal, sys, threading
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
host, port, port_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
if os.environ.get("HYBRID_MOTO_VPN", "1") != "0":  # VPN behaviour moto lacks: tests/emulators/moto_vpn.py
    sys.path.insert(0, sys.argv[4])
    from tests.emulators import moto_vpn
    moto_vpn.install()
server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
server.start()
with open(port_file + ".tmp", "w") as handle:
    handle.write(str(server.get_host_and_port()[1]))
os.replace(port_file + ".tmp", port_file)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *args: stop.set())
signal.signal(signal.SIGINT, lambda *args: stop.set())
parent = os.getppid()
while not stop.wait(1.0) and os.getppid() == parent:  # also end when the parent died
    pass
logging.shutdown()
os._exit(0)  # nothing to save; skip waiting for keep-alive connections
"""


def free_port(host="127.0.0.1"):
    """A port that is free right now on ``host``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def http_request(url, method="GET", path="/", body=None, timeout=5.0):
    """One HTTP request to a loopback URL without any proxy settings; returns (status, body)."""
    host, port = _split(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _split(url):
    rest = url.split("://", 1)[1].rstrip("/")
    if rest.startswith("["):
        host, port = rest[1:].split("]:", 1)
    else:
        host, port = rest.rsplit(":", 1)
    return host, int(port)


def wait_until_answers(url, path, timeout=30.0, process=None, log_path=None):
    """Poll ``url + path`` until it answers 200; fail early if ``process`` exits."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError("moto exited with code %s before answering; log %s:\n%s"
                               % (process.returncode, log_path, _tail(log_path)))
        try:
            status, dummy = http_request(url, "GET", path, timeout=2.0)
            if status == 200:
                return
            last = "HTTP %s" % status
        except OSError as exc:
            last = exc
        time.sleep(0.05)
    raise RuntimeError("%s%s did not answer within %ss (last: %s)" % (url, path, timeout, last))


def _tail(path, lines=30):
    if not path or not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


class MotoEmulator:
    """moto server plus the fault proxy, on loopback ports."""

    def __init__(self, host="127.0.0.1", port=0, proxy_port=0, region=DEFAULT_REGION, mode="process",
                 workdir=None, seed=None, start_timeout=60.0):
        if mode not in ("process", "thread"):
            raise ValueError("mode must be 'process' or 'thread'")
        self.host = check_loopback(host)
        self.port = port
        self.proxy_port = proxy_port
        self.region = region
        self.mode = mode
        self.seed = seed
        self.start_timeout = start_timeout
        self._own_workdir = workdir is None
        self.workdir = workdir
        self.log_path = None
        self.proxy = None
        self._process = None
        self._log_handle = None
        self._thread_server = None
        self._actual_port = None

    # -- lifecycle

    def start(self):
        """Start moto and the proxy, wait until both answer; returns self."""
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="hybrid-moto-")
        os.makedirs(self.workdir, exist_ok=True)
        self.log_path = os.path.join(str(self.workdir), "moto.log")
        try:
            if self.mode == "process":
                self._start_process()
            else:
                self._start_thread()
                wait_until_answers(self.url, "/moto-api/data.json", self.start_timeout)
            self.proxy = FaultProxy(self.url, host=self.host, port=self.proxy_port, seed=self.seed).start()
            wait_until_answers(self.proxy.url, "/_proxy/health", self.start_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_process(self):
        port_file = os.path.join(str(self.workdir), "moto.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        env = {k: v for k, v in os.environ.items() if k not in CONFLICTING_ENV}
        if self.port:
            env["MOTO_PORT"] = str(self.port)
        self._log_handle = open(self.log_path, "ab")  # pylint: disable=consider-using-with
        self._process = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-c", _CHILD, self.host, str(self.port), port_file, _REPOSITORY_ROOT],
            stdin=subprocess.DEVNULL, stdout=self._log_handle, stderr=subprocess.STDOUT, env=env,
            cwd=str(self.workdir),
        )
        deadline = time.monotonic() + self.start_timeout
        while not os.path.exists(port_file):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto did not start (exit code %s); log %s:\n%s"
                                   % (self._process.poll(), self.log_path, _tail(self.log_path)))
            time.sleep(0.05)
        with open(port_file, encoding="ascii") as handle:
            self._actual_port = int(handle.read().strip())
        wait_until_answers(self.url, "/moto-api/data.json", self.start_timeout, self._process, self.log_path)

    def _start_thread(self):
        from moto.server import ThreadedMotoServer  # pylint: disable=import-outside-toplevel
        if os.environ.get("HYBRID_MOTO_VPN", "1") != "0":
            from tests.emulators import moto_vpn  # pylint: disable=import-outside-toplevel
            moto_vpn.install()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._thread_server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._thread_server.start()
        self._actual_port = self._thread_server.get_host_and_port()[1]

    def _stop_process(self):
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout=10)
            self._process = None
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def stop(self):
        """Stop the proxy and moto (safe to call twice)."""
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        self._stop_process()
        if self._thread_server is not None:
            self._thread_server.stop()
            self._thread_server = None
        self._actual_port = None
        if self._own_workdir and self.workdir and os.path.isdir(str(self.workdir)):
            shutil.rmtree(str(self.workdir), ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def running(self):
        return self._actual_port is not None

    # -- addresses

    @property
    def url(self):
        """moto itself (no faults, not logged)."""
        if self._actual_port is None:
            raise RuntimeError("the moto emulator is not running")
        return format_url(self.host, self._actual_port)

    @property
    def endpoint_url(self):
        """The fault proxy: the endpoint the collection is pointed at."""
        if self.proxy is None:
            raise RuntimeError("the moto emulator is not running")
        return self.proxy.url

    def env(self):
        """AWS_* variables that point boto3 and the collection at the proxy, with dummy credentials."""
        endpoint = self.endpoint_url
        return {
            "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_KEY,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_URL": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "HYBRID_AWS_FAULT_PROXY": self.proxy.control_url,
            "HYBRID_MOTO_URL": self.url,
        }

    def client_params(self, **overrides):
        """Module-style options for ``resolve_connection`` (no environment needed)."""
        params = {
            "access_key": DUMMY_ACCESS_KEY,
            "secret_key": DUMMY_SECRET_KEY,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
        }
        params.update(overrides)
        return params

    # -- state

    def reset(self, proxy=True):
        """Drop every moto resource (``/moto-api/reset``) and, with ``proxy``, its rules and log."""
        status, body = http_request(self.url, "POST", "/moto-api/reset", body=b"", timeout=30)
        if status != 200:
            raise RuntimeError("moto reset failed: HTTP %s %s" % (status, body[:200]))
        if proxy and self.proxy is not None:
            self.proxy.reset()

    def data(self):
        """moto's own dump of its state (``/moto-api/data.json``)."""
        status, body = http_request(self.url, "GET", "/moto-api/data.json", timeout=30)
        if status != 200:
            raise RuntimeError("moto data failed: HTTP %s" % status)
        return json.loads(body)

    def log_tail(self, lines=40):
        """Last lines of moto's log (process mode): the place where unimplemented actions are named."""
        return _tail(self.log_path, lines)
