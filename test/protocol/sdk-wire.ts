/**
 * A stand-in for the network between an SDK v3 client and kumo's codecs: the client's own
 * serializer builds the request, kumo's codec decodes it, kumo's encoder answers, and the
 * client's own deserializer parses that answer. Nothing listens on a socket, so each case shows
 * exactly what one codec made of one SDK's bytes.
 */
import { Readable } from 'node:stream';
import type { HttpRequest } from '@smithy/types';
import type { Operation } from '../../src/models/shapes.js';
import { AwsError } from '../../src/protocol/errors.js';
import type { Codec, DecodedCall, WireRequest, WireResponse } from '../../src/protocol/types.js';
import { CREDENTIALS, REGION } from '../helpers/kumo.js';

/** The request as kumo's edge would hand it to a codec. */
export function toWire(req: HttpRequest): WireRequest {
  const query: [string, string][] = [];
  for (const [k, v] of Object.entries(req.query ?? {})) {
    for (const x of Array.isArray(v) ? v : [v]) query.push([k, x ?? '']);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
  const body = req.body === undefined ? undefined : Buffer.from(req.body as string | Uint8Array);
  return { method: req.method, rawPath: req.path, query, headers, body };
}

export interface Exchange {
  request: HttpRequest;
  decoded: DecodedCall;
}

/**
 * Client settings whose request handler runs kumo's codec. `answer` gives the output kumo's
 * handler would have returned (or throws its AwsError); the encoding is what the client parses.
 */
export function mirror(codec: Codec, answer: (op: Operation, input: Record<string, unknown>) => Record<string, unknown> | undefined = () => undefined) {
  const seen: Exchange[] = [];
  const requestHandler = {
    async handle(request: HttpRequest) {
      const decoded = await codec.decode(toWire(request));
      seen.push({ request, decoded });
      let out: WireResponse;
      try {
        out = codec.encode(decoded.operation, answer(decoded.operation, decoded.input), 'req-1');
      } catch (e) {
        if (!(e instanceof AwsError)) throw e;
        out = codec.encodeError(e, 'req-1');
      }
      const body = Buffer.from((out.body as string | undefined) ?? '');
      return { response: { statusCode: out.status, headers: out.headers, body: Readable.from([body]) } };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
  };
  return {
    seen,
    last: () => seen[seen.length - 1],
    config: { endpoint: 'http://kumo.test', region: REGION, credentials: CREDENTIALS, requestHandler, maxAttempts: 1 },
  };
}

/** Blobs arrive as Buffers and leave the SDK as Uint8Arrays; compare them as plain bytes. */
export function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return [...v];
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== '$metadata' && x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}
