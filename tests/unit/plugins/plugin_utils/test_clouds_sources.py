"""Listing sources of the hybrid.cluster.clouds inventory: which SDK each cloud loads, failure messages."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ansible_collections.hybrid.cluster.plugins.plugin_utils import clouds_sources

COLLECTIONS = Path(__file__).resolve().parents[4] / ".build" / "pytest"


def loaded_sdks(code):
    """``(boto3 loaded, Azure SDK loaded)`` after running ``code`` in a fresh interpreter."""
    script = "\n".join([
        "import sys",
        "sys.path.insert(0, %r)" % str(COLLECTIONS),
        "from ansible_collections.hybrid.cluster.plugins.plugin_utils import clouds_sources as sources",
        textwrap.dedent(code),
        "print('boto3' in sys.modules, 'azure.mgmt.compute' in sys.modules)",
    ])
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return tuple(word == "True" for word in proc.stdout.split())


def test_importing_the_sources_loads_no_sdk():
    assert loaded_sdks("") == (False, False)


def test_aws_source_loads_boto3_only():
    assert loaded_sdks("""
        sources.ec2_filters({"vpc-id": "vpc-1"}, "shop")
        sources.aws_layer().resolve_connection({"region": "us-west-2", "access_key": "a", "secret_key": "b"})
        sources.fetch_all([], {}, [], [], {})
    """) == (True, False)


def test_azure_source_loads_the_azure_sdk_only():
    assert loaded_sdks("""
        sources.azure_layer().ENV_FALLBACKS
        sources._describe(ValueError("x"), "azure")
    """) == (False, True)


@pytest.mark.parametrize("cloud, error, message", [
    ("aws", RuntimeError("ec2 DescribeInstances failed: AuthFailure"), "ec2 DescribeInstances failed: AuthFailure"),
    ("aws", RuntimeError(), "RuntimeError: "),
    ("azure", ValueError("bad"), "bad"),
    ("azure", KeyError(), "KeyError: "),
])
def test_failed_sources_are_named_with_their_message(monkeypatch, cloud, error, message):
    def fail(*_args, **_kwargs):
        raise error

    monkeypatch.setattr(clouds_sources, "fetch_ec2_region" if cloud == "aws" else "fetch_azure_subscription", fail)
    regions, subscriptions = (["eu-nowhere-1"], []) if cloud == "aws" else ([], [("sub-x", ["rg"])])
    with pytest.raises(clouds_sources.SourceError) as err:
        clouds_sources.fetch_all(regions, {}, [], subscriptions, {})
    label = "AWS region eu-nowhere-1" if cloud == "aws" else "Azure subscription sub-x (resource groups rg)"
    assert err.value.failures == [(label, message)]
