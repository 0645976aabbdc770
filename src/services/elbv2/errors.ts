/** Elastic Load Balancing v2 error codes, as AWS spells them (all are sender faults, HTTP 400). */
import { AwsError } from '../../protocol/errors.js';
import { QUERY_AUTH_ERRORS } from '../service.js';

export const elbv2AuthErrors = QUERY_AUTH_ERRORS;

const e = (code: string, message: string) => new AwsError(code, message, 400);

export const Elbv2Errors = {
  validation: (message: string) => e('ValidationError', message),
  targetGroupNotFound: (what = 'One or more target groups not found') => e('TargetGroupNotFound', what),
  duplicateTargetGroup: () => e('DuplicateTargetGroupName', 'A target group with the same name exists, but with different settings'),
  loadBalancerNotFound: (what = 'One or more load balancers not found') => e('LoadBalancerNotFound', what),
  duplicateLoadBalancer: () => e('DuplicateLoadBalancerName', 'A load balancer with the same name exists, but with different settings'),
  listenerNotFound: (what = 'One or more listeners not found') => e('ListenerNotFound', what),
  duplicateListener: () => e('DuplicateListener', 'A listener already exists on this port for this load balancer'),
  ruleNotFound: (what = 'One or more rules not found') => e('RuleNotFound', what),
  priorityInUse: (p: number) => e('PriorityInUse', `Priority '${p}' is currently in use`),
  resourceInUse: (message: string) => e('ResourceInUse', message),
  tooManyTags: () => e('TooManyTags', 'You have reached the limit on the number of tags that can be assigned'),
  duplicateTagKeys: (key: string) => e('DuplicateTagKeys', `Tag key '${key}' is duplicated`),
  invalidTarget: (message: string) => e('InvalidTarget', message),
  invalidSecurityGroup: (message: string) => e('InvalidSecurityGroup', message),
  invalidSubnet: (message: string) => e('InvalidSubnet', message),
  subnetNotFound: (message: string) => e('SubnetNotFound', message),
  invalidConfiguration: (message: string) => e('InvalidConfigurationRequest', message),
  invalidAction: (message: string) => e('InvalidLoadBalancerAction', message),
  incompatibleProtocols: (message: string) => e('IncompatibleProtocols', message),
  unsupportedProtocol: (message: string) => e('UnsupportedProtocol', message),
  operationNotPermitted: (message: string) => e('OperationNotPermitted', message),
  certificateNotFound: (arn?: string) => e('CertificateNotFound', arn ? `Certificate '${arn}' not found` : 'Certificate not found'),
  tooManyCertificates: () => e('TooManyCertificates', 'You have reached the limit on the number of certificates per listener'),
  sslPolicyNotFound: (name: string) => e('SSLPolicyNotFound', `SSL policy '${name}' not found`),
  alpnPolicyNotFound: (name: string) => e('ALPNPolicyNotFound', `ALPN policy '${name}' not found`),
  targetGroupAssociationLimit: (message: string) => e('TargetGroupAssociationLimit', message),
};
