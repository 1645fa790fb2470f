# -*- coding: utf-8 -*-
# Copyright: hybrid.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AWS client layer of hybrid.cluster.

This is the only file of the collection that imports boto3 or botocore. Everything else talks to
AWS through it:

* ``resolve_connection()`` turns module options and environment variables (the ones AWX's AWS
  credential sets) into an ``AWSConnection``; ``AWSConnection.client()`` returns an ``AWSClient``.
* ``AWSClient`` wraps a boto3 client. Every API call goes through our own retry loop with
  jittered exponential backoff (botocore's own retries are switched off so they do not
  multiply), paginates with per-page retries, runs waiters with a timeout, and raises
  ``AWSError`` with a readable message instead of botocore exceptions.
* Tag helpers convert between Ansible dicts and the AWS ``Tags`` / ``TagSpecifications`` shapes.

Credentials come only from options, environment variables or a named/default profile in the
shared config files. Instance metadata (169.254.169.254) and container credential endpoints are
removed from the credential chain and are never contacted.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import re
import time
import traceback
import uuid

try:
    import boto3
    import botocore
    import botocore.config
    import botocore.exceptions
    import botocore.parsers
    import botocore.session
    import botocore.waiter
    import jmespath
except ImportError:
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None

from ansible.module_utils.basic import missing_required_lib


OWNER_TAG_KEY = "hybrid-cluster"

# Error codes that mean "slow down"; always safe to retry because the request was rejected.
THROTTLING_ERROR_CODES = frozenset((
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
    "EC2ThrottledException",
    "SlowDown",
))

# Error codes of transient server-side failures (they also come with an HTTP 5xx status).
TRANSIENT_ERROR_CODES = frozenset((
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
))

RETRYABLE_HTTP_STATUSES = frozenset((500, 502, 503, 504))

# API operations whose name starts with one of these only read state.
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Search", "Lookup")

# Environment variables, in order of precedence, for each connection setting.
ENV_ACCESS_KEY = ("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY")
ENV_SECRET_KEY = ("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY")
ENV_SESSION_TOKEN = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
ENV_PROFILE = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
ENV_REGION = ("AWS_REGION", "AWS_DEFAULT_REGION")
ENV_ENDPOINT_URL = ("AWS_ENDPOINT_URL", "AWS_URL")
ENV_CA_BUNDLE = ("AWS_CA_BUNDLE",)

DEFAULT_RETRIES = 8
DEFAULT_DELAY = 1.0
DEFAULT_MAX_DELAY = 60.0
DEFAULT_CONNECT_TIMEOUT = 10
DEFAULT_READ_TIMEOUT = 60

# Credential providers that would reach a metadata service; removed from every session.
_METADATA_PROVIDERS = ("iam-role", "container-role")


# ---------------------------------------------------------------------------------------------
# Errors


class AWSError(Exception):
    """An AWS call (or the setup for one) failed; ``str()`` is a complete, readable message."""

    def __init__(self, message, code=None, operation=None, service=None, status=None, request_id=None,
                 attempts=None, retryable=False, response=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.operation = operation
        self.service = service
        self.status = status
        self.request_id = request_id
        self.attempts = attempts
        self.retryable = retryable
        self.response = response

    def is_not_found(self):
        """True when the error says the resource does not exist (``*.NotFound``, ``*NotFound*``)."""
        return bool(self.code) and "NotFound" in self.code

    def to_dict(self):
        """Details for ``fail_json`` (no secrets are ever part of an error)."""
        return {
            "code": self.code,
            "operation": self.operation,
            "service": self.service,
            "http_status": self.status,
            "request_id": self.request_id,
            "attempts": self.attempts,
        }


class AWSConfigurationError(AWSError):
    """Options or environment do not describe a usable connection (or boto3 is missing)."""


class AWSWaitTimeout(AWSError):
    """A waiter or poll did not reach the wanted state in time."""


def _api_label(service, operation):
    parts = [p for p in (service, operation) if p]
    return " ".join(parts) if parts else "AWS request"


def format_client_error(response, operation=None, service=None, attempts=None):
    """Readable message for a botocore error response dict (``ClientError.response``).

    ``ec2 CreateVpc failed: InvalidParameterValue: Value (10.300.0.0/16) ... (HTTP 400, request id
    ..., after 3 attempts)``.
    """
    response = response or {}
    error = response.get("Error") or {}
    meta = response.get("ResponseMetadata") or {}
    code = error.get("Code") or "UnknownError"
    message = (error.get("Message") or "").strip() or "no message from the service"
    details = []
    status = meta.get("HTTPStatusCode")
    if status:
        details.append("HTTP %s" % status)
    request_id = meta.get("RequestId")
    if request_id:
        details.append("request id %s" % request_id)
    if attempts and attempts > 1:
        details.append("after %d attempts" % attempts)
    text = "%s failed: %s: %s" % (_api_label(service, operation), code, message)
    if details:
        text += " (%s)" % ", ".join(details)
    return text


def is_error_code(error, *codes):
    """True when ``error`` (an ``AWSError``) carries one of ``codes``."""
    return isinstance(error, AWSError) and error.code in codes


def _shorten(text, limit=200):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def error_from_exception(exc, operation=None, service=None, attempts=None, endpoint_url=None):
    """Convert a botocore/boto3 exception into an ``AWSError`` with a clear message."""
    if isinstance(exc, AWSError):
        return exc
    label = _api_label(service, operation)
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error") or {}
        meta = response.get("ResponseMetadata") or {}
        return AWSError(
            format_client_error(response, operation, service, attempts),
            code=error.get("Code"), operation=operation, service=service,
            status=meta.get("HTTPStatusCode"), request_id=meta.get("RequestId"),
            attempts=attempts, retryable=classify_error(exc) is not None, response=response,
        )
    name = type(exc).__name__
    if name == "NoCredentialsError":
        return AWSConfigurationError(
            "%s failed: no AWS credentials found. Set access_key/secret_key or profile, or the environment "
            "variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (optionally AWS_SESSION_TOKEN) or AWS_PROFILE. "
            "Instance metadata is never consulted." % label, operation=operation, service=service)
    if name in ("PartialCredentialsError", "ProfileNotFound", "NoRegionError", "ConfigParseError"):
        return AWSConfigurationError("%s failed: %s" % (label, exc), operation=operation, service=service)
    if name == "ResponseParserError":
        return AWSError(
            "%s failed: the endpoint%s sent a reply that is not a valid AWS response (%s). AWS emulators answer "
            "this way for actions or filters they do not implement; the emulator's log names the missing piece."
            % (label, " " + endpoint_url if endpoint_url else "", _shorten(exc)),
            code="InvalidResponse", operation=operation, service=service, attempts=attempts)
    if name == "ParamValidationError":
        return AWSError("%s failed: invalid parameters: %s" % (label, _shorten(exc, 400)),
                        code="ParamValidation", operation=operation, service=service)
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError",
                "ConnectionClosedError", "ReadTimeoutError", "SSLError"):
        return AWSError("%s failed: %s%s" % (label, exc, " after %d attempts" % attempts if attempts and attempts > 1 else ""),
                        code="ConnectionError", operation=operation, service=service, attempts=attempts,
                        retryable=classify_error(exc) is not None)
    return AWSError("%s failed: %s: %s" % (label, name, exc), operation=operation, service=service, attempts=attempts)


# ---------------------------------------------------------------------------------------------
# Retries


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``retries`` is the number of retries after the first attempt. The delay before retry ``n``
    (0-based) is drawn uniformly from ``[0, min(max_delay, delay * 2**n)]`` ("full jitter").
    ``retry_ambiguous`` also retries mutating calls after errors where the request may already
    have been processed (connection closed or read timeout); without it those are retried only
    for read-only calls and calls that carry an idempotency token.
    """

    retries: int = DEFAULT_RETRIES
    delay: float = DEFAULT_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    retry_ambiguous: bool = False
    extra_codes: tuple = ()

    def __post_init__(self):
        if self.retries < 0:
            raise ValueError("retries must be 0 or more, got %r" % (self.retries,))
        if self.delay < 0 or self.max_delay < 0:
            raise ValueError("backoff delays must not be negative")

    @property
    def attempts(self):
        return self.retries + 1

    def ceiling(self, retry_number):
        """Upper bound of the delay before retry ``retry_number`` (0-based)."""
        if retry_number >= 64:  # 2**64 seconds is forever; avoid float overflow
            return self.max_delay
        return min(self.max_delay, self.delay * (2 ** retry_number))

    def backoff(self, retry_number, rng=None):
        """Jittered delay in seconds before retry ``retry_number`` (0-based)."""
        rng = rng or random
        return rng.uniform(0, self.ceiling(retry_number))


def classify_error(exc, extra_codes=()):
    """Why ``exc`` may be retried: ``throttle``, ``server``, ``connection``, ``ambiguous`` or ``None``.

    * ``throttle``: a throttling error code; the request was rejected and is safe to repeat.
    * ``server``: HTTP 5xx or a transient server error code.
    * ``connection``: the request never reached the service (connect failed or timed out).
    * ``ambiguous``: the connection broke after the request was sent; it may have been processed.
    """
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        code = (response.get("Error") or {}).get("Code")
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
        if code in THROTTLING_ERROR_CODES or status == 429:
            return "throttle"
        if code in extra_codes:
            return "throttle"
        if code in TRANSIENT_ERROR_CODES or status in RETRYABLE_HTTP_STATUSES:
            return "server"
        return None
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "SSLError" in names:
        return None  # a certificate problem does not heal by itself
    if names & {"EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError"}:
        return "connection"
    if names & {"ConnectionClosedError", "ReadTimeoutError", "IncompleteReadError", "ResponseStreamingError"}:
        return "ambiguous"
    return None


def is_read_only(operation):
    """True for API operations that only read (``DescribeVpcs``, ``GetConsoleOutput``, ...)."""
    return bool(operation) and operation.startswith(READ_ONLY_PREFIXES)


def call_with_retry(func, policy=None, operation=None, safe_to_repeat=True, sleep=time.sleep, rng=None,
                    on_retry=None):
    """Call ``func()`` and retry it on throttling, 5xx and connection errors.

    Returns ``(result, attempts)``. Raises the last exception when it is not retryable or the
    retries are used up; the caller converts it with ``error_from_exception``. ``on_retry`` is
    called as ``on_retry(operation, attempt, kind, delay, exc)`` before each sleep.
    ``safe_to_repeat`` says whether an ``ambiguous`` failure may be retried.
    """
    policy = policy or RetryPolicy()
    attempt = 0
    while True:
        attempt += 1
        try:
            return func(), attempt
        except Exception as exc:  # pylint: disable=broad-exception-caught
            kind = classify_error(exc, policy.extra_codes)
            if kind == "ambiguous" and not (safe_to_repeat or policy.retry_ambiguous):
                kind = None
            if kind is None or attempt >= policy.attempts:
                exc.hybrid_attempts = attempt
                raise
            delay = policy.backoff(attempt - 1, rng)
            if on_retry is not None:
                on_retry(operation, attempt, kind, delay, exc)
            sleep(delay)


def retry(policy=None, operation=None, safe_to_repeat=True, on_retry=None):
    """Decorator form of ``call_with_retry`` for functions that make one AWS call.

    Errors come out as ``AWSError``. Use it for compound helpers; plain API calls made through an
    ``AWSClient`` are retried already.
    """
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            try:
                result, dummy = call_with_retry(lambda: func(*args, **kwargs), policy=policy,
                                                operation=operation or func.__name__,
                                                safe_to_repeat=safe_to_repeat, on_retry=on_retry)
            except Exception as exc:
                if _is_aws_exception(exc):
                    raise error_from_exception(exc, operation or func.__name__,
                                               attempts=getattr(exc, "hybrid_attempts", None)) from exc
                raise
            return result
        return wrapper
    return decorator


def _is_aws_exception(exc):
    if isinstance(exc, AWSError):
        return True
    if not HAS_BOTO3:
        return False
    return isinstance(exc, (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                            botocore.parsers.ResponseParserError))


# ---------------------------------------------------------------------------------------------
# Options, environment and connections


def aws_argument_spec():
    """Argument spec of the shared AWS connection options (see the ``hybrid.cluster.aws`` fragment).

    Environment fallbacks are applied by ``resolve_connection()`` (so that an explicit option
    always wins over the environment and the precedence is the same for modules and plugins).
    """
    return dict(
        access_key=dict(type="str", aliases=["aws_access_key_id", "aws_access_key"], no_log=False),
        secret_key=dict(type="str", aliases=["aws_secret_access_key", "aws_secret_key"], no_log=True),
        session_token=dict(type="str", aliases=["aws_session_token", "security_token", "aws_security_token"], no_log=True),
        profile=dict(type="str", aliases=["aws_profile"]),
        region=dict(type="str", aliases=["aws_region"]),
        endpoint_url=dict(type="str", aliases=["aws_endpoint_url"]),
        validate_certs=dict(type="bool", default=True),
        aws_ca_bundle=dict(type="path"),
        backoff_retries=dict(type="int", default=DEFAULT_RETRIES),
        backoff_delay=dict(type="float", default=DEFAULT_DELAY),
        backoff_max_delay=dict(type="float", default=DEFAULT_MAX_DELAY),
    )


_SECRET_FIELDS = ("secret_key", "session_token")


@dataclasses.dataclass
class AWSConnection:
    """Everything needed to build boto3 clients; ``sources`` tells where each value came from."""

    region: str
    access_key: str | None = None
    secret_key: str | None = dataclasses.field(default=None, repr=False)
    session_token: str | None = dataclasses.field(default=None, repr=False)
    profile: str | None = None
    endpoint_url: str | None = None
    service_endpoints: dict = dataclasses.field(default_factory=dict)
    validate_certs: bool = True
    ca_bundle: str | None = None
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    sources: dict = dataclasses.field(default_factory=dict)

    def endpoint_for(self, service):
        """Endpoint URL for ``service``: the option, ``AWS_ENDPOINT_URL_<SERVICE>``, then the generic one."""
        if self.sources.get("endpoint_url") == "option":
            return self.endpoint_url
        return self.service_endpoints.get(_service_env_suffix(service)) or self.endpoint_url

    def summary(self):
        """A description safe to log or return: no secret values, only where they came from."""
        data = dataclasses.asdict(self)
        for key in _SECRET_FIELDS:
            data[key] = "<set>" if data[key] else None
        data["retry"] = dataclasses.asdict(self.retry)
        return data

    def verify(self):
        """The ``verify`` argument for boto3: False, a CA bundle path, or None (botocore default)."""
        if not self.validate_certs:
            return False
        return self.ca_bundle or None

    def botocore_config(self, **overrides):
        """botocore Config: our retry loop owns retries, so botocore makes a single attempt."""
        _require_boto3()
        settings = dict(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            defaults_mode="legacy",  # "auto" would query instance metadata for the region
            user_agent_extra="hybrid.cluster",
        )
        settings.update(overrides)
        return botocore.config.Config(**settings)

    def session(self):
        """A boto3 Session for these settings (never uses metadata-based credentials)."""
        _require_boto3()
        core = _core_session(self.profile)
        resolver = core.get_component("credential_provider")
        for name in _METADATA_PROVIDERS:
            resolver.remove(name)
        kwargs = dict(botocore_session=core, region_name=self.region)
        if self.access_key:
            kwargs.update(aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                          aws_session_token=self.session_token)
        try:
            return boto3.session.Session(**kwargs)
        except Exception as exc:
            if _is_aws_exception(exc):
                raise error_from_exception(exc, "session setup") from exc
            raise

    def client(self, service, session=None, on_retry=None, sleep=time.sleep, config=None):
        """An ``AWSClient`` for ``service`` (``ec2``, ``sts``, ...)."""
        session = session or self.session()
        endpoint = self.endpoint_for(service)
        try:
            raw = session.client(service, region_name=self.region, endpoint_url=endpoint,
                                 verify=self.verify(), config=config or self.botocore_config())
        except Exception as exc:
            if _is_aws_exception(exc):
                raise error_from_exception(exc, "client setup", service) from exc
            raise
        return AWSClient(raw, self.retry, session=session, on_retry=on_retry, sleep=sleep, endpoint_url=endpoint)


def _core_session(profile):
    """A botocore session that reads the profile only from us, never from AWS_PROFILE.

    ``resolve_connection()`` already applied the environment (explicit keys win over an
    environment profile), and a stale profile name must not break sessions that do not use it.
    """
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    if profile:
        core.set_config_variable("profile", profile)
    return core


@functools.lru_cache(maxsize=1)
def _model_session():
    """A botocore session used only to load service models (paginators, waiters)."""
    return _core_session(None)


def _service_env_suffix(service):
    return re.sub(r"[^A-Z0-9]+", "_", service.upper()).strip("_")


def _first_env(environ, names):
    for name in names:
        value = environ.get(name)
        if value:
            return value, "env:" + name
    return None, None


def _pick(params, environ, option, env_names):
    value = params.get(option)
    if value not in (None, ""):
        return value, "option"
    return _first_env(environ, env_names)


def _check_url(url, where):
    if not re.match(r"^https?://[^/\s]+", url or ""):
        raise AWSConfigurationError("endpoint URL %r from %s is not an http(s) URL" % (url, where))
    return url.rstrip("/")


def resolve_connection(params=None, environ=None, profile_region=None):
    """Build an ``AWSConnection`` from module options and the environment.

    ``params`` uses the option names of ``aws_argument_spec()``; ``environ`` defaults to
    ``os.environ``. Precedence: option, then environment variable (first one listed wins):

    * keys: ``AWS_ACCESS_KEY_ID``/``AWS_ACCESS_KEY``, ``AWS_SECRET_ACCESS_KEY``/``AWS_SECRET_KEY``,
      ``AWS_SESSION_TOKEN``/``AWS_SECURITY_TOKEN``
    * profile: ``AWS_PROFILE``/``AWS_DEFAULT_PROFILE``; keys from the environment win over a
      profile from the environment, an explicit ``profile`` option wins over environment keys,
      and ``profile`` together with explicit key options is an error
    * region: ``AWS_REGION``/``AWS_DEFAULT_REGION``, then the profile's region (``profile_region``
      callable or value, looked up lazily); a region is required
    * endpoint: ``AWS_ENDPOINT_URL_<SERVICE>`` (per service), ``AWS_ENDPOINT_URL``, ``AWS_URL``
    * CA bundle: ``aws_ca_bundle`` option, ``AWS_CA_BUNDLE``
    """
    params = dict(params or {})
    environ = os.environ if environ is None else environ
    sources = {}

    opt_access = params.get("access_key") or None
    opt_secret = params.get("secret_key") or None
    opt_token = params.get("session_token") or None
    opt_profile = params.get("profile") or None

    if opt_profile and (opt_access or opt_secret):
        raise AWSConfigurationError("profile and access_key/secret_key are mutually exclusive; give one of them")
    if bool(opt_access) != bool(opt_secret):
        missing = "secret_key" if opt_access else "access_key"
        raise AWSConfigurationError("access_key and secret_key must be given together; %s is missing" % missing)

    access = secret = token = profile = None
    if opt_access:
        access, secret, token = opt_access, opt_secret, opt_token
        sources.update(access_key="option", secret_key="option")
        if token:
            sources["session_token"] = "option"
    elif opt_profile:
        profile = opt_profile
        sources["profile"] = "option"
    else:
        env_access, src_access = _first_env(environ, ENV_ACCESS_KEY)
        env_secret, src_secret = _first_env(environ, ENV_SECRET_KEY)
        if env_access and env_secret:
            access, secret = env_access, env_secret
            sources.update(access_key=src_access, secret_key=src_secret)
            token, src_token = _first_env(environ, ENV_SESSION_TOKEN)
            if opt_token:
                token, src_token = opt_token, "option"
            if token:
                sources["session_token"] = src_token
        elif env_access or env_secret:
            raise AWSConfigurationError(
                "only one of the access key and secret key is set in the environment (%s); set both "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" % (src_access or src_secret)[4:])
        else:
            profile, src_profile = _first_env(environ, ENV_PROFILE)
            if profile:
                sources["profile"] = src_profile

    region, src_region = _pick(params, environ, "region", ENV_REGION)
    if not region and profile_region is not None:
        region = profile_region(profile) if callable(profile_region) else profile_region
        src_region = "profile" if region else None
    if not region:
        raise AWSConfigurationError(
            "no AWS region: set the region option or AWS_REGION (AWX's AWS credential does not set one)")
    sources["region"] = src_region

    endpoint, src_endpoint = _pick(params, environ, "endpoint_url", ENV_ENDPOINT_URL)
    if endpoint:
        endpoint = _check_url(endpoint, src_endpoint)
        sources["endpoint_url"] = src_endpoint
    service_endpoints = {}
    for name, value in environ.items():
        if name.startswith("AWS_ENDPOINT_URL_") and value:
            service_endpoints[name[len("AWS_ENDPOINT_URL_"):]] = _check_url(value, "env:" + name)

    ca_bundle, src_ca = _pick(params, environ, "aws_ca_bundle", ENV_CA_BUNDLE)
    if ca_bundle:
        sources["ca_bundle"] = src_ca

    validate = params.get("validate_certs")
    policy = RetryPolicy(
        retries=_number(params, "backoff_retries", DEFAULT_RETRIES, int),
        delay=_number(params, "backoff_delay", DEFAULT_DELAY, float),
        max_delay=_number(params, "backoff_max_delay", DEFAULT_MAX_DELAY, float),
    )
    return AWSConnection(
        region=region, access_key=access, secret_key=secret, session_token=token, profile=profile,
        endpoint_url=endpoint, service_endpoints=service_endpoints,
        validate_certs=True if validate is None else bool(validate), ca_bundle=ca_bundle, retry=policy,
        sources=sources,
    )


def _number(params, key, default, kind):
    value = params.get(key)
    if value is None:
        return default
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise AWSConfigurationError("%s must be a number, got %r" % (key, value)) from None


def profile_region_lookup(profile):
    """Region configured for ``profile`` (or the default profile) in the shared config file."""
    if not HAS_BOTO3:
        return None
    core = _core_session(profile)
    try:
        return core.get_config_variable("region")
    except botocore.exceptions.ProfileNotFound:
        raise AWSConfigurationError("AWS profile %r is not defined in the shared config/credentials files" % profile) from None


def _require_boto3():
    if not HAS_BOTO3:
        raise AWSConfigurationError(
            "%s (pip install -r requirements.txt of the hybrid.cluster collection)" % missing_required_lib("boto3 and botocore"),
            code="MissingDependency")


def check_boto3(module):
    """Fail ``module`` with a clear message when boto3/botocore cannot be imported."""
    if not HAS_BOTO3:
        module.fail_json(msg=missing_required_lib("boto3 and botocore"), exception=BOTO3_IMPORT_ERROR)


def connection_from_module(module, environ=None):
    """``resolve_connection`` for an ``AnsibleModule``; fails the module on a configuration error."""
    check_boto3(module)
    try:
        return resolve_connection(module.params, environ, profile_region=profile_region_lookup)
    except AWSError as err:
        fail_with_aws_error(module, err)
    return None  # not reached: fail_json exits


def client_from_module(module, service, environ=None):
    """An ``AWSClient`` for ``service`` built from the module's options; retries are reported with ``module.debug``."""
    connection = connection_from_module(module, environ)

    def report(operation, attempt, kind, delay, exc):
        module.debug("AWS %s attempt %d hit %s (%s); retrying in %.2fs" % (operation, attempt, kind, type(exc).__name__, delay))

    try:
        return connection.client(service, on_retry=report)
    except AWSError as err:
        fail_with_aws_error(module, err)
    return None


def fail_with_aws_error(module, err, msg=None, **extra):
    """``module.fail_json`` with the error message (prefixed by ``msg``) and its details."""
    text = "%s: %s" % (msg, err) if msg else str(err)
    module.fail_json(msg=text, aws_error=err.to_dict(), **extra)


# ---------------------------------------------------------------------------------------------
# The client wrapper


class AWSClient:
    """A boto3 client whose API methods retry, and helpers to paginate and wait.

    ``client.describe_vpcs(...)`` behaves like boto3's method but retries throttling, 5xx and
    connection errors with our backoff, fills idempotency tokens once (so a retried create does
    not create twice) and raises ``AWSError``. ``client.raw`` is the plain boto3 client.
    """

    def __init__(self, raw, policy=None, session=None, on_retry=None, sleep=time.sleep, rng=None, endpoint_url=None):
        self.raw = raw
        self.policy = policy or RetryPolicy()
        self.service = raw.meta.service_model.service_name
        self.endpoint_url = endpoint_url or raw.meta.endpoint_url
        self.session = session
        self._on_retry = on_retry
        self._sleep = sleep
        self._rng = rng
        self._paginators = None
        self._waiters = None
        self._methods = None

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        raw = self.__dict__.get("raw")
        if raw is not None and name in raw.meta.method_to_api_mapping:
            return functools.partial(self.call, name)
        return getattr(raw, name)

    def operation_name(self, method):
        """``describe_vpcs`` -> ``DescribeVpcs`` (API names pass through)."""
        mapping = self.raw.meta.method_to_api_mapping
        if method in mapping:
            return mapping[method]
        if method in mapping.values():
            return method
        raise AWSError("%s has no operation %r" % (self.service, method), code="UnknownOperation", service=self.service)

    def _method_name(self, method):
        operation = self.operation_name(method)
        if self._methods is None:
            self._methods = {o: m for m, o in self.raw.meta.method_to_api_mapping.items()}
        return self._methods[operation], operation

    def call(self, method, **params):
        """Call API ``method`` (snake_case or API name) with retries; returns the response dict."""
        method, operation = self._method_name(method)
        model = self.raw.meta.service_model.operation_model(operation)
        for member in model.idempotent_members:
            params.setdefault(member, str(uuid.uuid4()))
        safe = is_read_only(operation) or bool(model.idempotent_members)
        func = getattr(self.raw, method)
        try:
            result, dummy = call_with_retry(lambda: func(**params), self.policy, operation, safe_to_repeat=safe,
                                            sleep=self._sleep, rng=self._rng, on_retry=self._on_retry)
        except Exception as exc:
            if not _is_aws_exception(exc):
                raise
            err = error_from_exception(exc, operation, self.service, getattr(exc, "hybrid_attempts", None), self.endpoint_url)
            if not safe and classify_error(exc) == "ambiguous" and not self.policy.retry_ambiguous:
                err.message = err.args[0] + (
                    " Not retried: %s changes state and has no idempotency token, so the request may or may not"
                    " have been applied; describe the resource before trying again." % operation)
                err.args = (err.message,)
            raise err from exc
        return result

    # -- pagination

    def _paginator_config(self, operation):
        if self._paginators is None:
            try:
                self._paginators = _model_session().get_paginator_model(self.service)
            except botocore.exceptions.UnknownServiceError:
                self._paginators = False
            except botocore.exceptions.DataNotFoundError:
                self._paginators = False
        if not self._paginators:
            return None
        try:
            return self._paginators.get_paginator(operation)
        except ValueError:
            return None

    def can_paginate(self, method):
        return self._paginator_config(self.operation_name(method)) is not None

    def paginate(self, method, **params):
        """Yield every page of ``method``; each page request is retried on its own.

        Operations without a paginator yield their single response.
        """
        operation = self.operation_name(method)
        config = self._paginator_config(operation)
        if config is None:
            yield self.call(operation, **params)
            return
        inputs = _as_list(config["input_token"])
        outputs = [jmespath.compile(expr) for expr in _as_list(config["output_token"])]
        more = jmespath.compile(config["more_results"]) if config.get("more_results") else None
        kwargs = dict(params)
        seen = set()
        while True:
            page = self.call(operation, **kwargs)
            yield page
            if more is not None and not more.search(page):
                return
            tokens = [expr.search(page) for expr in outputs]
            if all(token in (None, "") for token in tokens):
                return
            marker = repr(tokens)
            if marker in seen:
                raise AWSError("%s %s returned the same pagination token twice" % (self.service, operation),
                               code="PaginationLoop", operation=operation, service=self.service)
            seen.add(marker)
            for name, token in zip(inputs, tokens):
                if token in (None, ""):
                    kwargs.pop(name, None)
                else:
                    kwargs[name] = token

    def paginate_all(self, method, **params):
        """All pages of ``method`` merged into one response (list result keys concatenated)."""
        operation = self.operation_name(method)
        config = self._paginator_config(operation)
        result_keys = _as_list(config["result_key"]) if config else []
        token_keys = set(_as_list(config["output_token"])) if config else set()
        merged = {}
        for page in self.paginate(operation, **params):
            for key, value in page.items():
                if key == "ResponseMetadata" or key in token_keys:
                    continue
                if key in result_keys and isinstance(value, list):
                    merged.setdefault(key, []).extend(value)
                else:
                    merged.setdefault(key, value)
        for key in result_keys:
            if "." not in key and "[" not in key:
                merged.setdefault(key, [])
        return merged

    def collect(self, method, key, **params):
        """The list under ``key`` from every page of ``method`` (``[]`` when absent)."""
        items = []
        for page in self.paginate(method, **params):
            items.extend(page.get(key) or [])
        return items

    # -- waiting

    def _waiter_config(self, name):
        if self._waiters is None:
            try:
                self._waiters = _model_session().get_waiter_model(self.service)
            except botocore.exceptions.DataNotFoundError:
                self._waiters = False
        if not self._waiters:
            raise AWSError("%s has no waiters" % self.service, code="UnknownWaiter", service=self.service)
        for candidate in self._waiters.waiter_names:
            if candidate == name or botocore.xform_name(candidate) == name:
                return self._waiters.get_waiter(candidate)
        raise AWSError("%s has no waiter %r" % (self.service, name), code="UnknownWaiter", service=self.service)

    def wait(self, waiter, timeout=300, delay=None, clock=time.monotonic, **params):
        """Run botocore's waiter model ``waiter`` (``vpn_connection_available``...) with our own loop.

        Each poll is a retried call, so throttling does not end the wait. Raises ``AWSWaitTimeout``
        after ``timeout`` seconds and ``AWSError`` when the waiter reaches a failure state.
        Returns the last response.
        """
        config = self._waiter_config(waiter)
        delay = config.delay if delay is None else delay
        deadline = clock() + timeout
        polls = 0
        while True:
            polls += 1
            try:
                response = self.call(config.operation, **params)
            except AWSError as err:
                if err.response is None:
                    raise
                response = err.response
            for acceptor in config.acceptors:
                if acceptor.matcher_func(response):
                    if acceptor.state == "success":
                        return response
                    if acceptor.state == "failure":
                        raise AWSError("%s waiter %s reached a failure state after %d polls: %s"
                                       % (self.service, waiter, polls, acceptor.explanation),
                                       code="WaiterFailure", operation=config.operation, service=self.service,
                                       response=response)
                    break  # "retry" acceptor: keep polling
            else:
                if "Error" in response:
                    raise error_from_exception(_ErrorResponse(response), config.operation, self.service)
            remaining = deadline - clock()
            if remaining <= 0:
                raise AWSWaitTimeout("%s waiter %s did not succeed within %ss (%d polls)" % (self.service, waiter, timeout, polls),
                                     code="WaitTimeout", operation=config.operation, service=self.service, attempts=polls)
            self._sleep(min(delay, remaining))

    def poll(self, fetch, ready, timeout=300, delay=5, what="resource", clock=time.monotonic):
        """Generic wait for resources without a botocore waiter (transit gateways, VPN gateways).

        ``fetch()`` returns the current state (typically a describe through this client);
        ``ready(state)`` returns True when done. Returns the last state.
        """
        return poll(fetch, ready, timeout=timeout, delay=delay, what=what, clock=clock, sleep=self._sleep)


class _ErrorResponse(Exception):
    """Carries an error response dict into ``error_from_exception``."""

    def __init__(self, response):
        super().__init__(str(response.get("Error")))
        self.response = response


def poll(fetch, ready, timeout=300, delay=5, what="resource", clock=time.monotonic, sleep=time.sleep):
    """Call ``fetch()`` until ``ready(state)``; raise ``AWSWaitTimeout`` after ``timeout`` seconds."""
    deadline = clock() + timeout
    polls = 0
    while True:
        polls += 1
        state = fetch()
        if ready(state):
            return state
        remaining = deadline - clock()
        if remaining <= 0:
            raise AWSWaitTimeout("%s did not reach the wanted state within %ss (%d polls)" % (what, timeout, polls),
                                 code="WaitTimeout", attempts=polls)
        sleep(min(delay, remaining))


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


# ---------------------------------------------------------------------------------------------
# Service Quotas


def service_quota(client, service_code, quota_code, defaults=None):
    """The value of one Service Quotas quota: ``{"value", "name", "source"}``.

    ``client`` is a ``service-quotas`` ``AWSClient``. The applied value (``GetServiceQuota``) comes
    first; a quota nobody changed has none (``NoSuchResourceException``), then AWS's default counts
    (``source`` ``default``). ``defaults`` gives the defaults by quota code (as
    ``default_service_quotas`` returns them), or is a function of the service code that returns
    them (called only when needed) or None; without them ``GetAWSDefaultServiceQuota`` is asked.
    Raises ``AWSError`` when neither answers.
    """
    try:
        quota = client.get_service_quota(ServiceCode=service_code, QuotaCode=quota_code)["Quota"]
        return {"value": quota.get("Value"), "name": quota.get("QuotaName"), "source": "applied"}
    except AWSError as err:
        if err.code != "NoSuchResourceException":
            raise
    if callable(defaults):
        defaults = defaults(service_code)
    if defaults is not None:
        if quota_code not in defaults:
            raise AWSError("service-quotas has no default for %s quota %s" % (service_code, quota_code),
                           code="NoSuchResourceException", service="service-quotas")
        quota = defaults[quota_code]
    else:
        quota = client.get_aws_default_service_quota(ServiceCode=service_code, QuotaCode=quota_code)["Quota"]
    return {"value": quota.get("Value"), "name": quota.get("QuotaName"), "source": "default"}


def default_service_quotas(client, service_code):
    """AWS's default quotas of ``service_code`` (``ListAWSDefaultServiceQuotas``), by quota code."""
    return {q["QuotaCode"]: q for q in client.collect("list_aws_default_service_quotas", "Quotas", ServiceCode=service_code)}


# ---------------------------------------------------------------------------------------------
# Tags and filters


def _tag_value(value):
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def tags_to_aws(tags):
    """``{"Name": "a"}`` -> ``[{"Key": "Name", "Value": "a"}]`` (sorted by key)."""
    return [{"Key": str(key), "Value": _tag_value(value)} for key, value in sorted((tags or {}).items())]


def tags_from_aws(tag_list):
    """``[{"Key": "Name", "Value": "a"}]`` -> ``{"Name": "a"}``; accepts ``key``/``value`` spellings too."""
    result = {}
    for item in tag_list or []:
        key = item.get("Key", item.get("key"))
        if key is None:
            continue
        result[key] = item.get("Value", item.get("value", ""))
    return result


def tag_specifications(resource_type, tags):
    """``TagSpecifications`` for a create call; ``[]`` when there are no tags."""
    if not tags:
        return []
    return [{"ResourceType": resource_type, "Tags": tags_to_aws(tags)}]


def owner_tags(name, tags=None):
    """``tags`` plus the ownership tag ``hybrid-cluster: <name>`` that teardown relies on."""
    if not name:
        raise ValueError("the ownership tag needs a non-empty platform name")
    result = dict(tags or {})
    result[OWNER_TAG_KEY] = name
    return result


def is_owned(tags, name):
    """True when ``tags`` (dict or AWS list) carry ``hybrid-cluster: <name>``."""
    if isinstance(tags, list):
        tags = tags_from_aws(tags)
    return (tags or {}).get(OWNER_TAG_KEY) == name


def filters_to_aws(filters):
    """``{"vpc-id": "vpc-1", "tag:Name": ["a", "b"]}`` -> EC2 ``Filters`` (sorted by name)."""
    result = []
    for name, values in sorted((filters or {}).items()):
        if not isinstance(values, (list, tuple)):
            values = [values]
        result.append({"Name": name, "Values": [_tag_value(v) if not isinstance(v, bool) else str(v).lower() for v in values]})
    return result


def owner_filters(name, filters=None):
    """EC2 ``Filters`` for resources owned by platform ``name`` (plus ``filters``)."""
    merged = dict(filters or {})
    merged["tag:" + OWNER_TAG_KEY] = name
    return filters_to_aws(merged)


def diff_tags(current, desired, purge=True, protected=(OWNER_TAG_KEY,)):
    """What to change to go from ``current`` to ``desired`` tags.

    Returns ``(to_set, to_remove)``: a dict of tags to create or update and a sorted list of keys
    to delete. ``desired=None`` means "leave tags alone". Keys in ``protected`` and AWS-reserved
    ``aws:`` keys are never removed.
    """
    current = tags_from_aws(current) if isinstance(current, list) else dict(current or {})
    if desired is None:
        return {}, []
    desired = {str(k): _tag_value(v) for k, v in desired.items()}
    to_set = {k: v for k, v in desired.items() if current.get(k) != v}
    to_remove = []
    if purge:
        to_remove = sorted(k for k in current if k not in desired and k not in protected and not k.startswith("aws:"))
    return to_set, to_remove
