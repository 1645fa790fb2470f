# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes objects and Helm values for the mesh and storage phases: pure data, no I/O.

* ``clustermesh_values`` - Cilium Helm values that turn on ClusterMesh in one cluster (the
  clustermesh-apiserver on an internal load balancer or a NodePort, KVStoreMesh, the platform's
  shared Cilium CA) and connect it to its peers.
* ``clustermesh_peer`` - one ``clustermesh.config.clusters`` entry from a peer's
  clustermesh-apiserver Service as the Kubernetes API returns it.
* ``rook_manifests`` - a CephCluster, a mirrored CephBlockPool, a CephRBDMirror, a StorageClass
  and (optionally) a Ceph toolbox Deployment for one cluster.
* ``rook_peer_secret`` - the Secret that hands one cluster's RBD mirroring bootstrap token to the
  other.

Ports come from ``ports.py`` (the platform's port matrix); cluster names and ids from the plan.
"""

from __future__ import annotations

import re

from ansible_collections.hybrid.cluster.plugins.module_utils import ports as _ports

# The clustermesh-apiserver's service port and its fixed NodePort, from the port matrix (the
# security groups open exactly these). A load balancer listens on the service port and forwards
# to the NodePort.
CLUSTERMESH_NODEPORT = getattr(_ports, "CLUSTERMESH_NODEPORT", None) or getattr(_ports, "CLUSTERMESH_PORTS", {}).get("nodeport", 32379)
CLUSTERMESH_SERVICE_PORT = 2379

CILIUM_NAMESPACE = "kube-system"
CLUSTERMESH_SERVICE = "clustermesh-apiserver"
CLUSTERMESH_DOMAIN = "mesh.cilium.io"
SERVICE_TYPES = ("LoadBalancer", "NodePort")
# Annotations that make each cloud's load balancer internal (reachable over the VPN only).
INTERNAL_LB_ANNOTATIONS = {
    "aws": {
        # AWS Load Balancer Controller and cloud-provider-aws: an internal Network Load Balancer.
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
        "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    },
    "azure": {
        "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
    },
}

ROOK_NAMESPACE = "rook-ceph"
ROOK_CEPH_IMAGE = "quay.io/ceph/ceph:v20.2.4"
RBD_PROVISIONER = "rook-ceph.rbd.csi.ceph.com"
# Data disks per cloud: EBS volumes on Nitro instances appear as NVMe namespaces after the root
# disk nvme0n1; on Azure sda is the OS disk and sdb the temporary disk, data disks follow.
DEVICE_FILTERS = {"aws": "^nvme[1-9]n1", "azure": "^sd[c-z]"}
MIRROR_MODES = ("image", "pool", "init-only")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
_INTERVAL = re.compile(r"^[0-9]+[mhd]$")


class ManifestError(ValueError):
    """Bad input for a manifest; the message says where and how to fix it."""


def _require(condition, message):
    if not condition:
        raise ManifestError(message)


def _name(value, what):
    _require(isinstance(value, str) and len(value) <= 63 and bool(_DNS_LABEL.match(value)),
             "%s %r is not a DNS label (lowercase letters, digits, dashes, at most 63)" % (what, value))
    return value


# ---------------------------------------------------------------------------------------------
# Cilium ClusterMesh


def clustermesh_values(cluster, peers=None, ca=None, service_type="LoadBalancer", kvstoremesh=True,
                       max_connected_clusters=255, extra_dns_names=None, annotations=None):
    """Helm values for the cilium release of one cluster.

    ``cluster`` is ``{name, id, cloud}`` (from the plan), ``peers`` a list of entries made by
    ``clustermesh_peer`` (empty on the first pass, before the peers' addresses are known), ``ca``
    ``{cert, key}`` with the shared CA in base64-encoded PEM.
    """
    cluster = dict(cluster or {})
    name = _name(cluster.get("name"), "cluster name")
    _require(len(name) <= 32, "cluster name %r is longer than Cilium's 32 characters" % name)
    cid = cluster.get("id")
    _require(isinstance(cid, int) and not isinstance(cid, bool) and 1 <= cid <= max_connected_clusters,
             "cluster %s: id %r is not 1-%d" % (name, cid, max_connected_clusters))
    _require(max_connected_clusters in (255, 511), "max_connected_clusters must be 255 or 511, not %r" % (max_connected_clusters,))
    _require(service_type in SERVICE_TYPES, "service_type %r is not one of %s" % (service_type, ", ".join(SERVICE_TYPES)))
    peers = list(peers or [])
    seen = set()
    for peer in peers:
        _require(isinstance(peer, dict) and peer.get("name"), "each peer needs a name: %r" % (peer,))
        _require(peer["name"] != name, "cluster %s cannot be its own peer" % name)
        _require(peer["name"] not in seen, "peer %s is listed twice" % peer["name"])
        _require(isinstance(peer.get("port"), int) and 1 <= peer["port"] <= 65535, "peer %s: port %r" % (peer["name"], peer.get("port")))
        _require(peer.get("ips") or peer.get("address"), "peer %s has neither ips nor address" % peer["name"])
        seen.add(peer["name"])

    # The NodePort is fixed in both modes: the cross-cloud security rules open exactly it, and an
    # internal load balancer forwards to it.
    service = {"type": service_type, "nodePort": CLUSTERMESH_NODEPORT}
    if service_type == "LoadBalancer":
        cloud = cluster.get("cloud")
        _require(cloud in INTERNAL_LB_ANNOTATIONS, "cluster %s: cloud %r has no internal load balancer annotations; use aws or azure"
                 % (name, cloud))
        service["annotations"] = dict(INTERNAL_LB_ANNOTATIONS[cloud])
    if annotations:
        service.setdefault("annotations", {}).update({str(k): str(v) for k, v in annotations.items()})

    values = {
        "cluster": {"name": name, "id": cid},
        "clustermesh": {
            "useAPIServer": True,
            "maxConnectedClusters": max_connected_clusters,
            "config": {
                "enabled": bool(peers),
                "domain": CLUSTERMESH_DOMAIN,
                "clusters": [_peer_value(p) for p in peers],
            },
            "apiserver": {
                "kvstoremesh": {"enabled": bool(kvstoremesh)},
                "service": service,
                "tls": {
                    "auto": {"enabled": True, "method": "helm", "certValidityDuration": 1095},
                    "server": {"extraDnsNames": sorted(set(extra_dns_names or []))},
                },
            },
        },
    }
    if ca:
        _require(isinstance(ca, dict) and ca.get("cert") and ca.get("key"), "ca needs cert and key (base64-encoded PEM)")
        values["tls"] = {"ca": {"cert": ca["cert"], "key": ca["key"]}}
    return values


def _peer_value(peer):
    out = {"name": peer["name"], "port": peer["port"]}
    if peer.get("address"):
        out["address"] = peer["address"]
    if peer.get("ips"):
        out["ips"] = list(peer["ips"])
    return out


def clustermesh_peer(service, cluster_name, node_ips=None):
    """A ``clustermesh.config.clusters`` entry for the peer whose clustermesh-apiserver Service is given."""
    _name(cluster_name, "cluster name")
    _require(isinstance(service, dict) and service.get("spec"), "cluster %s: no clustermesh-apiserver Service found" % cluster_name)
    spec = service["spec"]
    ports = spec.get("ports") or []
    _require(ports, "cluster %s: the clustermesh-apiserver Service has no ports" % cluster_name)
    if spec.get("type") == "NodePort":
        ips = [str(ip) for ip in (node_ips or [])]
        _require(ips, "cluster %s: a NodePort service needs the cluster's node addresses" % cluster_name)
        return {"name": cluster_name, "port": int(ports[0].get("nodePort") or CLUSTERMESH_NODEPORT), "ips": ips}
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    _require(ingress, "cluster %s: the clustermesh-apiserver load balancer has no address yet. LoadBalancer services need the "
                      "cloud's controller manager (Kubespray runs with external_cloud_provider: manual, so deploy the AWS or "
                      "Azure cloud controller), or use clustermesh_service_type: NodePort" % cluster_name)
    port = int(ports[0].get("port") or CLUSTERMESH_SERVICE_PORT)
    ips = [i["ip"] for i in ingress if i.get("ip")]
    if ips:
        return {"name": cluster_name, "port": port, "ips": ips}
    hostnames = [i["hostname"] for i in ingress if i.get("hostname")]
    return {"name": cluster_name, "port": port, "address": hostnames[0]}


GLOBAL_SERVICE_ANNOTATIONS = {"service.cilium.io/global": "true", "service.cilium.io/shared": "true"}


# ---------------------------------------------------------------------------------------------
# Rook-Ceph


def rook_manifests(cluster, pool="replicapool", namespace=ROOK_NAMESPACE, ceph_image=ROOK_CEPH_IMAGE, device_filter=None,
                   replicas=3, mirroring_mode="image", snapshot_schedules=None, peer_secrets=None, rbd_mirror_count=1,
                   storage_class="rook-ceph-block", default_storage_class=False, mon_count=3, toolbox=True):
    """The Rook objects of one cluster, in apply order.

    ``cluster`` is ``{name, cloud}``; ``peer_secrets`` the names of Secrets holding the other
    cluster's bootstrap token (empty until the tokens are exchanged).
    """
    cluster = dict(cluster or {})
    name = _name(cluster.get("name"), "cluster name")
    cloud = cluster.get("cloud")
    _require(device_filter or cloud in DEVICE_FILTERS, "cluster %s: no device filter for cloud %r; give device_filter" % (name, cloud))
    _name(pool, "pool name")
    _name(namespace, "namespace")
    _require(mirroring_mode in MIRROR_MODES, "mirroring mode %r is not one of %s" % (mirroring_mode, ", ".join(MIRROR_MODES)))
    _require(isinstance(replicas, int) and 1 <= replicas <= 10, "replicas %r is not 1-10" % (replicas,))
    _require(isinstance(mon_count, int) and mon_count % 2 == 1 and 1 <= mon_count <= 9, "mon_count %r is not an odd number 1-9" % (mon_count,))
    peer_secrets = list(peer_secrets or [])
    _require(len(peer_secrets) <= 1, "Rook supports a single RBD mirroring peer per pool, not %d" % len(peer_secrets))
    schedules = snapshot_schedules if snapshot_schedules is not None else [{"interval": "1h"}]
    for item in schedules:
        _require(isinstance(item, dict) and _INTERVAL.match(str(item.get("interval", ""))),
                 "snapshot schedule %r needs an interval such as 1h, 30m or 1d" % (item,))
    labels = {"app.kubernetes.io/part-of": "hybrid-cluster", "hybrid.cluster/cluster": name}

    ceph_cluster = {
        "apiVersion": "ceph.rook.io/v1",
        "kind": "CephCluster",
        "metadata": {"name": namespace, "namespace": namespace, "labels": labels},
        "spec": {
            "cephVersion": {"image": ceph_image, "allowUnsupported": False},
            "dataDirHostPath": "/var/lib/rook",
            "mon": {"count": mon_count, "allowMultiplePerNode": False},
            "mgr": {"count": 2, "allowMultiplePerNode": False},
            "dashboard": {"enabled": True, "ssl": True},
            "network": {"connections": {"requireMsgr2": False}},
            "crashCollector": {"disable": False},
            "storage": {
                "useAllNodes": True,
                "useAllDevices": False,
                "deviceFilter": device_filter or DEVICE_FILTERS[cloud],
            },
            "disruptionManagement": {"managePodBudgets": True},
        },
    }
    mirroring = {"enabled": True, "mode": mirroring_mode}
    if mirroring_mode != "init-only" and schedules:
        mirroring["snapshotSchedules"] = [dict(s) for s in schedules]
    if peer_secrets:
        mirroring["peers"] = {"secretNames": peer_secrets}
    block_pool = {
        "apiVersion": "ceph.rook.io/v1",
        "kind": "CephBlockPool",
        "metadata": {"name": pool, "namespace": namespace, "labels": labels},
        "spec": {
            "failureDomain": "host",
            "replicated": {"size": replicas, "requireSafeReplicaSize": replicas > 1},
            "mirroring": mirroring,
            "statusCheck": {"mirror": {"disabled": False, "interval": "60s"}},
        },
    }
    rbd_mirror = {
        "apiVersion": "ceph.rook.io/v1",
        "kind": "CephRBDMirror",
        "metadata": {"name": "rbd-mirror", "namespace": namespace, "labels": labels},
        "spec": {"count": rbd_mirror_count},
    }
    storage = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": storage_class, "labels": labels},
        "provisioner": RBD_PROVISIONER,
        "parameters": {
            "clusterID": namespace,
            "pool": pool,
            "imageFormat": "2",
            "imageFeatures": "layering,exclusive-lock,object-map,fast-diff",
            "csi.storage.k8s.io/provisioner-secret-name": "rook-csi-rbd-provisioner",
            "csi.storage.k8s.io/provisioner-secret-namespace": namespace,
            "csi.storage.k8s.io/controller-expand-secret-name": "rook-csi-rbd-provisioner",
            "csi.storage.k8s.io/controller-expand-secret-namespace": namespace,
            "csi.storage.k8s.io/node-stage-secret-name": "rook-csi-rbd-node",
            "csi.storage.k8s.io/node-stage-secret-namespace": namespace,
            "csi.storage.k8s.io/fstype": "ext4",
        },
        "reclaimPolicy": "Delete",
        "allowVolumeExpansion": True,
        "volumeBindingMode": "Immediate",
    }
    if default_storage_class:
        storage["metadata"]["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
    objects = [ceph_cluster, block_pool, rbd_mirror, storage]
    if toolbox:
        objects.append(rook_toolbox(namespace, ceph_image, labels))
    return objects


_TOOLBOX_SCRIPT = """set -eu
# Ceph client configuration from what the operator publishes: the mon endpoints ConfigMap
# (a=10.0.0.1:6789,b=...) and the admin credentials Secret.
mkdir -p /etc/ceph
hosts=$(printf '%s' "$MON_ENDPOINTS" | tr ',' '\\n' | sed 's/^[^=]*=//' | paste -sd, -)
printf '[global]\\nmon_host = %s\\n\\n[client.admin]\\nkeyring = /etc/ceph/keyring\\n' "$hosts" > /etc/ceph/ceph.conf
printf '[%s]\\nkey = %s\\n' "$CEPH_USER" "$CEPH_SECRET" > /etc/ceph/keyring
exec sleep infinity
"""


def rook_toolbox(namespace=ROOK_NAMESPACE, ceph_image=ROOK_CEPH_IMAGE, labels=None):
    """A small Deployment with the ceph and rbd tools, used by the failover tasks."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "rook-ceph-tools", "namespace": namespace, "labels": dict(labels or {}, app="rook-ceph-tools")},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "rook-ceph-tools"}},
            "template": {
                "metadata": {"labels": {"app": "rook-ceph-tools"}},
                "spec": {
                    "containers": [{
                        "name": "ceph-tools",
                        "image": ceph_image,
                        "command": ["/bin/bash", "-c", _TOOLBOX_SCRIPT],
                        "env": [
                            {"name": "MON_ENDPOINTS", "valueFrom": {"configMapKeyRef": {"name": "rook-ceph-mon-endpoints", "key": "data"}}},
                            {"name": "CEPH_USER", "valueFrom": {"secretKeyRef": {"name": "rook-ceph-mon", "key": "ceph-username"}}},
                            {"name": "CEPH_SECRET", "valueFrom": {"secretKeyRef": {"name": "rook-ceph-mon", "key": "ceph-secret"}}},
                        ],
                        "securityContext": {"runAsNonRoot": False, "allowPrivilegeEscalation": False},
                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                    }],
                    "terminationGracePeriodSeconds": 5,
                },
            },
        },
    }


def rook_peer_secret(bootstrap_secret, name, namespace=ROOK_NAMESPACE, source_cluster=None):
    """A Secret for the local cluster holding the remote pool's bootstrap token (data stays base64)."""
    _name(name, "secret name")
    _require(isinstance(bootstrap_secret, dict), "no bootstrap peer Secret was found on the remote cluster")
    data = bootstrap_secret.get("data") or {}
    _require(data.get("token") and data.get("pool"), "the bootstrap peer Secret %r lacks token or pool"
             % ((bootstrap_secret.get("metadata") or {}).get("name"),))
    labels = {"app.kubernetes.io/part-of": "hybrid-cluster"}
    if source_cluster:
        labels["hybrid.cluster/peer"] = _name(source_cluster, "source cluster")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "type": "Opaque",
        "data": {"token": data["token"], "pool": data["pool"]},
    }


# ---------------------------------------------------------------------------------------------
# kubeconfig


def kubeconfig_server(kubeconfig, context=None):
    """The API server URL, host and port of a kubeconfig's current (or given) context."""
    _require(isinstance(kubeconfig, dict), "the kubeconfig is not a YAML mapping")
    name = context or kubeconfig.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in kubeconfig.get("contexts") or []}
    clusters = {c.get("name"): c.get("cluster") or {} for c in kubeconfig.get("clusters") or []}
    if name:
        _require(name in contexts, "the kubeconfig has no context %r" % name)
        cluster = clusters.get(contexts[name].get("cluster"))
    else:
        _require(len(clusters) == 1, "the kubeconfig has no current-context; name one")
        cluster = list(clusters.values())[0]
    _require(cluster and cluster.get("server"), "the kubeconfig's cluster has no server")
    server = str(cluster["server"])
    match = re.match(r"^(https?)://(\[[^\]]+\]|[^:/]+)(?::(\d+))?", server)
    _require(match, "server %r is not an http(s) URL" % server)
    host = match.group(2).strip("[]")
    port = int(match.group(3) or (443 if match.group(1) == "https" else 80))
    return {"server": server, "host": host, "port": port}
