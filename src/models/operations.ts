/**
 * Which operations kumo implements, per service model. `npm run gen` generates input/output
 * types for exactly these (src/models/generated/); each provider's table must implement them all,
 * which the compiler checks. Adding an operation: list it here, run `npm run gen`, write the handler.
 */
export const implemented = {
  ec2: {
    uid: 'ec2-2016-11-15',
    operations: [
      'CreateVpc',
      'DescribeVpcs',
      'DeleteVpc',
      'CreateSubnet',
      'DescribeSubnets',
      'DeleteSubnet',
      'DescribeRegions',
      'DescribeAvailabilityZones',
      'CreateTags',
      'DeleteTags',
      'DescribeTags',
    ],
  },
  elbv2: {
    uid: 'elasticloadbalancingv2-2015-12-01',
    operations: ['CreateTargetGroup', 'DescribeTargetGroups', 'DeleteTargetGroup'],
  },
  rds: {
    uid: 'rds-2014-10-31',
    operations: ['CreateDBSubnetGroup', 'DescribeDBSubnetGroups', 'DeleteDBSubnetGroup'],
  },
  s3: {
    uid: 's3-2006-03-01',
    operations: [
      'CreateBucket',
      'ListBuckets',
      'HeadBucket',
      'DeleteBucket',
      'GetBucketLocation',
      'PutObject',
      'GetObject',
      'HeadObject',
      'DeleteObject',
      'ListObjectsV2',
      'CreateMultipartUpload',
      'UploadPart',
      'UploadPartCopy',
      'ListParts',
      'CompleteMultipartUpload',
      'AbortMultipartUpload',
      'ListMultipartUploads',
      'CopyObject',
      'DeleteObjects',
      'ListObjects',
      'PutBucketVersioning',
      'GetBucketVersioning',
      'ListObjectVersions',
      'PutObjectTagging',
      'GetObjectTagging',
      'DeleteObjectTagging',
    ],
  },
  sts: {
    uid: 'sts-2011-06-15',
    operations: ['GetCallerIdentity'],
  },
} as const;
