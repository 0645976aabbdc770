// kill -9 in the middle of S3 uploads: kumo runs as a child process; several single PUTs and
// multipart uploads finish (200), while others are cut off mid-body when kumo is killed, and 16
// small PUTs at a time keep going right up to the kill (they share commits and flushes: group
// commit). After a restart every acknowledged object and part is intact (sha256), nothing
// interrupted is visible, <data-dir>/s3 holds exactly the blob files that rows reference (tmp/ is
// empty) and state.db exactly the small bodies that rows reference.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { clientConfig, REGION, uniqueName, waitFor } from '../helpers/kumo.js';
import { useKumoProcesses } from '../helpers/kumo-process.js';
import { signHeaders } from './support.js';

const kumos = useKumoProcesses();

const MiB = 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A PUT (object or part) whose body is sent only halfway and then held open. */
async function halfSent(url: string, path: string, query: Record<string, string>, size: number): Promise<ClientRequest> {
  const headers = await signHeaders(url, {
    method: 'PUT',
    path,
    query,
    headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD', 'content-length': String(size) },
  });
  const target = new URL(url);
  const qs = new URLSearchParams(query).toString();
  const req = request({ host: target.hostname, port: Number(target.port), method: 'PUT', path: path + (qs ? `?${qs}` : ''), headers, setHost: false });
  req.on('error', () => undefined);
  req.write(randomBytes(size / 2));
  return req;
}

/**
 * 4 KiB PUTs, `inFlight` at a time, until stopped; records what each acknowledged key holds. Each
 * sender rewrites every other key it wrote (one at a time, so the last answer is the last write),
 * so overwrites, whose old bytes are freed, are in flight too.
 */
function smallPuts(s3: S3Client, Bucket: string, inFlight: number) {
  const acked = new Map<string, string>();
  let stopped = false;
  const sender = async (w: number) => {
    for (let j = 0; !stopped; j++) {
      const Key = `small-${w}-${j % 2 === 1 ? j - 1 : j}`;
      const body = randomBytes(4096);
      try {
        await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));
        acked.set(Key, sha256(body));
      } catch {
        // Cut off by the kill: not acknowledged, so either write of the key may be there.
        acked.delete(Key);
        return;
      }
    }
  };
  const done = Promise.all(Array.from({ length: inFlight }, (_, w) => sender(w)));
  return {
    acked,
    count: () => acked.size,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name)) : [d.name]));
}

describe('kill -9 during uploads', () => {
  test('acknowledged uploads survive intact; interrupted ones vanish without orphan files', async () => {
    const dataDir = kumos.dataDir('kumo-s3-crash-');
    const first = await kumos.start(dataDir, ['--quiet']);
    const s3 = new S3Client(clientConfig(first.url, { forcePathStyle: true }));
    const Bucket = uniqueName('crash');
    await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));

    // Acknowledged: four single PUTs and two multipart uploads, all at once.
    const singles = Array.from({ length: 4 }, (_, i) => ({ Key: `single-${i}`, body: randomBytes(MiB + i) }));
    const multis = Array.from({ length: 2 }, (_, i) => ({ Key: `multi-${i}`, parts: [randomBytes(5 * MiB), randomBytes(MiB + i)] }));
    const pending = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'pending' }));
    const pendingPart = randomBytes(5 * MiB);
    await Promise.all([
      ...singles.map((s) => s3.send(new PutObjectCommand({ Bucket, Key: s.Key, Body: s.body }))),
      ...multis.map(async (m) => {
        const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: m.Key }));
        const etags = await Promise.all(
          m.parts.map(async (Body, i) => (await s3.send(new UploadPartCommand({ Bucket, Key: m.Key, UploadId, PartNumber: i + 1, Body }))).ETag!),
        );
        await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: m.Key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
      }),
      s3.send(new UploadPartCommand({ Bucket, Key: 'pending', UploadId: pending.UploadId, PartNumber: 1, Body: pendingPart })),
    ]);

    // Interrupted: two PUTs and a part of the pending upload, each cut off halfway through its body.
    const cut = [
      await halfSent(first.url, `/${Bucket}/cut-0`, {}, 4 * MiB),
      await halfSent(first.url, `/${Bucket}/cut-1`, {}, 4 * MiB),
      await halfSent(first.url, `/${Bucket}/pending`, { partNumber: '2', uploadId: pending.UploadId! }, 4 * MiB),
    ];
    const tmp = join(dataDir, 's3', 'tmp');
    await waitFor('the interrupted bodies to reach kumo', () => readdirSync(tmp).length === cut.length);
    const small = smallPuts(new S3Client(clientConfig(first.url, { forcePathStyle: true, maxAttempts: 1 })), Bucket, 16);
    await waitFor('small PUTs to be acknowledged', () => small.count() >= 200, 30_000);
    await first.kill('SIGKILL');
    await small.stop();
    // A key whose last PUT was cut off was removed from `acked`; an earlier acknowledged write of
    // it may or may not have been replaced, so it is not checked.
    const smallAcked = [...small.acked];
    for (const r of cut) r.destroy();
    s3.destroy();

    const second = await kumos.start(dataDir, ['--quiet']);
    const c = new S3Client(clientConfig(second.url, { forcePathStyle: true }));
    try {
      const bytes = async (Key: string) => Buffer.from(await (await c.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray());
      for (const s of singles) assert.equal(sha256(await bytes(s.Key)), sha256(s.body), s.Key);
      assert.ok(smallAcked.length >= 150, `${smallAcked.length} small PUTs acknowledged`);
      for (const [Key, digest] of smallAcked) assert.equal(sha256(await bytes(Key)), digest, Key);
      for (const m of multis) assert.equal(sha256(await bytes(m.Key)), sha256(Buffer.concat(m.parts)), m.Key);
      for (const Key of ['cut-0', 'cut-1']) {
        await assert.rejects(c.send(new HeadObjectCommand({ Bucket, Key })), (e: { $metadata?: { httpStatusCode?: number } }) => e.$metadata?.httpStatusCode === 404);
      }
      const uploads = await c.send(new ListMultipartUploadsCommand({ Bucket }));
      assert.deepEqual(uploads.Uploads!.map((u) => u.UploadId), [pending.UploadId]);
      const parts = await c.send(new ListPartsCommand({ Bucket, Key: 'pending', UploadId: pending.UploadId }));
      assert.deepEqual(parts.Parts!.map((p) => [p.PartNumber, p.Size]), [[1, pendingPart.length]]);

      assert.deepEqual(readdirSync(tmp), [], 'no temporary files survive a restart');
      const db = new Database(join(dataDir, 'state.db'), { readonly: true });
      const all = db
        .prepare("SELECT blob FROM s3_objects UNION SELECT blob FROM s3_parts UNION SELECT blob FROM s3_versions WHERE blob IS NOT NULL")
        .all()
        .map((r) => (r as { blob: string }).blob);
      const inline = (db.prepare('SELECT id FROM s3_inline_blobs').all() as { id: number }[]).map((r) => `db-${r.id}`).sort();
      db.close();
      const referenced = all.filter((b) => !b.startsWith('db-')).sort();
      assert.deepEqual(filesUnder(join(dataDir, 's3', 'blobs')).sort(), referenced, 'blob files are exactly the referenced ones');
      assert.equal(referenced.length, singles.length + multis.length + 1);
      assert.deepEqual(all.filter((b) => b.startsWith('db-')).sort(), inline, 'small bodies in state.db are exactly the referenced ones');
    } finally {
      c.destroy();
      await second.kill('SIGTERM');
    }
  });
});
