# -*- coding: utf-8 -*-
# Copyright: hybrid.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared documentation of the AWS connection options (``hybrid.cluster.aws``)."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """AWS authentication, endpoint and retry options; the argument spec is ``aws_argument_spec()``."""

    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - If not set, the environment variables E(AWS_ACCESS_KEY_ID) or E(AWS_ACCESS_KEY) are used (in that order).
      - Mutually exclusive with O(profile).
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key; required together with O(access_key).
      - If not set, the environment variables E(AWS_SECRET_ACCESS_KEY) or E(AWS_SECRET_KEY) are used (in that order).
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS session token for temporary credentials.
      - If not set, the environment variables E(AWS_SESSION_TOKEN) or E(AWS_SECURITY_TOKEN) are used (in that order).
    type: str
    aliases: [aws_session_token, security_token, aws_security_token]
  profile:
    description:
      - Named profile of the shared AWS config and credentials files.
      - If not set, the environment variables E(AWS_PROFILE) or E(AWS_DEFAULT_PROFILE) are used, unless access keys are
        set in the environment, which then take precedence.
      - Mutually exclusive with O(access_key) and O(secret_key).
    type: str
    aliases: [aws_profile]
  region:
    description:
      - AWS region, for example V(us-west-2).
      - If not set, the environment variables E(AWS_REGION) or E(AWS_DEFAULT_REGION) are used, then the region of the
        profile. A region is required; the AWS credential type of AWX does not set one.
    type: str
    aliases: [aws_region]
  endpoint_url:
    description:
      - URL of the AWS API endpoint to use instead of the public one, for example an emulator or a VPC endpoint.
      - If not set, E(AWS_ENDPOINT_URL_<SERVICE>) (for example E(AWS_ENDPOINT_URL_EC2)), then E(AWS_ENDPOINT_URL) or
        E(AWS_URL) are used.
    type: str
    aliases: [aws_endpoint_url]
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the endpoint.
    type: bool
    default: true
  aws_ca_bundle:
    description:
      - CA bundle used to verify the TLS certificate of the endpoint.
      - If not set, the environment variable E(AWS_CA_BUNDLE) is used.
    type: path
  backoff_retries:
    description:
      - How many times an API call is retried after throttling, server errors (HTTP 5xx) or connection failures.
    type: int
    default: 8
  backoff_delay:
    description:
      - Base delay in seconds of the jittered exponential backoff between retries (the wait before retry N is random
        between 0 and O(backoff_delay) * 2^(N-1), at most O(backoff_max_delay)).
      - The same options and defaults as in the C(hybrid.cluster.azure) fragment, so a module that talks to both clouds
        has one consistent setting.
    type: float
    default: 1.0
  backoff_max_delay:
    description:
      - Longest delay in seconds between two retries.
    type: float
    default: 60.0
notes:
  - Credentials come only from these options, the environment variables above (the ones set by the AWS credential
    type of AWX) or the shared AWS config and credentials files. Instance metadata and container credential
    endpoints are never contacted.
  - Retries use jittered exponential backoff. Calls that change resources are retried after a broken connection only
    when they carry an idempotency token, so a retry cannot create a resource twice.
requirements:
  - boto3 >= 1.35.0
  - botocore >= 1.35.0
"""
