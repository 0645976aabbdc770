/**
 * The DNS server on a loopback port, asked by real clients: Node's resolver (c-ares, the same
 * library many tools use, which also retries over TCP when an answer is truncated) and raw UDP/TCP
 * sockets for what c-ares hides (EDNS, the source address, a TCP connection with two queries).
 * Also the EC2 name helpers, both directions.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { createDnsServer, type DnsQuestion } from '../../src/runtime/dns/server.js';
import { encodeName } from '../../src/runtime/dns/wire.js';
import { parseEc2Name, parseReverseName, privateDnsName, publicDnsName, resourceDnsName, reverseName } from '../../src/services/ec2/dns-names.js';

const seen: DnsQuestion[] = [];
const server = createDnsServer({
  resolve(q) {
    seen.push(q);
    const parsed = parseEc2Name(q.name);
    if (parsed && parsed.kind === 'private') return { answers: [{ type: 'A', data: parsed.ip }] };
    if (q.name === 'my-lb-123.ap-northeast-1.elb.amazonaws.com') {
      return { answers: [{ type: 'CNAME', data: 'ip-10-0-1-7.ap-northeast-1.compute.internal', ttl: 30 }, { type: 'A', data: '10.0.1.7' }] };
    }
    if (q.name === 'many.kumo.test') return { answers: Array.from({ length: 60 }, (_, i) => ({ type: 'A' as const, data: `10.9.0.${i + 1}` })) };
    if (q.name === 'who.kumo.test') return { answers: [{ type: 'A', data: q.remoteAddress }] };
    const rev = parseReverseName(q.name);
    if (rev) return { answers: [{ type: 'PTR', data: privateDnsName(rev, 'ap-northeast-1') }] };
    if (q.name === 'refuse.kumo.test') return 'refused';
    if (q.name === 'boom.kumo.test') throw new Error('boom');
    return 'nxdomain';
  },
});
let port = 0;
const resolver = new Resolver({ timeout: 2000, tries: 1 });

before(async () => {
  await server.listen('127.0.0.1', 0);
  const a = server.address();
  assert.equal(a.udp, a.tcp);
  port = a.udp;
  resolver.setServers([`127.0.0.1:${port}`]);
});
after(() => server.close());

function query(name: string, type: number, opts: { id?: number; edns?: boolean } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(opts.id ?? 0x1234, 0);
  h.writeUInt16BE(0x0100, 2); // RD
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(opts.edns ? 1 : 0, 10);
  const tc = Buffer.alloc(4);
  tc.writeUInt16BE(type, 0);
  tc.writeUInt16BE(1, 2);
  const opt = opts.edns ? Buffer.from([0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0]) : Buffer.alloc(0);
  return Buffer.concat([h, encodeName(name), tc, opt]);
}

function udpAsk(msg: Buffer, from = '127.0.0.1', waitMs = 2000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => (s.close(), reject(new Error('no UDP answer'))), waitMs);
    s.on('message', (m) => (clearTimeout(timer), s.close(), resolve(m)));
    s.bind(0, from, () => s.send(msg, port, '127.0.0.1'));
  });
}

const rcode = (m: Buffer) => m.readUInt16BE(2) & 0xf;
const ancount = (m: Buffer) => m.readUInt16BE(6);

test('A for an instance private name; case-insensitive, trailing dot ignored', async () => {
  assert.deepEqual(await resolver.resolve4('ip-10-0-1-5.ap-northeast-1.compute.internal'), ['10.0.1.5']);
  assert.deepEqual(await resolver.resolve4('IP-10-0-1-5.EC2.Internal.'), ['10.0.1.5']);
  const last = seen.at(-1)!;
  assert.equal(last.name, 'ip-10-0-1-5.ec2.internal');
  assert.equal(last.type, 'A');
});

test('CNAME chains: A question gets CNAME then the target A; TTLs as given', async () => {
  const name = 'my-lb-123.ap-northeast-1.elb.amazonaws.com';
  // c-ares reports the smallest TTL along the chain: the CNAME's 30 s, not the A's default 60.
  assert.deepEqual(await resolver.resolve4(name, { ttl: true }), [{ address: '10.0.1.7', ttl: 30 }]);
  assert.deepEqual(await resolver.resolveCname(name), ['ip-10-0-1-7.ap-northeast-1.compute.internal']);
});

test('AAAA for a known name is NOERROR with no records; unknown names are NXDOMAIN', async () => {
  await assert.rejects(resolver.resolve6('ip-10-0-1-5.ec2.internal'), { code: 'ENODATA' });
  const m = await udpAsk(query('ip-10-0-1-5.ec2.internal', 28));
  assert.equal(rcode(m), 0);
  assert.equal(ancount(m), 0);
  await assert.rejects(resolver.resolve4('www.example.com'), { code: 'ENOTFOUND' });
  assert.equal(rcode(await udpAsk(query('www.example.com', 1))), 3);
});

test('PTR: reverse lookups of private addresses give the instance name; A questions on them get nothing', async () => {
  assert.deepEqual(await resolver.reverse('10.0.1.5'), ['ip-10-0-1-5.ap-northeast-1.compute.internal']);
  const m = await udpAsk(query('5.1.0.10.in-addr.arpa', 1));
  assert.equal(rcode(m), 0);
  assert.equal(ancount(m), 0);
});

test('refused and failures: REFUSED, SERVFAIL; garbage is ignored', async () => {
  assert.equal(rcode(await udpAsk(query('refuse.kumo.test', 1))), 5);
  assert.equal(rcode(await udpAsk(query('boom.kumo.test', 1))), 2);
  await assert.rejects(udpAsk(Buffer.from([1, 2, 3]), '127.0.0.1', 300), /no UDP answer/);
  const notQuery = query('x.kumo.test', 1);
  notQuery.writeUInt16BE(0x8000, 2); // a response: never answered, not even with FORMERR
  await assert.rejects(udpAsk(notQuery, '127.0.0.1', 300), /no UDP answer/);
  const badName = Buffer.concat([query('x', 1).subarray(0, 12), Buffer.from([0x3f, 1, 2])]);
  assert.equal(rcode(await udpAsk(badName)), 1); // FORMERR: the header was readable
  assert.deepEqual(await resolver.resolve4('ip-10-0-1-5.ec2.internal'), ['10.0.1.5']); // still serving
});

test('the source address reaches resolve (split horizon)', async () => {
  const m = await udpAsk(query('who.kumo.test', 1), '127.0.0.2');
  assert.equal(ancount(m), 1);
  assert.deepEqual([...m.subarray(m.length - 4)], [127, 0, 0, 2]);
});

test('EDNS: the id and question come back, with an OPT record', async () => {
  const m = await udpAsk(query('ip-10-0-1-9.ec2.internal', 1, { id: 0xbeef, edns: true }));
  assert.equal(m.readUInt16BE(0), 0xbeef);
  assert.equal(m.readUInt16BE(2) & 0x8000, 0x8000); // QR
  assert.equal(m.readUInt16BE(2) & 0x0100, 0x0100); // RD echoed
  assert.equal(ancount(m), 1);
  assert.equal(m.readUInt16BE(10), 1); // OPT in additional
});

test('large answers: truncated over UDP, complete over TCP (c-ares retries by itself)', async () => {
  const m = await udpAsk(query('many.kumo.test', 1));
  assert.equal(m.readUInt16BE(2) & 0x0200, 0x0200); // TC
  const all = await resolver.resolve4('many.kumo.test');
  assert.equal(all.length, 60);
});

test('TCP: two length-prefixed queries on one connection, answered in order', async () => {
  const sock = connect(port, '127.0.0.1');
  const frame = (b: Buffer) => Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  const got: Buffer[] = [];
  let buf = Buffer.alloc(0);
  await new Promise<void>((resolve, reject) => {
    sock.on('error', reject);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        got.push(buf.subarray(2, 2 + buf.readUInt16BE(0)));
        buf = buf.subarray(2 + got.at(-1)!.length);
      }
      if (got.length === 2) resolve();
    });
    // Both queries in one write, the second split from its prefix: framing must not care.
    const both = Buffer.concat([frame(query('ip-10-0-2-1.ec2.internal', 1, { id: 1 })), frame(query('nope.kumo.test', 1, { id: 2 }))]);
    sock.write(both.subarray(0, 7));
    setTimeout(() => sock.write(both.subarray(7)), 20);
  });
  sock.destroy();
  assert.equal(got[0]!.readUInt16BE(0), 1);
  assert.deepEqual([...got[0]!.subarray(got[0]!.length - 4)], [10, 0, 2, 1]);
  assert.equal(got[1]!.readUInt16BE(0), 2);
  assert.equal(rcode(got[1]!), 3);
});

test('EC2 names: AWS spelling per region, parsed back to the address', () => {
  assert.equal(privateDnsName('10.0.1.5', 'us-east-1'), 'ip-10-0-1-5.ec2.internal');
  assert.equal(privateDnsName('10.0.1.5', 'ap-northeast-1'), 'ip-10-0-1-5.ap-northeast-1.compute.internal');
  assert.equal(publicDnsName('127.100.0.5', 'us-east-1'), 'ec2-127-100-0-5.compute-1.amazonaws.com');
  assert.equal(publicDnsName('127.100.0.5', 'eu-west-1'), 'ec2-127-100-0-5.eu-west-1.compute.amazonaws.com');
  assert.equal(resourceDnsName('i-0123456789abcdef0', 'us-east-1'), 'i-0123456789abcdef0.ec2.internal');
  assert.deepEqual(parseEc2Name('ip-10-0-1-5.ec2.internal'), { kind: 'private', ip: '10.0.1.5', region: 'us-east-1' });
  assert.deepEqual(parseEc2Name('IP-10-0-1-5.ap-northeast-1.compute.internal.'), { kind: 'private', ip: '10.0.1.5', region: 'ap-northeast-1' });
  assert.deepEqual(parseEc2Name('ec2-127-100-0-5.compute-1.amazonaws.com'), { kind: 'public', ip: '127.100.0.5', region: 'us-east-1' });
  assert.deepEqual(parseEc2Name('ec2-127-100-0-5.eu-west-1.compute.amazonaws.com'), { kind: 'public', ip: '127.100.0.5', region: 'eu-west-1' });
  assert.deepEqual(parseEc2Name('i-0123456789abcdef0.ec2.internal'), { kind: 'resource', instanceId: 'i-0123456789abcdef0', region: 'us-east-1' });
  for (const bad of ['ip-10-0-1-256.ec2.internal', 'ip-10-0-1.ec2.internal', 'ec2-1-2-3-4.example.com', 'ip-10-0-1-5.us-east-1.compute.internal',
    'ec2-1-2-3-4.compute.amazonaws.com', 'localhost', 'ip-10-0-1-5.ec2.internal.evil.com']) {
    assert.equal(parseEc2Name(bad), undefined, bad);
  }
  assert.throws(() => privateDnsName('10.0.1', 'us-east-1'));
  assert.equal(reverseName('10.0.1.5'), '5.1.0.10.in-addr.arpa');
  assert.equal(parseReverseName('5.1.0.10.IN-ADDR.ARPA.'), '10.0.1.5');
  assert.equal(parseReverseName('1.0.10.in-addr.arpa'), undefined);
  assert.equal(parseReverseName('300.1.0.10.in-addr.arpa'), undefined);
});
