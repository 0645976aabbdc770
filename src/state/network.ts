/**
 * The network fabric's records (VPCs and subnets), shared by every service that places things in
 * a VPC: EC2 writes them; ELB and RDS read them to validate subnets and zones. Rows hold the
 * EC2 API's own attribute names.
 */
import type { Db, Migration } from './db.js';
import { ResourceTable, resourceTableSql } from './resources.js';

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

export const networkMigrations: Migration[] = [
  {
    version: 1,
    up: `${resourceTableSql('ec2_vpcs')}\n${resourceTableSql('ec2_subnets')}`,
  },
];

export class NetworkStore {
  readonly vpcs: ResourceTable<VpcRecord>;
  readonly subnets: ResourceTable<SubnetRecord>;

  constructor(db: Db) {
    this.vpcs = new ResourceTable<VpcRecord>(db, 'ec2_vpcs');
    this.subnets = new ResourceTable<SubnetRecord>(db, 'ec2_subnets');
  }
}
