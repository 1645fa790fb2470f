"""Microsoft Entra ID, as far as a confidential client with a client secret needs it.

Serves the OpenID configuration document (v2.0 and v1/AD FS paths) and the client-credentials
token endpoint. Tokens are JWT-shaped and signed with an HMAC key of this emulator, so they stay
valid across resets and are checked without keeping state. The client secret is compared in
constant time and never stored in the request log.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from urllib.parse import parse_qs

TOKEN_LIFETIME = 3599


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Identity:
    """One tenant with one service principal."""

    def __init__(self, tenant_id, client_id, client_secret):
        self.tenant_id = tenant_id
        self.client_id = client_id
        self.client_secret = client_secret
        self._key = secrets.token_bytes(32)

    # ---------------------------------------------------------------- helpers
    def _tenant_known(self, tenant):
        return tenant.lower() in (self.tenant_id.lower(), "adfs")

    @staticmethod
    def _error(status, error, aadsts, description):
        body = {
            "error": error,
            "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (
                aadsts, description, uuid.uuid4(), uuid.uuid4(), time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())),
            "error_codes": [aadsts],
            "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "trace_id": str(uuid.uuid4()),
            "correlation_id": str(uuid.uuid4()),
        }
        return status, {"Content-Type": "application/json; charset=utf-8"}, body

    def _tenant_not_found(self, tenant):
        return self._error(400, "invalid_request", 90002,
                           "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing "
                           "into the correct cloud." % tenant)

    # ---------------------------------------------------------------- endpoints
    def handles(self, method, segments):
        """True when the path belongs to the identity endpoints."""
        lowered = [s.lower() for s in segments]
        if len(lowered) >= 3 and lowered[-2:] == [".well-known", "openid-configuration"]:
            return method == "GET"
        return len(lowered) >= 3 and lowered[1] == "oauth2" and lowered[-1] == "token" and method == "POST"

    def handle(self, method, segments, base_url, body):
        tenant = segments[0]
        if not self._tenant_known(tenant):
            return self._tenant_not_found(tenant)
        if method == "GET":
            return self.openid_configuration(tenant, segments, base_url)
        return self.token(tenant, body)

    def openid_configuration(self, tenant, segments, base_url):
        v2 = len(segments) > 1 and segments[1].lower() == "v2.0"
        root = "%s/%s" % (base_url, tenant)
        oauth = root + ("/oauth2/v2.0" if v2 or tenant.lower() != "adfs" else "/oauth2")
        doc = {
            "token_endpoint": oauth + "/token",
            "authorization_endpoint": oauth + "/authorize",
            "device_authorization_endpoint": oauth + "/devicecode",
            "issuer": root + ("/v2.0" if v2 else "/"),
            "jwks_uri": root + "/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "grant_types_supported": ["client_credentials", "authorization_code", "refresh_token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "emulator.local",
        }
        return 200, {"Content-Type": "application/json; charset=utf-8"}, doc

    def token(self, tenant, raw_body):
        form = {k: v[0] for k, v in parse_qs((raw_body or b"").decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "client_credentials":
            return self._error(400, "unsupported_grant_type", 70003,
                               "The app requested an unsupported grant type '%s'." % form.get("grant_type", ""))
        client_id = form.get("client_id", "")
        if client_id != self.client_id:
            return self._error(400, "unauthorized_client", 700016,
                               "Application with identifier '%s' was not found in the directory '%s'." % (client_id, tenant))
        secret = form.get("client_secret")
        if secret is None:
            return self._error(401, "invalid_client", 7000218,
                               "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
        if not hmac.compare_digest(secret.encode("utf-8"), self.client_secret.encode("utf-8")):
            return self._error(401, "invalid_client", 7000215,
                               "Invalid client secret provided. Ensure the secret being sent in the request is the client "
                               "secret value, not the client secret ID, for a secret added to app '%s'." % client_id)
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            return self._error(400, "invalid_scope", 1002012,
                               "The provided value for scope %s is not valid. Client credential flows must have a scope "
                               "value with /.default suffixed to the resource identifier (application ID URI)." % scope)
        audience = scope.split()[0][:-len("/.default")]
        token = self.issue(audience)
        body = {"token_type": "Bearer", "expires_in": TOKEN_LIFETIME, "ext_expires_in": TOKEN_LIFETIME, "access_token": token}
        return 200, {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}, body

    # ---------------------------------------------------------------- tokens
    def issue(self, audience, lifetime=TOKEN_LIFETIME):
        now = int(time.time())
        header = _b64(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "emulator"}).encode())
        claims = {"aud": audience, "iss": "https://sts.emulator.local/%s/" % self.tenant_id, "iat": now, "nbf": now,
                  "exp": now + lifetime, "appid": self.client_id, "tid": self.tenant_id, "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, self.client_id)),
                  "idtyp": "app", "ver": "1.0"}
        payload = _b64(json.dumps(claims).encode())
        signature = _b64(hmac.new(self._key, ("%s.%s" % (header, payload)).encode(), hashlib.sha256).digest())
        return "%s.%s.%s" % (header, payload, signature)

    def check(self, authorization):
        """Validate an ``Authorization`` header; returns ``None`` or ``(code, message)`` of ARM's 401."""
        if not authorization:
            return "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing."
        scheme, _space, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            return "InvalidAuthenticationToken", "The access token is invalid."
        header, payload, signature = token.split(".")
        expected = _b64(hmac.new(self._key, ("%s.%s" % (header, payload)).encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(signature, expected):
            return "InvalidAuthenticationToken", "The access token is invalid."
        try:
            claims = json.loads(_unb64(payload))
        except ValueError:
            return "InvalidAuthenticationToken", "The access token is invalid."
        if claims.get("exp", 0) < time.time():
            return "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time."
        if claims.get("tid") != self.tenant_id:
            return "InvalidAuthenticationTokenTenant", "The access token is from the wrong issuer."
        return None
