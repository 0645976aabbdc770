/**
 * The instance APIs' refusals, with AWS's codes (messages follow AWS's where known).
 */
import { AwsError } from '../../../protocol/errors.js';
import { Ec2Errors } from '../errors.js';

const e = (code: string, message: string, status = 400) => new AwsError(code, message, status);

export const InstanceErrors = {
  notFound: Ec2Errors.instanceNotFound,
  notFoundMany: (ids: string[]) => e('InvalidInstanceID.NotFound', `The instance IDs '${ids.join(', ')}' do not exist`),
  malformed: (id: string) => e('InvalidInstanceID.Malformed', `Invalid id: "${id}"`),
  incorrectState: (id: string, state: string, wanted = 'stopped') =>
    e('IncorrectInstanceState', `The instance '${id}' is not in a state from which it can be ${wanted}. It is in state '${state}'.`),
  incorrectStateFor: (id: string, state: string) => e('IncorrectInstanceState', `This request is not valid for instance '${id}' in state '${state}'.`),
  mustBeStopped: (id: string) => e('IncorrectInstanceState', `The instance '${id}' is not in the 'stopped' state.`),
  terminationProtected: (id: string, attribute: 'disableApiTermination' | 'disableApiStop' = 'disableApiTermination') =>
    e('OperationNotPermitted', `The instance '${id}' may not be terminated. Modify its '${attribute}' instance attribute and try again.`),
  stopProtected: (id: string) =>
    e('OperationNotPermitted', `The instance '${id}' may not be stopped. Modify its 'disableApiStop' instance attribute and try again.`),
  invalidType: (type: string) => e('InvalidParameterValue', `Invalid value '${type}' for InstanceType.`),
  architectureMismatch: (typeArch: string, amiArch: string) =>
    e('InvalidParameterValue', `The architecture '${typeArch}' of the specified instance type does not match the architecture '${amiArch}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.`),
  userDataTooLarge: () => e('InvalidParameterValue', 'User data is limited to 16384 bytes'),
  userDataNotBase64: () => e('InvalidUserData.Malformed', 'Invalid BASE64 encoding of user data.'),
  keyNotFound: (name: string) => e('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`),
  noDefaultVpc: () => e('VPCIdNotSpecified', 'No default VPC for this user. GroupName is only supported for EC2-Classic and default VPC.'),
  groupNameWithSubnet: () =>
    e('InvalidParameterCombination', 'The parameter groupName cannot be used with the parameter subnet'),
  countInvalid: (message: string) => e('InvalidParameterValue', message),
  rootTooSmall: (size: number, min: number) =>
    e('InvalidBlockDeviceMapping', `Volume of size ${size}GB is smaller than snapshot, expect size >= ${min}GB`),
  attributeInvalid: (name: string) => e('InvalidParameterValue', `Value (${name}) for parameter attribute is invalid. Unknown attribute.`),
};
