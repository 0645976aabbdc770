/** RDS error codes, as AWS spells them (RDS puts "Fault" in many of them). */
import { AwsError } from '../../protocol/errors.js';
import { QUERY_AUTH_ERRORS } from '../service.js';

export const rdsAuthErrors = QUERY_AUTH_ERRORS;

export const RdsErrors = {
  subnetGroupNotFound: (name: string) => new AwsError('DBSubnetGroupNotFoundFault', `DBSubnetGroup ${name} not found.`, 404),
  subnetGroupExists: (name: string) => new AwsError('DBSubnetGroupAlreadyExists', `The DB subnet group '${name}' already exists.`, 400),
  notEnoughAzs: (zones: string[]) =>
    new AwsError(
      'DBSubnetGroupDoesNotCoverEnoughAZs',
      `The DB subnet group doesn't meet Availability Zone (AZ) coverage requirement. Current AZ coverage: ${zones.join(', ')}. Add subnets to cover at least 2 AZs.`,
      400,
    ),
  invalidSubnet: (ids: string[]) => new AwsError('InvalidSubnet', `Some input subnets in :[${ids.join(', ')}] are invalid.`, 400),
  subnetsInDifferentVpcs: () =>
    new AwsError('InvalidParameterValue', 'All subnets in a DB subnet group must belong to the same VPC.', 400),
  invalidParameter: (message: string) => new AwsError('InvalidParameterValue', message, 400),
  instanceExists: () => new AwsError('DBInstanceAlreadyExists', 'DB instance already exists', 400),
  instanceNotFound: (id: string) => new AwsError('DBInstanceNotFound', `DBInstance ${id} not found.`, 404),
  instanceState: (id: string, status: string, what: string) =>
    new AwsError('InvalidDBInstanceState', `Instance ${id} is not in ${what} state${status ? ` (it is ${status})` : ''}.`, 400),
  invalidCombination: (message: string) => new AwsError('InvalidParameterCombination', message, 400),
  missingParameter: (name: string) => new AwsError('MissingParameter', `The request must contain the parameter ${name}`, 400),
  storageQuota: (message: string) => new AwsError('StorageQuotaExceeded', message, 400),
  parameterGroupNotFound: (name: string) => new AwsError('DBParameterGroupNotFound', `DBParameterGroup not found: ${name}`, 404),
  securityGroupNotFound: (id: string) => new AwsError('InvalidParameterValue', `Invalid security group , groupId= ${id}, groupName=.`, 400),
  vpcState: (message: string) => new AwsError('InvalidVPCNetworkStateFault', message, 400),
  resourceNotFound: (arn: string) => new AwsError('DBInstanceNotFound', `DBInstance ${arn} not found.`, 404),
  needsNativeRuntime: (what: string) =>
    new AwsError('InvalidParameterCombination', `kumo's process runtime cannot ${what}: databases run as containers. Run kumo as root on Linux with systemd-nspawn (the native runtime).`, 400),
  snapshotExists: (id: string) => new AwsError('DBSnapshotAlreadyExists', `Cannot create the snapshot because a snapshot with the identifier ${id} already exists.`, 400),
  snapshotNotFound: (id: string) => new AwsError('DBSnapshotNotFound', `DBSnapshot not found: ${id}`, 404),
  snapshotState: (message: string) => new AwsError('InvalidDBSnapshotState', message, 400),
  snapshotQuota: () => new AwsError('SnapshotQuotaExceeded', 'Cannot create more than 100 manual snapshots', 400),
  invalidSubnetGroupState: (name: string) =>
    new AwsError('InvalidDBSubnetGroupStateFault', `Cannot delete the subnet group '${name}' because at least one database instance is still using it.`, 400),
};
