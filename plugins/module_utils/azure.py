# -*- coding: utf-8 -*-
# Copyright: hybrid.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Azure client layer of hybrid.cluster.

This is the only file of the collection that imports the Azure SDK. It turns module options and
the environment (the variables AWX's Azure Resource Manager credential sets) into a client secret
credential and Resource Manager clients, and gives the rest of the collection small, SDK-free
helpers: cloud endpoints, retry delays, ARM error messages, long-running operation waits and the
ownership tag.

Rules kept here on purpose:

* Always an explicit client secret credential. Never a managed identity, never the instance
  metadata service, never DefaultAzureCredential.
* An explicit CA bundle is passed to the credential and to every client (``connection_verify``),
  so it wins over ``REQUESTS_CA_BUNDLE`` set in the environment.
* Throttling (429) and server errors are retried; a server's ``Retry-After`` is honoured (up to
  ``backoff_max_delay``), otherwise the wait is an exponential backoff with full jitter.
"""

import functools
import json
import math
import os
import random
import time
import traceback
from collections import namedtuple
from email.utils import parsedate_to_datetime

from ansible.module_utils.basic import env_fallback, missing_required_lib

AZURE_IMPORT_ERROR = None
try:
    from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError
    from azure.core.pipeline.policies import RetryPolicy
    from azure.core.rest import HttpRequest
    from azure.identity import ClientSecretCredential
    from azure.mgmt.compute import ComputeManagementClient
    from azure.mgmt.network import NetworkManagementClient
    try:
        from azure.mgmt.resource.resources import ResourceManagementClient
    except ImportError:
        from azure.mgmt.resource import ResourceManagementClient
    HAS_AZURE = True
except ImportError:
    HAS_AZURE = False
    AZURE_IMPORT_ERROR = traceback.format_exc()
    RetryPolicy = object

AZURE_REQUIRED_LIBS = 'azure-identity, azure-mgmt-resource, azure-mgmt-network and azure-mgmt-compute'

# Tag that marks what the collection made (Azure tag names cannot hold '/').
OWNERSHIP_TAG = 'hybrid-cluster'
_TAG_NAME_FORBIDDEN = '<>%&\\?/'
_TAG_NAME_MAX = 512
_TAG_VALUE_MAX = 256

DEFAULT_CLOUD = 'AzureCloud'
DEFAULT_BACKOFF_RETRIES = 8
DEFAULT_BACKOFF_DELAY = 1.0
DEFAULT_BACKOFF_MAX_DELAY = 60.0
DEFAULT_POLLING_INTERVAL = 15.0
DEFAULT_WAIT_TIMEOUT = 3600.0

# Option name -> environment variables read when the option is not set, first match wins.
# The first spelling of each is what AWX's Azure Resource Manager credential sets.
ENV_FALLBACKS = {
    'subscription_id': ('AZURE_SUBSCRIPTION_ID',),
    'client_id': ('AZURE_CLIENT_ID',),
    'secret': ('AZURE_SECRET', 'AZURE_CLIENT_SECRET'),
    'tenant': ('AZURE_TENANT', 'AZURE_TENANT_ID'),
    'cloud_environment': ('AZURE_CLOUD_ENVIRONMENT',),
    'resource_manager_url': ('AZURE_RESOURCE_MANAGER_URL',),
    'authority_url': ('AZURE_AUTHORITY_HOST', 'AZURE_ADFS_AUTHORITY_URL'),
    'ca_bundle': ('AZURE_CA_BUNDLE',),
}
_REQUIRED = ('subscription_id', 'client_id', 'secret', 'tenant')

AzureCloud = namedtuple('AzureCloud', ['name', 'resource_manager', 'authority', 'credential_scope', 'custom'])


def _cloud(name, resource_manager, authority):
    return AzureCloud(name, resource_manager, authority, resource_manager + '/.default', False)


KNOWN_CLOUDS = {
    'AzureCloud': _cloud('AzureCloud', 'https://management.azure.com', 'https://login.microsoftonline.com'),
    'AzureChinaCloud': _cloud('AzureChinaCloud', 'https://management.chinacloudapi.cn', 'https://login.chinacloudapi.cn'),
    'AzureUSGovernment': _cloud('AzureUSGovernment', 'https://management.usgovcloudapi.net', 'https://login.microsoftonline.us'),
}
_CLOUD_ALIASES = {
    'azurecloud': 'AzureCloud', 'azurepubliccloud': 'AzureCloud', 'public': 'AzureCloud',
    'azurechinacloud': 'AzureChinaCloud', 'china': 'AzureChinaCloud',
    'azureusgovernment': 'AzureUSGovernment', 'azureusgovernmentcloud': 'AzureUSGovernment',
    'usgovernment': 'AzureUSGovernment', 'usgov': 'AzureUSGovernment',
}
# Authority hosts MSAL knows; for any other host instance discovery is switched off, because it
# would ask the public cloud's login host about an authority it has never heard of.
_KNOWN_AUTHORITY_HOSTS = frozenset(c.authority.split('//', 1)[1] for c in KNOWN_CLOUDS.values())


class AzureClientError(Exception):
    """A problem the user can act on: missing credentials, unknown cloud, failed call, timeout."""


def azure_argument_spec():
    """Argument spec of the shared Azure options (see the ``hybrid.cluster.azure`` doc fragment).

    Modules merge it into their own spec: ``argument_spec.update(azure_argument_spec())``.
    """
    spec = dict(
        subscription_id=dict(type='str'),
        client_id=dict(type='str'),
        secret=dict(type='str', no_log=True),
        tenant=dict(type='str'),
        cloud_environment=dict(type='str'),
        resource_manager_url=dict(type='str'),
        authority_url=dict(type='str'),
        ca_bundle=dict(type='path'),
        backoff_retries=dict(type='int', default=DEFAULT_BACKOFF_RETRIES),
        backoff_delay=dict(type='float', default=DEFAULT_BACKOFF_DELAY),
        backoff_max_delay=dict(type='float', default=DEFAULT_BACKOFF_MAX_DELAY),
    )
    for option, names in ENV_FALLBACKS.items():
        spec[option]['fallback'] = (env_fallback, list(names))
    return spec


def _clean(value):
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def resolve_cloud(cloud_environment=None, resource_manager_url=None, authority_url=None):
    """Endpoints of the cloud to talk to.

    ``cloud_environment`` is a cloud name (AzureCloud, AzureChinaCloud, AzureUSGovernment and a few
    aliases, case-insensitive) or the https URL of a custom Resource Manager. ``resource_manager_url``
    selects a custom cloud (Azure Stack Hub, a local emulator); its login authority is
    ``authority_url`` or, when that is unset, the named cloud's.
    """
    cloud_environment = _clean(cloud_environment)
    resource_manager_url = _clean(resource_manager_url)
    authority_url = _clean(authority_url)
    if cloud_environment and cloud_environment.lower().startswith(('https://', 'http://')):
        resource_manager_url = resource_manager_url or cloud_environment
        cloud_environment = None
    base = KNOWN_CLOUDS[DEFAULT_CLOUD]
    if cloud_environment:
        key = _CLOUD_ALIASES.get(cloud_environment.lower().replace('_', '').replace('-', ''))
        if key is None:
            raise AzureClientError(
                "Unknown cloud_environment '%s'. Use one of %s, or set resource_manager_url (and authority_url) for a custom cloud."
                % (cloud_environment, ', '.join(sorted(KNOWN_CLOUDS))))
        base = KNOWN_CLOUDS[key]
    authority = _normalize_url(authority_url, 'authority_url') if authority_url else base.authority
    if resource_manager_url:
        arm = _normalize_url(resource_manager_url, 'resource_manager_url')
        return AzureCloud('Custom', arm, authority, arm + '/.default', True)
    if authority_url:
        return base._replace(authority=authority, custom=True)
    return base


def _normalize_url(url, option):
    if '://' not in url:
        url = 'https://' + url
    if not url.lower().startswith('https://'):
        raise AzureClientError('%s must be an https URL (got %s): Azure refuses bearer tokens over plain http.' % (option, url))
    return url.rstrip('/')


def instance_discovery_needed(authority):
    """True when MSAL may validate the authority with the public cloud (a well-known host)."""
    host = authority.split('//', 1)[-1].split('/', 1)[0].lower()
    return host in _KNOWN_AUTHORITY_HOSTS


def resolve_auth_options(params=None, env=None):
    """Merge module options with the environment; return a dict of everything the clients need.

    Module options win over environment variables. Raises AzureClientError naming every missing
    option together with the environment variables that could supply it.
    """
    params = params or {}
    env = os.environ if env is None else env
    resolved = {}
    for option, names in ENV_FALLBACKS.items():
        value = _clean(params.get(option))
        if value is None:
            value = next((_clean(env.get(name)) for name in names if _clean(env.get(name))), None)
        resolved[option] = value
    missing = [name for name in _REQUIRED if not resolved[name]]
    if missing:
        raise AzureClientError(
            'Azure credentials are incomplete; missing %s. Set the module options or the environment variables %s '
            '(a service principal with a client secret is required).'
            % (', '.join(missing), ', '.join('/'.join(ENV_FALLBACKS[name]) for name in missing)))
    resolved['cloud'] = resolve_cloud(resolved.pop('cloud_environment'), resolved.pop('resource_manager_url'),
                                      resolved.pop('authority_url'))
    if resolved['ca_bundle'] and not os.path.isfile(resolved['ca_bundle']):
        raise AzureClientError('ca_bundle %s does not exist or is not a file.' % resolved['ca_bundle'])
    region = _clean(env.get('AZURE_REGIONAL_AUTHORITY_NAME'))
    if region and region.lower() in ('tryautodetect', 'true'):
        raise AzureClientError(
            'AZURE_REGIONAL_AUTHORITY_NAME=%s asks for region auto-detection, which probes the instance metadata service; '
            'name the region instead or unset the variable.' % region)
    return resolved


# ---------------------------------------------------------------- retries

def resolve_backoff(params=None, backoff_retries=None, backoff_delay=None, backoff_max_delay=None):
    """Retry settings: explicit arguments, then module options, then the defaults; validated."""
    params = params or {}
    values = {}
    for name, given, default, kind in (('backoff_retries', backoff_retries, DEFAULT_BACKOFF_RETRIES, int),
                                       ('backoff_delay', backoff_delay, DEFAULT_BACKOFF_DELAY, float),
                                       ('backoff_max_delay', backoff_max_delay, DEFAULT_BACKOFF_MAX_DELAY, float)):
        value = given if given is not None else params.get(name)
        value = default if value is None else value
        try:
            value = kind(value)
        except (TypeError, ValueError):
            raise AzureClientError('%s must be a number (got %r).' % (name, value)) from None
        if value < 0:
            raise AzureClientError('%s must not be negative (got %s).' % (name, value))
        values[name] = value
    return values


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date); None if unusable."""
    value = _clean(value)
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        now = time.time() if now is None else now
        seconds = when.timestamp() - now
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def retry_delay(attempt, retry_after=None, base_delay=DEFAULT_BACKOFF_DELAY, max_delay=DEFAULT_BACKOFF_MAX_DELAY, rand=random.random):
    """Seconds to sleep before retry number ``attempt`` (1 for the first retry).

    A server's Retry-After (seconds) is honoured as given, capped at ``max_delay``. Without one the
    wait is exponential backoff with full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempt-1))].
    """
    if retry_after is not None and retry_after > 0:
        return min(float(retry_after), float(max_delay))
    ceiling = min(float(max_delay), float(base_delay) * (2 ** max(0, attempt - 1)))
    return ceiling * rand()


class JitteredRetryPolicy(RetryPolicy):
    """azure-core's RetryPolicy with the collection's delay rule (see retry_delay)."""

    def __init__(self, backoff_delay=DEFAULT_BACKOFF_DELAY, backoff_max_delay=DEFAULT_BACKOFF_MAX_DELAY, **kwargs):
        kwargs.setdefault('retry_backoff_factor', backoff_delay)
        kwargs.setdefault('retry_backoff_max', backoff_max_delay)
        super(JitteredRetryPolicy, self).__init__(**kwargs)

    def sleep(self, settings, transport, response=None):
        retry_after = None
        if response is not None:
            headers = response.http_response.headers
            retry_after = parse_retry_after(headers.get('Retry-After'))
            if retry_after is None:
                for name in ('retry-after-ms', 'x-ms-retry-after-ms'):
                    millis = parse_retry_after(headers.get(name))
                    if millis is not None:
                        retry_after = millis / 1000.0
                        break
        delay = retry_delay(len(settings['history']), retry_after, settings['backoff'], settings['max_backoff'])
        if delay > 0:
            transport.sleep(delay)


# ---------------------------------------------------------------- errors

def format_arm_error(body, status=None):
    """One readable line from an ARM (or Entra ID) error body: ``Code: message (target: t)``.

    Accepts the parsed body or its JSON text. Nested ``details`` are appended after ``;``.
    """
    if isinstance(body, (bytes, bytearray)):
        body = body.decode('utf-8', 'replace')
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            text = body.strip()
            if not text:
                return 'HTTP %s' % status if status else 'unknown error'
            return 'HTTP %s: %s' % (status, text) if status else text
    if not isinstance(body, dict):
        return 'HTTP %s' % status if status else 'unknown error'
    error = body.get('error', body)
    if isinstance(error, str):  # Entra ID: {"error": "invalid_client", "error_description": "AADSTS..."}
        description = body.get('error_description') or ''
        return '%s: %s' % (error, description.splitlines()[0] if description else '')
    if not isinstance(error, dict):
        return 'HTTP %s' % status if status else 'unknown error'
    text = _format_error_entry(error) or ('HTTP %s' % status if status else 'unknown error')
    details = [_format_error_entry(d) for d in error.get('details') or [] if isinstance(d, dict)]
    details = [d for d in details if d]
    if details:
        text += '; ' + '; '.join(details)
    return text


def _format_error_entry(error):
    code = error.get('code') or ''
    message = (error.get('message') or '').strip()
    target = error.get('target')
    text = '%s: %s' % (code, message) if code and message else (code or message)
    if target:
        text += ' (target: %s)' % target
    return text


def describe_azure_error(exc):
    """Clear message for an exception from the Azure SDK (or any other)."""
    if HAS_AZURE and isinstance(exc, ClientAuthenticationError) and getattr(exc, 'response', None) is None:
        return 'Azure authentication failed: %s' % (getattr(exc, 'message', None) or exc)
    if HAS_AZURE and isinstance(exc, HttpResponseError):
        response = getattr(exc, 'response', None)
        status = getattr(exc, 'status_code', None)
        text = None
        if response is not None:
            try:
                text = format_arm_error(response.text(), status)
            except Exception:  # pylint: disable=broad-except
                text = None
        if not text or text.startswith('HTTP '):
            error = getattr(exc, 'error', None)
            if error is not None and getattr(error, 'code', None):
                text = _format_error_entry({'code': error.code, 'message': getattr(error, 'message', ''),
                                            'target': getattr(error, 'target', None)})
        if not text:
            text = getattr(exc, 'message', None) or str(exc)
        return 'Azure request failed (HTTP %s) %s' % (status, text) if status else 'Azure request failed: %s' % text
    if HAS_AZURE and isinstance(exc, AzureError):
        return 'Azure request failed: %s' % (getattr(exc, 'message', None) or exc)
    return str(exc)


def error_code(exc):
    """The ARM error code of an SDK exception, or None."""
    error = getattr(exc, 'error', None)
    return getattr(error, 'code', None)


# ---------------------------------------------------------------- clients

class AzureClients(object):
    """Credential and Resource Manager clients built from module options and the environment.

    ``params`` are module parameters (``module.params``); ``env`` defaults to ``os.environ``.
    Clients are created on first use and share one credential, retry policy and CA bundle.
    """

    def __init__(self, params=None, env=None, backoff_retries=None, backoff_delay=None, backoff_max_delay=None,
                 polling_interval=DEFAULT_POLLING_INTERVAL, timeout=None):
        check_azure_libs()
        options = resolve_auth_options(params, env)
        backoff = resolve_backoff(params, backoff_retries, backoff_delay, backoff_max_delay)
        self.subscription_id = options['subscription_id']
        self.tenant = options['tenant']
        self.client_id = options['client_id']
        self.cloud = options['cloud']
        self.ca_bundle = options['ca_bundle']
        self.polling_interval = polling_interval
        self._secret = options['secret']
        self._transport = {}
        if self.ca_bundle:
            self._transport['connection_verify'] = self.ca_bundle
        if timeout:
            self._transport['connection_timeout'] = timeout
            self._transport['read_timeout'] = timeout
        retries = backoff['backoff_retries']
        self._retry_settings = dict(backoff_delay=backoff['backoff_delay'], backoff_max_delay=backoff['backoff_max_delay'],
                                    retry_total=retries, retry_status=retries, retry_connect=retries, retry_read=retries)
        self.retry_policy = JitteredRetryPolicy(**self._retry_settings)
        self._credential = None
        self._clients = {}

    @property
    def credential(self):
        if self._credential is None:
            self._credential = ClientSecretCredential(
                self.tenant, self.client_id, self._secret, authority=self.cloud.authority,
                disable_instance_discovery=not instance_discovery_needed(self.cloud.authority),
                retry_policy_class=functools.partial(JitteredRetryPolicy, **self._retry_settings), **self._transport)
        return self._credential

    def _client(self, key, factory):
        if key not in self._clients:
            self._clients[key] = factory(
                self.credential, self.subscription_id, base_url=self.cloud.resource_manager,
                credential_scopes=[self.cloud.credential_scope], retry_policy=self.retry_policy,
                polling_interval=self.polling_interval, **self._transport)
        return self._clients[key]

    @property
    def resource(self):
        return self._client('resource', ResourceManagementClient)

    @property
    def network(self):
        return self._client('network', NetworkManagementClient)

    @property
    def compute(self):
        return self._client('compute', ComputeManagementClient)

    def close(self):
        for client in self._clients.values():
            client.close()
        self._clients = {}
        if self._credential is not None:
            self._credential.close()
            self._credential = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def check_azure_libs():
    """Raise AzureClientError when the Azure SDK is not importable."""
    if not HAS_AZURE:
        raise AzureClientError('%s\n%s' % (missing_required_lib(AZURE_REQUIRED_LIBS), AZURE_IMPORT_ERROR or ''))


def clients_from_module(module, **kwargs):
    """AzureClients for an AnsibleModule whose spec includes azure_argument_spec(); fails the module on error."""
    if not HAS_AZURE:
        module.fail_json(msg=missing_required_lib(AZURE_REQUIRED_LIBS), exception=AZURE_IMPORT_ERROR)
    try:
        return AzureClients(module.params, **kwargs)
    except AzureClientError as exc:
        module.fail_json(msg=str(exc))
    return None


def wait_for_lro(poller, timeout=DEFAULT_WAIT_TIMEOUT, description='long-running operation'):
    """Wait for an SDK poller (``begin_*``) up to ``timeout`` seconds and return its result.

    Raises AzureClientError on timeout; an operation that ends Failed raises the SDK's error.
    """
    poller.wait(timeout=timeout)
    if not poller.done():
        raise AzureClientError('Timed out after %s seconds waiting for %s (status: %s).' % (timeout, description, poller.status()))
    return poller.result()


def call(func, *args, **kwargs):
    """Run an SDK call; turn its exception into AzureClientError with a clear message."""
    try:
        return func(*args, **kwargs)
    except AzureClientError:
        raise
    except Exception as exc:  # pylint: disable=broad-except
        if HAS_AZURE and isinstance(exc, AzureError):
            raise AzureClientError(describe_azure_error(exc)) from exc
        raise


# ---------------------------------------------------------------- subscription and quotas

SUBSCRIPTION_API_VERSION = '2022-12-01'


def get_subscription(clients):
    """The subscription ``clients`` work in: ``subscription_id``, ``display_name``, ``state``, ``tenant_id``.

    One ``GET /subscriptions/{id}``, which also proves that the service principal can sign in and
    read the subscription. Raises AzureClientError otherwise; its ``code`` attribute is the ARM
    error code (``SubscriptionNotFound``, ``AuthorizationFailed``, ...) when there is one.
    """
    client = clients.resource
    send = getattr(client, 'send_request', None) or getattr(client, '_send_request')
    request = HttpRequest('GET', '/subscriptions/%s' % clients.subscription_id, params={'api-version': SUBSCRIPTION_API_VERSION})
    response = call(send, request)
    if response.status_code != 200:
        text = response.text()
        err = AzureClientError('Azure request failed (HTTP %s) %s' % (response.status_code, format_arm_error(text, response.status_code)))
        try:
            err.code = (json.loads(text).get('error') or {}).get('code')
        except (ValueError, AttributeError):
            err.code = None
        raise err
    body = response.json()
    return {
        'subscription_id': body.get('subscriptionId') or clients.subscription_id,
        'display_name': body.get('displayName'),
        'state': body.get('state'),
        'tenant_id': body.get('tenantId'),
    }


def _usage(item):
    name = getattr(item, 'name', None)
    return {
        'name': getattr(name, 'value', None),
        'localized_name': getattr(name, 'localized_value', None),
        'current': getattr(item, 'current_value', None),
        'limit': getattr(item, 'limit', None),
        'unit': getattr(item, 'unit', None),
    }


def location_usages(clients, provider, location):
    """Quota usage of ``location`` from the usages list of ``provider`` (``Microsoft.Network`` or ``Microsoft.Compute``).

    A list of dicts with ``name`` (``VirtualNetworks``, ``cores``, ...), ``localized_name``,
    ``current``, ``limit`` and ``unit``.
    """
    if provider == 'Microsoft.Network':
        operations = clients.network.usages
    elif provider == 'Microsoft.Compute':
        operations = clients.compute.usage
    else:
        raise ValueError('no usages list for provider %s' % provider)
    return [_usage(u) for u in call(lambda: list(operations.list(location)))]


def owned_resources(clients, name):
    """Top-level resources carrying the ownership tag of ``name``: dicts with ``name``, ``type``, ``location``."""
    flt = "tagName eq '%s' and tagValue eq '%s'" % (OWNERSHIP_TAG, name.replace("'", "''"))
    return [{'name': r.name, 'type': r.type, 'location': r.location}
            for r in call(lambda: list(clients.resource.resources.list(filter=flt)))]


# ---------------------------------------------------------------- tags

def ownership_tags(name, extra=None):
    """Tags for a resource the collection creates: ``{'hybrid-cluster': name}`` plus ``extra``."""
    tags = dict(extra or {})
    tags[OWNERSHIP_TAG] = name
    return tags


def is_owned(tags, name):
    """True when ``tags`` carry the ownership tag for ``name``."""
    return bool(tags) and tags.get(OWNERSHIP_TAG) == name


def tag_problems(tags):
    """List of reasons why Azure would refuse ``tags`` (empty when they are fine)."""
    problems = []
    for key, value in (tags or {}).items():
        if not key or any(c in _TAG_NAME_FORBIDDEN for c in key):
            problems.append("tag name '%s' is empty or holds one of %s" % (key, _TAG_NAME_FORBIDDEN))
        elif len(key) > _TAG_NAME_MAX:
            problems.append("tag name '%s...' is longer than %d characters" % (key[:20], _TAG_NAME_MAX))
        if value is not None and len(str(value)) > _TAG_VALUE_MAX:
            problems.append("value of tag '%s' is longer than %d characters" % (key, _TAG_VALUE_MAX))
    return problems


def merge_tags(current, desired, purge=True):
    """Compute the tags to write: returns ``(changed, tags)``.

    ``desired`` None leaves tags untouched; with ``purge`` False existing tags are kept.
    """
    current = dict(current or {})
    if desired is None:
        return False, current
    wanted = dict(desired) if purge else dict(current, **desired)
    wanted = dict((k, '' if v is None else str(v)) for k, v in wanted.items())
    return wanted != current, wanted
