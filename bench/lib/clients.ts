/**
 * SDK v3 client settings for a kumo on loopback, and a transport probe: a wrapper around the
 * client's own HTTP handler that reads each response body whole and records how long the
 * exchange took on the wire (request sent → last body byte) and how big the body was. The SDK's
 * total minus that is client-side work (signing, XML parsing), which is not kumo's.
 */
import { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';

export const REGION = 'ap-northeast-1';
export const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export function clientConfig(url: string) {
  const u = new URL(url);
  if (u.hostname !== '127.0.0.1') throw new Error(`benchmarks only talk to 127.0.0.1, not ${u.hostname}`);
  return { endpoint: url, region: REGION, credentials: CREDENTIALS, maxAttempts: 1 };
}

export interface WireSample {
  ms: number;
  bytes: number;
  status: number;
}

interface HttpHandlerLike {
  handle(request: unknown, options?: unknown): Promise<{ response: { statusCode: number; body: unknown } }>;
}

/**
 * Replaces `client.config.requestHandler` (read by the SDK on every send) with a timing proxy.
 * `last()` returns the sample of the most recent exchange.
 */
export function probeWire(client: { config: object }): { last(): WireSample | undefined } {
  const config = client.config as { requestHandler: HttpHandlerLike };
  const inner = config.requestHandler;
  let last: WireSample | undefined;
  const handle = async (request: unknown, options?: unknown) => {
    const t = performance.now();
    const out = await inner.handle(request, options);
    const chunks: Buffer[] = [];
    for await (const c of out.response.body as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
    const body = Buffer.concat(chunks);
    last = { ms: performance.now() - t, bytes: body.length, status: out.response.statusCode };
    out.response.body = Readable.from([body]);
    return out;
  };
  config.requestHandler = new Proxy(inner as object, {
    get(target, prop) {
      if (prop === 'handle') return handle;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as HttpHandlerLike;
  return { last: () => last };
}
