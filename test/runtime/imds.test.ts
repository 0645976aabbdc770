/**
 * The IMDS as an instance uses it: a real HTTP server on a loopback port and requests from two
 * loopback source addresses standing in for two instances' transit addresses (127.0.0.1 and
 * 127.0.0.2; Linux answers for all of 127/8). Checks the IMDSv2 token flow and its refusals, the
 * listings and values scripts read, the identity document, and token expiry on an injected clock.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createImdsServer, type InstanceMetadata } from '../../src/runtime/metadata/imds.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

const A = '127.0.0.1';
const B = '127.0.0.2';
let clock = Date.parse('2026-01-02T03:04:05Z');
let port = 0;

const base: InstanceMetadata = {
  instanceId: 'i-0123456789abcdef0',
  imageId: 'ami-0abcdef1234567890',
  instanceType: 't3.micro',
  launchIndex: 0,
  reservationId: 'r-0123456789abcdef0',
  accountId: '000000000000',
  region: 'ap-northeast-1',
  availabilityZone: 'ap-northeast-1a',
  availabilityZoneId: 'apne1-az4',
  privateIp: '10.0.1.5',
  privateDnsName: 'ip-10-0-1-5.ap-northeast-1.compute.internal',
  publicIp: '127.100.0.5',
  publicDnsName: 'ec2-127-100-0-5.ap-northeast-1.compute.amazonaws.com',
  mac: '0a:1b:2c:3d:4e:5f',
  interfaceId: 'eni-0123456789abcdef0',
  subnetId: 'subnet-0123456789abcdef0',
  subnetCidr: '10.0.1.0/24',
  vpcId: 'vpc-0123456789abcdef0',
  vpcCidrs: ['10.0.0.0/16', '10.1.0.0/16'],
  securityGroups: [{ id: 'sg-0aaaaaaaaaaaaaaa1', name: 'web-sg' }, { id: 'sg-0bbbbbbbbbbbbbbb2', name: 'default' }],
  keyName: 'cms',
  publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx4 cms',
  userData: Buffer.from('#!/bin/sh\necho hi\n'),
  httpTokens: 'optional',
  httpEndpoint: 'enabled',
  instanceMetadataTags: 'enabled',
  tags: { Name: 'web-1', env: 'test', 'has space': 'x' },
  launchTime: new Date('2026-01-02T03:00:00.123Z'),
};
const instances = new Map<string, InstanceMetadata>([
  [A, base],
  [B, { ...base, instanceId: 'i-0fedcba9876543210', privateIp: '10.0.1.6', publicIp: undefined, publicDnsName: undefined,
    keyName: undefined, publicKey: undefined, userData: undefined, httpTokens: 'required', instanceMetadataTags: 'disabled' }],
]);

const server = createImdsServer({ lookup: (addr) => instances.get(addr), now: () => clock });

before(async () => {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(method: string, path: string, headers: Record<string, string> = {}, from = A): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, localAddress: from, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const token = async (ttl = '21600', from = A) => {
  const r = await call('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': ttl }, from);
  assert.equal(r.status, 200);
  return r.body;
};
const get = (path: string, tok?: string, from = A) => call('GET', path, tok ? { 'X-aws-ec2-metadata-token': tok } : {}, from);

test('IMDSv2: PUT a token, use it; headers as on EC2', async () => {
  const put = await call('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '300' });
  assert.equal(put.status, 200);
  assert.equal(put.headers['x-aws-ec2-metadata-token-ttl-seconds'], '300');
  assert.equal(put.headers.server, 'EC2ws');
  assert.match(put.body, /^[A-Za-z0-9+/=]{40,}$/);
  const r = await get('/latest/meta-data/instance-id', put.body);
  assert.equal(r.status, 200);
  assert.equal(r.body, 'i-0123456789abcdef0');
  assert.equal(r.headers['content-type'], 'text/plain');
  assert.equal(r.headers['x-aws-ec2-metadata-token-ttl-seconds'], '300');
});

test('token PUT refusals: TTL missing or out of 1..21600 → 400, X-Forwarded-For → 403, GET → 405', async () => {
  for (const ttl of [undefined, '0', '21601', 'abc', '-5', '1.5']) {
    const r = await call('PUT', '/latest/api/token', ttl === undefined ? {} : { 'X-aws-ec2-metadata-token-ttl-seconds': ttl });
    assert.equal(r.status, 400, `ttl ${ttl}`);
  }
  assert.equal((await call('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '1' })).status, 200);
  const fwd = await call('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60', 'X-Forwarded-For': '1.2.3.4' });
  assert.equal(fwd.status, 403);
  assert.match(fwd.body, /403 - Forbidden/);
  assert.equal((await call('GET', '/latest/api/token')).status, 405);
  assert.equal((await call('POST', '/latest/meta-data/')).status, 405);
});

test('a bad token is 401 even where tokens are optional; IMDSv1 works where optional', async () => {
  assert.equal((await get('/latest/meta-data/instance-id', 'not-a-token')).status, 401);
  const v1 = await get('/latest/meta-data/instance-id');
  assert.equal(v1.status, 200);
  assert.equal(v1.body, 'i-0123456789abcdef0');
});

test('HttpTokens=required: no token → 401, token → 200; a token works only for its instance', async () => {
  assert.equal((await get('/latest/meta-data/instance-id', undefined, B)).status, 401);
  const tb = await token('60', B);
  const r = await get('/latest/meta-data/instance-id', tb, B);
  assert.equal(r.body, 'i-0fedcba9876543210');
  assert.equal((await get('/latest/meta-data/instance-id', tb, A)).status, 401);
  const ta = await token('60', A);
  assert.equal((await get('/latest/meta-data/instance-id', ta, B)).status, 401);
});

test('tokens expire after their TTL (injected clock)', async () => {
  const t = await token('10');
  clock += 9_000;
  const r = await get('/latest/meta-data/ami-id', t);
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-aws-ec2-metadata-token-ttl-seconds'], '1');
  clock += 1_000;
  assert.equal((await get('/latest/meta-data/ami-id', t)).status, 401);
});

test('unknown callers and HttpEndpoint=disabled are refused with 403', async () => {
  assert.equal((await get('/latest/meta-data/', undefined, '127.0.0.3')).status, 403);
  instances.set('127.0.0.4', { ...base, httpEndpoint: 'disabled' });
  assert.equal((await get('/latest/meta-data/instance-id', undefined, '127.0.0.4')).status, 403);
  assert.equal((await call('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '60' }, '127.0.0.4')).status, 403);
});

test('listings: /, /latest/, meta-data/ (directories end with /), nested directories', async () => {
  const t = await token();
  const root = (await get('/', t)).body.split('\n');
  assert.ok(root.includes('latest') && root.includes('2021-07-15') && root.includes('1.0'));
  assert.equal((await get('/latest/', t)).body, 'dynamic\nmeta-data\nuser-data');
  assert.equal((await get('/latest', t)).body, 'dynamic\nmeta-data\nuser-data');
  const md = (await get('/latest/meta-data/', t)).body.split('\n');
  for (const name of ['ami-id', 'ami-launch-index', 'ami-manifest-path', 'block-device-mapping/', 'hostname', 'instance-action',
    'instance-id', 'instance-life-cycle', 'instance-type', 'local-hostname', 'local-ipv4', 'mac', 'network/', 'placement/',
    'public-hostname', 'public-ipv4', 'public-keys/', 'reservation-id', 'security-groups', 'services/', 'tags/']) {
    assert.ok(md.includes(name), `meta-data/ lists ${name}: ${md.join(' ')}`);
  }
  assert.equal((await get('/latest/meta-data/placement/', t)).body, 'availability-zone\navailability-zone-id\nregion');
  assert.equal((await get('/latest/meta-data/block-device-mapping/', t)).body, 'ami\nroot');
  assert.equal((await get('/latest/meta-data/network/interfaces/macs/', t)).body, '0a:1b:2c:3d:4e:5f/');
  assert.equal((await get('/2021-07-15/meta-data/instance-type', t)).body, 't3.micro');
  assert.equal((await get('/latest/meta-data//ami-id', t)).body, 'ami-0abcdef1234567890');
  assert.equal((await get('/1999-01-01/meta-data/', t)).status, 404);
});

test('values a script reads', async () => {
  const t = await token();
  const v = async (p: string) => {
    const r = await get(`/latest/meta-data/${p}`, t);
    assert.equal(r.status, 200, p);
    return r.body;
  };
  assert.equal(await v('ami-id'), 'ami-0abcdef1234567890');
  assert.equal(await v('ami-launch-index'), '0');
  assert.equal(await v('hostname'), 'ip-10-0-1-5.ap-northeast-1.compute.internal');
  assert.equal(await v('local-ipv4'), '10.0.1.5');
  assert.equal(await v('public-ipv4'), '127.100.0.5');
  assert.equal(await v('public-hostname'), 'ec2-127-100-0-5.ap-northeast-1.compute.amazonaws.com');
  assert.equal(await v('mac'), '0a:1b:2c:3d:4e:5f');
  assert.equal(await v('instance-life-cycle'), 'on-demand');
  assert.equal(await v('reservation-id'), 'r-0123456789abcdef0');
  assert.equal(await v('security-groups'), 'web-sg\ndefault');
  assert.equal(await v('placement/availability-zone'), 'ap-northeast-1a');
  assert.equal(await v('placement/availability-zone-id'), 'apne1-az4');
  assert.equal(await v('placement/region'), 'ap-northeast-1');
  assert.equal(await v('services/domain'), 'amazonaws.com');
  assert.equal(await v('services/partition'), 'aws');
  assert.equal(await v('block-device-mapping/root'), '/dev/xvda');
  assert.equal(await v('public-keys/'), '0=cms');
  assert.equal(await v('public-keys/0/'), 'openssh-key');
  assert.equal(await v('public-keys/0/openssh-key'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx4 cms');
  assert.equal(await v('tags/instance'), 'Name\nenv');
  assert.equal(await v('tags/instance/Name'), 'web-1');
  const mac = 'network/interfaces/macs/0a:1b:2c:3d:4e:5f';
  assert.equal(await v(`${mac}/interface-id`), 'eni-0123456789abcdef0');
  assert.equal(await v(`${mac}/device-number`), '0');
  assert.equal(await v(`${mac}/subnet-id`), 'subnet-0123456789abcdef0');
  assert.equal(await v(`${mac}/subnet-ipv4-cidr-block`), '10.0.1.0/24');
  assert.equal(await v(`${mac}/vpc-id`), 'vpc-0123456789abcdef0');
  assert.equal(await v(`${mac}/vpc-ipv4-cidr-block`), '10.0.0.0/16');
  assert.equal(await v(`${mac}/vpc-ipv4-cidr-blocks`), '10.0.0.0/16\n10.1.0.0/16');
  assert.equal(await v(`${mac}/security-group-ids`), 'sg-0aaaaaaaaaaaaaaa1\nsg-0bbbbbbbbbbbbbbb2');
  assert.equal(await v(`${mac}/owner-id`), '000000000000');
  assert.equal(await v(`${mac}/public-ipv4s`), '127.100.0.5');
  assert.equal(await v(`${mac}/local-ipv4s`), '10.0.1.5');
  assert.equal(await v(`${mac}/ipv4-associations/`), '127.100.0.5');
  assert.equal(await v(`${mac}/ipv4-associations/127.100.0.5`), '10.0.1.5');
  assert.equal((await get('/latest/meta-data/no-such-thing', t)).status, 404);
  assert.equal((await get('/latest/meta-data/instance-id/extra', t)).status, 404);
});

test('what an instance lacks is absent: no public IP, no key, no user data, tags off', async () => {
  const t = await token('60', B);
  const md = (await get('/latest/meta-data/', t, B)).body.split('\n');
  for (const name of ['public-ipv4', 'public-hostname', 'public-keys/', 'tags/']) assert.ok(!md.includes(name), name);
  assert.ok(!(await get('/latest/meta-data/network/interfaces/macs/0a:1b:2c:3d:4e:5f/', t, B)).body.includes('ipv4-associations'));
  for (const p of ['meta-data/public-ipv4', 'meta-data/public-keys/', 'meta-data/tags/instance', 'user-data']) {
    assert.equal((await get(`/latest/${p}`, t, B)).status, 404, p);
  }
  assert.equal((await get('/latest/', t, B)).body, 'dynamic\nmeta-data');
});

test('user data comes back byte for byte', async () => {
  const r = await get('/latest/user-data', await token());
  assert.equal(r.status, 200);
  assert.equal(r.body, '#!/bin/sh\necho hi\n');
  assert.equal(r.headers['content-type'], 'application/octet-stream');
});

test('instance identity document', async () => {
  const t = await token();
  assert.equal((await get('/latest/dynamic/', t)).body, 'instance-identity/');
  const r = await get('/latest/dynamic/instance-identity/document', t);
  assert.equal(r.status, 200);
  const doc = JSON.parse(r.body) as Record<string, unknown>;
  assert.deepEqual(doc, {
    accountId: '000000000000', architecture: 'x86_64', availabilityZone: 'ap-northeast-1a', billingProducts: null,
    devpayProductCodes: null, marketplaceProductCodes: null, imageId: 'ami-0abcdef1234567890',
    instanceId: 'i-0123456789abcdef0', instanceType: 't3.micro', kernelId: null, pendingTime: '2026-01-02T03:00:00Z',
    privateIp: '10.0.1.5', ramdiskId: null, region: 'ap-northeast-1', version: '2017-09-30',
  });
  assert.match(r.body, /^\{\n {2}"accountId" : "000000000000",\n/);
});

test('curl, as a user script would call it', { skip: missing('curl') }, async () => {
  const { execFile } = await import('node:child_process');
  // Asynchronous: the server runs in this process, so a synchronous curl would wait on itself.
  const curl = (...args: string[]) =>
    new Promise<string>((resolve, reject) =>
      execFile('curl', ['-sf', '--max-time', '5', ...args], { encoding: 'utf8' }, (err, out) => (err ? reject(err) : resolve(out))),
    );
  const url = `http://127.0.0.1:${port}`;
  const tok = await curl('-X', 'PUT', `${url}/latest/api/token`, '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 21600');
  assert.equal(await curl('-H', `X-aws-ec2-metadata-token: ${tok}`, `${url}/latest/meta-data/instance-id`), 'i-0123456789abcdef0');
});

test('botocore finds its region through IMDSv2, as on an instance', { skip: missing('boto3') }, async () => {
  const script = `
import json, os
from botocore.utils import InstanceMetadataRegionFetcher, IMDSFetcher
f = InstanceMetadataRegionFetcher(base_url=os.environ['KUMO_URL'], num_attempts=1, timeout=5)
token = IMDSFetcher(base_url=os.environ['KUMO_URL'], timeout=5)._fetch_metadata_token()
print(json.dumps({'region': f.retrieve_region(), 'token': bool(token)}))
`;
  assert.deepEqual(await boto3(`http://127.0.0.1:${port}`, script), { region: 'ap-northeast-1', token: true });
});
