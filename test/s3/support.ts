/**
 * What the S3 test files share: an S3 client for a kumo, and a way to look at a rejected call the
 * way a user would (error name, HTTP status, the extra fields S3 puts in its error body).
 */
import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { clientConfig, CREDENTIALS, REGION, uniqueName, useKumo, type TestKumo } from '../helpers/kumo.js';

export function s3Client(url: string, extra: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client(clientConfig(url, { forcePathStyle: true, ...extra }) as S3ClientConfig);
}

/** A kumo and a path-style S3 client for the whole test file (see useKumo). */
export function useS3(assign: (f: { kumo: TestKumo; s3: S3Client }) => unknown): void {
  useKumo((url) => s3Client(url), ({ kumo, client }) => assign({ kumo, s3: client }));
}

/** A new bucket in the test region, named uniquely from `prefix`. */
export async function createBucket(s3: S3Client, prefix: string): Promise<string> {
  const Bucket = uniqueName(prefix);
  await s3.send(new CreateBucketCommand({ Bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
  return Bucket;
}

export interface Failure {
  name: string;
  status: number | undefined;
  /** The SDK copies the error body's members (Key, BucketName, ...) onto the exception. */
  fields: Record<string, unknown>;
}

/** The error a call fails with; fails the test if it succeeds. */
export async function failure(p: Promise<unknown>): Promise<Failure> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } } & Record<string, unknown>;
    return { name: err.name, status: err.$metadata?.httpStatusCode, fields: err };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The text of an S3 XML error body's element, e.g. xmlField(body, 'Code'). */
export function xmlField(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RawRequest {
  method: string;
  /** Path as sent, already percent-encoded. */
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** For bodies that depend on the signature (signed aws-chunked): built from the signed headers. */
  bodyFrom?: (signedHeaders: Record<string, string>) => Buffer;
  /** The Host header to send (the connection always goes to the kumo's own address). */
  host?: string;
  region?: string;
  /** Undefined: signed with the test key; null: sent unsigned. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | null;
  /** Headers added after signing, so the signature does not cover them. */
  unsigned?: Record<string, string>;
}

class NodeSha256 {
  private readonly h;
  constructor(secret?: SourceData) {
    this.h = secret ? createHmac('sha256', toBuffer(secret)) : createHash('sha256');
  }
  update(data: SourceData) {
    this.h.update(toBuffer(data));
  }
  async digest() {
    return new Uint8Array(this.h.digest());
  }
}
type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBuffer = (d: SourceData) =>
  typeof d === 'string' ? Buffer.from(d) : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/**
 * One request exactly as given (Host header included), SigV4-signed with @smithy/signature-v4
 * unless told otherwise: for what the SDK will not send, such as a CreateBucket without a
 * LocationConstraint or a virtual-host request to a loopback address.
 */
export async function signHeaders(url: string, r: RawRequest, signingDate?: Date): Promise<Record<string, string>> {
  const target = new URL(url);
  const host = r.host ?? target.host;
  const headers: Record<string, string> = { host, ...(r.headers ?? {}) };
  if (r.credentials === null) return headers;
  const signer = new SignatureV4({
    service: 's3',
    region: r.region ?? REGION,
    credentials: r.credentials ?? CREDENTIALS,
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign({
    method: r.method,
    protocol: 'http:',
    hostname: host.replace(/:[0-9]+$/, ''),
    port: Number(target.port),
    path: r.path,
    query: r.query ?? {},
    headers,
    body: r.body === undefined ? undefined : Buffer.from(r.body),
  }, { signingDate });
  return signed.headers;
}

export async function rawRequest(url: string, r: RawRequest): Promise<RawResponse> {
  const target = new URL(url);
  const headers = { ...(await signHeaders(url, r)), ...r.unsigned };
  const body = r.body === undefined ? undefined : Buffer.from(r.body);
  const payload = r.bodyFrom ? r.bodyFrom(headers) : body;
  const qs = new URLSearchParams(r.query ?? {}).toString().replace(/\+/g, '%20');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: target.hostname, port: Number(target.port), method: r.method, path: r.path + (qs ? `?${qs}` : ''), headers, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * One request written as given on a fresh socket (Connection: close): for what Node's HTTP client
 * will not send, such as a PUT with neither Content-Length nor Transfer-Encoding. `head` holds the
 * headers to send (signed ones included); the answer is read until the server closes.
 */
export function socketRequest(url: string, method: string, path: string, head: Record<string, string>, body = ''): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries({ ...head, connection: 'close' }).map(([k, v]) => `${k}: ${v}`)];
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
  });
}

/** Makes time pass on kumo's clock (POST /_kumo/clock); kumo answers once what runs on time caught up. */
export async function advanceClock(url: string, by: string): Promise<void> {
  const r = await fetch(`${url}/_kumo/clock?advance=${by}`, { method: 'POST' });
  if (r.status !== 200) throw new Error(`advancing kumo's clock by ${by}: ${r.status} ${await r.text()}`);
}

/** The time on kumo's clock, which tests may have moved ahead of the machine's. */
export async function kumoNow(url: string): Promise<Date> {
  return new Date(((await (await fetch(`${url}/_kumo/clock`)).json()) as { now: string }).now);
}
