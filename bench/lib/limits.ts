/**
 * What the machine itself does, measured in the same run as kumo so every figure reads as a
 * fraction of it: a bare Node HTTP server (a separate process, as kumo is) taking 4 KiB PUTs and
 * answering 4 KiB GETs from memory, driven by the same lean client and concurrency as kumo's
 * small-object figures (./lean-s3.ts), and the disk under the data dir (./disk.ts).
 */
import { LeanS3, ok } from './lean-s3.js';
import { spawnNodeServer } from './spawn.js';
import { timedCalls } from './stats.js';

// Answers like S3 would, minus everything S3 does: a PUT's body is read and dropped, a GET gets
// the same 4 KiB, a POST (batch delete) an empty result.
const BARE_SERVER = `
const http = require('node:http');
const body = Buffer.alloc(4096, 7);
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'binary/octet-stream', 'content-length': body.length, etag: '"x"' });
      res.end(body);
    } else {
      const out = req.method === 'POST' ? '<DeleteResult/>' : '';
      res.writeHead(200, { etag: '"x"', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    }
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

export interface SmallRates {
  putOps: number;
  getOps: number;
  putMs: number[];
  getMs: number[];
}

/** `keys.length` PUTs of `body`, then as many GETs, `concurrency` in flight; ops/s and latencies. */
export async function smallObjects(client: LeanS3, bucket: string, keys: string[], body: Buffer, concurrency: number): Promise<SmallRates> {
  const timed = (fn: (key: string) => Promise<unknown>) => timedCalls(keys, concurrency, fn);
  const put = await timed(async (key) => ok(await client.put(bucket, key, body), `PUT ${key}`));
  const get = await timed(async (key) => {
    const r = ok(await client.get(bucket, key), `GET ${key}`);
    if (r.body.length !== body.length) throw new Error(`GET ${key}: ${r.body.length} bytes, put ${body.length}`);
  });
  return { putOps: put.ops, getOps: get.ops, putMs: put.ms, getMs: get.ms };
}

/** The same small-object run against a bare Node HTTP server. */
export async function bareHttp(keys: string[], body: Buffer, concurrency: number): Promise<SmallRates> {
  const server = await spawnNodeServer(BARE_SERVER);
  const client = new LeanS3(`http://127.0.0.1:${server.port}`, concurrency);
  try {
    return await smallObjects(client, 'bare', keys, body, concurrency);
  } finally {
    client.close();
    await server.stop();
  }
}
