"""Make a tiny image and push it into the local registry through its HTTP API.

Usage: push_test_image.py REGISTRY_URL REPOSITORY TAG [REPOSITORY ...]

The image has one layer holding /hybrid-test.txt. It is built here (no image is pulled from
anywhere) and uploaded under every repository name given, so that the same content can be
served at the registry's root and under a path prefix as ECR and ACR caches do.
"""

import gzip
import hashlib
import io
import json
import platform
import sys
import tarfile
import urllib.parse
import urllib.request

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def layer():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        data = b"hybrid-test image served by the local mirror\n"
        info = tarfile.TarInfo("hybrid-test.txt")
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    uncompressed = raw.getvalue()
    compressed = gzip.compress(uncompressed, mtime=0)
    return uncompressed, compressed


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, resp.headers


def push_blob(base, repository, data):
    blob = digest(data)
    try:
        status, _headers = request("HEAD", "%s/v2/%s/blobs/%s" % (base, repository, blob))
        if status == 200:
            return blob
    except urllib.error.HTTPError:
        pass
    _status, headers = request("POST", "%s/v2/%s/blobs/uploads/" % (base, repository))
    location = urllib.parse.urljoin(base, headers["Location"])
    separator = "&" if "?" in location else "?"
    request("PUT", location + separator + "digest=" + urllib.parse.quote(blob), data=data,
            headers={"Content-Type": "application/octet-stream"})
    return blob


def main():
    base, repositories, tag = sys.argv[1].rstrip("/"), sys.argv[2:-1], sys.argv[-1]
    uncompressed, compressed = layer()
    config = json.dumps({
        "architecture": ARCHITECTURES.get(platform.machine(), platform.machine()),
        "os": "linux",
        "config": {"Cmd": ["/hybrid-test.txt"]},
        "rootfs": {"type": "layers", "diff_ids": [digest(uncompressed)]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {"mediaType": CONFIG_TYPE, "digest": digest(config), "size": len(config)},
        "layers": [{"mediaType": LAYER_TYPE, "digest": digest(compressed), "size": len(compressed)}],
    }, sort_keys=True).encode()
    for repository in repositories:
        push_blob(base, repository, compressed)
        push_blob(base, repository, config)
        request("PUT", "%s/v2/%s/manifests/%s" % (base, repository, tag), data=manifest,
                headers={"Content-Type": MANIFEST_TYPE})
        print("%s/%s:%s %s" % (base, repository, tag, digest(manifest)))


if __name__ == "__main__":
    main()
