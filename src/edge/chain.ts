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
 *                  (S3's CORS preflight, OPTIONS, and its website endpoints are answered by the
 *                  service before step 4: neither is signed nor names an operation)
 *   7. serialize   the codec walks the output shape (or the error)
 *   8. log         one access-log line
 *
 * /_kumo/* (health, reset) is answered before step 2 by ./internal.ts.
 *
 * No error on any of these steps may end the process: a step's failure is answered as an AWS
 * error; a failure while answering is logged and answered with a bare InternalError (or the
 * connection dropped if the answer had begun); stray 'error' events on the request, response
 * and body streams are caught here (./guard.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsError, CommonErrors, encodeJsonError, isAwsError } from '../protocol/errors.js';
import type { WireRequest, WireResponse } from '../protocol/types.js';
import type { RequestContext, Service } from '../services/service.js';
import { requestId as newRequestId } from '../state/ids.js';
import { authenticate, type AuthSettings, type Caller } from './authenticate.js';
import { MAX_FORM_BODY, readForm, streamBody } from './body.js';
import { guardBody, guardExchange, isClientGone } from './guard.js';
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
  /** The S3 body stream handed to the codec (req itself, or a decoding/checking transform). */
  body?: Readable;
  operation?: string;
  status?: number;
  /** The unread rest of the body is being discarded. */
  draining?: boolean;
  /** Logs an error kumo caused (not the client) against this request. */
  report(what: string, e: unknown): void;
}

export async function handle(edge: Edge, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const x = identify(edge, req, res);
  guardExchange(x, x.report);
  try {
    if (x.rawPath.startsWith('/_kumo/') && (await edge.internal(req, res, x.rawPath))) return;
    try {
      await serve(edge, x);
    } catch (e) {
      await sendError(edge, x, e);
    }
    log(edge, x);
  } catch (e) {
    lastResort(edge, x, e);
  }
}

async function serve(edge: Edge, x: Exchange): Promise<void> {
  route(edge, x);
  x.wire = await read(edge, x);
  const service = x.service!;
  // A website endpoint serves anonymous GETs from the bucket's website configuration (S3 only).
  const site = service.website?.bucketOf(x.headers.host ?? '');
  if (site !== undefined) {
    x.operation = 'Website';
    await send(x, await service.website!.serve(site, x.wire, requestContext(edge, x, { account: '' }, undefined)));
    return;
  }
  // A CORS preflight is unsigned and names no operation: the service answers it (S3 only).
  if (x.wire.method === 'OPTIONS' && service.preflight) {
    x.operation = 'Preflight';
    await send(x, service.preflight(x.wire));
    return;
  }
  const caller = authenticateStep(edge, x);
  const body = service.codec.model.metadata.protocol === 'rest-xml' ? streamBody(x.req, x.headers, caller) : undefined;
  if (body) {
    x.body = x.wire.stream = body.stream;
    if (body.stream !== x.req) guardBody(body.stream, x.report);
  }
  const call = await service.codec.decode(x.wire);
  x.operation = call.operation.name;
  const output = await dispatch(edge, x, caller, call.operation.name, call.input, body?.trailers);
  await send(x, service.codec.encode(call.operation, output as Record<string, unknown> | undefined, x.id));
}

// 1. identify
function identify(edge: Edge, req: IncomingMessage, res: ServerResponse): Exchange {
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
  const id = newRequestId();
  const report = (what: string, e: unknown) => edge.log(`[${id}] ${what}: ${(e as Error)?.stack ?? String(e)}`);
  return { id, started: process.hrtime.bigint(), req, res, rawPath, rawQuery, query, headers, multi, report };
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
    // Refused before reading, so the body can still be drained and the connection kept.
    if (Number(x.headers['content-length'] ?? 0) > MAX_FORM_BODY) {
      throw new AwsError('RequestEntityTooLarge', `Request body exceeds ${MAX_FORM_BODY} bytes.`, 413);
    }
    if (/%(?![0-9A-Fa-f]{2})/.test(x.rawQuery)) throw CommonErrors.malformedQueryString('The query string contains a malformed percent-encoding.');
    wire.body = await readForm(x.req);
  }
  if (x.candidates) {
    const version = formValue(wire, 'Version');
    const chosen = edge.router.byVersion(x.candidates, version);
    if (!chosen) {
      if (!version) throw CommonErrors.missingParameter('Version');
      throw unknownVersion(edge, version, x.candidates);
    }
    x.service = chosen;
  } else if (wire.body !== undefined) {
    // One service under this signing name; a Version naming another API must not reach its codec.
    const version = formValue(wire, 'Version');
    if (version !== undefined && version !== x.service!.codec.model.metadata.apiVersion) throw unknownVersion(edge, version, [x.service!]);
  }
  if (x.service!.codec.model.metadata.protocol === 'rest-xml') wire.hostBucket = hostBucket(x.headers.host ?? '');
  return wire;
}

function unknownVersion(edge: Edge, version: string, candidates: Service[]): AwsError {
  const other = edge.router.otherApi(version);
  if (other) return new AwsError('NotImplemented', `kumo does not implement ${other} (API version ${version}).`, 501, { fault: 'Receiver' });
  const names = candidates.map((s) => `${s.name} ${s.codec.model.metadata.apiVersion}`).join(', ');
  return new AwsError('NoSuchVersion', `The requested version (${version}) of service ${candidates.length === 1 ? candidates[0].name : 'AWS'} does not exist; kumo serves ${names}.`, 400);
}

function formValue(wire: WireRequest, name: string): string | undefined {
  const q = wire.query.find(([k]) => k === name)?.[1];
  if (q !== undefined) return q;
  return wire.body ? (new URLSearchParams(wire.body.toString('utf8')).get(name) ?? undefined) : undefined;
}

// 4. authenticate
function authenticateStep(edge: Edge, x: Exchange): Caller {
  const signed: SignedRequest = { method: x.req.method ?? 'GET', rawPath: x.rawPath, rawQuery: x.rawQuery, headers: x.multi };
  return authenticate(edge.auth, x.service!, signed, x.query, x.wire?.body, () => x.service!.signingRegion?.(x.wire!));
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
  return handler(requestContext(edge, x, caller, trailers), input);
}

function requestContext(edge: Edge, x: Exchange, caller: Caller, trailers: Map<string, string> | undefined): RequestContext {
  return {
    requestId: x.id,
    account: caller.account,
    region: caller.region ?? edge.defaultRegion,
    accessKeyId: caller.accessKeyId,
    callerArn: caller.account ? `arn:aws:iam::${caller.account}:root` : undefined,
    now: edge.auth.now,
    host: x.headers.host ?? '',
    sourceIp: x.req.socket.remoteAddress,
    headers: x.headers,
    trailers,
  };
}

// 7. serialize
async function send(x: Exchange, out: WireResponse): Promise<void> {
  const { res } = x;
  x.status = out.status;
  finishReading(x, out);
  const family = x.service?.codec.model.metadata.protocol;
  const headers: Record<string, string> = { ...out.headers };
  if (x.wire && x.service?.responseHeaders) Object.assign(headers, x.service.responseHeaders(x.wire));
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
    try {
      res.writeHead(out.status, headers);
    } catch (e) {
      out.body.destroy();
      throw e;
    }
    if (isHead) {
      out.body.destroy();
      res.end();
      return;
    }
    await pipeline(out.body, res).catch((e) => {
      // Headers are out: the only way left to say the body is incomplete is to cut it short.
      if (!isClientGone(e)) x.report('response body failed', e);
      res.destroy();
    });
    return;
  }
  if (!headers['content-length'] && !isHead) headers['content-length'] = '0';
  res.writeHead(out.status, headers);
  res.end();
}

async function sendError(edge: Edge, x: Exchange, e: unknown): Promise<void> {
  // A pipelined response has no socket until the one before it is done, so look at both.
  const socket = x.res.socket ?? x.req.socket;
  if (socket?.destroyed && !x.res.headersSent) {
    // The client hung up (mid-body, say): nobody to answer, and nothing was dispatched.
    x.status = 499;
    return;
  }
  let err: AwsError;
  if (isAwsError(e)) err = e;
  else {
    x.report('internal error', e);
    err = CommonErrors.internal();
  }
  if (x.res.headersSent) {
    x.res.destroy();
    return;
  }
  const type = x.headers['content-type'] ?? '';
  let out: WireResponse;
  if (!x.service && (/json/i.test(type) || x.headers['x-amz-target'])) {
    out = encodeJsonError(err, x.id, type.startsWith('application/x-amz-json') ? type : 'application/json');
  } else {
    x.service ??= edge.fallback;
    out = x.service.codec.encodeError(err, x.id, x.wire);
  }
  await send(x, out);
}

/**
 * Answering failed too (the error encoder threw, say): log it, and answer InternalError (in the
 * service's format if its encoder still works) if nothing was sent yet, else drop the connection,
 * whose response cannot be completed. Either way the connection ends: the state of its request
 * body is unknown.
 */
function lastResort(edge: Edge, x: Exchange, e: unknown): void {
  x.report('error while answering', e);
  x.status = 500;
  try {
    if (x.res.headersSent || x.res.destroyed) throw new Error('the answer had begun');
    let out: WireResponse;
    try {
      out = (x.service ?? edge.fallback).codec.encodeError(CommonErrors.internal(), x.id, x.wire);
    } catch {
      out = { status: 500, headers: { 'content-type': 'application/xml' }, body: `<Error><Code>InternalError</Code><RequestId>${x.id}</RequestId></Error>` };
    }
    const body = typeof out.body === 'string' || Buffer.isBuffer(out.body) ? out.body : '';
    x.res.writeHead(500, { ...out.headers, 'content-length': String(Buffer.byteLength(body)), connection: 'close' });
    x.res.end(body);
  } catch {
    x.res.destroy();
    x.req.socket?.destroy();
  }
  log(edge, x);
}

/** How much of an unread body kumo reads and discards after answering early, before hanging up. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * A request can be answered before the client has sent its whole body: refused early, or done
 * without needing it. Reading the rest lets the client read our answer instead of a reset and
 * keeps the connection usable; a body that was abandoned mid-way cannot be framed any more, so
 * that connection ends with the answer.
 */
function finishReading(x: Exchange, out: WireResponse): void {
  const { req } = x;
  if (req.readableEnded || x.draining) return;
  if (req.destroyed) {
    out.headers = { ...out.headers, connection: 'close' };
    return;
  }
  x.draining = true;
  let left = DRAIN_LIMIT;
  req.on('data', (c: Buffer) => {
    left -= c.length;
    if (left < 0) req.socket?.destroy();
  });
  // The body's transform (if any) still gets the bytes; its verdict no longer matters.
  if (x.body && x.body !== req) x.body.resume();
  req.resume();
}

// 8. log
function log(edge: Edge, x: Exchange): void {
  if (!edge.accessLog) return;
  const ms = Number(process.hrtime.bigint() - x.started) / 1e6;
  const svc = x.service?.name ?? '-';
  edge.log(`${x.req.method} ${svc}.${x.operation ?? '-'} ${x.status ?? x.res.statusCode} ${ms.toFixed(1)}ms ${x.id}`);
}
