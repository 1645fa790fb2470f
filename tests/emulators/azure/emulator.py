"""AzureEmulator: the public entry point (start, stop, environment, control)."""

import json
import os
import secrets
import shutil
import ssl
import tempfile
import threading
import time
import urllib.error
import urllib.request

from . import compute, gateways, network, usages
from .arm import Arm
from .certs import make_certificates
from .control import Control
from .faults import FaultInjector
from .identity import Identity
from .resource_groups import ResourceGroups
from .server import EmulatorApp, TLSServer
from .store import Store

DEFAULT_SUBSCRIPTION = "6d6f636b-0000-4000-8000-00000000a2b1"
DEFAULT_TENANT = "6d6f636b-0000-4000-8000-0000000e17a1"
DEFAULT_CLIENT = "6d6f636b-0000-4000-8000-00000000c11e"


class AzureEmulator:
    """An Azure Resource Manager and Entra ID token endpoint on 127.0.0.1 over HTTPS.

    >>> emu = AzureEmulator().start()
    >>> env = emu.env()          # AZURE_* variables for plugins/module_utils/azure.py
    >>> emu.stop()
    """

    def __init__(self, host="127.0.0.1", port=0, workdir=None, subscription_id=DEFAULT_SUBSCRIPTION,
                 tenant_id=DEFAULT_TENANT, client_id=DEFAULT_CLIENT, client_secret=None, fault_seed=0):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the emulator only listens on the loopback interface")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self._own_workdir = workdir is None
        self.workdir = workdir
        self.subscription_id = subscription_id
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.store = Store()
        self.faults = FaultInjector(fault_seed)
        self.identity = Identity(tenant_id, client_id, self.client_secret)
        self.arm = Arm(self.store, subscription_id, tenant_id, self.faults)
        ResourceGroups(self.arm)
        network.register(self.arm)
        gateways.register(self.arm)
        compute.register(self.arm)
        usages.register(self.arm)
        self.control = Control(self)
        self.app = EmulatorApp(self.store, self.arm, self.identity, self.faults, self.control)
        self.base_url = None
        self.ca_bundle = None
        self._server = None
        self._thread = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def url(self):
        return self.base_url

    def start(self, timeout=10.0):
        if self._server is not None:
            return self
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="azure-emulator-")
        os.makedirs(self.workdir, exist_ok=True)
        self.ca_bundle, cert, key = make_certificates(self.workdir)
        self._server = TLSServer((self.host, self.port), self.app, cert, key)
        self.port = self._server.server_address[1]
        shown = "[%s]" % self.host if ":" in self.host else self.host
        self.base_url = "https://%s:%d" % (shown, self.port)
        self.app.base_url = self.base_url
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="azure-emulator", daemon=True)
        self._thread.start()
        deadline = time.time() + timeout
        while True:
            try:
                EmulatorClient(self.base_url, self.ca_bundle).health()
                return self
            except (OSError, urllib.error.URLError):
                if time.time() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._own_workdir and self.workdir and os.path.isdir(self.workdir):
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def env(self):
        """Environment variables that point hybrid.cluster's Azure client layer at this emulator."""
        return {
            "AZURE_SUBSCRIPTION_ID": self.subscription_id,
            "AZURE_CLIENT_ID": self.client_id,
            "AZURE_SECRET": self.client_secret,
            "AZURE_TENANT": self.tenant_id,
            "AZURE_RESOURCE_MANAGER_URL": self.base_url,
            "AZURE_AUTHORITY_HOST": self.base_url,
            "AZURE_CA_BUNDLE": self.ca_bundle,
            "HYBRID_AZURE_EMULATOR_URL": self.base_url,
        }

    # ---------------------------------------------------------------- control (in-process)
    def reset(self):
        self.control.reset()

    def seed(self, resources, strict=True):
        return self.control.seed(resources, strict)

    def dump(self):
        return self.control.dump()

    def set_fault(self, kind="throttle", **spec):
        """Add a fault rule (see faults.FaultRule) and return its id."""
        return self.control.set_fault(kind=kind, **spec)

    def clear_faults(self):
        self.control.clear_faults()

    def remove_fault(self, rule_id):
        return self.control.remove_fault(rule_id)

    def faults_status(self):
        return self.faults.rules()

    def set_delay(self, resource_type, seconds, operation=None):
        """Provisioning time of a resource type (``Microsoft.Network/virtualNetworkGateways``, or ``*``)."""
        self.control.set_delay(resource_type, seconds, operation)

    def set_page_size(self, size):
        self.control.configure(page_size=size)

    def configure(self, **settings):
        return self.control.configure(**settings)

    def requests(self, since=0, method=None, path=None):
        """Request log entries (dicts with seq, time, method, path, query, status, faults, ...)."""
        entries = self.control.requests(since)
        if method:
            entries = [e for e in entries if e["method"] == method.upper()]
        if path:
            entries = [e for e in entries if path.lower() in e["path"].lower()]
        return entries

    def clear_requests(self):
        self.control.clear_requests()

    @property
    def last_request_seq(self):
        return self.app.log.last_seq


class EmulatorClient:
    """Control interface over HTTPS, for processes that did not start the emulator."""

    def __init__(self, url, ca_bundle):
        self.url = url.rstrip("/")
        self.ca_bundle = ca_bundle

    def _call(self, method, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        request = urllib.request.Request(self.url + "/_emulator" + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca_bundle)
        with urllib.request.urlopen(request, context=context, timeout=30) as response:  # nosec - loopback only
            return json.loads(response.read() or b"{}")

    def health(self):
        return self._call("GET", "/health")

    def reset(self):
        return self._call("POST", "/reset")

    def seed(self, resources, strict=True):
        return self._call("POST", "/seed", {"resources": resources, "strict": strict})["ids"]

    def dump(self):
        return self._call("GET", "/state")

    def set_fault(self, kind="throttle", **spec):
        spec["kind"] = kind
        return self._call("POST", "/faults", spec)["id"]

    def clear_faults(self):
        return self._call("DELETE", "/faults")

    def set_delay(self, resource_type, seconds, operation=None):
        return self._call("POST", "/delays", {"resource_type": resource_type, "seconds": seconds, "operation": operation})

    def configure(self, **settings):
        return self._call("POST", "/settings", settings)

    def requests(self, since=0):
        return self._call("GET", "/requests?since=%d" % since)["requests"]

    def clear_requests(self):
        return self._call("DELETE", "/requests")
