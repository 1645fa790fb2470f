"""The AWS emulator's site-to-site VPN (tests/emulators/moto_vpn.py) through the collection's client layer.

Everything goes through ``AWSClient`` (the ``ec2`` fixture), the fault proxy and moto server over
HTTP, the way the ``peering`` module talks to AWS: plain EC2 API calls, no amazon.aws code.
Addresses in these tests are data only; nothing but 127.0.0.1 is ever contacted.
"""

import ipaddress
import re
import time
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import AWSError, owner_filters, owner_tags, tag_specifications
from tests.emulators.moto_vpn import OUTSIDE_POOL, PRE_SHARED_KEY, RESERVED_INSIDE_CIDRS, VpnControl

NAME = "vpntest"
FAST_WAIT = {"timeout": 10, "delay": 0.05}
PSK = ("tunnel1.psk_Abcdefgh", "tunnel2.psk_Abcdefgh", "tunnel3.psk_Abcdefgh", "tunnel4.psk_Abcdefgh")
INSIDE = ("169.254.21.0/30", "169.254.22.0/30", "169.254.21.4/30", "169.254.22.4/30")
AZURE_VNET = "172.20.0.0/16"


@pytest.fixture
def vpn_control(moto_emulator, aws_env):  # pylint: disable=unused-argument
    """The emulator's VPN settings (reset with every test by ``aws_env``)."""
    return VpnControl(moto_emulator.url)


@pytest.fixture
def network(ec2):
    """A VPC with an attached virtual private gateway (ASN 64512), a route table and two customer gateways."""
    tags = owner_tags(NAME)
    vpc = ec2.create_vpc(CidrBlock="10.64.0.0/16", TagSpecifications=tag_specifications("vpc", tags))["Vpc"]["VpcId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    vgw = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=64512,
                                 TagSpecifications=tag_specifications("vpn-gateway", tags))["VpnGateway"]["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpcId=vpc, VpnGatewayId=vgw)
    customer_gateways = [
        ec2.create_customer_gateway(Type="ipsec.1", BgpAsn=65515, IpAddress=address,
                                    TagSpecifications=tag_specifications("customer-gateway", dict(tags, Name="azure-%d" % index))
                                    )["CustomerGateway"]["CustomerGatewayId"]
        for index, address in enumerate(("203.0.113.10", "203.0.113.11"))
    ]
    return {"vpc": vpc, "route_table": table, "vgw": vgw, "cgws": customer_gateways}


def tunnel_spec(inside, psk, **extra):
    return dict({"TunnelInsideCidr": inside, "PreSharedKey": psk}, **extra)


def create_vpn(ec2, cgw, vgw=None, tgw=None, tunnels=(), static=False, name=NAME, **options):
    params = {"Type": "ipsec.1", "CustomerGatewayId": cgw,
              "Options": dict(options, StaticRoutesOnly=static, TunnelOptions=list(tunnels)),
              "TagSpecifications": tag_specifications("vpn-connection", owner_tags(name))}
    if vgw:
        params["VpnGatewayId"] = vgw
    if tgw:
        params["TransitGatewayId"] = tgw
    return ec2.create_vpn_connection(**params)["VpnConnection"]


def describe(ec2, vpn_id):
    return ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]


def error_of(call, *args, **kwargs):
    with pytest.raises(AWSError) as caught:
        call(*args, **kwargs)
    return caught.value


# ---------------------------------------------------------------------------------------------
# Tunnel options, telemetry and the customer gateway configuration


def test_tunnel_options_are_honoured_and_described(ec2, network):
    phase = {"Phase1LifetimeSeconds": 28800, "Phase2LifetimeSeconds": 3600, "DPDTimeoutSeconds": 45,
             "DPDTimeoutAction": "restart", "IKEVersions": [{"Value": "ikev2"}],
             "Phase1EncryptionAlgorithms": [{"Value": "AES256"}, {"Value": "AES256-GCM-16"}],
             "Phase1IntegrityAlgorithms": [{"Value": "SHA2-256"}], "Phase1DHGroupNumbers": [{"Value": 14}],
             "Phase2EncryptionAlgorithms": [{"Value": "AES256"}], "Phase2IntegrityAlgorithms": [{"Value": "SHA2-256"}],
             "Phase2DHGroupNumbers": [{"Value": 14}], "StartupAction": "start"}
    vpn = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"], static=True,
                     tunnels=[tunnel_spec(INSIDE[0], PSK[0], **phase), tunnel_spec(INSIDE[1], PSK[1])],
                     LocalIpv4NetworkCidr=AZURE_VNET, RemoteIpv4NetworkCidr="10.64.0.0/16")
    described = describe(ec2, vpn["VpnConnectionId"])
    options = described["Options"]
    assert options["StaticRoutesOnly"] is True
    assert (options["LocalIpv4NetworkCidr"], options["RemoteIpv4NetworkCidr"]) == (AZURE_VNET, "10.64.0.0/16")
    assert options["TunnelInsideIpVersion"] == "ipv4" and options["EnableAcceleration"] is False
    first, second = options["TunnelOptions"]
    assert (first["TunnelInsideCidr"], first["PreSharedKey"]) == (INSIDE[0], PSK[0])
    assert (second["TunnelInsideCidr"], second["PreSharedKey"]) == (INSIDE[1], PSK[1])
    assert first["DpdTimeoutSeconds"] == 45 and first["DpdTimeoutAction"] == "restart"
    assert first["IkeVersions"] == [{"Value": "ikev2"}]
    assert first["Phase1EncryptionAlgorithms"] == [{"Value": "AES256"}, {"Value": "AES256-GCM-16"}]
    assert first["Phase1DHGroupNumbers"] == [{"Value": 14}] and first["Phase2DHGroupNumbers"] == [{"Value": 14}]
    assert (first["Phase1LifetimeSeconds"], first["Phase2LifetimeSeconds"], first["StartupAction"]) == (28800, 3600, "start")
    assert "DpdTimeoutSeconds" not in second  # only what was given is described
    assert (described["State"], described["Category"], described["VpnGatewayId"]) == ("available", "VPN", network["vgw"])
    assert described["Routes"] == []
    # the create response already carries the same description
    assert vpn["Options"]["TunnelOptions"][0]["PreSharedKey"] == PSK[0]


def test_each_tunnel_has_its_own_outside_address_and_telemetry(ec2, network):
    connections = [
        create_vpn(ec2, cgw, vgw=network["vgw"],
                   tunnels=[tunnel_spec(INSIDE[2 * i], PSK[2 * i]), tunnel_spec(INSIDE[2 * i + 1], PSK[2 * i + 1])])
        for i, cgw in enumerate(network["cgws"])
    ]
    outside = []
    for connection in connections:
        described = describe(ec2, connection["VpnConnectionId"])
        telemetry = described["VgwTelemetry"]
        assert len(telemetry) == 2
        for entry in telemetry:
            assert entry["Status"] == "UP"
            assert isinstance(entry["LastStatusChange"], datetime)
            assert isinstance(entry["AcceptedRouteCount"], int)
            assert ipaddress.ip_address(entry["OutsideIpAddress"]) in OUTSIDE_POOL
        assert [t["OutsideIpAddress"] for t in described["Options"]["TunnelOptions"]] == [e["OutsideIpAddress"] for e in telemetry]
        outside.extend(entry["OutsideIpAddress"] for entry in telemetry)
    assert len(set(outside)) == 4  # 2 connections x 2 tunnels, all distinct


def test_missing_inside_cidrs_and_keys_are_generated_as_aws_does(ec2, network):
    first = describe(ec2, create_vpn(ec2, network["cgws"][0], vgw=network["vgw"])["VpnConnectionId"])
    second = describe(ec2, create_vpn(ec2, network["cgws"][1], vgw=network["vgw"],
                                      tunnels=[{"PreSharedKey": PSK[0]}])["VpnConnectionId"])
    tunnels = first["Options"]["TunnelOptions"] + second["Options"]["TunnelOptions"]
    cidrs = [ipaddress.ip_network(t["TunnelInsideCidr"]) for t in tunnels]
    assert len(set(cidrs)) == 4
    for cidr in cidrs:
        assert cidr.prefixlen == 30 and cidr.subnet_of(ipaddress.ip_network("169.254.0.0/16")) and cidr not in RESERVED_INSIDE_CIDRS
    keys = [t["PreSharedKey"] for t in tunnels]
    assert keys[2] == PSK[0] and len(set(keys)) == 4
    assert all(PRE_SHARED_KEY.match(key) for key in keys)


def test_customer_gateway_configuration_reflects_the_tunnels(ec2, network):
    vpn = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"],
                     tunnels=[tunnel_spec(INSIDE[0], PSK[0]), tunnel_spec(INSIDE[1], PSK[1])])
    described = describe(ec2, vpn["VpnConnectionId"])
    root = ET.fromstring(described["CustomerGatewayConfiguration"].encode())
    assert root.get("id") == vpn["VpnConnectionId"]
    assert root.findtext("customer_gateway_id") == network["cgws"][0]
    assert root.findtext("vpn_gateway_id") == network["vgw"]
    tunnels = root.findall("ipsec_tunnel")
    assert len(tunnels) == 2
    outside = [t["OutsideIpAddress"] for t in described["Options"]["TunnelOptions"]]
    for tunnel, inside, psk, aws_address in zip(tunnels, INSIDE, PSK, outside):
        network_ = ipaddress.ip_network(inside)
        assert tunnel.findtext("customer_gateway/tunnel_outside_address/ip_address") == "203.0.113.10"
        assert tunnel.findtext("vpn_gateway/tunnel_outside_address/ip_address") == aws_address
        assert tunnel.findtext("vpn_gateway/tunnel_inside_address/ip_address") == str(network_.network_address + 1)
        assert tunnel.findtext("customer_gateway/tunnel_inside_address/ip_address") == str(network_.network_address + 2)
        assert tunnel.findtext("vpn_gateway/tunnel_inside_address/network_cidr") == "30"
        assert tunnel.findtext("ike/pre_shared_key") == psk
        assert tunnel.findtext("vpn_gateway/bgp/asn") == "64512"
        assert tunnel.findtext("customer_gateway/bgp/asn") == "65515"

    static = create_vpn(ec2, network["cgws"][1], vgw=network["vgw"], static=True)
    root = ET.fromstring(static["CustomerGatewayConfiguration"].encode())
    assert root.find("ipsec_tunnel/vpn_gateway/bgp") is None  # no BGP section for static routing


# ---------------------------------------------------------------------------------------------
# Static routes and route propagation


def test_static_routes_are_recorded_and_described(ec2, network):
    vpn_id = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"], static=True)["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock=AZURE_VNET)
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="172.21.0.0/16")
    described = describe(ec2, vpn_id)
    assert sorted((r["DestinationCidrBlock"], r["Source"], r["State"]) for r in described["Routes"]) == [
        (AZURE_VNET, "Static", "available"), ("172.21.0.0/16", "Static", "available")]
    assert [t["AcceptedRouteCount"] for t in described["VgwTelemetry"]] == [2, 2]
    found = ec2.describe_vpn_connections(Filters=[{"Name": "route.destination-cidr-block", "Values": [AZURE_VNET]}])
    assert [c["VpnConnectionId"] for c in found["VpnConnections"]] == [vpn_id]

    ec2.delete_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock="172.21.0.0/16")
    assert [r["DestinationCidrBlock"] for r in describe(ec2, vpn_id)["Routes"]] == [AZURE_VNET]
    err = error_of(ec2.delete_vpn_connection_route, VpnConnectionId=vpn_id, DestinationCidrBlock="172.21.0.0/16")
    assert err.code == "InvalidRoute.NotFound"
    err = error_of(ec2.create_vpn_connection_route, VpnConnectionId=vpn_id, DestinationCidrBlock="172.300.0.0/16")
    assert err.code == "InvalidParameterValue"
    err = error_of(ec2.create_vpn_connection_route, VpnConnectionId="vpn-0123456789abcdef0", DestinationCidrBlock=AZURE_VNET)
    assert err.code == "InvalidVpnConnectionID.NotFound"


def test_vgw_route_propagation_is_recorded_and_propagates_routes(ec2, network):
    vpn_id = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"], static=True)["VpnConnectionId"]
    ec2.create_vpn_connection_route(VpnConnectionId=vpn_id, DestinationCidrBlock=AZURE_VNET)
    table_id = network["route_table"]

    ec2.enable_vgw_route_propagation(GatewayId=network["vgw"], RouteTableId=table_id)
    ec2.enable_vgw_route_propagation(GatewayId=network["vgw"], RouteTableId=table_id)  # idempotent
    table = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
    assert table["PropagatingVgws"] == [{"GatewayId": network["vgw"]}]
    propagated = [r for r in table["Routes"] if r.get("Origin") == "EnableVgwRoutePropagation"]
    assert propagated == [{"DestinationCidrBlock": AZURE_VNET, "GatewayId": network["vgw"],
                           "Origin": "EnableVgwRoutePropagation", "State": "active"}]

    ec2.disable_vgw_route_propagation(GatewayId=network["vgw"], RouteTableId=table_id)
    table = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
    assert not table.get("PropagatingVgws")
    assert [r for r in table["Routes"] if r.get("Origin") == "EnableVgwRoutePropagation"] == []

    lonely = ec2.create_vpn_gateway(Type="ipsec.1")["VpnGateway"]["VpnGatewayId"]
    err = error_of(ec2.enable_vgw_route_propagation, GatewayId=lonely, RouteTableId=network["route_table"])
    assert err.code == "Gateway.NotAttached"
    err = error_of(ec2.enable_vgw_route_propagation, GatewayId="vgw-0123456789abcdef0", RouteTableId=network["route_table"])
    assert err.code == "InvalidVpnGatewayID.NotFound"
    err = error_of(ec2.enable_vgw_route_propagation, GatewayId=network["vgw"], RouteTableId="rtb-0123456789abcdef0")
    assert err.code == "InvalidRouteTableID.NotFound"


def test_bgp_routes_of_the_emulated_peer(ec2, network, vpn_control):
    vpn_id = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"])["VpnConnectionId"]
    vpn_control.connection(vpn_id, bgp_routes=[AZURE_VNET], tunnel_status=["UP", "DOWN"])
    ec2.enable_vgw_route_propagation(GatewayId=network["vgw"], RouteTableId=network["route_table"])
    telemetry = describe(ec2, vpn_id)["VgwTelemetry"]
    assert [(t["Status"], t["AcceptedRouteCount"]) for t in telemetry] == [("UP", 1), ("DOWN", 0)]
    routes = ec2.describe_route_tables(RouteTableIds=[network["route_table"]])["RouteTables"][0]["Routes"]
    assert {"DestinationCidrBlock": AZURE_VNET, "GatewayId": network["vgw"], "Origin": "EnableVgwRoutePropagation",
            "State": "active"} in routes

    vpn_control.connection(vpn_id, tunnel_status="DOWN")  # both tunnels down: nothing is learned
    routes = ec2.describe_route_tables(RouteTableIds=[network["route_table"]])["RouteTables"][0]["Routes"]
    assert not [r for r in routes if r.get("Origin") == "EnableVgwRoutePropagation"]


# ---------------------------------------------------------------------------------------------
# Validation (what AWS rejects)


INVALID_TUNNEL_OPTIONS = [
    ([tunnel_spec("169.254.1.0/30", PSK[0])], "InvalidParameterValue", "reserved"),
    ([tunnel_spec("169.254.169.252/30", PSK[0])], "InvalidParameterValue", "reserved"),
    ([tunnel_spec("169.254.21.0/29", PSK[0])], "InvalidParameterValue", "/30"),
    ([tunnel_spec("10.0.0.0/30", PSK[0])], "InvalidParameterValue", "169.254.0.0/16"),
    ([tunnel_spec("169.254.21.1/30", PSK[0])], "InvalidParameterValue", "TunnelInsideCidr"),
    ([tunnel_spec(INSIDE[0], PSK[0]), tunnel_spec(INSIDE[0], PSK[1])], "InvalidParameterValue", "already used"),
    ([tunnel_spec(INSIDE[0], "short1")], "InvalidParameterValue", "PreSharedKey"),
    ([tunnel_spec(INSIDE[0], "0starts_with_zero")], "InvalidParameterValue", "PreSharedKey"),
    ([tunnel_spec(INSIDE[0], "has-a-dash-inside")], "InvalidParameterValue", "PreSharedKey"),
    ([tunnel_spec(INSIDE[0], "k" * 65)], "InvalidParameterValue", "PreSharedKey"),
    ([tunnel_spec(INSIDE[0], PSK[0], Phase1LifetimeSeconds=600)], "InvalidParameterValue", "Phase1LifetimeSeconds"),
    ([tunnel_spec(INSIDE[0], PSK[0], Phase1LifetimeSeconds=3600, Phase2LifetimeSeconds=3600)],
     "InvalidParameterValue", "Phase2LifetimeSeconds"),
    ([tunnel_spec(INSIDE[0], PSK[0], DPDTimeoutSeconds=10)], "InvalidParameterValue", "DPDTimeoutSeconds"),
    ([tunnel_spec(INSIDE[0], PSK[0], Phase1EncryptionAlgorithms=[{"Value": "DES"}])], "InvalidParameterValue", "DES"),
    ([tunnel_spec(INSIDE[0], PSK[0], Phase1DHGroupNumbers=[{"Value": 5}])], "InvalidParameterValue", "Phase1DHGroupNumbers"),
    ([tunnel_spec(INSIDE[0], PSK[0], IKEVersions=[{"Value": "ikev3"}])], "InvalidParameterValue", "IKEVersions"),
    ([tunnel_spec(INSIDE[0], PSK[0], TunnelInsideIpv6Cidr="fd00::/126")], "InvalidParameterCombination", "ipv6"),
    ([tunnel_spec(INSIDE[0], PSK[0]), tunnel_spec(INSIDE[1], PSK[1]), tunnel_spec(INSIDE[2], PSK[2])],
     "InvalidParameterValue", "two"),
]


def test_invalid_tunnel_options_are_rejected(ec2, network, fault_proxy):
    for tunnels, code, fragment in INVALID_TUNNEL_OPTIONS:
        fault_proxy.clear_log()
        err = error_of(create_vpn, ec2, network["cgws"][0], vgw=network["vgw"], tunnels=tunnels)
        assert (err.code, fragment in err.message) == (code, True), (tunnels, err.message)
        assert err.status == 400 and len(fault_proxy.log(action="CreateVpnConnection")) == 1  # final, not retried
    assert ec2.describe_vpn_connections()["VpnConnections"] == []

    err = error_of(create_vpn, ec2, network["cgws"][0], vgw="vgw-0123456789abcdef0")
    assert err.code == "InvalidVpnGatewayID.NotFound"
    err = error_of(create_vpn, ec2, "cgw-0123456789abcdef0", vgw=network["vgw"])
    assert err.code == "InvalidCustomerGatewayID.NotFound"
    err = error_of(create_vpn, ec2, network["cgws"][0], vgw=network["vgw"], TunnelInsideIpVersion="ipv6")
    assert err.code == "InvalidParameterCombination"
    err = error_of(ec2.create_vpn_connection, Type="ipsec.2", CustomerGatewayId=network["cgws"][0], VpnGatewayId=network["vgw"])
    assert err.code == "InvalidParameterValue"


def test_inside_cidrs_are_unique_per_virtual_private_gateway(ec2, network):
    first = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"], tunnels=[tunnel_spec(INSIDE[0], PSK[0])])
    err = error_of(create_vpn, ec2, network["cgws"][1], vgw=network["vgw"], tunnels=[tunnel_spec(INSIDE[0], PSK[1])])
    assert err.code == "InvalidParameterValue" and first["VpnConnectionId"] in err.message

    other_vgw = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=64513)["VpnGateway"]["VpnGatewayId"]
    create_vpn(ec2, network["cgws"][1], vgw=other_vgw, tunnels=[tunnel_spec(INSIDE[0], PSK[1])])  # another gateway: fine

    ec2.delete_vpn_connection(VpnConnectionId=first["VpnConnectionId"])
    create_vpn(ec2, network["cgws"][1], vgw=network["vgw"], tunnels=[tunnel_spec(INSIDE[0], PSK[1])])  # freed by the delete


# ---------------------------------------------------------------------------------------------
# Modify, provisioning delay, delete


def test_modify_tunnel_options_changes_the_described_state(ec2, network):
    vpn = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"],
                     tunnels=[tunnel_spec(INSIDE[0], PSK[0]), tunnel_spec(INSIDE[1], PSK[1])])
    vpn_id = vpn["VpnConnectionId"]
    second_ip = vpn["Options"]["TunnelOptions"][1]["OutsideIpAddress"]
    modified = ec2.modify_vpn_tunnel_options(VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=second_ip,
                                             TunnelOptions={"PreSharedKey": PSK[3], "TunnelInsideCidr": INSIDE[3],
                                                            "DPDTimeoutSeconds": 60})["VpnConnection"]
    assert modified["Options"]["TunnelOptions"][1]["PreSharedKey"] == PSK[3]
    tunnels = describe(ec2, vpn_id)["Options"]["TunnelOptions"]
    assert [(t["TunnelInsideCidr"], t["PreSharedKey"]) for t in tunnels] == [(INSIDE[0], PSK[0]), (INSIDE[3], PSK[3])]
    assert tunnels[1]["DpdTimeoutSeconds"] == 60 and tunnels[1]["OutsideIpAddress"] == second_ip
    config = ET.fromstring(describe(ec2, vpn_id)["CustomerGatewayConfiguration"].encode())
    assert [t.findtext("ike/pre_shared_key") for t in config.findall("ipsec_tunnel")] == [PSK[0], PSK[3]]

    err = error_of(ec2.modify_vpn_tunnel_options, VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=second_ip,
                   TunnelOptions={"TunnelInsideCidr": INSIDE[0]})
    assert err.code == "InvalidParameterValue"  # the other tunnel's CIDR
    err = error_of(ec2.modify_vpn_tunnel_options, VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress="192.0.2.1",
                   TunnelOptions={"PreSharedKey": PSK[2]})
    assert err.code == "InvalidParameterValue"
    err = error_of(ec2.modify_vpn_tunnel_options, VpnConnectionId=vpn_id, VpnTunnelOutsideIpAddress=second_ip,
                   TunnelOptions={"PreSharedKey": "0bad"})
    assert err.code == "InvalidParameterValue"

    ec2.modify_vpn_connection_options(VpnConnectionId=vpn_id, LocalIpv4NetworkCidr=AZURE_VNET)
    options = describe(ec2, vpn_id)["Options"]
    assert (options["LocalIpv4NetworkCidr"], options["RemoteIpv4NetworkCidr"]) == (AZURE_VNET, "0.0.0.0/0")
    assert len(options["TunnelOptions"]) == 2


def test_provisioning_delay_makes_connections_pending(ec2, network, vpn_control, fault_proxy):
    assert vpn_control.configure(provisioning_delay=0.4)["provisioning_delay"] == 0.4
    vpn = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"])
    assert vpn["State"] == "pending"
    described = describe(ec2, vpn["VpnConnectionId"])
    assert described["State"] == "pending" and {t["Status"] for t in described["VgwTelemetry"]} == {"DOWN"}
    err = error_of(ec2.modify_vpn_tunnel_options, VpnConnectionId=vpn["VpnConnectionId"],
                   VpnTunnelOutsideIpAddress=described["VgwTelemetry"][0]["OutsideIpAddress"],
                   TunnelOptions={"PreSharedKey": PSK[2]})
    assert err.code == "IncorrectState"
    started = time.monotonic()
    ec2.wait("vpn_connection_available", VpnConnectionIds=[vpn["VpnConnectionId"]], **FAST_WAIT)
    assert time.monotonic() - started >= 0.2
    assert len(fault_proxy.log(action="DescribeVpnConnections")) > 2  # the waiter really polled
    assert {t["Status"] for t in describe(ec2, vpn["VpnConnectionId"])["VgwTelemetry"]} == {"UP"}


def test_a_pending_connection_can_be_finished_from_the_test(ec2, network, vpn_control, moto_emulator):
    vpn_control.configure(provisioning_delay=600)
    vpn_id = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"])["VpnConnectionId"]
    assert vpn_control.state()["connections"][vpn_id]["state"] == "pending"
    vpn_control.connection(vpn_id, available_in=0)
    assert describe(ec2, vpn_id)["State"] == "available"

    vpn_control.configure(tunnel_status="DOWN", bgp_routes=[AZURE_VNET])
    moto_emulator.reset()
    assert vpn_control.state()["settings"] == {"provisioning_delay": 0.0, "deletion_delay": 0.0,
                                               "tunnel_status": "UP", "bgp_routes": []}
    with pytest.raises(RuntimeError):
        vpn_control.configure(tunnel_status="SIDEWAYS")


def test_deleted_connections_stay_visible_and_can_be_filtered_out(ec2, network, vpn_control):
    vpn_id = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"], static=True)["VpnConnectionId"]
    ec2.delete_vpn_connection(VpnConnectionId=vpn_id)
    ec2.wait("vpn_connection_deleted", VpnConnectionIds=[vpn_id], **FAST_WAIT)
    assert describe(ec2, vpn_id)["State"] == "deleted"
    assert [c["VpnConnectionId"] for c in ec2.describe_vpn_connections()["VpnConnections"]] == [vpn_id]
    live = ec2.collect("describe_vpn_connections", "VpnConnections", Filters=owner_filters(NAME, {"state": ["pending", "available"]}))
    assert live == []
    err = error_of(ec2.create_vpn_connection_route, VpnConnectionId=vpn_id, DestinationCidrBlock=AZURE_VNET)
    assert err.code == "InvalidVpnConnectionID.NotFound"

    vpn_control.configure(deletion_delay=0.3)
    slow = create_vpn(ec2, network["cgws"][1], vgw=network["vgw"])["VpnConnectionId"]
    ec2.delete_vpn_connection(VpnConnectionId=slow)
    assert describe(ec2, slow)["State"] == "deleting"
    ec2.wait("vpn_connection_deleted", VpnConnectionIds=[slow], **FAST_WAIT)


# ---------------------------------------------------------------------------------------------
# Filters


def test_describe_vpn_connections_filters(ec2, network):
    static = create_vpn(ec2, network["cgws"][0], vgw=network["vgw"], static=True)["VpnConnectionId"]
    dynamic = create_vpn(ec2, network["cgws"][1], vgw=network["vgw"], name="other")["VpnConnectionId"]

    def ids(**filters):
        found = ec2.describe_vpn_connections(Filters=[{"Name": k, "Values": v} for k, v in filters.items()])
        return sorted(c["VpnConnectionId"] for c in found["VpnConnections"])

    assert ids(**{"tag:hybrid-cluster": [NAME]}) == [static]
    assert ids(**{"tag:hybrid-cluster": ["*"]}) == sorted([static, dynamic])
    assert ids(**{"tag-key": ["hybrid-cluster"]}) == sorted([static, dynamic])
    assert ids(**{"customer-gateway-id": [network["cgws"][1]]}) == [dynamic]
    assert ids(**{"vpn-gateway-id": [network["vgw"]], "state": ["available"]}) == sorted([static, dynamic])
    assert ids(**{"transit-gateway-id": ["tgw-0123456789abcdef0"]}) == []
    assert ids(**{"option.static-routes-only": ["true"]}) == [static]
    assert ids(**{"bgp-asn": ["65515"]}) == sorted([static, dynamic])
    assert ids(**{"vpn-connection-id": [dynamic]}) == [dynamic]
    err = error_of(ec2.describe_vpn_connections, Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert err.code == "InvalidParameterValue"


def test_describe_customer_gateways_filters(ec2, network):
    ec2.delete_customer_gateway(CustomerGatewayId=network["cgws"][1])

    def ids(**filters):
        found = ec2.describe_customer_gateways(Filters=[{"Name": k, "Values": v} for k, v in filters.items()])
        return sorted(g["CustomerGatewayId"] for g in found["CustomerGateways"])

    assert ids(state=["available"]) == [network["cgws"][0]]
    assert ids(state=["deleted"]) == [network["cgws"][1]]
    assert ids(**{"tag:Name": ["azure-0"]}) == [network["cgws"][0]]
    assert ids(**{"tag:Name": ["nothing"]}) == []
    assert ids(**{"bgp-asn": ["65515"], "ip-address": ["203.0.113.11"]}) == [network["cgws"][1]]
    assert ids(**{"tag:hybrid-cluster": [NAME], "state": ["pending", "available"]}) == [network["cgws"][0]]
    err = error_of(ec2.describe_customer_gateways, CustomerGatewayIds=["cgw-0123456789abcdef0"])
    assert err.code == "InvalidCustomerGatewayID.NotFound"


# ---------------------------------------------------------------------------------------------
# Transit gateway


def test_vpn_attachment_on_a_transit_gateway(ec2, network, vpn_control):
    tgw = ec2.create_transit_gateway(Description="hybrid", Options={
        "AmazonSideAsn": 64513, "DefaultRouteTableAssociation": "enable", "DefaultRouteTablePropagation": "enable",
        "VpnEcmpSupport": "enable"})["TransitGateway"]
    tgw_id = tgw["TransitGatewayId"]
    default_table = tgw["Options"]["AssociationDefaultRouteTableId"]
    vpn_control.configure(provisioning_delay=0.3)
    vpn = create_vpn(ec2, network["cgws"][0], tgw=tgw_id, tunnels=[tunnel_spec(INSIDE[0], PSK[0])])
    vpn_id = vpn["VpnConnectionId"]
    # on a transit gateway the same inside CIDR may be used again
    other = create_vpn(ec2, network["cgws"][1], tgw=tgw_id, tunnels=[tunnel_spec(INSIDE[0], PSK[1])])

    def attachment():
        found = ec2.describe_transit_gateway_attachments(Filters=[{"Name": "resource-id", "Values": [vpn_id]}])
        return found["TransitGatewayAttachments"][0]

    assert attachment()["State"] == "pending" and attachment()["ResourceType"] == "vpn"
    ec2.wait("vpn_connection_available", VpnConnectionIds=[vpn_id], **FAST_WAIT)
    current = attachment()
    assert current["State"] == "available"
    assert current["Association"] == {"State": "associated", "TransitGatewayRouteTableId": default_table}
    attachment_id = current["TransitGatewayAttachmentId"]

    associations = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=default_table)["Associations"]
    assert attachment_id in [a["TransitGatewayAttachmentId"] for a in associations]
    propagations = ec2.get_transit_gateway_route_table_propagations(
        TransitGatewayRouteTableId=default_table)["TransitGatewayRouteTablePropagations"]
    assert {"TransitGatewayAttachmentId": attachment_id, "ResourceId": vpn_id, "ResourceType": "vpn", "State": "enabled"} in [
        {k: p[k] for k in ("TransitGatewayAttachmentId", "ResourceId", "ResourceType", "State")} for p in propagations]

    custom = ec2.create_transit_gateway_route_table(TransitGatewayId=tgw_id)["TransitGatewayRouteTable"]["TransitGatewayRouteTableId"]
    err = error_of(ec2.associate_transit_gateway_route_table, TransitGatewayRouteTableId=custom, TransitGatewayAttachmentId=attachment_id)
    assert err.code == "Resource.AlreadyAssociated"
    ec2.disassociate_transit_gateway_route_table(TransitGatewayRouteTableId=default_table, TransitGatewayAttachmentId=attachment_id)
    ec2.associate_transit_gateway_route_table(TransitGatewayRouteTableId=custom, TransitGatewayAttachmentId=attachment_id)
    assert attachment()["Association"]["TransitGatewayRouteTableId"] == custom

    described = describe(ec2, vpn_id)
    assert described["TransitGatewayId"] == tgw_id and "VpnGatewayId" not in described
    config = ET.fromstring(described["CustomerGatewayConfiguration"].encode())
    assert config.findtext("transit_gateway_id") == tgw_id
    assert config.findtext("ipsec_tunnel/vpn_gateway/bgp/asn") == "64513"
    err = error_of(ec2.create_vpn_connection_route, VpnConnectionId=vpn_id, DestinationCidrBlock=AZURE_VNET)
    assert err.code == "InvalidParameterValue"  # static routes of a TGW VPN live in the TGW route tables
    assert ec2.describe_vpn_connections(Filters=[{"Name": "transit-gateway-id", "Values": [tgw_id]}])["VpnConnections"][1][
        "VpnConnectionId"] == other["VpnConnectionId"]

    ec2.delete_vpn_connection(VpnConnectionId=vpn_id)
    assert attachment()["State"] == "deleted"
    associations = ec2.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=custom)["Associations"]
    assert attachment_id not in [a["TransitGatewayAttachmentId"] for a in associations]
    propagations = ec2.get_transit_gateway_route_table_propagations(
        TransitGatewayRouteTableId=default_table)["TransitGatewayRouteTablePropagations"]
    assert attachment_id not in [p["TransitGatewayAttachmentId"] for p in propagations]


def test_transit_gateway_without_default_association(ec2, network):
    tgw_id = ec2.create_transit_gateway(Options={"DefaultRouteTableAssociation": "disable",
                                                 "DefaultRouteTablePropagation": "disable"})["TransitGateway"]["TransitGatewayId"]
    vpn_id = create_vpn(ec2, network["cgws"][0], tgw=tgw_id)["VpnConnectionId"]
    found = ec2.describe_transit_gateway_attachments(Filters=[{"Name": "resource-id", "Values": [vpn_id]}])
    assert not found["TransitGatewayAttachments"][0].get("Association")


# ---------------------------------------------------------------------------------------------
# What moto alone does (the reason for tests/emulators/moto_vpn.py)


def test_plain_moto_lacks_the_vpn_behaviour():
    from moto.ec2.models import vpn_connections  # pylint: disable=import-outside-toplevel
    from moto.ec2.responses import route_tables as route_responses  # pylint: disable=import-outside-toplevel
    from moto.ec2.responses import vpn_connections as vpn_responses  # pylint: disable=import-outside-toplevel

    # moto's own response mixins (never patched) have no handler for these actions: HTTP 500
    for action in ("create_vpn_connection_route", "delete_vpn_connection_route", "modify_vpn_tunnel_options"):
        assert action not in vpn_responses.VPNConnections.__dict__
    for action in ("enable_vgw_route_propagation", "disable_vgw_route_propagation"):
        assert action not in route_responses.RouteTables.__dict__
    # its create handler never reads Options, its model keeps none, and every tunnel gets one fixed key
    assert '"Options"' not in vpn_responses.VPNConnections.create_vpn_connection.__code__.co_consts
    template = vpn_connections._CUSTOMER_GATEWAY_CONFIGURATION  # pylint: disable=protected-access
    keys = re.findall(r"<pre_shared_key>([^<]+)</pre_shared_key>", template)
    assert len(keys) == 2 and len(set(keys)) == 1
