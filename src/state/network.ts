/**
 * The network fabric's records (VPCs, subnets, route tables, internet gateways, security groups,
 * network ACLs, DHCP options, customer-managed prefix lists), shared by every service that places things in a VPC: EC2 writes
 * them; ELB and RDS read them to validate subnets, zones and security groups. Rows hold the EC2
 * API's own attribute names; fields AWS computes at read time (route state, grouped
 * IpPermissions) are derived by EC2's handlers, not stored.
 */
import type { Db, Migration } from './db.js';
import { attributeIndexSql, ResourceTable, resourceTableSql } from './resources.js';
import type { Scope } from './scope.js';
import { PublicIps } from './public-ips.js';
import { SubnetAddresses } from './subnet-addresses.js';

export interface VpcRecord {
  VpcId: string;
  OwnerId: string;
  CidrBlock: string;
  State: string;
  DhcpOptionsId: string;
  InstanceTenancy: string;
  IsDefault: boolean;
  CidrBlockAssociationSet: { AssociationId: string; CidrBlock: string; CidrBlockState: { State: string } }[];
  Ipv6CidrBlockAssociationSet: never[];
  EnableDnsSupport: boolean;
  EnableDnsHostnames: boolean;
  EnableNetworkAddressUsageMetrics?: boolean;
}

export interface SubnetRecord {
  SubnetId: string;
  SubnetArn: string;
  VpcId: string;
  OwnerId: string;
  CidrBlock: string;
  AvailabilityZone: string;
  AvailabilityZoneId: string;
  AvailableIpAddressCount: number;
  State: string;
  DefaultForAz: boolean;
  MapPublicIpOnLaunch: boolean;
  MapCustomerOwnedIpOnLaunch: boolean;
  AssignIpv6AddressOnCreation: boolean;
  Ipv6CidrBlockAssociationSet: never[];
  EnableDns64: boolean;
  Ipv6Native: boolean;
  PrivateDnsNameOptionsOnLaunch: { HostnameType: string; EnableResourceNameDnsARecord: boolean; EnableResourceNameDnsAAAARecord: boolean };
}

export interface RouteRecord {
  /** Exactly one of DestinationCidrBlock (IPv4) and DestinationPrefixListId is set. */
  DestinationCidrBlock?: string;
  DestinationPrefixListId?: string;
  GatewayId?: string;
  InstanceId?: string;
  NetworkInterfaceId?: string;
  Origin: string;
}

export interface RouteTableAssociationRecord {
  Main: boolean;
  RouteTableAssociationId: string;
  RouteTableId: string;
  SubnetId?: string;
  AssociationState: { State: string };
}

export interface RouteTableRecord {
  RouteTableId: string;
  VpcId: string;
  OwnerId: string;
  Routes: RouteRecord[];
  Associations: RouteTableAssociationRecord[];
  PropagatingVgws: never[];
}

export interface InternetGatewayRecord {
  InternetGatewayId: string;
  OwnerId: string;
  Attachments: { VpcId: string; State: string }[];
}

/** One rule of a security group, as DescribeSecurityGroupRules shows it (one source per rule). */
export interface SecurityGroupRuleRecord {
  SecurityGroupRuleId: string;
  IsEgress: boolean;
  /** Lower-case name (`tcp`, `udp`, `icmp`, `icmpv6`), a number for other protocols, or `-1`. */
  IpProtocol: string;
  FromPort: number;
  ToPort: number;
  CidrIpv4?: string;
  CidrIpv6?: string;
  PrefixListId?: string;
  ReferencedGroupId?: string;
  Description?: string;
}

export interface SecurityGroupRecord {
  GroupId: string;
  GroupName: string;
  Description: string;
  VpcId: string;
  OwnerId: string;
  Rules: SecurityGroupRuleRecord[];
}

export interface NetworkAclEntryRecord {
  RuleNumber: number;
  Egress: boolean;
  Protocol: string;
  RuleAction: string;
  CidrBlock?: string;
  Ipv6CidrBlock?: string;
  PortRange?: { From: number; To: number };
  IcmpTypeCode?: { Type: number; Code: number };
}

export interface NetworkAclRecord {
  NetworkAclId: string;
  VpcId: string;
  OwnerId: string;
  IsDefault: boolean;
  Entries: NetworkAclEntryRecord[];
  Associations: { NetworkAclAssociationId: string; NetworkAclId: string; SubnetId: string }[];
}

export interface DhcpOptionsRecord {
  DhcpOptionsId: string;
  OwnerId: string;
  DhcpConfigurations: { Key: string; Values: { Value: string }[] }[];
}

export interface NetworkInterfaceRecord {
  NetworkInterfaceId: string;
  SubnetId: string;
  VpcId: string;
  AvailabilityZone: string;
  OwnerId: string;
  Description: string;
  InterfaceType: string;
  MacAddress: string;
  /** The primary address first. */
  PrivateIpAddresses: { PrivateIpAddress: string; Primary: boolean }[];
  GroupIds: string[];
  SourceDestCheck: boolean;
  RequesterManaged: boolean;
  /** `available`, or `in-use` while attached to an instance. */
  Status: string;
  Attachment?: NetworkInterfaceAttachmentRecord;
  /**
   * A requester-managed interface's internal group (`kumo-…`, never a security group users see):
   * its members reach each other whatever their security groups (vpc-policy.ts).
   */
  InternalGroup?: string;
}

export interface NetworkInterfaceAttachmentRecord {
  AttachmentId: string;
  InstanceId: string;
  InstanceOwnerId: string;
  DeviceIndex: number;
  NetworkCardIndex: number;
  Status: string;
  AttachTime: string;
  DeleteOnTermination: boolean;
}

export interface AddressRecord {
  AllocationId: string;
  PublicIp: string;
  Domain: string;
  PublicIpv4Pool: string;
  NetworkBorderGroup: string;
  AssociationId?: string;
  /** Set once instances exist and an address is associated with one. */
  InstanceId?: string;
  NetworkInterfaceId?: string;
  NetworkInterfaceOwnerId?: string;
  PrivateIpAddress?: string;
}

/** One CIDR of a managed prefix list. */
export interface PrefixListEntryRecord {
  Cidr: string;
  Description?: string;
}

/** A customer-managed prefix list (AWS-managed ones are computed per region, never stored). */
export interface PrefixListRecord {
  PrefixListId: string;
  PrefixListName: string;
  PrefixListArn: string;
  AddressFamily: 'IPv4' | 'IPv6';
  MaxEntries: number;
  State: string;
  Version: number;
  OwnerId: string;
  /** Entries of every version so far, oldest first (GetManagedPrefixListEntries' TargetVersion). */
  Versions: { Version: number; Entries: PrefixListEntryRecord[] }[];
  ClientToken?: string;
}

export const networkMigrations: Migration[] = [
  {
    version: 1,
    up: `${resourceTableSql('ec2_vpcs')}\n${resourceTableSql('ec2_subnets')}`,
  },
  {
    version: 2,
    up: [
      resourceTableSql('ec2_route_tables'),
      resourceTableSql('ec2_internet_gateways'),
      resourceTableSql('ec2_security_groups'),
      resourceTableSql('ec2_network_acls'),
      resourceTableSql('ec2_dhcp_options'),
      resourceTableSql('ec2_network_interfaces'),
      resourceTableSql('ec2_addresses'),
      // Public IPv4 addresses handed out, across all accounts and regions (they are unique).
      'CREATE TABLE ec2_public_ips (address TEXT PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, owner TEXT NOT NULL);',
      // Account+regions whose defaults (DHCP options set, default VPC) exist: made once, lazily.
      `CREATE TABLE ec2_region_defaults (account TEXT NOT NULL, region TEXT NOT NULL, dhcp_options_id TEXT NOT NULL,
        PRIMARY KEY (account, region));`,
      // Private IPv4 addresses in use per subnet (the five AWS reserves are implicit).
      `CREATE TABLE ec2_subnet_addresses (account TEXT NOT NULL, region TEXT NOT NULL, subnet_id TEXT NOT NULL,
        address TEXT NOT NULL, owner TEXT NOT NULL, PRIMARY KEY (account, region, subnet_id, address));`,
    ].join('\n'),
  },
  {
    version: 3,
    up: resourceTableSql('ec2_prefix_lists'),
  },
  {
    // What lives in a VPC is looked up by it (siblings of a new subnet, a Describe* filtered on
    // vpc-id): an index each, so that costs the same with 1,000 of them as with one.
    version: 4,
    up: ['ec2_subnets', 'ec2_route_tables', 'ec2_security_groups', 'ec2_network_acls', 'ec2_network_interfaces']
      .map((t) => attributeIndexSql(t, 'VpcId'))
      .join('\n'),
  },
];

export class NetworkStore {
  readonly vpcs: ResourceTable<VpcRecord>;
  readonly subnets: ResourceTable<SubnetRecord>;
  readonly routeTables: ResourceTable<RouteTableRecord>;
  readonly internetGateways: ResourceTable<InternetGatewayRecord>;
  readonly securityGroups: ResourceTable<SecurityGroupRecord>;
  readonly networkAcls: ResourceTable<NetworkAclRecord>;
  readonly dhcpOptions: ResourceTable<DhcpOptionsRecord>;
  readonly networkInterfaces: ResourceTable<NetworkInterfaceRecord>;
  readonly elasticIps: ResourceTable<AddressRecord>;
  readonly prefixLists: ResourceTable<PrefixListRecord>;
  readonly publicIps: PublicIps;
  readonly addresses: SubnetAddresses;
  private readonly stmts;

  /** `publicIpPool`: where Elastic IPs come from (a CIDR inside 127.0.0.0/8). */
  constructor(db: Db, publicIpPool?: string) {
    this.vpcs = new ResourceTable<VpcRecord>(db, 'ec2_vpcs');
    this.subnets = new ResourceTable<SubnetRecord>(db, 'ec2_subnets');
    this.routeTables = new ResourceTable<RouteTableRecord>(db, 'ec2_route_tables');
    this.internetGateways = new ResourceTable<InternetGatewayRecord>(db, 'ec2_internet_gateways');
    this.securityGroups = new ResourceTable<SecurityGroupRecord>(db, 'ec2_security_groups');
    this.networkAcls = new ResourceTable<NetworkAclRecord>(db, 'ec2_network_acls');
    this.dhcpOptions = new ResourceTable<DhcpOptionsRecord>(db, 'ec2_dhcp_options');
    this.networkInterfaces = new ResourceTable<NetworkInterfaceRecord>(db, 'ec2_network_interfaces');
    this.elasticIps = new ResourceTable<AddressRecord>(db, 'ec2_addresses');
    this.prefixLists = new ResourceTable<PrefixListRecord>(db, 'ec2_prefix_lists');
    this.publicIps = new PublicIps(db, publicIpPool);
    this.addresses = new SubnetAddresses(db);
    this.stmts = {
      defaults: db.prepare('SELECT dhcp_options_id AS id FROM ec2_region_defaults WHERE account = ? AND region = ?'),
      markDefaults: db.prepare('INSERT INTO ec2_region_defaults (account, region, dhcp_options_id) VALUES (?, ?, ?)'),
    };
  }

  /** The region's default DHCP options set, once the region's defaults have been made. */
  regionDefaultDhcpOptions(scope: Scope): string | undefined {
    return (this.stmts.defaults.get(scope.account, scope.region) as { id: string } | undefined)?.id;
  }

  markRegionDefaults(scope: Scope, dhcpOptionsId: string): void {
    this.stmts.markDefaults.run(scope.account, scope.region, dhcpOptionsId);
  }
}
