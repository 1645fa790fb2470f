# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules that act on both clouds (cloud_network, cross_cloud_sg, peering) share:
their connection options, the check of the plan they are given, and how a run ends."""

from __future__ import annotations

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import AWSError, aws_argument_spec, fail_with_aws_error
from ansible_collections.hybrid.cluster.plugins.module_utils.aws_network import NetworkError
from ansible_collections.hybrid.cluster.plugins.module_utils.azure import AzureClientError, azure_argument_spec
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import PlanError, verify_plan


def cloud_argument_spec(options):
    """The module's own ``options`` plus the AWS and Azure connection options."""
    spec = dict(options)
    spec.update(aws_argument_spec())
    spec.update(azure_argument_spec())
    return spec


def verified_plan(module):
    """The ``plan`` option, checked again (it may have been edited since cidr_plan); fails the module otherwise."""
    plan = module.params["plan"]
    try:
        verify_plan(plan)
    except PlanError as err:
        module.fail_json(msg=str(err), field=err.field)
    return plan


def run_and_exit(module, result, body):
    """Run ``body()``, turn cloud errors into a clear failure that lists the steps already taken,
    derive ``changed`` from the steps and drop the diff unless it was asked for."""
    try:
        body()
    except AWSError as err:
        fail_with_aws_error(module, err, changes=result["changes"])
    except (AzureClientError, NetworkError) as err:
        module.fail_json(msg=str(err), changes=result["changes"])
    result["changed"] = bool(result["changes"])
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff", None)
    module.exit_json(**result)
