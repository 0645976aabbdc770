/**
 * The request chain, in order. Every AWS request that reaches kumo goes through these steps and
 * nothing else:
 *
 *   1. identify    a request id and a start time
 *   2. route       which service: SigV4 scope, Host (S3 virtual hosts), form Version, else S3
 *   3. read        query-family bodies whole; S3 bodies stay streams
 *   4. authenticate  SigV4 against the configured keys (service-specific error codes)
 *   5. parse       the codec walks the operation's input shape
 *   6. dispatch    the service's operation table; no handler → NotImplemented
 *   7. serialize   the codec walks the output shape (or the error)
 *   8. log         one access-log line
 *
 * /_kumo/* (health, reset) is answered before step 2 by ./internal.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsError, CommonErrors, isAwsError } from '../protocol/errors.js';
import type { WireRequest, WireResponse } from '../protocol/types.js';
import type { RequestContext, Service } from '../services/service.js';
import { requestId as newRequestId } from '../state/ids.js';
import { authenticate, type AuthSettings, type Caller } from './authenticate.js';
import { readForm, streamBody } from './body.js';
import { hostBucket, type ServiceRouter } from './route.js';
import type { SignedRequest } from './sigv4.js';

export interface Edge {
  router: ServiceRouter;
  auth: AuthSettings;
  defaultRegion: string;
  log(line: string): void;
  accessLog: boolean;
  /** Answers /_kumo/*; returns false if the path is not one of them. */
  internal(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** Encodes errors for requests no service claimed. */
  fallback: Service;
}

interface Exchange {
  id: string;
  started: bigint;
  req: IncomingMessage;
  res: ServerResponse;
  rawPath: string;
  rawQuery: string;
  query: [string, string][];
  headers: Record<string, string>;
  multi: Map<string, string[]>;
  service?: Service;
  /** Services sharing the request's shape until the form's Version picks one. */
  candidates?: Service[];
  wire?: WireRequest;
  operation?: string;
  status?: number;
}

export async function handle(edge: Edge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const x = identify(req, res);
  if (x.rawPath.startsWith('/_kumo/') && (await edge.internal(req, res, x.rawPath))) return;
  try {
    route(edge, x);
    x.wire = await read(edge, x);
    const service = x.service!;
    const caller = authenticateStep(edge, x);
    const body = service.codec.model.metadata.protocol === 'rest-xml' ? streamBody(req, x.headers, caller) : undefined;
    if (body) x.wire.stream = body.stream;
    const call = await service.codec.decode(x.wire);
    x.operation = call.operation.name;
    const output = await dispatch(edge, x, caller, call.operation.name, call.input, body?.trailers);
    await send(x, service.codec.encode(call.operation, output as Record<string, unknown> | undefined, x.id));
  } catch (e) {
    await sendError(edge, x, e);
  } finally {
    log(edge, x);
  }
}

// 1. identify
function identify(req: IncomingMessage, res: ServerResponse): Exchange {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const multi = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const list = multi.get(name) ?? [];
    list.push(req.rawHeaders[i + 1]);
    multi.set(name, list);
  }
  const headers: Record<string, string> = {};
  for (const [k, v] of multi) headers[k] = v.join(',');
  let query: [string, string][];
  try {
    query = [...new URLSearchParams(rawQuery)];
  } catch {
    query = [];
  }
  return { id: newRequestId(), started: process.hrtime.bigint(), req, res, rawPath, rawQuery, query, headers, multi };
}

// 2. route
function route(edge: Edge, x: Exchange): void {
  const r = edge.router.route({ method: x.req.method ?? 'GET', host: x.headers.host ?? '', headers: x.headers, query: x.query });
  if (r.unknownScope) {
    throw new AwsError('NotImplemented', `kumo does not implement the service '${r.unknownScope}'.`, 501, { fault: 'Receiver' });
  }
  x.service = r.service;
  x.candidates = r.candidates;
  if (!x.service && !x.candidates?.length) throw new AwsError('InvalidAction', 'No service handles this request.', 400);
}

// 3. read
async function read(edge: Edge, x: Exchange): Promise<WireRequest> {
  const wire: WireRequest = { method: x.req.method ?? 'GET', rawPath: x.rawPath, query: x.query, headers: x.headers };
  if (x.candidates || x.service?.codec.model.metadata.protocol !== 'rest-xml') {
    wire.body = await readForm(x.req);
  }
  if (x.candidates) {
    const version = formValue(wire, 'Version');
    const chosen = edge.router.byVersion(x.candidates, version);
    if (!chosen) {
      if (!version) throw CommonErrors.missingParameter('Version');
      throw new AwsError('InvalidAction', `kumo serves no API with version '${version}'.`, 400);
    }
    x.service = chosen;
  }
  if (x.service!.codec.model.metadata.protocol === 'rest-xml') wire.hostBucket = hostBucket(x.headers.host ?? '');
  return wire;
}

function formValue(wire: WireRequest, name: string): string | undefined {
  const q = wire.query.find(([k]) => k === name)?.[1];
  if (q !== undefined) return q;
  return wire.body ? (new URLSearchParams(wire.body.toString('utf8')).get(name) ?? undefined) : undefined;
}

// 4. authenticate
function authenticateStep(edge: Edge, x: Exchange): Caller {
  const signed: SignedRequest = { method: x.req.method ?? 'GET', rawPath: x.rawPath, rawQuery: x.rawQuery, headers: x.multi };
  return authenticate(edge.auth, x.service!, signed, x.query, x.wire?.body);
}

// 6. dispatch
async function dispatch(
  edge: Edge,
  x: Exchange,
  caller: Caller,
  operation: string,
  input: Record<string, unknown>,
  trailers: Map<string, string> | undefined,
) {
  const service = x.service!;
  const handler = service.handlers[operation];
  if (!handler) throw CommonErrors.notImplemented(service.name, operation);
  const ctx: RequestContext = {
    requestId: x.id,
    account: caller.account,
    region: caller.region ?? edge.defaultRegion,
    accessKeyId: caller.accessKeyId,
    callerArn: caller.account ? `arn:aws:iam::${caller.account}:root` : undefined,
    now: edge.auth.now,
    host: x.headers.host ?? '',
    trailers,
  };
  return handler(ctx, input);
}

// 7. serialize
async function send(x: Exchange, out: WireResponse): Promise<void> {
  const { res } = x;
  x.status = out.status;
  const family = x.service?.codec.model.metadata.protocol;
  const headers: Record<string, string> = { ...out.headers };
  if (family === 'rest-xml') {
    headers['x-amz-request-id'] = x.id;
    headers['x-amz-id-2'] = Buffer.from(x.id).toString('base64');
  } else headers['x-amzn-requestid'] = x.id;
  const isHead = x.req.method === 'HEAD';
  if (typeof out.body === 'string' || Buffer.isBuffer(out.body)) {
    const buf = typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body;
    headers['content-length'] ??= String(buf.length);
    res.writeHead(out.status, headers);
    res.end(isHead ? undefined : buf);
    return;
  }
  if (out.body instanceof Readable) {
    res.writeHead(out.status, headers);
    if (isHead) {
      out.body.destroy();
      res.end();
      return;
    }
    await pipeline(out.body, res).catch(() => res.destroy());
    return;
  }
  if (!headers['content-length'] && !isHead) headers['content-length'] = '0';
  res.writeHead(out.status, headers);
  res.end();
}

async function sendError(edge: Edge, x: Exchange, e: unknown): Promise<void> {
  let err: AwsError;
  if (isAwsError(e)) err = e;
  else {
    edge.log(`[${x.id}] internal error: ${(e as Error)?.stack ?? String(e)}`);
    err = CommonErrors.internal();
  }
  const service = x.service ?? edge.fallback;
  if (x.res.headersSent) {
    x.res.destroy();
    return;
  }
  x.service = service;
  // Drain what the client is still sending so it reads our answer instead of a reset.
  if (x.wire?.stream && x.wire.stream !== x.req) x.wire.stream.resume();
  if (!x.req.readableEnded) x.req.resume();
  await send(x, service.codec.encodeError(err, x.id, x.wire));
}

// 8. log
function log(edge: Edge, x: Exchange): void {
  if (!edge.accessLog) return;
  const ms = Number(process.hrtime.bigint() - x.started) / 1e6;
  const svc = x.service?.name ?? '-';
  edge.log(`${x.req.method} ${svc}.${x.operation ?? '-'} ${x.status ?? x.res.statusCode} ${ms.toFixed(1)}ms ${x.id}`);
}
