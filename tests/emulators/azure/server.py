"""HTTPS server and request dispatch: control interface, identity, fault injection, ARM.

Every request except the control interface's goes to the request log as method, path, query,
status and timing. Bodies and headers are never logged, so neither the client secret sent to the
token endpoint nor shared keys can appear there.
"""

import json
import socket
import ssl
import threading
import time
import traceback
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from .arm import ArmError, Request, parse_provider_path
from .faults import error_for_status

CONTROL_PREFIX = "/_emulator"
DROP = object()
LOG_LIMIT = 20000


class RequestLog:
    """Bounded, thread-safe list of handled requests with increasing sequence numbers."""

    def __init__(self, limit=LOG_LIMIT):
        self._lock = threading.Lock()
        self._entries = deque(maxlen=limit)
        self._seq = 0

    def add(self, **entry):
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._entries.append(entry)

    def entries(self, since=0):
        with self._lock:
            return [dict(e) for e in self._entries if e["seq"] > since]

    def clear(self):
        with self._lock:
            self._entries.clear()

    @property
    def last_seq(self):
        with self._lock:
            return self._seq


class EmulatorApp:
    """Turns one HTTP request into ``(status, headers, body)`` or DROP."""

    def __init__(self, store, arm, identity, faults, control):
        self.store = store
        self.arm = arm
        self.identity = identity
        self.faults = faults
        self.control = control
        self.log = RequestLog()
        self.base_url = None

    def resource_type_of(self, segments):
        path = parse_provider_path(segments)
        if path is None or not path.types:
            return "Microsoft.Resources/resourceGroups" if len(segments) >= 4 and segments[2].lower() == "resourcegroups" else None
        rtype = self.arm.type_for(path.type_key())
        if rtype is None and path.tail:
            rtype = self.arm.type_for(path.type_key() + "/" + path.tail.lower())
        return rtype.type_name if rtype else None

    def dispatch(self, method, path, query, headers, body):
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self.control.handle_http(method, path[len(CONTROL_PREFIX):], query, body)
        started = time.time()
        segments = [s for s in path.split("/") if s]
        rtype = self.resource_type_of(segments)
        fired = self.faults.pick(method, path, rtype, kinds=("latency", "drop", "throttle", "error"))
        fault_names = [r.kind for r in fired]
        delay = sum(r.latency for r in fired if r.kind == "latency")
        if delay:
            time.sleep(delay)
        result = None
        for rule in fired:
            if rule.kind == "drop" and rule.phase == "before":
                result = DROP
                break
            if rule.kind in ("throttle", "error"):
                code, message = error_for_status(rule.status)
                extra = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
                result = (rule.status, extra, {"error": {"code": rule.code or code, "message": rule.message or message}})
                break
        if result is None:
            result = self.handle(method, path, segments, query, headers, body)
            if any(r.kind == "drop" and r.phase == "after" for r in fired):
                result = DROP
        status = 0 if result is DROP else result[0]
        self.log.add(time=started, method=method, path=path, query=dict(query), status=status,
                     duration_ms=round((time.time() - started) * 1000, 2), faults=fault_names,
                     resource_type=rtype, api_version=query.get("api-version"),
                     client_request_id=headers.get("x-ms-client-request-id"))
        return result

    def handle(self, method, path, segments, query, headers, body):
        if segments and self.identity.handles(method, segments):
            return self.identity.handle(method, segments, self.base_url, body)
        try:
            if not query.get("api-version"):
                raise ArmError(400, "MissingApiVersionParameter",
                               "The api-version query parameter (?api-version=) is required for all requests.")
            problem = self.identity.check(headers.get("Authorization"))
            if problem is not None:
                challenge = 'Bearer authorization_uri="%s/%s", error="invalid_token", error_description="%s"' % (
                    self.base_url, self.identity.tenant_id, problem[1])
                raise ArmError(401, problem[0], problem[1], headers={"WWW-Authenticate": challenge})
            request = Request(method, path, query, headers, body, self.base_url)
            with self.store.lock:
                self.store.finish_due(request.now)
                response = self.arm.handle(request)
            return response.status, response.headers, response.body
        except ArmError as exc:
            return exc.status, exc.headers, exc.body()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AzureResourceManagerEmulator/1.0"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the application keeps its own request log."""

    def _serve(self):
        app = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            result = app.dispatch(self.command, unquote(parts.path), query, self.headers, body)
        except Exception as exc:  # pylint: disable=broad-except
            detail = traceback.format_exc(limit=-3).strip().splitlines()
            result = (500, {}, {"error": {"code": "InternalServerError", "message": "Emulator failure: %r" % exc,
                                          "details": [{"code": "Traceback", "message": line} for line in detail]}})
        if result is DROP:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        status, headers, payload = result
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        request_id = str(uuid.uuid4())
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-correlation-request-id", self.headers.get("x-ms-correlation-request-id") or request_id)
        self.send_header("Cache-Control", "no-cache")
        for name, value in headers.items():
            self.send_header(name, value)
        if data and not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _serve


class TLSServer(ThreadingHTTPServer):
    """ThreadingHTTPServer whose connections are wrapped in TLS in their own thread."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app, cert_path, key_path):
        host = address[0]
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__(address, _Handler)
        self.app = app
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl_context.load_cert_chain(cert_path, key_path)

    def finish_request(self, request, client_address):
        try:
            request.settimeout(30)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        """Client-side disconnects are normal here (dropped-connection faults, closed pools)."""
