/**
 * Hand-signed requests for cases no SDK client will build (services kumo lacks, odd bodies),
 * signed by @smithy/signature-v4, the signer SDK v3 itself uses, so kumo's verifier is checked
 * against independent signing code rather than against itself.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { CREDENTIALS } from '../helpers/kumo.js';

type Source = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Source) =>
  typeof d === 'string' ? Buffer.from(d) : ArrayBuffer.isView(d) ? Buffer.from(d.buffer, d.byteOffset, d.byteLength) : Buffer.from(d);

/** The hash constructor @smithy/signature-v4 wants, from node:crypto. */
export class NodeSha256 {
  private readonly h;
  constructor(secret?: Source) {
    this.h = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: Source) {
    this.h.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

export interface SignOptions {
  service: string;
  region?: string;
  body?: string;
  headers?: Record<string, string>;
  path?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
}

/** Headers of a SigV4-signed POST to `url` (the body is signed as given). */
export async function signedHeaders(url: string, o: SignOptions): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({
    service: o.service,
    region: o.region ?? 'us-east-1',
    credentials: o.credentials ?? CREDENTIALS,
    sha256: NodeSha256,
  });
  const req = await signer.sign(
    {
      method: 'POST',
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: o.path ?? '/',
      query: {},
      headers: { host: u.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...o.headers },
      body: o.body ?? '',
    },
    { signingDate: o.signingDate },
  );
  return req.headers as Record<string, string>;
}

/** POSTs a signed form (or other body) and returns status and text. */
export async function signedPost(url: string, o: SignOptions): Promise<{ status: number; text: string; headers: Headers }> {
  const headers = await signedHeaders(url, o);
  delete headers.host;
  const r = await fetch(new URL(o.path ?? '/', url), { method: 'POST', headers, body: o.body ?? '' });
  return { status: r.status, text: await r.text(), headers: r.headers };
}
