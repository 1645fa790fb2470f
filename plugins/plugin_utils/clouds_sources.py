# -*- coding: utf-8 -*-
# Copyright: hybrid.cluster contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Listing of both clouds for the ``hybrid.cluster.clouds`` inventory.

Every request goes through the collection's client layers (``module_utils/aws.py`` and
``module_utils/azure.py``), which retry throttling and server errors with backoff and honour
``Retry-After``. This file only decides *what* to list:

* AWS: one paginated ``DescribeInstances`` per region with the filters applied by EC2; regions
  run in parallel threads.
* Azure, per subscription (or per resource group when scoped): the VM list with power states
  (``statusOnly=true`` / ``$expand=instanceView``), the NIC list, the public IP list and the scale
  set list; then, per Uniform scale set, its instance list and its NIC list. Nothing is fetched
  per VM. Subscriptions run in parallel, and so do the lists inside one subscription.

A source that still fails after the retries raises ``SourceError`` naming the region or the
subscription; the caller then fails as a whole (no partial inventory).

The client layers are imported when their cloud is listed (``aws_layer()``, ``azure_layer()``),
not when this file is: listing one cloud never loads the other cloud's SDK.
"""

from __future__ import annotations

import concurrent.futures

from ansible_collections.hybrid.cluster.plugins.plugin_utils.clouds_inventory import (
    EC2_LIVE_STATES,
    azure_records,
    ec2_records,
    uniform_scale_sets,
)

AWS_OPTIONS = ("access_key", "secret_key", "session_token", "profile", "endpoint_url", "validate_certs", "aws_ca_bundle",
               "backoff_retries", "backoff_delay", "backoff_max_delay")
AZURE_OPTIONS = ("client_id", "secret", "tenant", "cloud_environment", "resource_manager_url", "authority_url", "ca_bundle",
                 "backoff_retries", "backoff_delay", "backoff_max_delay")
EC2_PAGE_SIZE = 1000


class SourceError(Exception):
    """One or more sources failed; ``failures`` is a list of ``(source, message)``."""

    def __init__(self, failures):
        self.failures = list(failures)
        super().__init__("; ".join("%s: %s" % (source, message) for source, message in self.failures))


def aws_layer():
    """The AWS client layer (``module_utils/aws.py``, which imports boto3)."""
    from ansible_collections.hybrid.cluster.plugins.module_utils import aws
    return aws


def azure_layer():
    """The Azure client layer (``module_utils/azure.py``, which imports the Azure SDK)."""
    from ansible_collections.hybrid.cluster.plugins.module_utils import azure
    return azure


# ---------------------------------------------------------------------------------------------
# AWS


def ec2_filters(filters=None, platform=None, platform_tag="hybrid-cluster", include_stopped=True):
    """EC2 ``Filters`` from a ``{name: value(s)}`` dict, the platform and the wanted states.

    Without an ``instance-state-name`` filter of the user's, only live instances are asked for
    (``running`` only when stopped hosts are not wanted).
    """
    merged = dict(filters or {})
    if platform:
        merged["tag:%s" % platform_tag] = platform
    if "instance-state-name" not in merged:
        merged["instance-state-name"] = list(EC2_LIVE_STATES) if include_stopped else ["running", "pending"]
    return aws_layer().filters_to_aws(merged)


def fetch_ec2_region(params, region, filters, environ=None, on_request=None):
    """Records of the EC2 instances of one region (paginated DescribeInstances)."""
    aws = aws_layer()
    connection = aws.resolve_connection(dict(params, region=region), environ, profile_region=aws.profile_region_lookup)
    ec2 = connection.client("ec2")
    records = []
    for page in ec2.paginate("describe_instances", Filters=filters, MaxResults=EC2_PAGE_SIZE):
        if on_request is not None:
            on_request("aws", region)
        records.extend(ec2_records(page.get("Reservations"), region))
    return records


# ---------------------------------------------------------------------------------------------
# Azure


def _listed(pages):
    return list(pages)


def _tags_match(item, tag_filters):
    tags = item.get("tags") or {}
    for key, wanted in tag_filters.items():
        if key not in tags:
            return False
        if wanted is None:
            continue
        values = wanted if isinstance(wanted, (list, tuple)) else [wanted]
        if str(tags.get(key)) not in [str(v) for v in values]:
            return False
    return True


def fetch_azure_listing(clients, resource_groups=None, tag_filters=None, workers=4):
    """The lists ``azure_records`` joins, for one subscription (optionally scoped to resource groups).

    ``tag_filters`` (``{tag: value or [values] or None}``) keep only VMs and scale sets carrying
    those tags; it is applied to the lists as they arrive, before anything else is asked for.
    """
    compute, network = clients.compute, clients.network
    # One token before the lists start in parallel; otherwise each thread would ask for its own.
    clients.credential.get_token(clients.cloud.credential_scope)
    jobs = {}
    if resource_groups:
        for group in resource_groups:
            jobs[("virtual_machines", group)] = lambda g=group: compute.virtual_machines.list(g, expand="instanceView")
            jobs[("network_interfaces", group)] = lambda g=group: network.network_interfaces.list(g)
            jobs[("public_ip_addresses", group)] = lambda g=group: network.public_ip_addresses.list(g)
            jobs[("scale_sets", group)] = lambda g=group: compute.virtual_machine_scale_sets.list(g)
    else:
        jobs[("virtual_machines", None)] = lambda: compute.virtual_machines.list_all(status_only="true")
        jobs[("network_interfaces", None)] = network.network_interfaces.list_all
        jobs[("public_ip_addresses", None)] = network.public_ip_addresses.list_all
        jobs[("scale_sets", None)] = compute.virtual_machine_scale_sets.list_all
    listing = {"virtual_machines": [], "network_interfaces": [], "public_ip_addresses": [], "scale_sets": [],
               "scale_set_vms": {}, "scale_set_nics": {}}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="azure-list") as pool:
        futures = {pool.submit(lambda f=func: _listed(f())): key for key, func in jobs.items()}
        for future, key in futures.items():
            listing[key[0]].extend(future.result())
        if tag_filters:
            listing["virtual_machines"] = [v for v in listing["virtual_machines"] if _tags_match(v, tag_filters)]
            listing["scale_sets"] = [s for s in listing["scale_sets"] if _tags_match(s, tag_filters)]
        scale_jobs = {}
        for scale_set in uniform_scale_sets(listing["scale_sets"]):
            ident = scale_set["id"]
            group = ident.split("/")[4]
            name = ident.rsplit("/", 1)[-1]
            scale_jobs[("scale_set_vms", ident.lower())] = pool.submit(
                lambda g=group, n=name: _listed(compute.virtual_machine_scale_set_vms.list(g, n, expand="instanceView")))
            scale_jobs[("scale_set_nics", ident.lower())] = pool.submit(
                lambda g=group, n=name: _listed(network.network_interfaces.list_virtual_machine_scale_set_network_interfaces(g, n)))
        for (kind, ident), future in scale_jobs.items():
            listing[kind][ident] = future.result()
    return listing


def fetch_azure_subscription(params, subscription_id, resource_groups=None, tag_filters=None, environ=None, workers=4):
    """Records of the VMs and scale-set instances of one subscription."""
    clients = azure_layer().AzureClients(dict(params, subscription_id=subscription_id), environ)
    try:
        return azure_records(fetch_azure_listing(clients, resource_groups, tag_filters, workers))
    finally:
        clients.close()


# ---------------------------------------------------------------------------------------------
# Both clouds


def _describe(exc, cloud):
    """The message for a failed source; only the failed source's own client layer is asked."""
    if cloud == "aws":
        text = str(exc)
    else:
        azure = azure_layer()
        text = str(exc) if isinstance(exc, azure.AzureClientError) else azure.describe_azure_error(exc)
    return text if text else "%s: %s" % (type(exc).__name__, exc)


def fetch_all(aws_regions, aws_params, aws_filter_list, azure_subscriptions, azure_params, tag_filters=None,
              workers=8, environ=None):
    """Records of every source, listed concurrently; raises ``SourceError`` if any source failed.

    ``azure_subscriptions`` is a list of ``(subscription_id, resource_groups or None)``. A client
    layer that cannot be imported raises ``ImportError``.
    """
    # Each client layer is imported here, once, rather than by several listing threads at the same time.
    if aws_regions:
        aws_layer()
    if azure_subscriptions:
        azure_layer()
    tasks = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="clouds") as pool:
        for region in aws_regions:
            tasks["AWS region %s" % region] = ("aws", pool.submit(fetch_ec2_region, aws_params, region, aws_filter_list, environ))
        for subscription_id, groups in azure_subscriptions:
            label = "Azure subscription %s" % subscription_id
            if groups:
                label += " (resource groups %s)" % ", ".join(groups)
            tasks[label] = ("azure", pool.submit(fetch_azure_subscription, azure_params, subscription_id, groups, tag_filters,
                                                 environ))
        records, failures = [], []
        for label, (cloud, future) in tasks.items():
            try:
                records.extend(future.result())
            except Exception as exc:  # pylint: disable=broad-exception-caught
                failures.append((label, _describe(exc, cloud)))
    if failures:
        raise SourceError(failures)
    return records
