// Malformed and abandoned requests: each gets an AWS error or a closed socket, never a crash, a
// wedged connection or a half-applied write.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { waitFor, type TestKumo } from '../helpers/kumo.js';
import { useEc2 } from '../helpers/ec2.js';
import { signedHeaders } from './sign.js';

let kumo: TestKumo;
let ec2: EC2Client;
useEc2((f) => ({ kumo, ec2 } = f));

const MiB = 1024 * 1024;
const code = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];
// VPCs that requests made (the region's default VPC is left out).
const vpcCount = async () => (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] }))).Vpcs!.length;

interface Reply {
  status: number;
  text: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A POST through node's http client on `agent`, so tests see whether a connection survives. */
function post(agent: Agent, body: Buffer | string, headers: Record<string, string> = {}, opts: { chunked?: boolean } = {}): Promise<Reply> {
  const u = new URL(kumo.url);
  const h: Record<string, string | number> = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  if (!opts.chunked) h['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path: '/', agent, headers: h }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    // Once the answer is in, a reset while still uploading is the server hanging up, which it may.
    req.on('error', reject);
    if (opts.chunked) {
      const buf = Buffer.from(body);
      for (let i = 0; i < buf.length; i += MiB) req.write(buf.subarray(i, i + MiB));
      req.end();
    } else req.end(body);
  });
}

async function signed(body: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const h = await signedHeaders(kumo.url, { service: 'ec2', body, headers: extra });
  delete h.host;
  return h;
}

describe('oversized bodies', () => {
  test('a 5 MiB EC2 form is refused with 413 in EC2’s error shape, and the connection stays usable', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = `Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16&X=${'a'.repeat(5 * MiB)}`;
    const big = await post(agent, body, await signed(body));
    assert.equal(big.status, 413);
    assert.equal(code(big.text), 'RequestEntityTooLarge');
    assert.match(big.text, /<Response><Errors>/);
    const next = await post(agent, 'Action=DescribeVpcs&Version=2016-11-15', await signed('Action=DescribeVpcs&Version=2016-11-15'));
    assert.equal(next.status, 200, next.text);
    assert.equal(await vpcCount(), 0);
    agent.destroy();
  });

  test('a 64 MiB upload is refused without wedging the connection it came on', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const big = await post(agent, Buffer.alloc(64 * MiB, 'a'));
    assert.equal(big.status, 413);
    const next = await post(agent, 'Action=GetCallerIdentity&Version=2011-06-15');
    assert.equal(next.status, 403);
    assert.equal(code(next.text), 'MissingAuthenticationToken');
    agent.destroy();
  });

  test('a chunked body without Content-Length that grows past 4 MiB is refused, drained, and the connection reused', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const body = `Action=DescribeVpcs&Version=2016-11-15&X=${'a'.repeat(5 * MiB)}`;
    const big = await post(agent, body, {}, { chunked: true });
    assert.equal(big.status, 413);
    const next = 'Action=DescribeVpcs&Version=2016-11-15';
    const small = await post(agent, next, await signed(next));
    assert.equal(small.status, 200, small.text);
    assert.equal((await fetch(`${kumo.url}/_kumo/health`)).status, 200);
    agent.destroy();
  });
});

describe('garbage', () => {
  test('bodies that are not forms get 400s in EC2’s shape, never 500s', async () => {
    const bodies = ['\u0000\u00ff\u0001', '%%%&&==', '&&&&', '====', 'Action', 'Action=&Version=', `Action=${'%41'.repeat(100000)}`];
    for (const body of bodies) {
      const r = await fetch(kumo.url, { method: 'POST', headers: await signed(body), body });
      const text = await r.text();
      assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(body.slice(0, 20))} → ${r.status} ${text}`);
      assert.match(text, /^<\?xml[^>]*>\s*<Response><Errors><Error><Code>[A-Za-z.]+<\/Code>/);
    }
  });

  test('a malformed percent-encoding in the query string is MalformedQueryString', async () => {
    const r = await fetch(`${kumo.url}/?Action=DescribeVpcs&Version=2016-11-15&VpcId.1=%zz`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(r.status, 400);
    assert.equal(code(await r.text()), 'MalformedQueryString');
  });

  test('a body changed after signing is SignatureDoesNotMatch and creates nothing', async () => {
    const body = 'Action=CreateVpc&Version=2016-11-15&CidrBlock=10.1.0.0%2F16';
    const h = await signed(body);
    const r = await fetch(kumo.url, { method: 'POST', headers: h, body: body.replace('10.1.', '10.2.') });
    assert.equal(r.status, 403);
    assert.equal(code(await r.text()), 'SignatureDoesNotMatch');
    assert.equal(await vpcCount(), 0);
  });

  test('a valid signature over an invalid parameter creates nothing', async () => {
    const body = 'Action=CreateVpc&Version=2016-11-15&CidrBlock=10.1.0.0%2F16&Bogus=1';
    const r = await fetch(kumo.url, { method: 'POST', headers: await signed(body), body });
    assert.equal(code(await r.text()), 'UnknownParameter');
    assert.equal(await vpcCount(), 0);
  });
});

describe('abandoned requests', () => {
  const u = () => new URL(kumo.url);

  /** Writes `bytes` on a fresh socket and hangs up once the server has them. */
  async function abandon(bytes: string): Promise<void> {
    const sock = connect(Number(u().port), u().hostname);
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.write(bytes, () => resolve());
    });
    sock.destroy();
  }

  test('pipelined requests that fail are each answered, in order', async () => {
    const one = (body: string) =>
      `POST / HTTP/1.1\r\nHost: ${u().host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const sock = connect(Number(u().port), u().hostname);
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.write(one('Action=DescribeVpcs&Version=2016-11-15') + one('Action=DescribeVpcs&Version=1999-01-01') + one('Action=DescribeVpcs'));
    await waitFor('three answers', () => (got.match(/HTTP\/1\.1 [0-9]{3} /g) ?? []).length === 3 && got.endsWith('</ErrorResponse>'));
    sock.destroy();
    assert.deepEqual(got.match(/<Code>[^<]+<\/Code>/g), ['<Code>MissingAuthenticationToken</Code>', '<Code>NoSuchVersion</Code>', '<Code>MissingParameter</Code>']);
  });

  test('headers cut off mid-way, then a normal request succeeds', async () => {
    await abandon('POST / HTTP/1.1\r\nHost: localhost\r\nContent-Ty');
    await abandon('GET /_kumo/hea');
    assert.deepEqual((await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] }))).Vpcs, []);
  });

  test('a signed CreateVpc whose body stops half-way creates nothing', async () => {
    const body = 'Action=CreateVpc&Version=2016-11-15&CidrBlock=10.3.0.0%2F16';
    const h = await signed(body);
    const head = Object.entries({ ...h, host: u().host, 'content-length': String(body.length) })
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n');
    await abandon(`POST / HTTP/1.1\r\n${head}\r\n\r\n${body.slice(0, 20)}`);
    // The server may still be noticing the hang-up; the write must never appear, early or late.
    await waitFor('kumo to serve again', async () => (await fetch(`${kumo.url}/_kumo/health`)).ok);
    assert.equal(await vpcCount(), 0);
  });
});
