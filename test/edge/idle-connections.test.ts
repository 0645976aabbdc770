// Connections that stop moving are closed, and ones that keep moving are not: kumo runs with a
// 1 s idle timeout (20 s by default, as S3) and each test waits for the socket to close, with a
// deadline. A silent connection, partial headers (even trickled), an idle keep-alive connection,
// a body that stalls and a response nobody reads are closed; an upload that trickles for several
// times the timeout succeeds, and so does a request kumo takes longer than the timeout to answer.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { REGION, startKumoForTest, uniqueName, waitFor, type TestKumo } from '../helpers/kumo.js';
import { failure, s3Client, signHeaders } from '../s3/support.js';
import { startStubEdge, STUB_FORM } from './stub-edge.js';

const IDLE = 1000;
/** Longest kumo may take to notice: the timeout, Node's 1 s keep-alive grace, and a slow machine. */
const DEADLINE = 3 * IDLE + 3000;

let kumo: TestKumo;
let s3: S3Client;
const Bucket = uniqueName('idle');

before(async () => {
  kumo = await startKumoForTest({ idleTimeoutMs: IDLE });
  s3 = s3Client(kumo.url);
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
});
after(async () => {
  s3.destroy();
  await kumo.stop();
});

interface Conn {
  sock: Socket;
  received(): string;
  /** Resolves when the socket has closed. */
  closed: Promise<void>;
}

async function open(url: string): Promise<Conn> {
  const u = new URL(url);
  const sock = connect(Number(u.port), u.hostname);
  let got = '';
  sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
  sock.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  return { sock, received: () => got, closed };
}

/** Milliseconds from `since` until the connection closes; fails past the deadline. */
async function closesAfter(c: Conn, since: number, deadline = DEADLINE): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`kumo left the connection open for ${deadline} ms`)), deadline);
  });
  try {
    await Promise.race([c.closed, late]);
  } finally {
    clearTimeout(timer);
    c.sock.destroy();
  }
  return Date.now() - since;
}

/** Kumo noticed the idle time itself: not at once (a refusal), but after the timeout. */
function afterTheTimeout(ms: number): void {
  assert.ok(ms >= IDLE - 100, `closed after ${ms} ms, before the ${IDLE} ms timeout`);
}

describe('waiting on a client that does not send', () => {
  test('a connection that sends nothing is closed', async () => {
    const c = await open(kumo.url);
    afterTheTimeout(await closesAfter(c, Date.now()));
  });

  test('partial headers are closed', async () => {
    const c = await open(kumo.url);
    c.sock.write(`PUT /${Bucket}/k HTTP/1.1\r\nHost: ${new URL(kumo.url).host}\r\nContent-Le`);
    afterTheTimeout(await closesAfter(c, Date.now()));
  });

  test('headers trickled a line at a time are closed once they have taken longer than the timeout', async () => {
    const c = await open(kumo.url);
    const started = Date.now();
    c.sock.write(`GET /${Bucket} HTTP/1.1\r\n`);
    let sent = 0;
    const trickle = setInterval(() => c.sock.writable && c.sock.write(`x-amz-meta-${sent++}: v\r\n`), IDLE / 4);
    try {
      afterTheTimeout(await closesAfter(c, started));
    } finally {
      clearInterval(trickle);
    }
    assert.ok(sent >= 3, 'the headers kept moving until kumo closed the connection');
  });

  test('a keep-alive connection with no next request is closed', async () => {
    const c = await open(kumo.url);
    c.sock.write(`GET /_kumo/health HTTP/1.1\r\nHost: ${new URL(kumo.url).host}\r\n\r\n`);
    await waitFor('the health answer', () => /^HTTP\/1\.1 200 /.test(c.received()) && c.received().trimEnd().endsWith('}'));
    afterTheTimeout(await closesAfter(c, Date.now()));
    assert.equal((c.received().match(/HTTP\/1\.1 /g) ?? []).length, 1);
  });
});

/** A PUT of `size` bytes whose body is written by `feed`; resolves with the status, or the error. */
async function putBy(Key: string, size: number, feed: (write: (b: Buffer) => void) => Promise<void>) {
  const u = new URL(kumo.url);
  const path = `/${Bucket}/${Key}`;
  const headers = await signHeaders(kumo.url, {
    method: 'PUT',
    path,
    headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(size) },
  });
  const req = request({ host: u.hostname, port: Number(u.port), method: 'PUT', path, headers, setHost: false });
  const answered = new Promise<{ status: number } | { error: string }>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode! }));
    });
    req.on('error', (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
  });
  await feed((b) => req.write(b));
  return { req, answered };
}

describe('bodies', () => {
  test('an upload that trickles for several times the timeout, never pausing that long, succeeds', async () => {
    const pieces = Array.from({ length: 10 }, () => randomBytes(1024));
    const started = Date.now();
    const { req, answered } = await putBy('trickled', 10 * 1024, async (write) => {
      for (const p of pieces) {
        write(p);
        await delay(IDLE / 3);
      }
    });
    req.end();
    assert.deepEqual(await answered, { status: 200 });
    assert.ok(Date.now() - started > 3 * IDLE, 'the upload took longer than the idle timeout');
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'trickled' }));
    const body = Buffer.from(await got.Body!.transformToByteArray());
    assert.equal(createHash('sha256').update(body).digest('hex'), createHash('sha256').update(Buffer.concat(pieces)).digest('hex'));
  });

  test('a body that stops moving is cut off, and leaves nothing behind', async () => {
    let stalledAt = 0;
    const { answered } = await putBy('stalled', 10 * 1024, async (write) => {
      write(randomBytes(1024));
      stalledAt = Date.now();
    });
    const outcome = await Promise.race([answered, delay(DEADLINE).then(() => ({ error: 'still open' }))]);
    assert.ok('error' in outcome && outcome.error !== 'still open', `the stalled upload was cut: ${JSON.stringify(outcome)}`);
    afterTheTimeout(Date.now() - stalledAt);
    assert.equal((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'stalled' })))).status, 404);
    await waitFor('the partial upload’s temporary file to go', () => readdirSync(join(kumo.dataDir, 's3', 'tmp')).length === 0);
  });
});

describe('kumo’s own time, and a reader that stops', () => {
  test('a request kumo takes longer than the timeout to answer is answered', async () => {
    const stub = await startStubEdge({
      limits: { idleTimeoutMs: IDLE, maxConnections: 100 },
      handler: async (ctx) => {
        await delay(3 * IDLE); // an operation that takes a while, such as completing a large upload
        return { Account: ctx.account };
      },
    });
    try {
      const r = await fetch(stub.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: STUB_FORM });
      assert.equal(r.status, 200);
      assert.match(await r.text(), /<Account>000000000000<\/Account>/);
    } finally {
      await stub.close();
    }
  });

  test('a response the client stops reading is cut off', async () => {
    const stub = await startStubEdge({
      limits: { idleTimeoutMs: IDLE, maxConnections: 100 },
      handler: () => ({ Account: '000000000000', Arn: 'a'.repeat(64 * 1024 * 1024) }),
    });
    try {
      const c = await open(stub.url);
      c.sock.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${STUB_FORM.length}\r\n\r\n${STUB_FORM}`);
      await waitFor('the answer to start', () => c.received().startsWith('HTTP/1.1 200'));
      c.sock.pause();
      const stoppedAt = Date.now();
      // A paused client cannot see the close until it reads, so look at the server's side.
      const count = () => new Promise<number>((resolve, reject) => stub.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
      await waitFor('kumo to close the connection', async () => (await count()) === 0, DEADLINE);
      afterTheTimeout(Date.now() - stoppedAt);
      c.sock.destroy();
    } finally {
      await stub.close();
    }
  });
});
