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
  invalidSubnetGroupState: (name: string) =>
    new AwsError('InvalidDBSubnetGroupStateFault', `Cannot delete the subnet group '${name}' because at least one database instance is still using it.`, 400),
};
