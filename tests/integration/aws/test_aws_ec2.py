"""EC2 resources through the collection's client layer against moto server (real HTTP, unmodified boto3).

Every call goes through ``AWSClient`` (retries, pagination, waiters) and the fault proxy, so the
same flows run once on a clean line and once with 20 % of the requests throttled.
"""

from ansible_collections.hybrid.cluster.plugins.module_utils.aws import (
    OWNER_TAG_KEY,
    is_owned,
    owner_filters,
    owner_tags,
    tag_specifications,
    tags_from_aws,
)

NAME = "itest"
AMI = "ami-12c6146b"  # moto does not validate image ids by default
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
LIVE_VPN_STATES = ["pending", "available"]
FAST_WAIT = {"timeout": 30, "delay": 0.05}


def create_platform(ec2, name=NAME):
    """Create one of every network resource the collection manages; returns their ids."""
    tags = owner_tags(name, {"Name": name})
    ids = {}

    vpc = ec2.create_vpc(CidrBlock="10.64.0.0/16", TagSpecifications=tag_specifications("vpc", tags))["Vpc"]
    ids["vpc"] = vpc["VpcId"]
    ec2.wait("vpc_available", VpcIds=[ids["vpc"]], **FAST_WAIT)

    ids["subnets"] = []
    for index, zone in enumerate(ZONES):
        subnet = ec2.create_subnet(VpcId=ids["vpc"], CidrBlock="10.64.%d.0/24" % index, AvailabilityZone=zone,
                                   TagSpecifications=tag_specifications("subnet", tags))["Subnet"]
        ids["subnets"].append(subnet["SubnetId"])
    ec2.wait("subnet_available", SubnetIds=ids["subnets"], **FAST_WAIT)

    table = ec2.create_route_table(VpcId=ids["vpc"], TagSpecifications=tag_specifications("route-table", tags))
    ids["route_table"] = table["RouteTable"]["RouteTableId"]
    ids["associations"] = [
        ec2.associate_route_table(RouteTableId=ids["route_table"], SubnetId=subnet)["AssociationId"]
        for subnet in ids["subnets"]
    ]

    group = ec2.create_security_group(GroupName="%s-nodes" % name, Description="cluster nodes", VpcId=ids["vpc"],
                                      TagSpecifications=tag_specifications("security-group", tags))
    ids["security_group"] = group["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=ids["security_group"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 6443, "ToPort": 6443,
         "IpRanges": [{"CidrIp": "172.20.0.0/16", "Description": "azure api"}]},
        {"IpProtocol": "udp", "FromPort": 8472, "ToPort": 8472,
         "UserIdGroupPairs": [{"GroupId": ids["security_group"], "Description": "vxlan"}]},
    ])

    vgw = ec2.create_vpn_gateway(Type="ipsec.1", AmazonSideAsn=64512,
                                 TagSpecifications=tag_specifications("vpn-gateway", tags))["VpnGateway"]
    ids["vpn_gateway"] = vgw["VpnGatewayId"]
    ec2.attach_vpn_gateway(VpcId=ids["vpc"], VpnGatewayId=ids["vpn_gateway"])
    ec2.poll(lambda: ec2.describe_vpn_gateways(VpnGatewayIds=[ids["vpn_gateway"]])["VpnGateways"][0],
             lambda gw: any(a["State"] == "attached" for a in gw.get("VpcAttachments", [])),
             what="VPN gateway attachment", **FAST_WAIT)

    cgw = ec2.create_customer_gateway(Type="ipsec.1", BgpAsn=65515, IpAddress="203.0.113.10",
                                      TagSpecifications=tag_specifications("customer-gateway", tags))
    ids["customer_gateway"] = cgw["CustomerGateway"]["CustomerGatewayId"]
    ec2.wait("customer_gateway_available", CustomerGatewayIds=[ids["customer_gateway"]], **FAST_WAIT)

    vpn = ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=ids["customer_gateway"],
                                    VpnGatewayId=ids["vpn_gateway"], Options={"StaticRoutesOnly": True},
                                    TagSpecifications=tag_specifications("vpn-connection", tags))
    ids["vpn_connection"] = vpn["VpnConnection"]["VpnConnectionId"]
    ec2.wait("vpn_connection_available", VpnConnectionIds=[ids["vpn_connection"]], **FAST_WAIT)
    ec2.create_route(RouteTableId=ids["route_table"], DestinationCidrBlock="172.20.0.0/16",
                     GatewayId=ids["vpn_gateway"])

    tgw = ec2.create_transit_gateway(Description="%s transit" % name, Options={"AmazonSideAsn": 64513},
                                     TagSpecifications=tag_specifications("transit-gateway", tags))
    ids["transit_gateway"] = tgw["TransitGateway"]["TransitGatewayId"]
    ec2.poll(lambda: ec2.describe_transit_gateways(TransitGatewayIds=[ids["transit_gateway"]])["TransitGateways"][0],
             lambda gw: gw["State"] == "available", what="transit gateway", **FAST_WAIT)
    attachment = ec2.create_transit_gateway_vpc_attachment(
        TransitGatewayId=ids["transit_gateway"], VpcId=ids["vpc"], SubnetIds=ids["subnets"][:2],
        TagSpecifications=tag_specifications("transit-gateway-attachment", tags))
    ids["tgw_attachment"] = attachment["TransitGatewayVpcAttachment"]["TransitGatewayAttachmentId"]
    ec2.poll(lambda: ec2.describe_transit_gateway_vpc_attachments(
        TransitGatewayAttachmentIds=[ids["tgw_attachment"]])["TransitGatewayVpcAttachments"][0],
        lambda att: att["State"] == "available", what="transit gateway attachment", **FAST_WAIT)

    reservation = ec2.run_instances(ImageId=AMI, MinCount=3, MaxCount=3, InstanceType="t3.medium",
                                    SubnetId=ids["subnets"][0], SecurityGroupIds=[ids["security_group"]],
                                    TagSpecifications=tag_specifications("instance", tags))
    ids["instances"] = sorted(i["InstanceId"] for i in reservation["Instances"])
    ec2.wait("instance_running", InstanceIds=ids["instances"], **FAST_WAIT)
    return ids


def read_platform(ec2, name=NAME):
    """Everything owned by ``name`` that is not deleted, found by the ownership tag."""
    owned = owner_filters(name)
    live_vpn = owner_filters(name, {"state": LIVE_VPN_STATES})
    reservations = ec2.paginate_all("describe_instances",
                                    Filters=owner_filters(name, {"instance-state-name": ["pending", "running"]}))
    return {
        "vpcs": [v["VpcId"] for v in ec2.paginate_all("describe_vpcs", Filters=owned)["Vpcs"]],
        "subnets": sorted(s["SubnetId"] for s in ec2.collect("describe_subnets", "Subnets", Filters=owned)),
        "route_tables": [t["RouteTableId"] for t in ec2.collect("describe_route_tables", "RouteTables", Filters=owned)],
        "security_groups": [g["GroupId"] for g in ec2.collect("describe_security_groups", "SecurityGroups", Filters=owned)],
        "vpn_gateways": [g["VpnGatewayId"] for g in ec2.collect("describe_vpn_gateways", "VpnGateways", Filters=live_vpn)],
        # moto ignores tag: and state filters of DescribeCustomerGateways: check them here as well.
        "customer_gateways": [g["CustomerGatewayId"]
                              for g in ec2.collect("describe_customer_gateways", "CustomerGateways", Filters=live_vpn)
                              if g["State"] in LIVE_VPN_STATES and is_owned(g.get("Tags"), name)],
        "vpn_connections": [c["VpnConnectionId"]
                            for c in ec2.collect("describe_vpn_connections", "VpnConnections", Filters=live_vpn)],
        "transit_gateways": [g["TransitGatewayId"]
                             for g in ec2.collect("describe_transit_gateways", "TransitGateways",
                                                  Filters=owner_filters(name, {"state": ["pending", "available"]}))],
        "tgw_attachments": [a["TransitGatewayAttachmentId"]
                            for a in ec2.collect("describe_transit_gateway_vpc_attachments", "TransitGatewayVpcAttachments",
                                                 Filters=owner_filters(name, {"state": ["pending", "available"]}))],
        "instances": sorted(i["InstanceId"] for r in reservations["Reservations"] for i in r["Instances"]),
    }


def delete_platform(ec2, ids):
    """Remove what ``create_platform`` made, in dependency order."""
    ec2.terminate_instances(InstanceIds=ids["instances"])
    ec2.wait("instance_terminated", InstanceIds=ids["instances"], **FAST_WAIT)
    ec2.delete_transit_gateway_vpc_attachment(TransitGatewayAttachmentId=ids["tgw_attachment"])
    ec2.delete_transit_gateway(TransitGatewayId=ids["transit_gateway"])
    ec2.delete_route(RouteTableId=ids["route_table"], DestinationCidrBlock="172.20.0.0/16")
    ec2.delete_vpn_connection(VpnConnectionId=ids["vpn_connection"])
    ec2.wait("vpn_connection_deleted", VpnConnectionIds=[ids["vpn_connection"]], **FAST_WAIT)
    ec2.delete_customer_gateway(CustomerGatewayId=ids["customer_gateway"])
    ec2.detach_vpn_gateway(VpcId=ids["vpc"], VpnGatewayId=ids["vpn_gateway"])
    ec2.delete_vpn_gateway(VpnGatewayId=ids["vpn_gateway"])
    ec2.delete_security_group(GroupId=ids["security_group"])
    for association in ids["associations"]:
        ec2.disassociate_route_table(AssociationId=association)
    ec2.delete_route_table(RouteTableId=ids["route_table"])
    for subnet in ids["subnets"]:
        ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=ids["vpc"])


def expected_inventory(ids):
    return {
        "vpcs": [ids["vpc"]],
        "subnets": sorted(ids["subnets"]),
        "route_tables": [ids["route_table"]],
        "security_groups": [ids["security_group"]],
        "vpn_gateways": [ids["vpn_gateway"]],
        "customer_gateways": [ids["customer_gateway"]],
        "vpn_connections": [ids["vpn_connection"]],
        "transit_gateways": [ids["transit_gateway"]],
        "tgw_attachments": [ids["tgw_attachment"]],
        "instances": ids["instances"],
    }


def test_create_read_delete_every_resource(ec2, fault_proxy):
    ids = create_platform(ec2)
    assert read_platform(ec2) == expected_inventory(ids)

    vpc = ec2.describe_vpcs(VpcIds=[ids["vpc"]])["Vpcs"][0]
    assert tags_from_aws(vpc["Tags"]) == {"Name": NAME, OWNER_TAG_KEY: NAME}
    table = ec2.describe_route_tables(RouteTableIds=[ids["route_table"]])["RouteTables"][0]
    assert {r.get("GatewayId") for r in table["Routes"]} >= {"local", ids["vpn_gateway"]}
    assert sorted(a["SubnetId"] for a in table["Associations"]) == sorted(ids["subnets"])
    rules = ec2.collect("describe_security_group_rules", "SecurityGroupRules",
                        Filters=[{"Name": "group-id", "Values": [ids["security_group"]]}])
    assert {(r.get("FromPort"), r["IsEgress"]) for r in rules} >= {(6443, False), (8472, False)}
    vpn = ec2.describe_vpn_connections(VpnConnectionIds=[ids["vpn_connection"]])["VpnConnections"][0]
    assert (vpn["CustomerGatewayId"], vpn["VpnGatewayId"], vpn["State"]) == (
        ids["customer_gateway"], ids["vpn_gateway"], "available")
    attachment = ec2.describe_transit_gateway_vpc_attachments(
        TransitGatewayAttachmentIds=[ids["tgw_attachment"]])["TransitGatewayVpcAttachments"][0]
    assert attachment["VpcId"] == ids["vpc"] and sorted(attachment["SubnetIds"]) == sorted(ids["subnets"][:2])

    delete_platform(ec2, ids)
    assert not any(read_platform(ec2).values())
    assert not [e for e in fault_proxy.log() if e["fault"] or e["status"] != 200]


def test_instances_are_paginated(ec2, fault_proxy):
    tags = owner_tags(NAME)
    for dummy in range(12):  # one reservation each: EC2 paginates instances by reservation
        ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, TagSpecifications=tag_specifications("instance", tags))
    filters = owner_filters(NAME)
    assert ec2.can_paginate("describe_instances")

    fault_proxy.clear_log()
    pages = list(ec2.paginate("describe_instances", Filters=filters, MaxResults=5))
    assert [len(page["Reservations"]) for page in pages] == [5, 5, 2]
    assert len(fault_proxy.log(action="DescribeInstances")) == 3

    merged = ec2.paginate_all("describe_instances", Filters=filters, MaxResults=5)
    assert len(merged["Reservations"]) == 12 and "NextToken" not in merged
    ids = [i["InstanceId"] for r in merged["Reservations"] for i in r["Instances"]]
    assert len(set(ids)) == 12


def test_operations_without_paginator_return_one_page(ec2):
    assert not ec2.can_paginate("describe_vpn_connections")
    pages = list(ec2.paginate("describe_vpn_connections"))
    assert len(pages) == 1 and pages[0]["VpnConnections"] == []
    assert ec2.collect("describe_customer_gateways", "CustomerGateways") == []


def test_every_flow_survives_20_percent_throttling(ec2, fault_proxy):
    rule = fault_proxy.add_fault("throttle", rate=0.2)
    ids = create_platform(ec2)
    assert read_platform(ec2) == expected_inventory(ids)
    delete_platform(ec2, ids)
    assert not any(read_platform(ec2).values())

    log = fault_proxy.log()
    throttled = [e for e in log if e["fault"] == "throttle"]
    assert throttled, "the seeded 20 % rule should have throttled some requests"
    assert all(e["status"] == 503 for e in throttled)
    assert 0.08 < len(throttled) / len(log) < 0.35
    assert fault_proxy.faults()[0]["fired"] == len(throttled) and rule["id"] == fault_proxy.faults()[0]["id"]
    # Every throttled request was followed by a successful retry of the same action.
    for entry in throttled:
        later = [e for e in log if e["seq"] > entry["seq"] and e["action"] == entry["action"]]
        assert later, "no retry after %r" % (entry,)
        first_success = next(e for e in later if e["fault"] is None)
        assert first_success["status"] == 200
        assert all(e["fault"] == "throttle" for e in later if e["seq"] < first_success["seq"])
    # No request failed for any other reason.
    assert {e["status"] for e in log if not e["fault"]} == {200}
    # Every mutating call was made exactly once: throttled attempts changed nothing.
    mutating = fault_proxy.mutating_calls()
    assert len(mutating) == len({e["seq"] for e in mutating})
    assert sum(1 for e in mutating if e["action"] == "CreateVpc") == 1


def ensure_vpc(ec2, name, cidr):
    """A minimal idempotent 'ensure': describe by ownership tag, create only when missing."""
    found = ec2.collect("describe_vpcs", "Vpcs", Filters=owner_filters(name))
    if found:
        return False, found[0]["VpcId"]
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=tag_specifications("vpc", owner_tags(name)))["Vpc"]
    return True, vpc["VpcId"]


def test_request_log_proves_a_second_run_makes_no_mutating_call(ec2, fault_proxy):
    changed, vpc_id = ensure_vpc(ec2, NAME, "10.80.0.0/16")
    assert changed
    assert [e["action"] for e in fault_proxy.mutating_calls()] == ["CreateVpc"]

    mark = fault_proxy.log()[-1]["seq"]
    changed, again = ensure_vpc(ec2, NAME, "10.80.0.0/16")
    assert (changed, again) == (False, vpc_id)
    assert fault_proxy.mutating_calls(since=mark) == []
    assert [e["action"] for e in fault_proxy.log(since=mark)] == ["DescribeVpcs"]
