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
};
