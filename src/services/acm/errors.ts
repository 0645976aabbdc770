/** AWS Certificate Manager's error codes, as AWS spells them (json family: `__type`, all 400). */
import { AwsError } from '../../protocol/errors.js';
import { JSON_AUTH_ERRORS } from '../service.js';

export const acmAuthErrors = JSON_AUTH_ERRORS;

const e = (code: string, message: string) => new AwsError(code, message, 400);

export const AcmErrors = {
  validation: (message: string) => e('ValidationException', message),
  invalidParameter: (message: string) => e('InvalidParameterException', message),
  invalidArn: (arn: string) => e('InvalidArnException', `String '${arn}' is not a valid ARN`),
  notFound: (arn: string) => e('ResourceNotFoundException', `Could not find certificate ${arn}.`),
  inUse: (arn: string) => e('ResourceInUseException', `Certificate ${arn} in account is in use.`),
  invalidTag: (message: string) => e('InvalidTagException', message),
  tooManyTags: () => e('TooManyTagsException', 'the TagSet: contains too many Tags'),
  invalidDomainValidationOptions: (message: string) => e('InvalidDomainValidationOptionsException', message),
  requestInProgress: (arn: string) => e('RequestInProgressException', `Certificate ${arn} is not yet issued.`),
};
