/**
 * The fabric's public data types (re-exported by fabric.ts), apart so that the pure rule renderer
 * does not import the class that shells out.
 */
export interface SubnetSpec {
  subnetId: string;
  cidr: string;
  naclId: string;
  /** Its route table sends 0.0.0.0/0 to an internet gateway of the VPC (a public subnet). */
  internet?: boolean;
}
export interface VpcSpec { vpcId: string; cidrs: string[]; subnets: SubnetSpec[] }
export interface AclRule {
  ruleNumber: number;
  /** '-1' | '6' | '17' | '1' | any protocol number as a string ('tcp'/'udp'/'icmp' accepted too) */
  protocol: string;
  action: 'allow' | 'deny';
  cidr: string;
  fromPort?: number;
  toPort?: number;
}
export interface SgRule {
  /** '-1' | 'tcp' | 'udp' | 'icmp' | a protocol number as a string. For icmp, fromPort = type, toPort = code (-1 = any). */
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrs: string[];
  /** security group ids whose member instances (in this VPC) match */
  groups: string[];
}
export interface VpcPolicy {
  nacls: Record<string, { ingress: AclRule[]; egress: AclRule[] }>;
  securityGroups: Record<string, { ingress: SgRule[]; egress: SgRule[] }>;
}
/**
 * A port in a VPC: one network namespace wired to its VPC's router, owned by a service (EC2's
 * instances; load balancer and database nodes next). `portId` names it (unique on the host: the
 * owner's resource id); whatever runs in it is the owner's business.
 */
export interface PortSpec {
  portId: string;
  /** The service the port belongs to ('ec2', 'elbv2', 'rds'), told to the servers it reaches. */
  owner: string;
  vpcId: string;
  subnetCidr: string;
  privateIp: string;
  groups: string[];
  publicIps: string[];
  /** IMDS hop limit: the TTL replies from the metadata service arrive with (default 2) */
  imdsHopLimit?: number;
}
