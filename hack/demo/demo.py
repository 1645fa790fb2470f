"""The emulated demo: the whole hybrid.cluster job on one machine.

``make demo`` runs ``python hack/demo/demo.py run``; ``make demo-ci`` adds ``--ci`` (a second run
that must change nothing, then teardown, a check that nothing tagged is left, and clean-up);
``make demo-clean`` runs ``clean``. Steps of ``run``:

1. install the built collection tarball (``ansible-galaxy collection install``) and start the
   emulated clouds (moto behind its fault proxy, the Azure Resource Manager emulator) on 127.0.0.1,
   unless they already run;
2. ``ansible-playbook hybrid.cluster.network`` - the address plan, VPC, VNet, VPN, security rules;
3. the machines, made here because the collection does not make machines: two internal Docker
   networks with the plan's VPC and VNet ranges, a "VPN" container routing between them (its route
   to the other cloud is limited to MTU 1400, like the IPsec path, and it serves time), and Debian
   systemd node containers at addresses in the plan's subnets, registered as EC2 instances and
   Azure VMs (through the same APIs) with those addresses and the platform's tags;
4. ``ansible-playbook hybrid.cluster.site`` with the hybrid.cluster.clouds inventory, reaching the
   containers through the Docker API; the report lands in demo-out/index.html.

Every step is idempotent: a second ``make demo`` finds everything in place and the site run
reports no change. Traffic stays on this machine: the emulators listen on 127.0.0.1 and the Docker
networks are internal (no route out).
"""

from __future__ import annotations

import argparse
import functools
import glob
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the emulators' control client (tests/emulators)
OUT = ROOT / "demo-out"
WORK = OUT / "work"
EMULATORS = OUT / "emulators"
ENV_FILE = EMULATORS / "env.sh"
PID_FILE = EMULATORS / "pid"
LOGS = OUT / "logs"
COLLECTIONS = OUT / "collections"
DEFINITION = ROOT / "demo" / "hybrid.yml"
INVENTORY = OUT / "clouds.yml"

PREFIX = "hybrid-demo"
LABEL = "hybrid.cluster.demo=1"
IMAGE = os.environ.get("NODE_IMAGE", "hybrid-node:bookworm")
DOCKER = os.environ.get("DOCKER") or ("/usr/bin/docker" if os.path.exists("/usr/bin/docker") else "docker")
ROLE_TAG = "hybrid-cluster-node-role"
GATEWAY_HOST = 250          # x.x.15.250 in each cloud's first workers subnet
VPN_PATH_MTU = 1400

# systemd as PID 1 without --privileged, as in extensions/molecule/config.yml.
SYSTEMD_RUN = ["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--cap-add", "SYS_TIME", "--tmpfs", "/run",
               "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--cgroupns=host", "-e", "container=docker"]


def log(message):
    print("demo: %s" % message, flush=True)


def fail(message):
    print("demo: FAILED: %s" % message, file=sys.stderr, flush=True)
    sys.exit(1)


def sh(cmd, check=True, capture=True, env=None):
    proc = subprocess.run(cmd, check=False, text=True, env=env,
                          stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None)
    if check and proc.returncode != 0:
        fail("%s: %s" % (" ".join(shlex.quote(c) for c in cmd), (proc.stderr or proc.stdout or "").strip()[-2000:]))
    return proc


def docker(*args, check=True):
    return sh([DOCKER, *args], check=check)


@functools.lru_cache(maxsize=None)
def definition():
    import yaml  # pylint: disable=import-outside-toplevel
    with open(DEFINITION, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


# --------------------------------------------------------------------------- emulators
def emulator_env():
    env = {}
    if ENV_FILE.exists():
        for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
            if line.startswith("export "):
                name, value = (line[len("export "):].split("=", 1) + [""])[:2]
                env[name] = shlex.split(value)[0] if value else ""
    return env


def emulators_running():
    if not PID_FILE.exists():
        return False
    try:
        os.kill(int(PID_FILE.read_text()), 0)
    except (OSError, ValueError):
        return False
    env = emulator_env()
    return bool(env.get("AWS_ENDPOINT_URL") and env.get("HYBRID_AZURE_EMULATOR_URL"))


def start_emulators(python):
    if emulators_running():
        log("emulated clouds already running (%s)" % ENV_FILE)
        return emulator_env()
    EMULATORS.mkdir(parents=True, exist_ok=True)
    if ENV_FILE.exists():
        ENV_FILE.unlink()
    out = open(EMULATORS / "emulators.log", "w", encoding="utf-8")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [python, "-m", "tests.emulators", "up", "--workdir", str(EMULATORS), "--env-file", str(ENV_FILE)],
        cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    PID_FILE.write_text(str(proc.pid))
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            fail("the emulators stopped: see %s" % (EMULATORS / "emulators.log"))
        if "# ready" in (EMULATORS / "emulators.log").read_text(encoding="utf-8"):
            break
        time.sleep(0.5)
    else:
        fail("the emulators did not start in 120 s: see %s" % (EMULATORS / "emulators.log"))
    env = emulator_env()
    if not env.get("HYBRID_AZURE_EMULATOR_URL"):
        fail("the Azure emulator did not start: see %s" % (EMULATORS / "emulators.log"))
    # Fast polling and short, visible provisioning times instead of Azure's 20-45 minutes.
    azure = azure_control(env)
    azure.configure(poll_retry_after=1)
    azure.set_delay("Microsoft.Network/virtualNetworkGateways", 6)
    moto_vpn_settings(env, provisioning_delay=3)
    log("emulated clouds started: AWS %s, Azure %s" % (env["AWS_ENDPOINT_URL"], env["HYBRID_AZURE_EMULATOR_URL"]))
    return env


def azure_control(env):
    """The Azure emulator's control interface (the tests' own client, over HTTPS on 127.0.0.1)."""
    from tests.emulators.azure.emulator import EmulatorClient  # pylint: disable=import-outside-toplevel
    return EmulatorClient(env["HYBRID_AZURE_EMULATOR_URL"], env["AZURE_CA_BUNDLE"])


def moto_vpn_settings(env, **settings):
    """Settings of the moto VPN extension (POST /moto-api/hybrid/vpn on moto itself, 127.0.0.1)."""
    request = urllib.request.Request(env["HYBRID_MOTO_URL"] + "/moto-api/hybrid/vpn", data=json.dumps(settings).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        response.read()


def stop_emulators():
    if PID_FILE.exists():
        try:
            os.killpg(int(PID_FILE.read_text()), signal.SIGTERM)
            log("emulated clouds stopped")
        except (OSError, ValueError):
            pass
        PID_FILE.unlink()


# --------------------------------------------------------------------------- ansible
def ansible_env(env):
    out = dict(os.environ)
    out.update(env)
    out.update({
        "ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (COLLECTIONS, ROOT / ".build" / "collections"),
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "yaml",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
    })
    return out


def install_collection(bindir):
    tarballs = sorted(glob.glob(str(ROOT / ".build" / "dist" / "hybrid-cluster-*.tar.gz")))
    if not tarballs:
        fail("no collection tarball in .build/dist: run make build")
    sh([str(bindir / "ansible-galaxy"), "collection", "install", "--force", "--no-deps", "-p", str(COLLECTIONS), tarballs[-1]])
    log("installed %s into %s" % (os.path.basename(tarballs[-1]), COLLECTIONS))


def playbook(bindir, env, name, *args, label=None):
    """Run ``ansible-playbook hybrid.cluster.<name>``; returns the PLAY RECAP counts per host."""
    LOGS.mkdir(parents=True, exist_ok=True)
    label = label or name
    log_path = LOGS / ("%s.log" % label)
    cmd = [str(bindir / "ansible-playbook"), "hybrid.cluster.%s" % name, "-e", "@%s" % DEFINITION,
           "-e", "hybrid_work_dir=%s" % WORK, "-e", "hybrid_report_dir=%s" % OUT, *args]
    log("$ %s   (log: %s)" % (" ".join(shlex.quote(str(c)) for c in cmd[1:]), log_path.relative_to(ROOT)))
    start = time.time()
    with open(log_path, "w", encoding="utf-8") as handle:
        run_env = ansible_env(env)
        if "-i" in args:
            run_env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "1"  # a cloud that cannot be listed fails the run
        proc = subprocess.Popen(cmd, cwd=OUT, env=run_env, stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                stderr=subprocess.STDOUT, text=True)
        for line in proc.stdout:
            handle.write(line)
            sys.stdout.write(line)
        proc.wait()
    if proc.returncode != 0:
        fail("hybrid.cluster.%s failed (exit %d) after %.0f s; see %s" % (name, proc.returncode, time.time() - start, log_path))
    recap = {}
    text = log_path.read_text(encoding="utf-8")
    for host, counts in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", text.split("PLAY RECAP", 1)[-1], re.M):
        recap[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counts)}
    log("hybrid.cluster.%s done in %.0f s: %s" % (name, time.time() - start,
                                                  ", ".join("%s changed=%d" % (h, c.get("changed", 0)) for h, c in sorted(recap.items()))))
    return recap


# --------------------------------------------------------------------------- machines
def network_state():
    path = WORK / "state" / "network.json"
    if not path.exists():
        fail("%s is missing: the network phase has not run" % path)
    return json.loads(path.read_text(encoding="utf-8"))


def machines(state):
    """The demo's machines: name, cloud, role, address, subnet (from the plan and the network state)."""
    plan = state["plan"]
    out = []
    for cloud in ("aws", "azure"):
        for role, kube_role in (("control_plane", "control_plane"), ("workers", "worker")):
            subnets = [s for s in plan[cloud]["subnets"] if s["role"] == role]
            count = plan[cloud]["nodes"][role]
            for index in range(count):
                subnet = subnets[index % len(subnets)]
                net = ipaddress.ip_network(subnet["cidr"])
                out.append({"name": "%s-%s-%s-%d" % (PREFIX, cloud, "cp" if role == "control_plane" else "worker", index + 1),
                            "cloud": cloud, "role": kube_role, "ip": str(net.network_address + 10 + index // len(subnets)),
                            "subnet": subnet})
    return out


def gateway_ips(plan):
    """The VPN container's address in each cloud: x.x.15.250 of the first workers subnet."""
    out = {}
    for cloud in ("aws", "azure"):
        workers = next(s for s in plan[cloud]["subnets"] if s["role"] == "workers")
        out[cloud] = str(ipaddress.ip_network(workers["cidr"]).broadcast_address - (255 - GATEWAY_HOST))
    return out


def container_exists(name):
    return docker("container", "inspect", name, check=False).returncode == 0


def wait_for_systemd(name):
    for _attempt in range(60):
        state = docker("exec", name, "systemctl", "is-system-running", check=False).stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(1)
    fail("container %s: systemd did not finish booting" % name)


def bridge(cloud):
    return "hd-%s" % cloud


def bridge_rule(cloud):
    # Docker drops traffic on an internal network's bridge whose other end is outside the network's
    # range - exactly the routed traffic between the clouds. This lets it pass on the bridge only
    # (in and out of the same bridge), so nothing gains a way off the machine.
    return ["DOCKER-USER", "-i", bridge(cloud), "-o", bridge(cloud), "-m", "comment", "--comment", PREFIX, "-j", "ACCEPT"]


def ensure_networks(plan):
    for cloud in ("aws", "azure"):
        name = "%s-%s" % (PREFIX, cloud)
        if docker("network", "inspect", name, check=False).returncode != 0:
            docker("network", "create", "--internal", "--label", LABEL, "--subnet", plan[cloud]["network"],
                   "-o", "com.docker.network.bridge.name=%s" % bridge(cloud), name)
            log("docker network %s %s (stands for the %s)" % (name, plan[cloud]["network"], "VPC" if cloud == "aws" else "VNet"))
        if sh(["iptables", "-C", *bridge_rule(cloud)], check=False).returncode != 0:
            sh(["iptables", "-I", *bridge_rule(cloud)])


def ensure_gateway(plan):
    """One container on both networks routing between them, with the VPN's MTU, serving time."""
    name = "%s-vpn" % PREFIX
    ips = gateway_ips(plan)
    if not container_exists(name):
        docker("run", "-d", "--name", name, "--hostname", name, "--label", LABEL, *SYSTEMD_RUN,
               "--sysctl", "net.ipv4.ip_forward=1", "--network", "%s-aws" % PREFIX, "--ip", ips["aws"], IMAGE, "/sbin/init")
        docker("network", "connect", "--ip", ips["azure"], "%s-azure" % PREFIX, name)
        wait_for_systemd(name)
        for cloud, other in (("aws", "azure"), ("azure", "aws")):
            device = docker("exec", name, "sh", "-c", "ip -o -4 addr show to %s | awk '{print $2}'" % ips[other]).stdout.strip()
            docker("exec", name, "ip", "route", "replace", plan[other]["network"], "dev", device, "mtu", "lock", str(VPN_PATH_MTU))
        docker("exec", name, "sh", "-c",
               "printf 'local stratum 8\\nallow all\\ndriftfile /var/lib/chrony/chrony.drift\\n' > /etc/chrony/chrony.conf"
               " && echo 'DAEMON_OPTS=\"-x -F 1\"' > /etc/default/chrony && systemctl restart chrony")
        log("container %s: routes between %s and %s (MTU %d), time server" % (name, ips["aws"], ips["azure"], VPN_PATH_MTU))
    return ips


def ensure_nodes(plan, hosts, ips):
    for host in hosts:
        if container_exists(host["name"]):
            continue
        other = "azure" if host["cloud"] == "aws" else "aws"
        docker("run", "-d", "--name", host["name"], "--hostname", host["name"], "--label", LABEL, *SYSTEMD_RUN,
               "--network", "%s-%s" % (PREFIX, host["cloud"]), "--ip", host["ip"], IMAGE, "/sbin/init")
        wait_for_systemd(host["name"])
        # What the cloud's route table and the VPN do for a real node.
        docker("exec", host["name"], "ip", "route", "replace", plan[other]["network"], "via", ips[host["cloud"]])
        log("container %s at %s (%s %s)" % (host["name"], host["ip"], host["cloud"], host["role"]))


def aws_client(env):
    import boto3  # pylint: disable=import-outside-toplevel
    return boto3.client("ec2", region_name=env["AWS_REGION"], endpoint_url=env["HYBRID_MOTO_URL"],
                        aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])


def azure_call(env, method, path, body=None):
    """An Azure Resource Manager call with a client-secret token, as any client would make it."""
    import requests  # pylint: disable=import-outside-toplevel
    base = env["AZURE_RESOURCE_MANAGER_URL"].rstrip("/")
    token = requests.post("%s/%s/oauth2/v2.0/token" % (env["AZURE_AUTHORITY_HOST"].rstrip("/"), env["AZURE_TENANT"]),
                          data={"grant_type": "client_credentials", "client_id": env["AZURE_CLIENT_ID"],
                                "client_secret": env["AZURE_SECRET"], "scope": base + "/.default"},
                          verify=env["AZURE_CA_BUNDLE"], timeout=30).json()["access_token"]
    api = "2024-05-01" if "/Microsoft.Network/" in path else "2024-07-01"
    response = requests.request(method, "%s%s?api-version=%s" % (base, path, api), json=body, timeout=60,
                                headers={"Authorization": "Bearer " + token}, verify=env["AZURE_CA_BUNDLE"])
    if response.status_code >= 400 and not (method == "GET" and response.status_code == 404):
        fail("Azure %s %s: %s %s" % (method, path, response.status_code, response.text[:500]))
    return response


def register(env, state, hosts, name):
    """Each container as an EC2 instance or Azure VM with its address and the platform's tags."""
    ec2 = aws_client(env)
    vpc = state["network"]["aws"]["vpc_id"]
    subnets = {s["CidrBlock"]: s for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]}
    live = {t["Value"] for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])["Reservations"]
            for i in r["Instances"] for t in i.get("Tags", []) if t["Key"] == "Name"}
    azure = state["network"]["azure"]
    rg = "/subscriptions/%s/resourceGroups/%s" % (env["AZURE_SUBSCRIPTION_ID"], definition()["hybrid_azure"]["resource_group"])
    for host in hosts:
        tags = {"Name": host["name"], "hybrid-cluster": name, ROLE_TAG: host["role"]}
        if host["cloud"] == "aws":
            if host["name"] in live:
                continue
            subnet = subnets[host["subnet"]["cidr"]]
            ec2.run_instances(ImageId="ami-12c6146b", InstanceType="m6i.large" if host["role"] == "control_plane" else "t3.medium",
                              MinCount=1, MaxCount=1, SubnetId=subnet["SubnetId"], PrivateIpAddress=host["ip"],
                              TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}])
            log("EC2 instance %s at %s in %s" % (host["name"], host["ip"], subnet["SubnetId"]))
            continue
        vm_path = "%s/providers/Microsoft.Compute/virtualMachines/%s" % (rg, host["name"])
        if azure_call(env, "GET", vm_path).status_code == 200:
            continue
        subnet_id = "%s/subnets/%s" % (azure["vnet_id"], host["subnet"]["name"])
        nic_path = "%s/providers/Microsoft.Network/networkInterfaces/%s-nic" % (rg, host["name"])
        location = definition()["hybrid_azure"]["location"]
        azure_call(env, "PUT", nic_path, {"location": location, "tags": {"hybrid-cluster": name}, "properties": {"ipConfigurations": [
            {"name": "ipconfig1", "properties": {"subnet": {"id": subnet_id}, "privateIPAllocationMethod": "Static",
                                                 "privateIPAddress": host["ip"], "primary": True}}]}})
        azure_call(env, "PUT", vm_path, {
            "location": location, "tags": {"hybrid-cluster": name, ROLE_TAG: host["role"]}, "zones": ["1"],
            "properties": {"hardwareProfile": {"vmSize": "Standard_D4s_v5" if host["role"] == "control_plane" else "Standard_D2s_v5"},
                           "storageProfile": {"imageReference": {"publisher": "Debian", "offer": "debian-12", "sku": "12", "version": "latest"}},
                           "osProfile": {"adminUsername": "azureuser", "computerName": host["name"]},
                           "networkProfile": {"networkInterfaces": [{"id": nic_path, "properties": {"primary": True}}]}}})
        log("Azure VM %s at %s in %s" % (host["name"], host["ip"], host["subnet"]["name"]))


def deregister(env, hosts):
    """Remove the demo's EC2 instances and Azure VMs (and their NICs) - the user's part of a teardown."""
    ec2 = aws_client(env)
    names = [h["name"] for h in hosts]
    ids = [i["InstanceId"] for r in ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": names}])["Reservations"]
           for i in r["Instances"] if i["State"]["Name"] != "terminated"]
    if ids:
        ec2.terminate_instances(InstanceIds=ids)
    rg = "/subscriptions/%s/resourceGroups/%s" % (env["AZURE_SUBSCRIPTION_ID"], definition()["hybrid_azure"]["resource_group"])
    for host in hosts:
        if host["cloud"] == "azure":
            for path in ("%s/providers/Microsoft.Compute/virtualMachines/%s" % (rg, host["name"]),
                         "%s/providers/Microsoft.Network/networkInterfaces/%s-nic" % (rg, host["name"])):
                azure_call(env, "DELETE", path)
                for _attempt in range(60):
                    if azure_call(env, "GET", path).status_code == 404:
                        break
                    time.sleep(1)
    log("machines removed from both clouds: %s" % ", ".join(names))


def leftovers(env, name):
    """Everything still tagged with the platform's name, in both emulated clouds (each resource type
    is described with a tag filter; deleted VPN objects stay visible as "deleted", as in AWS)."""
    ec2 = aws_client(env)
    owned = [{"Name": "tag:hybrid-cluster", "Values": [name]}]
    found = []
    for kind, call, key, ident in (
            ("vpc", ec2.describe_vpcs, "Vpcs", "VpcId"),
            ("subnet", ec2.describe_subnets, "Subnets", "SubnetId"),
            ("route-table", ec2.describe_route_tables, "RouteTables", "RouteTableId"),
            ("security-group", ec2.describe_security_groups, "SecurityGroups", "GroupId"),
            ("internet-gateway", ec2.describe_internet_gateways, "InternetGateways", "InternetGatewayId"),
            ("vpn-connection", ec2.describe_vpn_connections, "VpnConnections", "VpnConnectionId"),
            ("customer-gateway", ec2.describe_customer_gateways, "CustomerGateways", "CustomerGatewayId"),
            ("vpn-gateway", ec2.describe_vpn_gateways, "VpnGateways", "VpnGatewayId"),
            ("transit-gateway", ec2.describe_transit_gateways, "TransitGateways", "TransitGatewayId")):
        for item in call(Filters=owned)[key]:
            if item.get("State") not in ("deleted", "deleting"):
                found.append("aws %s %s" % (kind, item[ident]))
    for reservation in ec2.describe_instances(Filters=owned)["Reservations"]:
        for item in reservation["Instances"]:
            if item["State"]["Name"] not in ("terminated", "shutting-down"):
                found.append("aws instance %s" % item["InstanceId"])
    for resource in azure_control(env).dump()["resources"]:
        if (resource.get("tags") or {}).get("hybrid-cluster") == name:
            found.append("azure %s" % resource["id"])
    return found


# --------------------------------------------------------------------------- commands
def write_inventory(env):
    INVENTORY.write_text("""\
# The hybrid.cluster.clouds inventory of the demo: the emulated clouds (from the environment the
# demo sets), only the platform's machines, reached through the Docker API instead of SSH.
plugin: hybrid.cluster.clouds
regions: [%s]
platform: demo
compose:
  ansible_connection: "'community.docker.docker'"
  # The container is named after the machine (EC2 Name tag, Azure computer name).
  ansible_docker_host: "ec2_tags.Name if cloud == 'aws' else computer_name"
  ansible_python_interpreter: "'/usr/bin/python3'"
""" % env["AWS_REGION"], encoding="utf-8")


def run(args):
    bindir = Path(args.venv).absolute() / "bin"
    name = definition()["hybrid_name"]
    OUT.mkdir(parents=True, exist_ok=True)
    install_collection(bindir)
    env = start_emulators(str(bindir / "python"))
    write_inventory(env)
    docker("image", "inspect", IMAGE)
    playbook(bindir, env, "network", label="1-network")
    state = network_state()
    plan = state["plan"]
    hosts = machines(state)
    ensure_networks(plan)
    ips = ensure_gateway(plan)
    ensure_nodes(plan, hosts, ips)
    register(env, state, hosts, name)
    first = playbook(bindir, env, "site", "-i", str(INVENTORY), label="2-site")
    log("report: %s" % (OUT / "index.html"))
    if not args.ci:
        changed = sum(c.get("changed", 0) for c in first.values())
        log("every phase unchanged" if changed == 0 else "%d changes made (a second make demo changes nothing)" % changed)
        return
    second = playbook(bindir, env, "site", "-i", str(INVENTORY), label="3-site-again")
    changed = {h: c.get("changed", 0) for h, c in second.items() if c.get("changed", 0)}
    if changed:
        fail("the second site run changed something: %s (see %s)" % (changed, LOGS / "3-site-again.log"))
    log("second site run: every phase unchanged")
    deregister(env, hosts)
    before = leftovers(env, name)
    if not any(item.startswith("aws vpc") for item in before) or not any("virtualNetworks" in item for item in before):
        fail("before teardown the platform should exist in both clouds, found: %s" % before)
    log("before teardown: %d resources tagged hybrid-cluster=%s in both clouds" % (len(before), name))
    playbook(bindir, env, "teardown", "-i", str(INVENTORY), "-e", "hybrid_teardown_confirm=%s" % name, label="4-teardown")
    left = leftovers(env, name)
    if left:
        fail("teardown left tagged resources: %s" % ", ".join(left))
    log("teardown: nothing tagged hybrid-cluster=%s is left in either cloud" % name)
    clean(args)


def clean(_args):
    for kind, listing in (("container", ["ps", "-aq", "--filter", "label=" + LABEL]),
                          ("network", ["network", "ls", "-q", "--filter", "label=" + LABEL])):
        ids = docker(*listing, check=False).stdout.split()
        if ids:
            docker(*(["rm", "-f"] if kind == "container" else ["network", "rm"]), *ids, check=False)
            log("removed %d demo %s(s)" % (len(ids), kind))
    for cloud in ("aws", "azure"):
        while shutil.which("iptables") and sh(["iptables", "-C", *bridge_rule(cloud)], check=False).returncode == 0:
            sh(["iptables", "-D", *bridge_rule(cloud)], check=False)
    stop_emulators()
    if OUT.exists():
        shutil.rmtree(OUT)
        log("removed %s" % OUT)
    left = docker("ps", "-aq", "--filter", "label=" + LABEL, check=False).stdout.split()
    if left:
        fail("containers left behind: %s" % left)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="hack/demo/demo.py", description=__doc__.split("\n\n", 1)[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="the whole demo")
    run_cmd.add_argument("--venv", required=True, help="virtualenv with ansible-core and the requirements")
    run_cmd.add_argument("--ci", action="store_true", help="then a second run that must change nothing, teardown, clean")
    sub.add_parser("clean", help="remove everything the demo made")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    if args.command == "run":
        run(args)
    else:
        clean(args)


if __name__ == "__main__":
    main()
