/** Elastic Load Balancing v2 error codes, as AWS spells them. */
import { AwsError } from '../../protocol/errors.js';
import { QUERY_AUTH_ERRORS } from '../service.js';

export const elbv2AuthErrors = QUERY_AUTH_ERRORS;

export const Elbv2Errors = {
  validation: (message: string) => new AwsError('ValidationError', message, 400),
  targetGroupNotFound: (what = 'One or more target groups not found') => new AwsError('TargetGroupNotFound', what, 400),
  duplicateTargetGroup: () => new AwsError('DuplicateTargetGroupName', 'A target group with the same name exists, but with different settings', 400),
  loadBalancerNotFound: () => new AwsError('LoadBalancerNotFound', 'One or more load balancers not found', 400),
  resourceInUse: (message: string) => new AwsError('ResourceInUse', message, 400),
  tooManyTags: () => new AwsError('TooManyTags', 'You have reached the limit on the number of tags that can be assigned', 400),
};
