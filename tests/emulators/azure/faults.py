"""Fault injection: throttling, server errors, dropped connections, latency and failed operations.

A rule matches requests by method, path (a regular expression searched in the path, case-insensitive)
and/or resource type (``Microsoft.Network/virtualNetworkGateways``), and fires either for the next
``count`` matching calls or at a ``rate`` (0..1, drawn from a seeded generator so runs repeat).
"""

import random
import re
import threading
import uuid

KINDS = ("throttle", "error", "drop", "latency", "fail_operation")

_ERROR_CODES = {
    429: ("TooManyRequests", "The request is being throttled as the limit has been reached for this operation type. "
                             "Retry after the number of seconds in the Retry-After header."),
    500: ("InternalServerError", "The server encountered an internal error. Please retry the request."),
    502: ("BadGateway", "The gateway did not receive a response in time. Please retry the request."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please retry the request."),
    504: ("GatewayTimeout", "The gateway did not receive a response in time. Please retry the request."),
}


def error_for_status(status):
    """ARM error ``(code, message)`` used for an injected error status."""
    return _ERROR_CODES.get(status, ("InjectedFault", "Fault injected by the test emulator."))


class FaultRule:
    """One rule; see the module docstring. ``kind`` is one of KINDS."""

    def __init__(self, kind="throttle", method=None, path=None, resource_type=None, rate=None, count=None,
                 status=None, retry_after=None, latency=0.0, phase="before", code=None, message=None, rule_id=None):
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r (expected one of %s)" % (kind, ", ".join(KINDS)))
        if rate is None and count is None:
            rate = 1.0
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        if phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        self.id = rule_id or uuid.uuid4().hex[:12]
        self.kind = kind
        self.method = method.upper() if method else None
        self.path = path
        self._path_re = re.compile(path, re.IGNORECASE) if path else None
        self.resource_type = resource_type.lower() if resource_type else None
        self.rate = float(rate) if rate is not None else None
        self.remaining = int(count) if count is not None else None
        self.status = int(status) if status is not None else (429 if kind == "throttle" else 500)
        if kind == "throttle" and retry_after is None:
            retry_after = 1
        self.retry_after = int(retry_after) if retry_after is not None else None
        self.latency = float(latency or 0.0)
        self.phase = phase
        self.code = code
        self.message = message
        self.fired = 0

    def matches(self, method, path, resource_type):
        if self.method and self.method != method:
            return False
        if self._path_re and not self._path_re.search(path):
            return False
        if self.resource_type and (resource_type or "").lower() != self.resource_type:
            return False
        return True

    def to_dict(self):
        return {
            "id": self.id, "kind": self.kind, "method": self.method, "path": self.path,
            "resource_type": self.resource_type, "rate": self.rate, "count": self.remaining,
            "status": self.status, "retry_after": self.retry_after, "latency": self.latency,
            "phase": self.phase, "code": self.code, "message": self.message, "fired": self.fired,
        }


class FaultInjector:
    """Thread-safe list of rules; ``pick`` returns the rules that fire for one request."""

    def __init__(self, seed=0):
        self._lock = threading.Lock()
        self._rules = []
        self._random = random.Random(seed)

    def add(self, **spec):
        rule = FaultRule(**spec)
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule_id):
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self, seed=0):
        with self._lock:
            self._rules = []
            self._random.seed(seed)

    def rules(self):
        with self._lock:
            return [r.to_dict() for r in self._rules]

    def pick(self, method, path, resource_type=None, kinds=KINDS):
        """Rules of ``kinds`` that fire for this request; the counts of fired rules go down."""
        fired = []
        with self._lock:
            for rule in self._rules:
                if rule.kind not in kinds or not rule.matches(method, path, resource_type):
                    continue
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    if rule.rate is not None and self._random.random() >= rule.rate:
                        continue
                    rule.remaining -= 1
                elif self._random.random() >= rule.rate:
                    continue
                rule.fired += 1
                fired.append(rule)
            self._rules = [r for r in self._rules if r.remaining is None or r.remaining > 0]
        return fired
