"""A small HTTP proxy in front of an AWS emulator that injects faults and logs every request.

The proxy forwards requests unchanged to the upstream (moto) and can instead answer with the
errors a real AWS endpoint sends under load:

* ``throttle``: EC2 answers ``HTTP 503`` with an EC2 XML error ``RequestLimitExceeded``; other
  query services ``HTTP 400`` ``Throttling``; JSON services ``HTTP 400`` ``ThrottlingException``;
  REST services ``HTTP 429`` ``TooManyRequestsException``.
* ``error``: ``HTTP 500`` ``InternalError`` (EC2) / ``InternalFailure`` (others).
* ``drop``: the request is read, then the connection is closed without an answer.
* ``latency``: the request is delayed by ``delay`` seconds, then forwarded (or faulted).

A rule matches requests by API action (``Action=`` of query requests, the operation of
``X-Amz-Target`` for JSON requests; shell-style patterns such as ``Describe*``) and service, fires
with probability ``rate`` and, if ``count`` is set, only that many times ("the next N matching
requests"). Rules are checked in the order they were added; the first ``throttle``/``error``/
``drop`` rule that fires decides.

Every forwarded or faulted API request is logged (``seq``, ``time``, ``method``, ``path``,
``service``, ``action``, ``status``, ``fault``, ``mutating``, ``duration``). Requests to
``/moto-api/`` are forwarded but not logged.

Control interface, also used by other processes (ansible-playbook runs, demos)::

    GET    /_proxy/health          {"status": "ok", "upstream": ...}
    GET    /_proxy/faults          {"rules": [...], "seed": ...}
    POST   /_proxy/faults          add a rule (JSON object) or {"rules": [...]}; returns the rules added
    DELETE /_proxy/faults          remove all rules;  DELETE /_proxy/faults/<id> removes one
    GET    /_proxy/log             {"entries": [...]}; filters ?since=<seq>&action=<pattern>&mutating=1
    DELETE /_proxy/log             clear the log
    GET    /_proxy/stats           counts by action, status and fault
    POST   /_proxy/reset           remove rules, clear the log, reseed the random generator

``FaultProxy`` runs the proxy in a thread; ``FaultProxyClient`` drives a running proxy over HTTP
with the same method names.
"""

import dataclasses
import fnmatch
import http.client
import http.server
import itertools
import json
import random
import socket
import threading
import time
import urllib.parse
import uuid

CONTROL_PREFIX = "/_proxy"
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Search", "Lookup")
FAULT_KINDS = ("throttle", "error", "drop", "latency")
EC2_API_VERSION = "2016-11-15"

_HOP_BY_HOP = frozenset((
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
    "transfer-encoding", "upgrade", "content-length",
))


def is_mutating(action):
    """True for API actions that change state (``CreateVpc``, ``AttachVpnGateway``, ...)."""
    return bool(action) and not action.startswith(READ_ONLY_PREFIXES)


@dataclasses.dataclass
class FaultRule:
    """One fault injection rule; see the module docstring."""

    kind: str
    action: str | None = None
    service: str | None = None
    rate: float = 1.0
    count: int | None = None
    delay: float = 0.0
    status: int | None = None
    code: str | None = None
    message: str | None = None
    id: int = 0
    fired: int = 0

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError("unknown fault kind %r (use one of %s)" % (self.kind, ", ".join(FAULT_KINDS)))
        if not 0.0 <= float(self.rate) <= 1.0:
            raise ValueError("rate must be between 0 and 1, got %r" % (self.rate,))
        if self.count is not None and int(self.count) < 0:
            raise ValueError("count must not be negative")
        if self.kind == "latency" and float(self.delay) <= 0:
            raise ValueError("a latency rule needs a positive delay")

    @property
    def exhausted(self):
        return self.count is not None and self.fired >= self.count

    def matches(self, service, action):
        if self.exhausted:
            return False
        if self.service and (service or "").lower() != self.service.lower():
            return False
        if self.action and not fnmatch.fnmatchcase(action or "", self.action):
            return False
        return True

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class RequestInfo:
    """What the proxy knows about one incoming API request."""

    method: str
    path: str
    service: str | None
    action: str | None
    protocol: str  # "ec2", "query", "json" or "rest"
    content_type: str | None = None


def describe_request(method, path, headers, body):
    """Work out service, action and protocol of an AWS API request."""
    service = None
    auth = headers.get("Authorization") or ""
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        if len(scope) >= 4:
            service = scope[3]
    content_type = headers.get("Content-Type")
    target = headers.get("X-Amz-Target")
    if target:
        return RequestInfo(method, path, service, target.rsplit(".", 1)[-1], "json", content_type)
    fields = {}
    query = urllib.parse.urlsplit(path).query
    if query:
        fields.update(urllib.parse.parse_qs(query))
    if body and "x-www-form-urlencoded" in (content_type or ""):
        try:
            fields.update(urllib.parse.parse_qs(body.decode("utf-8")))
        except UnicodeDecodeError:
            pass
    action = (fields.get("Action") or [None])[0]
    if action:
        version = (fields.get("Version") or [None])[0]
        protocol = "ec2" if service == "ec2" or version == EC2_API_VERSION else "query"
        return RequestInfo(method, path, service, action, protocol, content_type)
    return RequestInfo(method, path, service, None, "rest", content_type)


def fault_response(kind, info, code=None, message=None, status=None):
    """``(status, headers, body)`` of the error a real endpoint would send for ``kind``."""
    request_id = str(uuid.uuid4())
    throttle = kind == "throttle"
    if info.protocol == "ec2":
        code = code or ("RequestLimitExceeded" if throttle else "InternalError")
        message = message or ("Request limit exceeded." if throttle else "An internal error has occurred")
        status = status or (503 if throttle else 500)
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code><Message>%s</Message>'
                '</Error></Errors><RequestID>%s</RequestID></Response>' % (_xml(code), _xml(message), request_id))
        return status, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode()
    if info.protocol == "query":
        code = code or ("Throttling" if throttle else "InternalFailure")
        message = message or ("Rate exceeded" if throttle else "An internal error has occurred")
        status = status or (400 if throttle else 500)
        body = ('<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>'
                '<RequestId>%s</RequestId></ErrorResponse>' % ("Sender" if throttle else "Receiver", _xml(code),
                                                               _xml(message), request_id))
        return status, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
    if info.protocol == "json":
        code = code or ("ThrottlingException" if throttle else "InternalFailure")
        message = message or ("Rate exceeded" if throttle else "An internal error has occurred")
        status = status or (400 if throttle else 500)
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"Content-Type": info.content_type or "application/x-amz-json-1.1", "x-amzn-RequestId": request_id}
        return status, headers, body
    code = code or ("TooManyRequestsException" if throttle else "InternalFailure")
    message = message or ("Too Many Requests" if throttle else "An internal error has occurred")
    status = status or (429 if throttle else 500)
    body = json.dumps({"message": message}).encode()
    return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code, "x-amzn-RequestId": request_id}, body


def _xml(text):
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class FaultState:
    """Rules, log and random generator shared by the request handler threads."""

    def __init__(self, seed=None):
        self.lock = threading.Lock()
        self.rules = []
        self.entries = []
        self.seed = seed
        self.rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)

    def add(self, **spec):
        rule = FaultRule(**{k: v for k, v in spec.items() if k not in ("id", "fired")})
        with self.lock:
            rule.id = next(self._ids)
            self.rules.append(rule)
        return rule

    def remove(self, rule_id=None):
        with self.lock:
            before = len(self.rules)
            self.rules = [] if rule_id is None else [r for r in self.rules if r.id != rule_id]
            return before - len(self.rules)

    def pick(self, info):
        """The latency to add and the fault rule that fires for this request (or None)."""
        delay = 0.0
        chosen = None
        with self.lock:
            for rule in self.rules:
                if not rule.matches(info.service, info.action):
                    continue
                if rule.kind == "latency":
                    if self.rng.random() < rule.rate:
                        rule.fired += 1
                        delay += float(rule.delay)
                    continue
                if chosen is None and self.rng.random() < rule.rate:
                    rule.fired += 1
                    chosen = rule
        return delay, chosen

    def record(self, info, status, fault, started):
        entry = {
            "seq": 0,
            "time": time.time(),
            "method": info.method,
            "path": info.path,
            "service": info.service,
            "action": info.action,
            "status": status,
            "fault": fault,
            "mutating": is_mutating(info.action),
            "duration": round(time.monotonic() - started, 4),
        }
        with self.lock:
            entry["seq"] = next(self._seq)
            self.entries.append(entry)
        return entry

    def log(self, since=0, action=None, mutating=None):
        with self.lock:
            entries = list(self.entries)
        return [e for e in entries
                if e["seq"] > since
                and (action is None or fnmatch.fnmatchcase(e["action"] or "", action))
                and (mutating is None or e["mutating"] == mutating)]

    def clear_log(self):
        with self.lock:
            self.entries = []

    def reset(self):
        with self.lock:
            self.rules = []
            self.entries = []
            self.rng = random.Random(self.seed)

    def stats(self):
        entries = self.log()
        by_action, by_status, by_fault = {}, {}, {}
        for e in entries:
            by_action[e["action"] or e["path"]] = by_action.get(e["action"] or e["path"], 0) + 1
            by_status[str(e["status"])] = by_status.get(str(e["status"]), 0) + 1
            if e["fault"]:
                by_fault[e["fault"]] = by_fault.get(e["fault"], 0) + 1
        return {"requests": len(entries), "mutating": sum(1 for e in entries if e["mutating"] and not e["fault"]),
                "by_action": by_action, "by_status": by_status, "by_fault": by_fault}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hybrid-fault-proxy"
    timeout = 120  # idle keep-alive connections end after this
    disable_nagle_algorithm = True  # small answers must not wait for delayed ACKs

    # pylint: disable=invalid-name
    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()
    # pylint: enable=invalid-name

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the request log is the record."""

    @property
    def state(self):
        return self.server.fault_state

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, headers, body):
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status, data):
        self._send(status, {"Content-Type": "application/json"}, json.dumps(data, indent=1).encode())

    def _dispatch(self):
        body = self._read_body()
        if self.path.startswith(CONTROL_PREFIX + "/") or self.path == CONTROL_PREFIX:
            try:
                self._control(body)
            except (ValueError, TypeError, KeyError) as exc:
                self._send_json(400, {"error": str(exc)})
            return
        started = time.monotonic()
        internal = self.path.startswith("/moto-api")
        info = describe_request(self.command, self.path, self.headers, body)
        delay, rule = (0.0, None) if internal else self.state.pick(info)
        if delay:
            time.sleep(delay)
        if rule is not None and rule.kind == "drop":
            self.state.record(info, None, "drop", started)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if rule is not None:
            status, headers, payload = fault_response(rule.kind, info, rule.code, rule.message, rule.status)
            self.state.record(info, status, rule.kind, started)
            self._send(status, headers, payload)
            return
        try:
            status, headers, payload = self._forward(body)
        except OSError as exc:
            if not internal:
                self.state.record(info, 502, "upstream", started)
            self._send_json(502, {"error": "upstream %s unreachable: %s" % (self.server.upstream, exc)})
            return
        if not internal:
            self.state.record(info, status, None, started)
        self._send(status, headers, payload)

    def _forward(self, body):
        host, port = self.server.upstream_address
        conn = http.client.HTTPConnection(host, port, timeout=self.server.upstream_timeout)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            out = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP}
            return response.status, out, payload
        finally:
            conn.close()

    def _control(self, body):
        parsed = urllib.parse.urlsplit(self.path)
        parts = [p for p in parsed.path[len(CONTROL_PREFIX):].split("/") if p]
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        state = self.state
        what = parts[0] if parts else "health"
        if what == "health" and self.command in ("GET", "HEAD"):
            self._send_json(200, {"status": "ok", "upstream": self.server.upstream})
        elif what == "faults" and self.command == "GET":
            with state.lock:
                rules = [r.to_dict() for r in state.rules]
            self._send_json(200, {"rules": rules, "seed": state.seed})
        elif what == "faults" and self.command == "POST":
            spec = json.loads(body.decode() or "{}")
            specs = spec.get("rules") if isinstance(spec, dict) and "rules" in spec else [spec]
            added = [state.add(**s).to_dict() for s in specs]
            self._send_json(201, {"rules": added})
        elif what == "faults" and self.command == "DELETE":
            removed = state.remove(int(parts[1]) if len(parts) > 1 else None)
            self._send_json(200, {"removed": removed})
        elif what == "log" and self.command == "GET":
            mutating = query.get("mutating")
            entries = state.log(int(query.get("since", 0)), query.get("action"),
                                None if mutating is None else mutating.lower() in ("1", "true", "yes"))
            self._send_json(200, {"entries": entries})
        elif what == "log" and self.command == "DELETE":
            state.clear_log()
            self._send_json(200, {"cleared": True})
        elif what == "stats" and self.command == "GET":
            self._send_json(200, state.stats())
        elif what == "reset" and self.command == "POST":
            state.reset()
            self._send_json(200, {"reset": True})
        else:
            self._send_json(404, {"error": "unknown control request %s %s" % (self.command, self.path)})


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, upstream, state, upstream_timeout, family):
        self.address_family = family
        self.upstream = upstream
        split = urllib.parse.urlsplit(upstream)
        self.upstream_address = (split.hostname, split.port or 80)
        self.fault_state = state
        self.upstream_timeout = upstream_timeout
        super().__init__(address, _Handler)


def check_loopback(host):
    """Refuse anything but a loopback address: the emulators never listen elsewhere."""
    if host not in ("127.0.0.1", "::1", "localhost") and not host.startswith("127."):
        raise ValueError("emulators listen on loopback addresses only, not %r" % (host,))
    return host


def format_url(host, port):
    return "http://[%s]:%d" % (host, port) if ":" in host else "http://%s:%d" % (host, port)


class FaultProxy:
    """Run the fault-injecting proxy for ``upstream`` in a background thread.

    >>> proxy = FaultProxy("http://127.0.0.1:5000").start()
    >>> proxy.add_fault("throttle", action="Describe*", rate=0.2)
    """

    def __init__(self, upstream, host="127.0.0.1", port=0, seed=None, upstream_timeout=120):
        self.upstream = upstream.rstrip("/")
        self.host = check_loopback(host)
        self.port = port
        self.state = FaultState(seed)
        self.upstream_timeout = upstream_timeout
        self._server = None
        self._thread = None

    @property
    def url(self):
        """Base URL of the proxy (point ``AWS_ENDPOINT_URL`` here)."""
        if self._server is None:
            raise RuntimeError("the proxy is not running")
        return format_url(self.host, self._server.server_address[1])

    @property
    def control_url(self):
        return self.url + CONTROL_PREFIX

    def start(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = _Server((self.host, self.port), self.upstream, self.state, self.upstream_timeout, family)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # The same methods as FaultProxyClient.
    def add_fault(self, kind, action=None, rate=1.0, count=None, **options):
        """Add a rule; returns it as a dict (with its ``id``)."""
        return self.state.add(kind=kind, action=action, rate=rate, count=count, **options).to_dict()

    def faults(self):
        with self.state.lock:
            return [r.to_dict() for r in self.state.rules]

    def clear_faults(self, rule_id=None):
        return self.state.remove(rule_id)

    def log(self, since=0, action=None, mutating=None):
        return self.state.log(since, action, mutating)

    def clear_log(self):
        self.state.clear_log()

    def stats(self):
        return self.state.stats()

    def reset(self):
        self.state.reset()

    def mutating_calls(self, since=0):
        """Logged requests that changed state (faulted attempts excluded: they changed nothing)."""
        return [e for e in self.log(since, mutating=True) if not e["fault"]]


class FaultProxyClient:
    """Drive a running proxy over its control interface (from another process)."""

    def __init__(self, url, timeout=10):
        split = urllib.parse.urlsplit(url.rstrip("/"))
        check_loopback(split.hostname)
        self.url = "%s://%s" % (split.scheme, split.netloc)
        self._address = (split.hostname, split.port or 80)
        self.timeout = timeout

    def _request(self, method, path, data=None):
        conn = http.client.HTTPConnection(*self._address, timeout=self.timeout)
        try:
            body = json.dumps(data).encode() if data is not None else None
            conn.request(method, CONTROL_PREFIX + path, body=body, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            payload = json.loads(response.read() or b"{}")
            if response.status >= 400:
                raise RuntimeError("fault proxy: %s %s -> %s: %s" % (method, path, response.status, payload.get("error")))
            return payload
        finally:
            conn.close()

    def health(self):
        return self._request("GET", "/health")

    def add_fault(self, kind, action=None, rate=1.0, count=None, **options):
        spec = dict(options, kind=kind, action=action, rate=rate, count=count)
        return self._request("POST", "/faults", spec)["rules"][0]

    def faults(self):
        return self._request("GET", "/faults")["rules"]

    def clear_faults(self, rule_id=None):
        return self._request("DELETE", "/faults" + ("/%d" % rule_id if rule_id is not None else ""))["removed"]

    def log(self, since=0, action=None, mutating=None):
        query = {"since": since}
        if action:
            query["action"] = action
        if mutating is not None:
            query["mutating"] = "1" if mutating else "0"
        return self._request("GET", "/log?" + urllib.parse.urlencode(query))["entries"]

    def clear_log(self):
        self._request("DELETE", "/log")

    def stats(self):
        return self._request("GET", "/stats")

    def reset(self):
        self._request("POST", "/reset")

    def mutating_calls(self, since=0):
        return [e for e in self.log(since, mutating=True) if not e["fault"]]
