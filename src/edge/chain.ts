/**
 * The request chain, in order. Every AWS request that reaches kumo goes through these steps and
 * nothing else, each a function from one stage of the request to the next:
 *
 *   1. identify      Received       a request id, a start time, the raw path, query and headers
 *   2. route         Routed         which service: SigV4 scope, X-Amz-Target (JSON services), Host
 *                                   (S3 virtual hosts), else S3;
 *                                   or the services sharing a form's shape, until its Version picks
 *   3. read          Read           one service, the request in its codec's terms: a form or JSON
 *                                   body is read whole (bounded), a streamed one is left to stream
 *   4. admit         Admitted       the service's word before authentication (Service.beforeAuth):
 *                                   it may answer the request itself (S3's website endpoints,
 *                                   CORS preflights and browser uploads: unsigned or signed in
 *                                   their own way, and no operation of its model);
 *                                   an operation of the model the service has no handler for is
 *                                   NotImplemented here, whatever its signature or body (some are
 *                                   unsigned by design, some have bodies no codec reads)
 *   5. authenticate  Authenticated  SigV4 against the configured keys (the service's error codes);
 *                                   a streamed body becomes one checked against what was signed,
 *                                   and one that sends 100 Continue only once a handler reads it
 *   6. parse         Decoded        the codec walks the operation's input shape
 *   7. dispatch                     the service's operation table
 *   8. settle                       a request that changed state waits until its changes are on
 *                                   disk (one flush shared with every concurrent writer,
 *                                   ../state/group-commit.ts); one that changed nothing, a read,
 *                                   waits for nothing
 *   9. serialize                    the codec walks the output shape (or the error)
 *  10. log                          one access-log line; the service is told of the request
 *                                   (Service.requestDone: S3's server access logs)
 *
 * What differs between wire families (form or stream, Host addressing, request-id headers) the
 * chain asks of the codec's traits. /_kumo/* (health, reset) is answered before step 2 by
 * ./internal.ts.
 *
 * No error on any of these steps may end the process: a step's failure is answered as an AWS
 * error; a failure while answering is logged and answered with a bare InternalError (or the
 * connection dropped if the answer had begun); stray 'error' events on the request, response
 * and body streams are caught here (./guard.ts). A failure can come at any step, so what the
 * steps have learned that its answer needs (the service, the request, the operation) is also
 * kept in the request's `known` record.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AwsError, CommonErrors, encodeJsonError, isAwsError } from '../protocol/errors.js';
import type { DecodedCall, WireRequest, WireResponse } from '../protocol/types.js';
import type { Admission, RequestContext, RequestFacts, Service } from '../services/service.js';
import type { Commits } from '../state/group-commit.js';
import { requestId as newRequestId } from '../state/ids.js';
import { authenticate, signerFor, type AuthSettings, type Caller } from './authenticate.js';
import { bodyOnDemand, expectsContinue, MAX_FORM_BODY, readForm, streamBody } from './body.js';
import { guardBody, guardExchange, isClientGone } from './guard.js';
import { byVersion, hostBucket, otherApi, type Routes } from './route.js';
import type { SignedRequest } from './sigv4.js';

export interface Edge {
  /** Which service a request is for (held until the services are up, ./route.ts). */
  router: Routes;
  auth: AuthSettings;
  defaultRegion: string;
  log(line: string): void;
  accessLog: boolean;
  /** Answers /_kumo/*; returns false if the path is not one of them. */
  internal(req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean>;
  /** Encodes errors for requests no service claimed. */
  fallback: Service;
  /** What makes a request's changes durable before it is answered (step 8). */
  commits: Commits;
}

/** What the steps have learned so far, for the answer to an error and for the access log. */
interface Known {
  service?: Service;
  wire?: WireRequest;
  /** The operation, or what the service answered instead (Website, Preflight). */
  operation?: string;
  /** What the service said before authentication (headers for whatever answers the request). */
  admission?: Admission;
  /** The body stream handed to the codec, when it is a decoding/checking transform of req. */
  body?: Readable;
  status?: number;
  /** The unread rest of the body is being discarded. */
  draining?: boolean;
  /** A client that sent Expect: 100-continue has been told to go ahead. */
  continued?: boolean;
  /** Who called, once authenticated (for the service's request log). */
  caller?: Caller;
  /** The AWS error code the request was answered with, if any. */
  errorCode?: string;
  /** The Content-Length of the answer (what was sent, or set out to be). */
  bytesSent?: number;
}

/** 1. The request as it arrived. */
interface Received {
  id: string;
  started: bigint;
  req: IncomingMessage;
  res: ServerResponse;
  rawPath: string;
  rawQuery: string;
  query: [string, string][];
  headers: Record<string, string>;
  multi: Map<string, string[]>;
  known: Known;
  /** Logs an error kumo caused (not the client) against this request. */
  report(what: string, e: unknown): void;
}

/** 2. Candidates are told apart by the Version of their form, so all of them read forms. */
interface Routed extends Received {
  to: { service: Service } | { candidates: Service[] };
}

/** 3. One service, and the request as its codec sees it. */
interface Read extends Received {
  service: Service;
  wire: WireRequest;
}

/** 4. What the service said before authentication. */
interface Admitted extends Read {
  admission: Admission;
}

/** 5. Who is calling; a streamed body is now `wire.stream`, with its trailers once it ends. */
interface Authenticated extends Admitted {
  caller: Caller;
  trailers?: Map<string, string>;
}

/** 6. The operation and its typed input. */
interface Decoded extends Authenticated {
  call: DecodedCall;
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

async function serve(edge: Edge, x: Received): Promise<void> {
  const admitted = admit(await read(edge, await route(edge, x)));
  const own = admitted.admission.answer;
  if (own) {
    x.known.operation = own.operation;
    let body: Readable = x.req;
    if (expectsContinue(x.headers)) {
      body = bodyOnDemand(x.req, x.res, () => (x.known.continued = true));
      guardBody(body, x.report);
      x.known.body = body;
    }
    const answer = await settled(edge, () => own.respond(requestContext(edge, x, { account: '' }, undefined), body, signerFor(edge.auth)));
    await send(x, answer);
    return;
  }
  const decoded = await parse(authenticateStep(edge, admitted));
  const output = await settled(edge, () => dispatch(edge, decoded));
  await send(x, decoded.service.codec.encode(decoded.call.operation, output as Record<string, unknown> | undefined, x.id));
}

// 1. identify
function identify(edge: Edge, req: IncomingMessage, res: ServerResponse): Received {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  const multi = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    const list = multi.get(name) ?? [];
    list.push(headerText(req.rawHeaders[i + 1]));
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
  return { id, started: process.hrtime.bigint(), req, res, rawPath, rawQuery, query, headers, multi, known: {}, report };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node reads header bytes as Latin-1. Clients that put non-ASCII text in a header (user metadata,
 * say) send it as UTF-8 and sign it as such, so a value whose bytes are valid UTF-8 is read as
 * UTF-8; any other stays as Node read it.
 */
function headerText(v: string): string {
  if (!/[\x80-\xff]/.test(v)) return v;
  try {
    return utf8.decode(Buffer.from(v, 'latin1'));
  } catch {
    return v;
  }
}

// 2. route
async function route(edge: Edge, x: Received): Promise<Routed> {
  const r = await edge.router.route({ method: x.req.method ?? 'GET', host: x.headers.host ?? '', headers: x.headers, query: x.query });
  if (r.unknownScope) {
    throw new AwsError('NotImplemented', `kumo does not implement the service '${r.unknownScope}'.`, 501, { fault: 'Receiver' });
  }
  if (r.service) {
    x.known.service = r.service;
    return { ...x, to: { service: r.service } };
  }
  if (!r.candidates?.length) throw new AwsError('InvalidAction', 'No service handles this request.', 400);
  return { ...x, to: { candidates: r.candidates } };
}

// 3. read
async function read(edge: Edge, x: Routed): Promise<Read> {
  const wire: WireRequest = { method: x.req.method ?? 'GET', rawPath: x.rawPath, query: x.query, headers: x.headers };
  const { to } = x;
  if ('candidates' in to || to.service.codec.traits.body !== 'stream') {
    // Refused before reading, so the body can still be drained and the connection kept.
    if (Number(x.headers['content-length'] ?? 0) > MAX_FORM_BODY) {
      throw new AwsError('RequestEntityTooLarge', `Request body exceeds ${MAX_FORM_BODY} bytes.`, 413);
    }
    if (/%(?![0-9A-Fa-f]{2})/.test(x.rawQuery)) throw CommonErrors.malformedQueryString('The query string contains a malformed percent-encoding.');
    // A form is read whole before anything can refuse it: the go-ahead comes first.
    if (expectsContinue(x.headers)) {
      x.res.writeContinue();
      x.known.continued = true;
    }
    wire.body = await readForm(x.req);
  }
  let service: Service;
  if ('candidates' in to) {
    const version = formValue(wire, 'Version');
    const chosen = byVersion(to.candidates, version);
    if (!chosen) {
      if (!version) throw CommonErrors.missingParameter('Version');
      throw unknownVersion(version, to.candidates);
    }
    service = chosen;
  } else {
    service = to.service;
    // One service under this signing name; a Version naming another API must not reach its codec.
    const version = service.codec.traits.body === 'form' ? formValue(wire, 'Version') : undefined;
    if (version !== undefined && version !== service.codec.model.metadata.apiVersion) throw unknownVersion(version, [service]);
  }
  if (service.codec.traits.hostAddressing) wire.hostBucket = hostBucket(x.headers.host ?? '');
  x.known.service = service;
  x.known.wire = wire;
  return { ...x, service, wire };
}

function unknownVersion(version: string, candidates: Service[]): AwsError {
  const other = otherApi(version);
  if (other) return new AwsError('NotImplemented', `kumo does not implement ${other} (API version ${version}).`, 501, { fault: 'Receiver' });
  const names = candidates.map((s) => `${s.name} ${s.codec.model.metadata.apiVersion}`).join(', ');
  return new AwsError('NoSuchVersion', `The requested version (${version}) of service ${candidates.length === 1 ? candidates[0].name : 'AWS'} does not exist; kumo serves ${names}.`, 400);
}

function formValue(wire: WireRequest, name: string): string | undefined {
  const q = wire.query.find(([k]) => k === name)?.[1];
  if (q !== undefined) return q;
  return wire.body ? (new URLSearchParams(wire.body.toString('utf8')).get(name) ?? undefined) : undefined;
}

// 4. admit
function admit(x: Read): Admitted {
  const named = x.service.codec.operationName(x.wire);
  if (named !== undefined && x.service.codec.model.operation(named) && !x.service.handlers[named]) {
    x.known.operation = named;
    throw CommonErrors.notImplemented(x.service.name, named);
  }
  const admission = x.service.beforeAuth?.(x.wire) ?? {};
  x.known.admission = admission;
  return { ...x, admission };
}

// 5. authenticate
function authenticateStep(edge: Edge, x: Admitted): Authenticated {
  const signed: SignedRequest = { method: x.wire.method, rawPath: x.rawPath, rawQuery: x.rawQuery, headers: x.multi, hostBucket: x.wire.hostBucket };
  const caller = authenticate(edge.auth, x.service.authErrors, signed, x.query, x.wire.body, () => x.admission.signingRegion?.());
  x.known.caller = caller;
  if (x.service.codec.traits.body !== 'stream') return { ...x, caller };
  const body = streamBody(x.req, x.headers, caller);
  if (expectsContinue(x.headers)) {
    body.stream = bodyOnDemand(body.stream, x.res, () => (x.known.continued = true));
  }
  if (body.stream !== x.req) {
    guardBody(body.stream, x.report);
    x.known.body = body.stream;
  }
  const wire = { ...x.wire, stream: body.stream };
  x.known.wire = wire;
  return { ...x, caller, wire, trailers: body.trailers };
}

// 6. parse
async function parse(x: Authenticated): Promise<Decoded> {
  const call = await x.service.codec.decode(x.wire);
  x.known.operation = call.operation.name;
  return { ...x, call };
}

// 7. dispatch
async function dispatch(edge: Edge, x: Decoded) {
  const name = x.call.operation.name;
  const handler = x.service.handlers[name];
  if (!handler) throw CommonErrors.notImplemented(x.service.name, name);
  return handler(requestContext(edge, x, x.caller, x.trailers), x.call.input);
}

function requestContext(edge: Edge, x: Received, caller: Caller, trailers: Map<string, string> | undefined): RequestContext {
  return {
    requestId: x.id,
    method: x.req.method,
    signatureVersion: caller.signatureVersion,
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

// 8. settle
/**
 * Runs `work` and, if state changed meanwhile, waits until that is on disk. While an answer's
 * work runs, other requests' commits may land too (the mark cannot tell whose they are); waiting
 * for them as well costs a shared flush, never a wrong answer. A read that runs without awaiting
 * anything sees only its own changes, so it waits only if it changed something.
 */
async function settled<T>(edge: Edge, work: () => T | Promise<T>): Promise<T> {
  const before = edge.commits.mark();
  const out = await work();
  if (edge.commits.mark() !== before) await edge.commits.durable();
  return out;
}

// 9. serialize
async function send(x: Received, out: WireResponse): Promise<void> {
  const { res } = x;
  const { known } = x;
  known.status = out.status;
  finishReading(x, out);
  const headers: Record<string, string> = { ...out.headers };
  Object.assign(headers, known.admission?.responseHeaders?.());
  // Only a JSON error for a request no service claimed has no service; it names itself.
  if (known.service) Object.assign(headers, known.service.codec.traits.requestIdHeaders(x.id));
  const isHead = x.req.method === 'HEAD';
  if (typeof out.body === 'string' || Buffer.isBuffer(out.body)) {
    const buf = typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body;
    headers['content-length'] ??= String(buf.length);
    if (!isHead) known.bytesSent = Number(headers['content-length']);
    res.writeHead(out.status, headers);
    res.end(isHead ? undefined : buf);
    return;
  }
  if (out.body instanceof Readable) {
    if (!isHead && headers['content-length'] !== undefined) known.bytesSent = Number(headers['content-length']);
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

async function sendError(edge: Edge, x: Received, e: unknown): Promise<void> {
  // A pipelined response has no socket until the one before it is done, so look at both.
  const socket = x.res.socket ?? x.req.socket;
  if (socket?.destroyed && !x.res.headersSent) {
    // The client hung up (mid-body, say): nobody to answer, and nothing was dispatched.
    x.known.status = 499;
    return;
  }
  let err: AwsError;
  if (isAwsError(e)) err = e;
  else {
    x.report('internal error', e);
    err = CommonErrors.internal();
  }
  x.known.errorCode = err.code;
  if (x.res.headersSent) {
    x.res.destroy();
    return;
  }
  const type = x.headers['content-type'] ?? '';
  let out: WireResponse;
  const { known } = x;
  if (!known.service && (/json/i.test(type) || x.headers['x-amz-target'])) {
    out = encodeJsonError(err, x.id, type.startsWith('application/x-amz-json') ? type : 'application/json');
  } else {
    known.service ??= edge.fallback;
    out = known.service.codec.encodeError(err, x.id, known.wire);
  }
  await send(x, out);
}

/**
 * Answering failed too (the error encoder threw, say): log it, and answer InternalError (in the
 * service's format if its encoder still works) if nothing was sent yet, else drop the connection,
 * whose response cannot be completed. Either way the connection ends: the state of its request
 * body is unknown.
 */
function lastResort(edge: Edge, x: Received, e: unknown): void {
  x.report('error while answering', e);
  x.known.status = 500;
  try {
    if (x.res.headersSent || x.res.destroyed) throw new Error('the answer had begun');
    let out: WireResponse;
    try {
      out = (x.known.service ?? edge.fallback).codec.encodeError(CommonErrors.internal(), x.id, x.known.wire);
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
function finishReading(x: Received, out: WireResponse): void {
  const { req, known } = x;
  if (req.readableEnded || known.draining) return;
  // Refused before the go-ahead: the client will not send its body, so nothing follows on this
  // connection that could be framed; it ends with the answer.
  if (expectsContinue(x.headers) && !known.continued) {
    out.headers = { ...out.headers, connection: 'close' };
    return;
  }
  if (req.destroyed) {
    out.headers = { ...out.headers, connection: 'close' };
    return;
  }
  known.draining = true;
  let left = DRAIN_LIMIT;
  req.on('data', (c: Buffer) => {
    left -= c.length;
    if (left < 0) req.socket?.destroy();
  });
  // The body's transform (if any) still gets the bytes; its verdict no longer matters.
  known.body?.resume();
  req.resume();
}

// 10. log
function log(edge: Edge, x: Received): void {
  const { service, operation, status } = x.known;
  const ms = Number(process.hrtime.bigint() - x.started) / 1e6;
  if (service?.requestDone) {
    try {
      service.requestDone(requestFacts(x, ms));
    } catch (e) {
      x.report('request log', e);
    }
  }
  if (!edge.accessLog) return;
  edge.log(`${x.req.method} ${service?.name ?? '-'}.${operation ?? '-'} ${status ?? x.res.statusCode} ${ms.toFixed(1)}ms ${x.id}`);
}

function requestFacts(x: Received, ms: number): RequestFacts {
  const { known } = x;
  const caller = known.caller;
  return {
    requestId: x.id,
    time: new Date(),
    method: x.req.method ?? 'GET',
    rawPath: x.rawPath,
    rawQuery: x.rawQuery,
    query: x.query,
    httpVersion: x.req.httpVersion,
    headers: x.headers,
    hostBucket: known.wire?.hostBucket,
    remoteIp: x.req.socket?.remoteAddress,
    operation: known.operation,
    status: known.status ?? x.res.statusCode,
    errorCode: known.errorCode,
    bytesSent: known.bytesSent,
    totalMs: ms,
    account: caller?.account || undefined,
    signatureVersion: caller?.signatureVersion,
    presigned: x.query.some(([k]) => k === 'X-Amz-Signature' || k === 'Signature'),
  };
}
