# -*- coding: utf-8 -*-
# Copyright: hybrid.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared documentation of the Azure authentication options (see plugins/module_utils/azure.py)."""


class ModuleDocFragment(object):

    # Options read by hybrid.cluster's Azure client layer; merge them with
    # ansible_collections.hybrid.cluster.plugins.module_utils.azure.azure_argument_spec().
    DOCUMENTATION = r'''
options:
  subscription_id:
    description:
      - ID of the Azure subscription to work in.
      - If not set, the value of the E(AZURE_SUBSCRIPTION_ID) environment variable is used.
    type: str
  client_id:
    description:
      - Application (client) ID of the service principal.
      - If not set, the value of the E(AZURE_CLIENT_ID) environment variable is used.
    type: str
  secret:
    description:
      - Client secret of the service principal.
      - If not set, the value of the E(AZURE_SECRET) environment variable is used, then E(AZURE_CLIENT_SECRET).
      - The value is never logged or returned (C(no_log)).
    type: str
  tenant:
    description:
      - Microsoft Entra tenant (directory) ID of the service principal.
      - If not set, the value of the E(AZURE_TENANT) environment variable is used, then E(AZURE_TENANT_ID).
    type: str
  cloud_environment:
    description:
      - Azure cloud to talk to, by name - V(AzureCloud) (public), V(AzureChinaCloud) or V(AzureUSGovernment),
        case-insensitive. When neither this nor O(resource_manager_url) is set, V(AzureCloud) is used.
      - An https URL here is taken as O(resource_manager_url).
      - If not set, the value of the E(AZURE_CLOUD_ENVIRONMENT) environment variable is used.
    type: str
  resource_manager_url:
    description:
      - Base URL of the Azure Resource Manager of a custom cloud, such as Azure Stack Hub or a local test
        emulator, for example V(https://management.local.azurestack.external).
      - The token scope becomes this URL followed by C(/.default).
      - If not set, the value of the E(AZURE_RESOURCE_MANAGER_URL) environment variable is used.
    type: str
  authority_url:
    description:
      - Login authority (Microsoft Entra ID or AD FS host) that issues tokens, for example V(https://login.microsoftonline.com).
      - Defaults to the authority of the selected cloud. For an authority that is not one of the known clouds'
        hosts, instance discovery is switched off.
      - If not set, the value of the E(AZURE_AUTHORITY_HOST) environment variable is used, then E(AZURE_ADFS_AUTHORITY_URL).
    type: str
  ca_bundle:
    description:
      - Path of a PEM file with the certificate authorities to trust for the authority and Resource Manager.
      - When set it wins over E(REQUESTS_CA_BUNDLE) and the system trust store.
      - If not set, the value of the E(AZURE_CA_BUNDLE) environment variable is used.
    type: path
  backoff_retries:
    description:
      - How many times a throttled (HTTP 429), failed (5xx) or dropped request is retried.
    type: int
    default: 8
  backoff_delay:
    description:
      - Base of the exponential backoff between retries, in seconds (the wait before retry N is random
        between 0 and O(backoff_delay) * 2^(N-1), at most O(backoff_max_delay)).
    type: float
    default: 1.0
  backoff_max_delay:
    description:
      - Longest wait between two retries, in seconds. A longer C(Retry-After) from the service is cut to this value.
    type: float
    default: 60.0
notes:
  - Authentication always uses a service principal with a client secret (the variables AWX's
    Microsoft Azure Resource Manager credential sets). Managed identities, the Azure CLI and the
    instance metadata service are never used.
  - Throttled (HTTP 429) and failed (5xx) requests are retried; a C(Retry-After) header from the
    service is honoured, otherwise the wait grows exponentially with random jitter.
requirements:
  - azure-identity
  - azure-mgmt-resource
  - azure-mgmt-network
  - azure-mgmt-compute
'''
