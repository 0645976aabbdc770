// Requests serialized by botocore (the aws CLI's and boto3's serializer, which differs from SDK
// v3's in details such as timestamp formats and empty lists), decoded by kumo's codecs.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { loadModel } from '../../src/models/loader.js';
import { Ec2Codec, QueryCodec } from '../../src/protocol/query.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

const codecs: Record<string, QueryCodec> = {
  ec2: new Ec2Codec(loadModel('ec2-2016-11-15')),
  rds: new QueryCodec(loadModel('rds-2014-10-31')),
  elbv2: new QueryCodec(loadModel('elasticloadbalancingv2-2015-12-01')),
};

// Each case: service, operation, params as a Python literal, and what kumo must decode.
const cases: [string, string, string, Record<string, unknown>][] = [
  [
    'ec2',
    'RunInstances',
    `{'ImageId': 'ami-1', 'MinCount': 1, 'MaxCount': 2, 'EbsOptimized': False, 'UserData': 'IyEvYmluL3NoCg==',
      'BlockDeviceMappings': [{'DeviceName': '/dev/xvda', 'Ebs': {'VolumeSize': 8, 'DeleteOnTermination': True}}],
      'TagSpecifications': [{'ResourceType': 'instance', 'Tags': [{'Key': 'Name', 'Value': 'a&b c'}]}]}`,
    {
      ImageId: 'ami-1',
      MinCount: 1,
      MaxCount: 2,
      EbsOptimized: false,
      UserData: 'IyEvYmluL3NoCg==',
      BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeSize: 8, DeleteOnTermination: true } }],
      TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'a&b c' }] }],
    },
  ],
  [
    'ec2',
    'DescribeSubnets',
    `{'Filters': [{'Name': 'vpc-id', 'Values': ['vpc-1', 'vpc-2']}], 'SubnetIds': []}`,
    { Filters: [{ Name: 'vpc-id', Values: ['vpc-1', 'vpc-2'] }] },
  ],
  [
    'ec2',
    'DescribeSpotPriceHistory',
    `{'StartTime': datetime.datetime(2024, 2, 29, 23, 59, 58, tzinfo=datetime.timezone.utc)}`,
    { StartTime: new Date('2024-02-29T23:59:58Z') },
  ],
  ['ec2', 'ImportKeyPair', `{'KeyName': 'k', 'PublicKeyMaterial': b'ssh-rsa AAAA+/== me'}`, { KeyName: 'k', PublicKeyMaterial: Buffer.from('ssh-rsa AAAA+/== me') }],
  [
    'rds',
    'CreateDBSubnetGroup',
    `{'DBSubnetGroupName': 'g', 'DBSubnetGroupDescription': 'd', 'SubnetIds': ['s-1', 's-2'], 'Tags': [{'Key': 'k', 'Value': 'v'}]}`,
    { DBSubnetGroupName: 'g', DBSubnetGroupDescription: 'd', SubnetIds: ['s-1', 's-2'], Tags: [{ Key: 'k', Value: 'v' }] },
  ],
  [
    'rds',
    'DescribeEvents',
    `{'StartTime': datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc), 'Duration': 5}`,
    { StartTime: new Date('2024-01-01T00:00:00Z'), Duration: 5 },
  ],
  [
    'elbv2',
    'CreateTargetGroup',
    `{'Name': 'tg', 'Port': 80, 'HealthCheckEnabled': True, 'Matcher': {'HttpCode': '200,302'}, 'Tags': [{'Key': 'k', 'Value': 'v'}]}`,
    { Name: 'tg', Port: 80, HealthCheckEnabled: true, Matcher: { HttpCode: '200,302' }, Tags: [{ Key: 'k', Value: 'v' }] },
  ],
  ['elbv2', 'DescribeTargetGroups', `{'Names': []}`, { Names: [] }],
];

// One Python run serializes every case, so the file costs one interpreter start.
const script = `
import datetime, json, urllib.parse
import botocore.session
from botocore.serialize import create_serializer
session = botocore.session.get_session()
out = []
for service, op, params in [${cases.map(([svc, op, params]) => `('${svc}', '${op}', ${params})`).join(', ')}]:
    model = session.get_service_model(service)
    req = create_serializer(model.metadata['protocol']).serialize_to_request(params, model.operation_model(op))
    out.append({'method': req['method'], 'body': urllib.parse.urlencode(req['body'], doseq=True)})
print(json.dumps(out))
`;

describe('requests from botocore', { skip: missing('boto3') }, () => {
  let wires: { method: string; body: string }[];
  before(async () => {
    wires = await boto3('http://unused', script);
  });
  cases.forEach(([service, op, , expected], i) => {
    test(`${service} ${op}`, async () => {
      const d = await codecs[service].decode({
        method: wires[i].method,
        rawPath: '/',
        query: [],
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body: Buffer.from(wires[i].body),
      });
      assert.equal(d.operation.name, op);
      assert.deepEqual(d.input, expected);
    });
  });
});
