/** EC2's error codes, as AWS spells them. */
import { AwsError } from '../../protocol/errors.js';
import type { AuthErrorCodes } from '../service.js';

export const ec2AuthErrors: AuthErrorCodes = {
  unknownKey: { code: 'AuthFailure', status: 401, message: 'AWS was not able to validate the provided access credentials' },
  missing: { code: 'MissingAuthenticationToken', status: 401, message: 'Request is missing Authentication Token' },
  skew: { code: 'RequestExpired', status: 400 },
  expired: { code: 'RequestExpired', status: 400 },
};

const e = (code: string, message: string, status = 400) => new AwsError(code, message, status);

export const Ec2Errors = {
  vpcNotFound: (id: string) => e('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`),
  subnetNotFound: (id: string) => e('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`),
  vpcMalformed: (id: string) => e('InvalidVpcID.Malformed', `Invalid id: "${id}" (expecting "vpc-...")`),
  subnetMalformed: (id: string) => e('InvalidSubnetID.Malformed', `Invalid id: "${id}" (expecting "subnet-...")`),
  invalidCidr: (cidr: string, param = 'cidrBlock') =>
    e('InvalidParameterValue', `Value (${cidr}) for parameter ${param} is invalid. This is not a valid CIDR block.`),
  vpcRange: (cidr: string) => e('InvalidVpc.Range', `The CIDR '${cidr}' is invalid.`),
  subnetRange: (cidr: string) => e('InvalidSubnet.Range', `The CIDR '${cidr}' is invalid.`),
  subnetConflict: (cidr: string) => e('InvalidSubnet.Conflict', `The CIDR '${cidr}' conflicts with another subnet`),
  dependencyViolation: (kind: string, id: string) =>
    e('DependencyViolation', `The ${kind} '${id}' has dependencies and cannot be deleted.`),
  invalidId: (id: string) => e('InvalidID', `The ID '${id}' is not valid`),
  invalidZone: (zone: string, valid: string[]) =>
    e(
      'InvalidParameterValue',
      `Value (${zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${valid.join(', ')}.`,
    ),
  invalidParameter: (message: string) => e('InvalidParameterValue', message),
  invalidCombination: (message: string) => e('InvalidParameterCombination', message),
  missingParameter: (name: string) => e('MissingParameter', `The request must contain the parameter ${name}`),
  tagLimit: () => e('TagLimitExceeded', 'The maximum number of Tags for a resource has been reached.'),
  invalidRegion: (name: string) => e('InvalidParameterValue', `Invalid region: [${name}]`),
  invalidZoneName: (name: string) => e('InvalidParameterValue', `Invalid availability zone: [${name}]`),
  invalidZoneId: (id: string) => e('InvalidParameterValue', `Invalid availability zone-id: [${id}]`),

  dhcpNotFound: (id: string) => e('InvalidDhcpOptionID.NotFound', `The dhcpOption ID '${id}' does not exist`),
  dhcpInUse: (id: string) => e('DependencyViolation', `The dhcpOptions '${id}' has dependencies and cannot be deleted.`),
  igwNotFound: (id: string) => e('InvalidInternetGatewayID.NotFound', `The internetGateway ID '${id}' does not exist`),
  igwMalformed: (id: string) => e('InvalidInternetGatewayId.Malformed', `Invalid id: "${id}" (expecting "igw-...")`),
  alreadyAssociated: (id: string) => e('Resource.AlreadyAssociated', `resource ${id} is already associated with network vpc`),
  gatewayNotAttached: (igw: string, vpc: string) =>
    e('Gateway.NotAttached', `resource ${igw} is not attached to network ${vpc}`),
  rtbNotFound: (id: string) => e('InvalidRouteTableID.NotFound', `The routeTable ID '${id}' does not exist`),
  rtbMalformed: (id: string) => e('InvalidRouteTableId.Malformed', `Invalid id: "${id}" (expecting "rtb-...")`),
  routeNotFound: (rtb: string, dest: string) =>
    e('InvalidRoute.NotFound', `no route with destination-cidr-block ${dest} in route table ${rtb}`),
  routeExists: (rtb: string, dest: string) =>
    e('RouteAlreadyExists', `The route identified by ${dest} already exists.`),
  routeInvalidLocal: (dest: string) =>
    e('InvalidParameterValue', `The destination CIDR block ${dest} is equal to or more specific than one of this VPC's CIDR blocks. This route can target only an interface or an instance.`),
  gatewayNotFound: (id: string) => e('InvalidGatewayID.NotFound', `The gateway ID '${id}' does not exist`),
  instanceNotFound: (id: string) => e('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`),
  eniNotFound: (id: string) => e('InvalidNetworkInterfaceID.NotFound', `The networkInterface ID '${id}' does not exist`),
  associationNotFound: (id: string) => e('InvalidAssociationID.NotFound', `The association ID '${id}' does not exist`),
  sgNotFound: (id: string) => e('InvalidGroup.NotFound', `The security group '${id}' does not exist`),
  sgNameNotFound: (name: string, vpc?: string) =>
    e('InvalidGroup.NotFound', vpc ? `The security group '${name}' does not exist in VPC '${vpc}'` : `The security group '${name}' does not exist in default VPC`),
  sgMalformed: (id: string) => e('InvalidGroupId.Malformed', `Invalid id: "${id}" (expecting "sg-...")`),
  sgDuplicate: (name: string, vpc: string) =>
    e('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpc}'`),
  sgReserved: () => e('InvalidGroup.Reserved', 'The security group \'default\' is reserved'),
  sgDefaultDelete: (id: string) => e('CannotDelete', `the specified group: "${id}" name: "default" cannot be deleted by a user`),
  sgInUse: (id: string) => e('DependencyViolation', `resource ${id} has a dependent object`),
  permissionDuplicate: (what: string) => e('InvalidPermission.Duplicate', `the specified rule ${what} already exists`),
  rulesLimit: () => e('RulesPerSecurityGroupLimitExceeded', 'The maximum number of rules per security group has been reached.'),
  permissionNotFound: () =>
    e('InvalidPermission.NotFound', 'The specified rule does not exist in this security group.'),
  permissionMalformed: (message: string) => e('InvalidPermission.Malformed', message),
  sgrNotFound: (id: string) => e('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${id}' does not exist`),
  sgrMalformed: (id: string) => e('InvalidSecurityGroupRuleId.Malformed', `The security group rule ID '${id}' is malformed`),
  aclNotFound: (id: string) => e('InvalidNetworkAclID.NotFound', `The networkAcl ID '${id}' does not exist`),
  aclEntryExists: (n: number) => e('NetworkAclEntryAlreadyExists', `The network acl entry identified by ${n} already exists.`),
  aclEntryNotFound: (n: number, egress: boolean, id: string) =>
    e('InvalidNetworkAclEntry.NotFound', `The network acl entry identified by ${n} (${egress ? 'egress' : 'ingress'}) does not exist in network acl ${id}`),
  aclDefaultDelete: (id: string) => e('InvalidParameterValue', `cannot delete default network ACL ${id}`),
  aclInUse: (id: string) => e('DependencyViolation', `The networkAcl '${id}' has dependencies and cannot be deleted.`),
  defaultVpcExists: (id: string) => e('DefaultVpcAlreadyExists', `A Default VPC already exists for this account in this region (${id}).`),
  noDefaultVpc: () => e('DefaultVpcDoesNotExist', 'No default VPC exists for this account in this region.'),
  defaultSubnetExists: (zone: string, id: string) =>
    e('DefaultSubnetAlreadyExistsInAvailabilityZone', `A Default Subnet already exists in ${zone} (${id}).`),
  cidrConflict: (cidr: string, vpc: string) => e('CidrConflict', `The CIDR '${cidr}' conflicts with a CIDR of VPC ${vpc}`),
  cidrRestricted: (cidr: string) => e('InvalidVpc.Range', `The CIDR '${cidr}' is restricted for use with this VPC.`),
  cidrLimit: (vpc: string) => e('CidrLimitExceeded', `This network '${vpc}' has met its maximum number of allowed CIDRs: 5`),
  cidrAssocNotFound: (id: string) => e('InvalidVpcCidrBlockAssociationID.NotFound', `The vpc CIDR block association ID '${id}' does not exist`),
  invalidCidrAssocState: (id: string) =>
    e('IncorrectState', `The vpc CIDR block with association ID ${id} may not be disassociated. It is the primary IPv4 CIDR block of the VPC`),
  eniMalformed: (id: string) => e('InvalidNetworkInterfaceId.Malformed', `Invalid id: "${id}" (expecting "eni-...")`),
  eniInUse: (id: string) => e('InvalidNetworkInterface.InUse', `Interface: [${id}] in use.`),
  addressInUse: (ip: string) => e('InvalidIPAddress.InUse', `Address ${ip} is in use.`),
  addressOutsideSubnet: (ip: string, subnet: string) =>
    e('InvalidParameterValue', `Address ${ip} does not fall within the subnet's address range of ${subnet}`),
  addressReserved: (ip: string) => e('InvalidParameterValue', `Address ${ip} is reserved by AWS and cannot be used.`),
  subnetFull: (subnet: string) =>
    e('InsufficientFreeAddressesInSubnet', `There are not enough free addresses in subnet '${subnet}' to satisfy the requested number of instances.`),
  differentNetworks: () => e('InvalidParameter', 'You have specified two resources that belong to different networks.'),
  allocationMalformed: (id: string) => e('InvalidAllocationID.Malformed', `Invalid id: "${id}" (expecting "eipalloc-...")`),
  allocationNotFound: (id: string) => e('InvalidAllocationID.NotFound', `The allocation ID '${id}' does not exist`),
  addressNotFound: (ip: string) => e('InvalidAddress.NotFound', `Address '${ip}' not found.`),
  addressLimit: () => e('AddressLimitExceeded', 'The maximum number of addresses has been reached.'),
  addressAssociated: (id: string) => e('InvalidIPAddress.InUse', `Address ${id} is in use.`),
  noInternetGateway: (vpc: string) => e('Gateway.NotAttached', `Network ${vpc} is not attached to any internet gateway`),
  mappedAddresses: (vpc: string) => e('DependencyViolation', `Network ${vpc} has some mapped public address(es). Please unmap those public address(es) before detaching the gateway.`),
  // The managed prefix list APIs spell NotFound with `ID`; security group rules with `Id`.
  prefixListNotFound: (id: string) => e('InvalidPrefixListID.NotFound', `The prefix list ID '${id}' does not exist`),
  prefixListRefNotFound: (id: string) => e('InvalidPrefixListId.NotFound', `The prefix list ID '${id}' does not exist`),
  prefixListMalformed: (id: string) => e('InvalidPrefixListId.Malformed', `Invalid id: "${id}" (expecting "pl-...")`),
  prefixListVersionMismatch: () => e('PrefixListVersionMismatch', 'The prefix list has the incorrect version number.'),
  prefixListInUse: (id: string, users: string[]) =>
    e('DependencyViolation', `The prefix list '${id}' has dependencies and cannot be deleted: it is referenced by ${users.slice(0, 10).join(', ')}.`),
  awsManagedPrefixList: (id: string) => e('InvalidParameterValue', `The prefix list '${id}' is managed by AWS and cannot be modified or deleted.`),
  unsupported: (what: string) => e('InvalidParameterValue', `kumo does not support ${what} yet.`),
};
