// Bucket policy evaluation as pure logic (src/services/s3/policy.ts): principals, wildcards,
// NotAction/NotResource, condition operators with absent keys, IfExists, ForAnyValue/ForAllValues,
// Null, numeric and date comparisons, and S3's rule for when a policy is "public".
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluatePolicy, parsePolicy, policyIsPublic, type EvalContext } from '../../src/services/s3/policy.js';

const BUCKET = 'unit-bucket';
const doc = (...Statement: Record<string, unknown>[]) => JSON.stringify({ Version: '2012-10-17', Statement });
const base = { Effect: 'Allow', Principal: '*', Resource: `arn:aws:s3:::${BUCKET}/*` };

function decide(policy: string, e: Partial<EvalContext> & { keys?: EvalContext['keys'] }): string {
  const ctx: EvalContext = { account: '', action: 's3:GetObject', resource: `arn:aws:s3:::${BUCKET}/a/b.txt`, keys: {}, ...e };
  return evaluatePolicy(parsePolicy(policy, BUCKET), ctx).result;
}

describe('matching', () => {
  test('principals: "*" includes anonymous; account ids and root ARNs match that account only', () => {
    const p = doc({ ...base, Principal: { AWS: ['111111111111', 'arn:aws:iam::222222222222:root'] }, Action: 's3:GetObject' });
    assert.equal(decide(p, { account: '111111111111' }), 'allow');
    assert.equal(decide(p, { account: '222222222222' }), 'allow');
    assert.equal(decide(p, { account: '333333333333' }), 'none');
    assert.equal(decide(p, { account: '' }), 'none');
    assert.equal(decide(doc({ ...base, Action: 's3:GetObject' }), { account: '' }), 'allow');
  });

  test('actions match case-insensitively with * and ?; NotAction and NotResource invert', () => {
    assert.equal(decide(doc({ ...base, Action: 's3:get*' }), {}), 'allow');
    assert.equal(decide(doc({ ...base, Action: 's3:GetObjec?' }), {}), 'allow');
    assert.equal(decide(doc({ ...base, Action: 's3:List*' }), {}), 'none');
    assert.equal(decide(doc({ ...base, NotAction: 's3:Delete*' }), {}), 'allow');
    assert.equal(decide(doc({ ...base, NotAction: 's3:Get*' }), {}), 'none');
    const notRes = doc({ Effect: 'Deny', Principal: '*', Action: 's3:*', NotResource: `arn:aws:s3:::${BUCKET}/a/*` });
    assert.equal(decide(notRes, {}), 'none');
    assert.equal(decide(notRes, { resource: `arn:aws:s3:::${BUCKET}/other` }), 'deny');
  });

  test('Deny wins over Allow, whatever the order', () => {
    const p = doc({ Effect: 'Deny', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${BUCKET}/a/*` }, { ...base, Action: 's3:*' });
    assert.equal(decide(p, {}), 'deny');
    assert.equal(decide(p, { resource: `arn:aws:s3:::${BUCKET}/z` }), 'allow');
  });
});

describe('conditions', () => {
  const cond = (Condition: Record<string, unknown>) => doc({ ...base, Action: 's3:GetObject', Condition });

  test('an absent key fails positive operators and satisfies negated ones, IfExists and ForAllValues', () => {
    assert.equal(decide(cond({ StringEquals: { 'aws:Referer': 'x' } }), {}), 'none');
    assert.equal(decide(cond({ StringNotEquals: { 'aws:Referer': 'x' } }), {}), 'allow');
    assert.equal(decide(cond({ StringEqualsIfExists: { 'aws:Referer': 'x' } }), {}), 'allow');
    assert.equal(decide(cond({ 'ForAllValues:StringEquals': { 'aws:Referer': 'x' } }), {}), 'allow');
    assert.equal(decide(cond({ 'ForAnyValue:StringEquals': { 'aws:Referer': 'x' } }), {}), 'none');
  });

  test('Null tests presence; strings, numbers, dates, IPs and booleans compare as IAM does', () => {
    assert.equal(decide(cond({ Null: { 'aws:Referer': 'true' } }), {}), 'allow');
    assert.equal(decide(cond({ Null: { 'aws:Referer': 'false' } }), { keys: { 'aws:referer': ['r'] } }), 'allow');
    assert.equal(decide(cond({ StringLike: { 's3:prefix': ['home/*', 'pub'] } }), { keys: { 's3:prefix': ['home/me'] } }), 'allow');
    assert.equal(decide(cond({ StringEqualsIgnoreCase: { 'aws:UserAgent': 'CURL' } }), { keys: { 'aws:useragent': ['curl'] } }), 'allow');
    assert.equal(decide(cond({ NumericLessThanEquals: { 's3:max-keys': '10' } }), { keys: { 's3:max-keys': ['10'] } }), 'allow');
    assert.equal(decide(cond({ NumericLessThan: { 's3:max-keys': 10 } }), { keys: { 's3:max-keys': ['10'] } }), 'none');
    assert.equal(decide(cond({ DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } }), { keys: { 'aws:currenttime': ['2026-01-01T00:00:00Z'] } }), 'allow');
    assert.equal(decide(cond({ IpAddress: { 'aws:SourceIp': '127.0.0.0/8' } }), { keys: { 'aws:sourceip': ['::ffff:127.0.0.1'] } }), 'allow');
    assert.equal(decide(cond({ NotIpAddress: { 'aws:SourceIp': ['127.0.0.1/32'] } }), { keys: { 'aws:sourceip': ['127.0.0.1'] } }), 'none');
    assert.equal(decide(cond({ Bool: { 'aws:SecureTransport': false } }), { keys: { 'aws:securetransport': ['false'] } }), 'allow');
  });

  test('all conditions of a statement must hold', () => {
    const p = cond({ StringEquals: { 's3:prefix': 'a' }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } });
    assert.equal(decide(p, { keys: { 's3:prefix': ['a'], 'aws:sourceip': ['127.0.0.1'] } }), 'none');
    assert.equal(decide(p, { keys: { 's3:prefix': ['a'], 'aws:sourceip': ['10.1.2.3'] } }), 'allow');
  });

  test('unknown operators, keys and malformed IP ranges are MalformedPolicy at parse time', () => {
    for (const c of [{ StringSortOf: { 's3:prefix': 'a' } }, { StringEquals: { 'aws:Nonsense': 'a' } }, { IpAddress: { 'aws:SourceIp': '300.1.1.1/8' } }, { NullIfExists: { 's3:prefix': 'true' } }]) {
      assert.throws(() => parsePolicy(cond(c), BUCKET), (e: Error & { code?: string }) => e.code === 'MalformedPolicy', JSON.stringify(c));
    }
  });
});

describe('what is public', () => {
  const pub = (s: Record<string, unknown>) => policyIsPublic(parsePolicy(doc(s), BUCKET));

  test('an Allow to everyone is public unless a condition fixes the caller', () => {
    assert.equal(pub({ ...base, Action: 's3:GetObject' }), true);
    assert.equal(pub({ ...base, Principal: { AWS: '*' }, Action: 's3:GetObject' }), true);
    assert.equal(pub({ ...base, Action: 's3:GetObject', Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } } }), false);
    assert.equal(pub({ ...base, Action: 's3:GetObject', Condition: { IpAddress: { 'aws:SourceIp': '0.0.0.0/0' } } }), true);
    assert.equal(pub({ ...base, Action: 's3:GetObject', Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } } }), false);
    assert.equal(pub({ ...base, Action: 's3:GetObject', Condition: { StringLike: { 'aws:SourceAccount': '1111*' } } }), true);
    assert.equal(pub({ ...base, Action: 's3:GetObject', Condition: { StringLike: { 's3:prefix': 'a/*' } } }), true);
  });

  test('Deny statements and fixed principals are never public', () => {
    assert.equal(pub({ ...base, Effect: 'Deny', Action: 's3:*' }), false);
    assert.equal(pub({ ...base, Principal: { AWS: '111111111111' }, Action: 's3:*' }), false);
  });
});
