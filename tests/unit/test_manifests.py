"""Kubernetes objects and Helm values of the mesh and storage phases (module_utils/k8s_manifests.py).

Built-in kinds (Service, Secret, Deployment, StorageClass, and every object's metadata) are
validated against the Kubernetes OpenAPI schemas that the kubernetes-validate package ships (offline;
a test below proves it opens no socket). Rook's CRs and Cilium's Helm values have no schema there,
so they are checked field by field against the fields Rook's CRD documentation (v1.20) and Cilium's
Helm reference document, written down here as test data.
"""

import base64
import socket
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from ansible_collections.hybrid.cluster.plugins.module_utils import k8s_manifests as km
from ansible_collections.hybrid.cluster.plugins.module_utils.k8s_manifests import ManifestError
from ansible_collections.hybrid.cluster.plugins.module_utils.plan import build_plan

K8S_VERSION = "1.35"  # Kubespray v2.31.0's default Kubernetes
ROOT = Path(__file__).resolve().parents[2]

# ------------------------------------------------------------------------------ documented fields
# Rook v1.20 CRD documentation (Documentation/CRDs/...): the fields this collection may set, with
# their types. A dict is a nested object; a list holds the element shape.
ROOK_FIELDS = {
    "CephCluster": {
        "cephVersion": {"image": str, "allowUnsupported": bool, "imagePullPolicy": str},
        "dataDirHostPath": str,
        "mon": {"count": int, "allowMultiplePerNode": bool, "failureDomainLabel": str, "zones": list, "stretchCluster": dict},
        "mgr": {"count": int, "allowMultiplePerNode": bool, "modules": list},
        "dashboard": {"enabled": bool, "ssl": bool, "port": int, "urlPrefix": str},
        "network": {"provider": str, "connections": {"requireMsgr2": bool, "encryption": dict, "compression": dict},
                    "multiClusterService": dict, "ipFamily": str},
        "crashCollector": {"disable": bool, "daysToRetain": int},
        "storage": {"useAllNodes": bool, "useAllDevices": bool, "deviceFilter": str, "devicePathFilter": str,
                    "nodes": list, "config": dict},
        "disruptionManagement": {"managePodBudgets": bool, "osdMaintenanceTimeout": int},
        "placement": dict, "resources": dict, "priorityClassNames": dict, "healthCheck": dict,
    },
    "CephBlockPool": {
        "failureDomain": str,
        "deviceClass": str,
        "replicated": {"size": int, "requireSafeReplicaSize": bool, "replicasPerFailureDomain": int, "subFailureDomain": str},
        "erasureCoded": dict,
        "parameters": dict,
        "mirroring": {"enabled": bool, "mode": str, "snapshotSchedules": [{"interval": str, "startTime": str}],
                      "peers": {"secretNames": [str]}},
        "statusCheck": {"mirror": {"disabled": bool, "interval": str}},
        "quotas": dict,
        "name": str,
    },
    "CephRBDMirror": {
        "count": int, "placement": dict, "annotations": dict, "labels": dict, "resources": dict, "priorityClassName": str,
    },
}
MIRROR_MODES = {"image", "pool", "init-only"}

# Cilium Helm chart reference (install/kubernetes/cilium/values.yaml): the values this collection sets.
CILIUM_VALUES = {
    "cluster": {"name": str, "id": int},
    "clustermesh": {
        "useAPIServer": bool,
        "maxConnectedClusters": int,
        "config": {"enabled": bool, "domain": str,
                   "clusters": [{"name": str, "address": str, "port": int, "ips": [str]}]},
        "apiserver": {
            "kvstoremesh": {"enabled": bool},
            "service": {"type": str, "nodePort": int, "annotations": dict, "externalTrafficPolicy": str,
                        "internalTrafficPolicy": str, "loadBalancerClass": str, "loadBalancerIP": str},
            "tls": {"auto": {"enabled": bool, "method": str, "certValidityDuration": int, "schedule": str},
                    "server": {"extraDnsNames": [str], "extraIpAddresses": [str]}},
        },
    },
    "tls": {"ca": {"cert": str, "key": str, "certValidityDuration": int}},
}


def check_fields(value, spec, path="spec"):
    """Every key of ``value`` is documented in ``spec`` and has the documented type."""
    problems = []
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return ["%s: expected a mapping" % path]
        for key, item in value.items():
            if key not in spec:
                problems.append("%s.%s: not a documented field" % (path, key))
            else:
                problems.extend(check_fields(item, spec[key], "%s.%s" % (path, key)))
    elif isinstance(spec, list):
        if not isinstance(value, list):
            return ["%s: expected a list" % path]
        for index, item in enumerate(value):
            problems.extend(check_fields(item, spec[0], "%s[%d]" % (path, index)))
    elif spec is dict or spec is list:
        if not isinstance(value, spec):
            problems.append("%s: expected %s" % (path, spec.__name__))
    elif spec is int:
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append("%s: expected an integer" % path)
    elif not isinstance(value, spec):
        problems.append("%s: expected %s, got %r" % (path, spec.__name__, value))
    return problems


def validate_builtin(obj):
    """Strict schema validation of a built-in kind; returns the Kubernetes version used."""
    return kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def validate_metadata(obj):
    """A custom resource's metadata, validated as ObjectMeta (through a ConfigMap, which has no other required field)."""
    return validate_builtin({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]})


def service_from_values(values, cluster_name):
    """The clustermesh-apiserver Service the Cilium chart renders from these values (the fields we set)."""
    svc = values["clustermesh"]["apiserver"]["service"]
    port = {"name": "apiserv", "port": km.CLUSTERMESH_SERVICE_PORT, "targetPort": "apiserv", "protocol": "TCP"}
    if svc.get("nodePort"):
        port["nodePort"] = svc["nodePort"]
    metadata = {"name": km.CLUSTERMESH_SERVICE, "namespace": km.CILIUM_NAMESPACE, "labels": {"k8s-app": "clustermesh-apiserver"}}
    if svc.get("annotations"):
        metadata["annotations"] = svc["annotations"]
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata,
            "spec": {"type": svc["type"], "selector": {"k8s-app": "clustermesh-apiserver"}, "ports": [port]}}


@pytest.fixture(name="plan")
def fixture_plan():
    return build_plan({"name": "shop"})


def mesh_clusters(plan):
    return [{"name": plan[c]["cluster_name"], "id": plan[c]["cluster_id"], "cloud": c} for c in ("aws", "azure")]


CA = {"cert": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode(),
      "key": base64.b64encode(b"-----BEGIN EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n").decode()}


# ------------------------------------------------------------------------------ offline


def test_schema_validation_is_offline(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("kubernetes-validate tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    assert validate_builtin({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {}}) == K8S_VERSION


def test_the_validator_catches_mistakes():
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_builtin({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}, "spec": {"ports": [{"port": "x"}]}})
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_metadata({"metadata": {"name": "x", "labels": {"a": 1}}})
    assert check_fields({"mirroring": {"enabled": "yes"}}, ROOK_FIELDS["CephBlockPool"]) == ["spec.mirroring.enabled: expected bool, got 'yes'"]
    assert check_fields({"mirorring": {}}, ROOK_FIELDS["CephBlockPool"]) == ["spec.mirorring: not a documented field"]


# ------------------------------------------------------------------------------ Cilium ClusterMesh


@pytest.mark.parametrize("service_type", ["LoadBalancer", "NodePort"])
def test_clustermesh_values_first_pass(plan, service_type):
    for cluster in mesh_clusters(plan):
        values = km.clustermesh_values(cluster, ca=CA, service_type=service_type)
        assert check_fields(values, CILIUM_VALUES, "values") == []
        assert values["cluster"] == {"name": cluster["name"], "id": cluster["id"]}
        mesh = values["clustermesh"]
        assert mesh["useAPIServer"] is True and mesh["apiserver"]["kvstoremesh"]["enabled"] is True
        assert mesh["config"] == {"enabled": False, "domain": "mesh.cilium.io", "clusters": []}
        assert mesh["apiserver"]["service"]["type"] == service_type
        assert mesh["apiserver"]["service"]["nodePort"] == 32379
        assert values["tls"]["ca"] == CA
        validate_builtin(service_from_values(values, cluster["name"]))


def test_internal_load_balancer_annotations(plan):
    aws, azure = [km.clustermesh_values(c) for c in mesh_clusters(plan)]
    aws_ann = aws["clustermesh"]["apiserver"]["service"]["annotations"]
    assert aws_ann["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
    assert aws_ann["service.beta.kubernetes.io/aws-load-balancer-type"] == "nlb"
    assert azure["clustermesh"]["apiserver"]["service"]["annotations"] == {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true"}
    nodeport = km.clustermesh_values(mesh_clusters(plan)[0], service_type="NodePort")
    assert "annotations" not in nodeport["clustermesh"]["apiserver"]["service"]


def lb_service(ingress, port=2379, node_port=32379, kind="LoadBalancer"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "clustermesh-apiserver", "namespace": "kube-system"},
            "spec": {"type": kind, "ports": [{"port": port, "nodePort": node_port, "protocol": "TCP"}]},
            "status": {"loadBalancer": {"ingress": ingress}}}


def test_peers_connect_both_ways(plan):
    aws, azure = mesh_clusters(plan)
    aws_peer = km.clustermesh_peer(lb_service([{"hostname": "internal-shop-0123.elb.us-west-2.amazonaws.com"}]), aws["name"])
    azure_peer = km.clustermesh_peer(lb_service([{"ip": "10.65.16.50"}]), azure["name"])
    assert aws_peer == {"name": "shop-aws", "port": 2379, "address": "internal-shop-0123.elb.us-west-2.amazonaws.com"}
    assert azure_peer == {"name": "shop-azure", "port": 2379, "ips": ["10.65.16.50"]}
    aws_values = km.clustermesh_values(aws, peers=[azure_peer], ca=CA,
                                       extra_dns_names=["internal-shop-0123.elb.us-west-2.amazonaws.com"])
    azure_values = km.clustermesh_values(azure, peers=[aws_peer], ca=CA)
    for values in (aws_values, azure_values):
        assert check_fields(values, CILIUM_VALUES, "values") == []
        assert values["clustermesh"]["config"]["enabled"] is True
        assert values["tls"]["ca"] == CA  # one shared CA: the remote certificates verify on both sides
    assert aws_values["clustermesh"]["config"]["clusters"] == [azure_peer]
    assert azure_values["clustermesh"]["config"]["clusters"] == [aws_peer]
    assert aws_values["clustermesh"]["apiserver"]["tls"]["server"]["extraDnsNames"] == [
        "internal-shop-0123.elb.us-west-2.amazonaws.com"]


def test_nodeport_peer_uses_node_addresses():
    peer = km.clustermesh_peer(lb_service([], kind="NodePort"), "shop-azure", ["10.65.16.10", "10.65.16.11"])
    assert peer == {"name": "shop-azure", "port": 32379, "ips": ["10.65.16.10", "10.65.16.11"]}


def test_pending_load_balancer_says_why():
    with pytest.raises(ManifestError, match="cloud controller"):
        km.clustermesh_peer(lb_service([]), "shop-aws")
    with pytest.raises(ManifestError, match="no clustermesh-apiserver Service"):
        km.clustermesh_peer({}, "shop-aws")


@pytest.mark.parametrize("cluster, kwargs, message", [
    ({"name": "shop-aws", "id": 0, "cloud": "aws"}, {}, "id 0 is not 1-255"),
    ({"name": "shop-aws", "id": 256, "cloud": "aws"}, {}, "id 256 is not 1-255"),
    ({"name": "Shop", "id": 1, "cloud": "aws"}, {}, "not a DNS label"),
    ({"name": "a" * 33, "id": 1, "cloud": "aws"}, {}, "longer than Cilium's 32"),
    ({"name": "shop-aws", "id": 1, "cloud": "gcp"}, {}, "no internal load balancer annotations"),
    ({"name": "shop-aws", "id": 1, "cloud": "aws"}, {"service_type": "ClusterIP"}, "service_type"),
    ({"name": "shop-aws", "id": 1, "cloud": "aws"}, {"peers": [{"name": "shop-aws", "port": 2379, "ips": ["10.0.0.1"]}]}, "own peer"),
    ({"name": "shop-aws", "id": 1, "cloud": "aws"}, {"peers": [{"name": "b", "port": 2379}]}, "neither ips nor address"),
    ({"name": "shop-aws", "id": 1, "cloud": "aws"}, {"max_connected_clusters": 300}, "255 or 511"),
])
def test_clustermesh_values_refusals(cluster, kwargs, message):
    with pytest.raises(ManifestError, match=message):
        km.clustermesh_values(cluster, **kwargs)


def test_example_global_service_is_valid():
    path = ROOT / "roles" / "clustermesh" / "files" / "example-global-service.yml"
    example = yaml.safe_load(path.read_text())
    assert example["kind"] == "List"
    docs = example["items"]
    kinds = [d["kind"] for d in docs]
    assert "Service" in kinds
    for doc in docs:
        validate_builtin(doc)
    service = [d for d in docs if d["kind"] == "Service"][0]
    annotations = service["metadata"]["annotations"]
    assert annotations["service.cilium.io/global"] == "true"
    assert annotations["service.cilium.io/shared"] in ("true", "false")
    assert annotations["service.kubernetes.io/topology-mode"] == "Auto"
    assert "service.kubernetes.io/topology-aware-hints" not in annotations


# ------------------------------------------------------------------------------ Rook


def by_kind(objects):
    return {o["kind"]: o for o in objects}


@pytest.mark.parametrize("cloud, device_filter", [("aws", "^nvme[1-9]n1"), ("azure", "^sd[c-z]")])
def test_rook_manifests_per_cloud(plan, cloud, device_filter):
    objects = km.rook_manifests({"name": plan[cloud]["cluster_name"], "cloud": cloud}, peer_secrets=["replicapool-peer-remote"])
    kinds = by_kind(objects)
    assert [o["kind"] for o in objects] == ["CephCluster", "CephBlockPool", "CephRBDMirror", "StorageClass", "Deployment"]
    for obj in objects:
        if obj["apiVersion"] == "ceph.rook.io/v1":
            validate_metadata(obj)
            assert check_fields(obj["spec"], ROOK_FIELDS[obj["kind"]]) == []
            assert obj["metadata"]["namespace"] == "rook-ceph"
        else:
            validate_builtin(obj)
    assert kinds["CephCluster"]["spec"]["storage"]["deviceFilter"] == device_filter
    assert kinds["CephCluster"]["spec"]["mon"]["count"] % 2 == 1
    mirroring = kinds["CephBlockPool"]["spec"]["mirroring"]
    assert mirroring["enabled"] is True and mirroring["mode"] in MIRROR_MODES and mirroring["mode"] == "image"
    assert mirroring["snapshotSchedules"] == [{"interval": "1h"}]
    assert mirroring["peers"] == {"secretNames": ["replicapool-peer-remote"]}
    assert kinds["CephRBDMirror"]["spec"] == {"count": 1}
    storage = kinds["StorageClass"]
    assert storage["provisioner"] == "rook-ceph.rbd.csi.ceph.com"
    assert storage["parameters"]["pool"] == kinds["CephBlockPool"]["metadata"]["name"]
    assert storage["parameters"]["clusterID"] == "rook-ceph"


def test_rook_pool_name_is_the_same_in_both_clusters(plan):
    pools = [by_kind(km.rook_manifests({"name": plan[c]["cluster_name"], "cloud": c}))["CephBlockPool"] for c in ("aws", "azure")]
    assert pools[0]["metadata"]["name"] == pools[1]["metadata"]["name"]
    assert "peers" not in pools[0]["spec"]["mirroring"]


def test_rook_options_and_refusals():
    objects = km.rook_manifests({"name": "x", "cloud": "aws"}, device_filter="^xvdb", toolbox=False, default_storage_class=True,
                                snapshot_schedules=[{"interval": "24h", "startTime": "14:00:00-05:00"}])
    kinds = by_kind(objects)
    assert "Deployment" not in kinds
    assert kinds["CephCluster"]["spec"]["storage"]["deviceFilter"] == "^xvdb"
    assert kinds["StorageClass"]["metadata"]["annotations"] == {"storageclass.kubernetes.io/is-default-class": "true"}
    validate_builtin(kinds["StorageClass"])
    assert check_fields(kinds["CephBlockPool"]["spec"], ROOK_FIELDS["CephBlockPool"]) == []
    with pytest.raises(ManifestError, match="single RBD mirroring peer"):
        km.rook_manifests({"name": "x", "cloud": "aws"}, peer_secrets=["a", "b"])
    with pytest.raises(ManifestError, match="no device filter"):
        km.rook_manifests({"name": "x", "cloud": "gcp"})
    with pytest.raises(ManifestError, match="mirroring mode"):
        km.rook_manifests({"name": "x", "cloud": "aws"}, mirroring_mode="journal")
    with pytest.raises(ManifestError, match="interval"):
        km.rook_manifests({"name": "x", "cloud": "aws"}, snapshot_schedules=[{"interval": "soon"}])
    with pytest.raises(ManifestError, match="odd"):
        km.rook_manifests({"name": "x", "cloud": "aws"}, mon_count=4)


def test_rook_peer_secret_from_the_bootstrap_secret():
    bootstrap = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pool-peer-token-replicapool", "namespace": "rook-ceph"},
                 "data": {"token": base64.b64encode(b"eyJmc2lkIjoi").decode(), "pool": base64.b64encode(b"replicapool").decode()}}
    secret = km.rook_peer_secret(bootstrap, "replicapool-peer-shop-aws", source_cluster="shop-aws")
    validate_builtin(secret)
    assert secret["data"] == bootstrap["data"]
    assert secret["metadata"]["namespace"] == "rook-ceph"
    with pytest.raises(ManifestError, match="lacks token or pool"):
        km.rook_peer_secret({"metadata": {"name": "x"}, "data": {}}, "y")


# ------------------------------------------------------------------------------ kubeconfig


def test_kubeconfig_server():
    config = {"clusters": [{"name": "c", "cluster": {"server": "https://10.64.1.10:6443"}}],
              "contexts": [{"name": "admin@c", "context": {"cluster": "c", "user": "admin"}}], "current-context": "admin@c"}
    assert km.kubeconfig_server(config) == {"server": "https://10.64.1.10:6443", "host": "10.64.1.10", "port": 6443}
    config["clusters"][0]["cluster"]["server"] = "https://[fd00::1]"
    assert km.kubeconfig_server(config)["port"] == 443 and km.kubeconfig_server(config)["host"] == "fd00::1"
    with pytest.raises(ManifestError, match="no context"):
        km.kubeconfig_server(config, context="other")
