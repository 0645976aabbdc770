// What kumo's query and ec2 codecs refuse, and the AWS error each refusal becomes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadModel } from '../../src/models/loader.js';
import { AwsError } from '../../src/protocol/errors.js';
import { Ec2Codec, QueryCodec } from '../../src/protocol/query.js';
import type { WireRequest } from '../../src/protocol/types.js';

const ec2 = new Ec2Codec(loadModel('ec2-2016-11-15'));
const elbv2 = new QueryCodec(loadModel('elasticloadbalancingv2-2015-12-01'));
const rds = new QueryCodec(loadModel('rds-2014-10-31'));

function form(body: string, extra: Partial<WireRequest> = {}): WireRequest {
  return { method: 'POST', rawPath: '/', query: [], headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, body: Buffer.from(body), ...extra };
}

async function refusal(codec: QueryCodec, body: string, extra: Partial<WireRequest> = {}): Promise<AwsError> {
  try {
    const d = await codec.decode(form(body, extra));
    assert.fail(`decoded without error: ${JSON.stringify(d.input)}`);
  } catch (e) {
    if (!(e instanceof AwsError)) throw e;
    return e;
  }
}

async function expectRefusal(codec: QueryCodec, body: string, code: string, mentions: string | RegExp, status = 400) {
  const e = await refusal(codec, body);
  assert.equal(e.code, code, `${body}: ${e.message}`);
  assert.equal(e.status, status);
  if (typeof mentions === 'string') assert.ok(e.message.includes(mentions), `${e.message} should mention ${mentions}`);
  else assert.match(e.message, mentions);
}

const EC2 = 'Version=2016-11-15&Action=';
const ELB = 'Version=2015-12-01&Action=';

describe('envelope', () => {
  test('no Action → MissingAction; an Action not in the model → InvalidAction', async () => {
    await expectRefusal(ec2, 'Version=2016-11-15', 'MissingAction', 'Action');
    await expectRefusal(ec2, `${EC2}DescribeUnicorns`, 'InvalidAction', 'DescribeUnicorns');
    await expectRefusal(ec2, `${EC2}constructor`, 'InvalidAction', 'constructor');
    await expectRefusal(elbv2, `${ELB}toString`, 'InvalidAction', 'toString');
  });

  test('Action may come in the query string with the parameters in the body', async () => {
    const d = await ec2.decode(form('CidrBlock=10.0.0.0%2F16', { query: [['Action', 'CreateVpc'], ['Version', '2016-11-15']] }));
    assert.equal(d.operation.name, 'CreateVpc');
    assert.deepEqual(d.input, { CidrBlock: '10.0.0.0/16' });
  });

  test('a GET with everything in the query string decodes like a POST', async () => {
    const d = await ec2.decode({ method: 'GET', rawPath: '/', headers: {}, query: [['Action', 'DescribeVpcs'], ['Version', '2016-11-15'], ['VpcId.1', 'vpc-1']] });
    assert.deepEqual(d.input, { VpcIds: ['vpc-1'] });
  });

  test('presigning and signature-v2 parameters are not operation parameters', async () => {
    const d = await ec2.decode(form(`${EC2}DescribeVpcs&X-Amz-Date=20240101T000000Z&Timestamp=x&SignatureVersion=2`));
    assert.deepEqual(d.input, {});
  });

  test('methods other than GET and POST are refused', async () => {
    const e = await refusal(ec2, `${EC2}DescribeVpcs`, { method: 'PUT' });
    assert.equal(e.status, 405);
  });

  test('the form content type is matched without regard to case', async () => {
    const d = await ec2.decode(form(`${EC2}DescribeVpcs&VpcId.1=vpc-1`, { headers: { 'content-type': 'Application/X-WWW-Form-URLEncoded' } }));
    assert.deepEqual(d.input, { VpcIds: ['vpc-1'] });
  });
});

describe('unknown parameters', () => {
  test('at the top, nested, and past the end of a scalar', async () => {
    await expectRefusal(ec2, `${EC2}DescribeVpcs&Bogus=1`, 'UnknownParameter', 'Bogus');
    await expectRefusal(ec2, `${EC2}DescribeVpcs&Filter.1.Name=a&Filter.1.Bogus=b`, 'UnknownParameter', 'Filter.1.Bogus');
    await expectRefusal(ec2, `${EC2}CreateVpc&CidrBlock=10.0.0.0%2F16&CidrBlock.1=x`, 'UnknownParameter', 'CidrBlock.1');
    await expectRefusal(elbv2, `${ELB}DescribeTargetGroups&Names.member.1=a&Extra=1`, 'UnknownParameter', 'Extra');
  });

  test('a member name is not its wire name', async () => {
    // The SDK field is VpcIds; on the ec2 wire it is VpcId.N.
    await expectRefusal(ec2, `${EC2}DescribeVpcs&VpcIds.1=vpc-1`, 'UnknownParameter', 'VpcIds');
  });

  test('list indexes are 1-based decimal numbers', async () => {
    await expectRefusal(ec2, `${EC2}DescribeVpcs&VpcId.0=vpc-1`, 'UnknownParameter', 'VpcId.0');
    await expectRefusal(ec2, `${EC2}DescribeVpcs&VpcId.01=vpc-1`, 'UnknownParameter', 'VpcId.01');
    await expectRefusal(ec2, `${EC2}DescribeVpcs&VpcId.a=vpc-1`, 'UnknownParameter', 'VpcId.a');
  });

  test('query lists need their member wrapper', async () => {
    await expectRefusal(elbv2, `${ELB}DescribeTargetGroups&Names.1=a`, 'UnknownParameter', 'Names.1');
    await expectRefusal(rds, 'Version=2014-10-31&Action=CreateDBSubnetGroup&DBSubnetGroupName=g&DBSubnetGroupDescription=d&SubnetIds.member.1=s', 'UnknownParameter', 'SubnetIds.member');
  });

  test('a value given where a list or structure belongs is refused, not dropped', async () => {
    await expectRefusal(ec2, `${EC2}DescribeVpcs&VpcId=vpc-1`, 'InvalidParameterValue', 'VpcId');
    await expectRefusal(elbv2, `${ELB}DescribeTargetGroups&Names=a`, 'InvalidParameterValue', 'Names');
    await expectRefusal(elbv2, `${ELB}CreateTargetGroup&Name=t&Matcher=200`, 'InvalidParameterValue', 'Matcher');
  });
});

describe('values', () => {
  test('integers: digits only, within 32 bits', async () => {
    for (const bad of ['abc', '1.5', '', '0x10', '1e3', '2147483648', '-2147483649']) {
      await expectRefusal(ec2, `${EC2}DescribeVpcs&MaxResults=${encodeURIComponent(bad)}`, 'InvalidParameterValue', 'MaxResults');
    }
    for (const good of ['2147483647', '-2147483648', '5']) {
      const d = await ec2.decode(form(`${EC2}DescribeVpcs&MaxResults=${good}`));
      assert.equal(d.input.MaxResults, Number(good));
    }
  });

  test('booleans are true or false', async () => {
    await expectRefusal(ec2, `${EC2}DescribeVpcs&DryRun=yes`, 'InvalidParameterValue', 'DryRun');
    await expectRefusal(elbv2, `${ELB}CreateTargetGroup&Name=t&HealthCheckEnabled=1`, 'InvalidParameterValue', 'HealthCheckEnabled');
    const d = await ec2.decode(form(`${EC2}DescribeVpcs&DryRun=false`));
    assert.equal(d.input.DryRun, false);
  });

  test('timestamps, floats and blobs', async () => {
    await expectRefusal(ec2, `${EC2}DescribeSpotPriceHistory&StartTime=yesterday`, 'InvalidParameterValue', 'StartTime');
    await expectRefusal(ec2, `${EC2}ImportKeyPair&KeyName=k&PublicKeyMaterial=not*base64`, 'InvalidParameterValue', 'PublicKeyMaterial');
    const d = await ec2.decode(form(`${EC2}DescribeSpotPriceHistory&StartTime=1700000000`));
    assert.deepEqual(d.input.StartTime, new Date(1700000000 * 1000));
  });

  test('malformed percent-encoding → MalformedQueryString', async () => {
    await expectRefusal(ec2, `${EC2}DescribeVpcs&VpcId.1=vpc%zz`, 'MalformedQueryString', /percent/);
    await expectRefusal(ec2, `${EC2}DescribeVpcs&VpcId.1=vpc%4`, 'MalformedQueryString', /percent/);
  });
});

describe('required members', () => {
  test('missing at the top level, in the wire name', async () => {
    await expectRefusal(ec2, `${EC2}CreateSubnet&CidrBlock=10.0.0.0%2F24`, 'MissingParameter', 'VpcId');
    await expectRefusal(ec2, `${EC2}CreateTags&ResourceId.1=vpc-1`, 'MissingParameter', 'Tag');
    await expectRefusal(rds, 'Version=2014-10-31&Action=CreateDBSubnetGroup&DBSubnetGroupName=g&DBSubnetGroupDescription=d', 'MissingParameter', 'SubnetIds');
  });

  test('missing inside a list item names the item', async () => {
    await expectRefusal(elbv2, `${ELB}CreateListener&LoadBalancerArn=a&DefaultActions.member.1.Order=1`, 'MissingParameter', 'DefaultActions.member.1.Type');
  });
});
