/**
 * A lean S3 client for the small-object benchmarks: Node's http agent (keep-alive) and SigV4 done
 * by hand (the signing key made once per day, one HMAC per request, the payload's real SHA-256
 * as the SDK sends it over http). The SDK v3 spends about a millisecond of CPU on each 4 KiB
 * PutObject on a 2-core machine, more than kumo does, so with the SDK as the only client the
 * client, not kumo, is what a small-object figure would measure. The same client drives the bare
 * Node server of ./limits.ts, so the two figures compare like with like.
 */
import { createHash, createHmac } from 'node:crypto';
import { Agent, request } from 'node:http';
import { CREDENTIALS, REGION } from './clients.js';

export interface LeanResponse {
  status: number;
  body: Buffer;
}

const hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
const EMPTY = hex('');

/** RFC 3986 escaping of one path segment, as SigV4 wants it for S3 (no double escaping). */
const escape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export class LeanS3 {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private day = '';
  private key = Buffer.alloc(0);

  constructor(url: string, sockets: number) {
    const u = new URL(url);
    if (u.hostname !== '127.0.0.1') throw new Error(`benchmarks only talk to 127.0.0.1, not ${u.hostname}`);
    this.host = u.host;
    this.port = Number(u.port);
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets });
  }

  put(bucket: string, key: string, body: Buffer): Promise<LeanResponse> {
    return this.send('PUT', `/${bucket}/${key.split('/').map(escape).join('/')}`, body);
  }

  get(bucket: string, key: string): Promise<LeanResponse> {
    return this.send('GET', `/${bucket}/${key.split('/').map(escape).join('/')}`);
  }

  /** POST /bucket?delete with the XML body (Content-MD5 is required). */
  deleteObjects(bucket: string, keys: string[]): Promise<LeanResponse> {
    const xml = `<Delete><Quiet>true</Quiet>${keys.map((k) => `<Object><Key>${k}</Key></Object>`).join('')}</Delete>`;
    const body = Buffer.from(xml);
    return this.send('POST', `/${bucket}`, body, 'delete=', { 'content-md5': createHash('md5').update(body).digest('base64') });
  }

  close(): void {
    this.agent.destroy();
  }

  private send(method: string, path: string, body?: Buffer, query = '', extra: Record<string, string> = {}): Promise<LeanResponse> {
    const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const payload = body ? hex(body) : EMPTY;
    const headers: Record<string, string> = { host: this.host, 'x-amz-content-sha256': payload, 'x-amz-date': date, ...extra };
    const names = Object.keys(headers).sort();
    const canonical = [method, path, query, ...names.map((n) => `${n}:${headers[n]}`), '', names.join(';'), payload].join('\n');
    const scope = `${date.slice(0, 8)}/${REGION}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${date}\n${scope}\n${hex(canonical)}`;
    const signature = createHmac('sha256', this.signingKey(date.slice(0, 8))).update(toSign).digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${CREDENTIALS.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`;
    if (body) headers['content-length'] = String(body.length);
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, method, path: query ? `${path}?${query}` : path, headers, agent: this.agent, setHost: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  private signingKey(day: string): Buffer {
    if (day !== this.day) {
      this.day = day;
      this.key = hmac(hmac(hmac(hmac(`AWS4${CREDENTIALS.secretAccessKey}`, day), REGION), 's3'), 'aws4_request');
    }
    return this.key;
  }
}

/** Throws unless the answer is 2xx (a benchmark must not count failures as work done). */
export function ok(r: LeanResponse, what: string): LeanResponse {
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  return r;
}
