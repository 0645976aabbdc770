/**
 * The rest-xml wire family (S3). Requests are routed to an operation by method, path shape
 * (`/`, `/{Bucket}`, `/{Bucket}/{Key+}`) and the query keys and headers the operation's model
 * requires; the most specific match wins (UploadPartCopy over UploadPart over PutObject).
 * Input members come from the URI, query string, headers and payload; output members go to the
 * status line, headers and body, each as the model's `location` says. A payload the model marks
 * required must not arrive empty: the handler never runs, so nothing changes.
 */
import { Readable } from 'node:stream';
import type { LoadedModel } from '../models/loader.js';
import type { Operation, Shape } from '../models/shapes.js';
import { shapeType } from '../models/shapes.js';
import { AwsError } from './errors.js';
import { encodeEventStream, isEventStream } from './event-stream.js';
import type { Codec, DecodedCall, WireRequest, WireResponse, WireTraits } from './types.js';
import { decodeXmlDocument } from './xml-decode.js';
import { encodeElement, encodeStructure, escapeXml, formatScalar, formatTimestamp } from './xml-encode.js';

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';
const MAX_XML_BODY = 20 * 1024 * 1024;

interface Route {
  operation: Operation;
  method: string;
  level: 'service' | 'bucket' | 'object';
  literals: [string, string | undefined][];
  requiredQuery: string[];
  requiredHeaders: string[];
}

/** A member of an input or output shape, resolved once per shape (every request walks them). */
interface Member {
  name: string;
  shape: Shape;
  /** Its name on the wire (header, query key, URI label or element). */
  wire: string;
  /** `wire` in lower case (header names). */
  lower: string;
  /** A list's item shape. */
  item?: Shape;
}

/** Older duplicates of newer operations on the same route; clients use the newer ones. */
const SHADOWED = new Set(['GetBucketLifecycle', 'PutBucketLifecycle', 'GetBucketNotification', 'PutBucketNotification', 'ListDirectoryBuckets']);

/**
 * The raw bytes of an XML payload, kept on the decoded input under this key (not enumerable) for
 * handlers that must check Content-MD5 or a checksum over exactly what was sent (DeleteObjects).
 */
export const RAW_PAYLOAD = Symbol('kumo.rawPayload');

/** The service's own words for what the codec refuses before a handler runs. */
export interface RestXmlErrors {
  /** A required XML or text payload arrived empty (S3: MissingRequestBodyError). */
  emptyPayload(): AwsError;
}

export interface S3Target {
  bucket?: string;
  key?: string;
}

export function splitS3Path(req: WireRequest): S3Target {
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new AwsError('InvalidURI', "Couldn't parse the specified URI.", 400);
    }
  };
  const path = req.rawPath.startsWith('/') ? req.rawPath.slice(1) : req.rawPath;
  if (req.hostBucket) return { bucket: req.hostBucket, key: path === '' ? undefined : decode(path) };
  if (path === '') return {};
  const slash = path.indexOf('/');
  if (slash < 0) return { bucket: decode(path) };
  const key = path.slice(slash + 1);
  return { bucket: decode(path.slice(0, slash)), key: key === '' ? undefined : decode(key) };
}

/** Payloads stream; buckets can be named by Host; S3's two request-id headers. */
const REST_XML_TRAITS: WireTraits = {
  body: 'stream',
  hostAddressing: true,
  requestIdHeaders: (requestId) => ({ 'x-amz-request-id': requestId, 'x-amz-id-2': Buffer.from(requestId).toString('base64') }),
};

export class RestXmlCodec implements Codec {
  readonly model: LoadedModel;
  readonly traits = REST_XML_TRAITS;
  private readonly routes: Route[];
  private readonly namespace: string;
  private readonly errors: RestXmlErrors;
  private readonly plans = new Map<Shape, Member[]>();

  constructor(model: LoadedModel, namespace: string, errors: RestXmlErrors) {
    this.model = model;
    this.namespace = namespace;
    this.errors = errors;
    this.routes = Object.values(model.raw.operations)
      .filter((op) => !SHADOWED.has(op.name))
      .map((op) => this.compile(op));
  }

  private compile(op: Operation): Route {
    const uri = op.http?.requestUri ?? '/';
    const [path, qs] = uri.split('?');
    const level = path.includes('{Key+}') ? 'object' : path.includes('{Bucket}') ? 'bucket' : 'service';
    const literals: [string, string | undefined][] = qs
      ? qs.split('&').map((p) => {
          const [k, v] = p.split('=');
          return [k, v];
        })
      : [];
    const input = op.input ? this.model.resolve(op.input) : undefined;
    const requiredQuery: string[] = [];
    const requiredHeaders: string[] = [];
    for (const name of input?.required ?? []) {
      const m = this.model.resolve(input!.members![name]);
      if (m.location === 'querystring') requiredQuery.push(m.locationName ?? name);
      if (m.location === 'header') requiredHeaders.push((m.locationName ?? name).toLowerCase());
    }
    return { operation: op, method: op.http?.method ?? 'POST', level, literals, requiredQuery, requiredHeaders };
  }

  /** `shape`'s members, resolved (made once per shape). */
  private members(shape: Shape): Member[] {
    let plan = this.plans.get(shape);
    if (!plan) {
      plan = Object.entries(shape.members ?? {}).map(([name, ref]) => {
        const m = this.model.resolve(ref);
        const wire = m.locationName ?? name;
        return { name, shape: m, wire, lower: wire.toLowerCase(), item: shapeType(m) === 'list' ? this.model.resolve(m.member ?? {}) : undefined };
      });
      this.plans.set(shape, plan);
    }
    return plan;
  }

  route(req: WireRequest): Operation | undefined {
    const target = splitS3Path(req);
    const level = target.key !== undefined ? 'object' : target.bucket !== undefined ? 'bucket' : 'service';
    const method = req.method;
    const keys = new Map(req.query);
    let best: Route | undefined;
    let bestScore = -1;
    for (const r of this.routes) {
      if (r.method !== method || r.level !== level) continue;
      if (!r.literals.every(([k, v]) => keys.has(k) && (v === undefined || keys.get(k) === v))) continue;
      if (!r.requiredQuery.every((k) => keys.has(k))) continue;
      if (!r.requiredHeaders.every((h) => req.headers[h] !== undefined)) continue;
      const score = r.literals.length * 4 + r.requiredQuery.length * 2 + r.requiredHeaders.length;
      if (score > bestScore) {
        best = r;
        bestScore = score;
      }
    }
    return best?.operation;
  }

  operationName(req: WireRequest): string | undefined {
    return this.route(req)?.name;
  }

  async decode(req: WireRequest): Promise<DecodedCall> {
    const operation = this.route(req);
    if (!operation) {
      const target = splitS3Path(req);
      const resourceType = target.key !== undefined ? 'OBJECT' : target.bucket !== undefined ? 'BUCKET' : 'SERVICE';
      throw new AwsError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405, {
        fields: { Method: req.method, ResourceType: resourceType },
      });
    }
    const shape = operation.input ? this.model.resolve(operation.input) : undefined;
    const input: Record<string, unknown> = {};
    if (!shape) return { operation, input };
    const target = splitS3Path(req);
    const query = new Map(req.query);
    for (const { name, shape: m, wire, lower, item } of this.members(shape)) {
      if (m.location === 'uri') {
        const v = wire === 'Bucket' ? target.bucket : wire === 'Key' ? target.key : undefined;
        if (v !== undefined) input[name] = v;
      } else if (m.location === 'querystring') {
        if (item) {
          const vs = req.query.filter(([k]) => k === wire).map(([, v]) => v);
          if (vs.length) input[name] = vs.map((v) => parseText(item, v, wire));
        } else if (query.has(wire)) input[name] = parseText(m, query.get(wire)!, wire);
      } else if (m.location === 'header') {
        const v = req.headers[lower];
        if (v === undefined) continue;
        // A list in a header is its items separated by commas (S3's x-amz-object-attributes).
        if (item) input[name] = v.split(',').map((x) => parseText(item, x.trim(), wire, 'rfc822'));
        else input[name] = parseText(m, v, wire, 'rfc822');
      } else if (m.location === 'headers') {
        const map: Record<string, string> = {};
        for (const [h, v] of Object.entries(req.headers)) if (h.startsWith(lower)) map[h.slice(lower.length)] = v;
        if (Object.keys(map).length) input[name] = map;
      }
    }
    if (shape.payload) await this.decodePayload(req, shape, shape.payload, input);
    else if (hasBodyMembers(this.model, shape)) await this.decodeBodyMembers(req, shape, input);
    for (const name of shape.required ?? []) {
      if (input[name] === undefined && name !== shape.payload) {
        const m = this.model.resolve(shape.members![name]);
        throw new AwsError('InvalidRequest', `Missing required parameter ${m.locationName ?? name}.`, 400);
      }
    }
    return { operation, input };
  }

  private async decodePayload(req: WireRequest, shape: Shape, name: string, input: Record<string, unknown>) {
    const m = this.model.resolve(shape.members![name]);
    const type = shapeType(m);
    if (type === 'blob') {
      input[name] = req.stream;
      return;
    }
    const raw = await readAll(req.stream, MAX_XML_BODY);
    Object.defineProperty(input, RAW_PAYLOAD, { value: raw, enumerable: false });
    const text = raw.toString('utf8');
    if (text.trim() === '') {
      if (shape.required?.includes(name)) throw this.errors.emptyPayload();
      return;
    }
    if (type === 'structure') input[name] = decodeXmlDocument(this.model, m, text, m.locationName ?? name);
    else input[name] = text;
  }

  /**
   * An input with several members in its body and no payload member (SelectObjectContent's
   * Expression, InputSerialization, …): the body is one document whose root is the input shape's
   * XML name, each member one child element of it.
   */
  private async decodeBodyMembers(req: WireRequest, shape: Shape, input: Record<string, unknown>) {
    const raw = await readAll(req.stream, MAX_XML_BODY);
    Object.defineProperty(input, RAW_PAYLOAD, { value: raw, enumerable: false });
    const text = raw.toString('utf8');
    if (text.trim() === '') {
      if (shape.required?.some((n) => !this.model.resolve(shape.members![n]).location)) throw this.errors.emptyPayload();
      return;
    }
    const root = shape.locationName ?? 'Request';
    Object.assign(input, decodeXmlDocument(this.model, shape, text, root));
  }

  encode(operation: Operation, output: Record<string, unknown> | undefined, _requestId: string): WireResponse {
    const headers: Record<string, string> = {};
    let status = operation.http?.responseCode ?? 200;
    const shape = operation.output ? this.model.resolve(operation.output) : undefined;
    const out = output ?? {};
    if (!shape) return { status, headers };
    let bodyMembers = false;
    for (const { name, shape: m, lower } of this.members(shape)) {
      const v = out[name];
      if (v === undefined || v === null) continue;
      if (m.location === 'statusCode') status = Number(v);
      else if (m.location === 'header') headers[lower] = headerText(m, v);
      else if (m.location === 'headers') {
        for (const [k, x] of Object.entries(v as Record<string, string>)) headers[`${lower}${k}`] = utf8Bytes(String(x));
      } else if (name !== shape.payload) bodyMembers = true;
    }
    if (shape.payload) {
      const m = this.model.resolve(shape.members![shape.payload]);
      const v = out[shape.payload];
      if (v === undefined || v === null) return { status, headers };
      const type = shapeType(m);
      if (type === 'blob') return { status, headers, body: v as Buffer | Readable };
      if (isEventStream(m)) {
        const events = encodeEventStream(this.model, m, v as AsyncIterable<Record<string, unknown>>);
        return { status, headers: { 'content-type': 'application/vnd.amazon.eventstream', ...headers }, body: Readable.from(events, { objectMode: false }) };
      }
      if (type === 'structure') {
        const root = m.locationName ?? shape.payload;
        const el = encodeElement(this.model, root, { ...m, xmlNamespace: m.xmlNamespace ?? { uri: this.namespace } }, v, 'rest-xml');
        return { status, headers: { 'content-type': 'application/xml', ...headers }, body: XML_HEAD + el };
      }
      return { status, headers, body: String(v) };
    }
    if (!bodyMembers) return { status, headers };
    const root = shape.locationName ?? `${operation.name}Result`;
    const textRoot = shape.kumoTextRoot as string | undefined;
    const inner = textRoot
      ? escapeXml(String(out[textRoot] ?? ''))
      : encodeStructure(this.model, shape, out, 'rest-xml');
    const body = `${XML_HEAD}<${root} xmlns="${this.namespace}">${inner}</${root}>`;
    return { status, headers: { 'content-type': 'application/xml', ...headers }, body };
  }

  encodeError(err: AwsError, requestId: string, req?: WireRequest): WireResponse {
    if (err.status === 304) return { status: 304, headers: { ...err.headers } };
    const headers = { 'content-type': 'application/xml', ...err.headers };
    if (req?.method === 'HEAD') return { status: err.status, headers };
    let extra = '';
    for (const [k, v] of Object.entries(err.fields)) extra += `<${k}>${escapeXml(v)}</${k}>`;
    const body =
      `${XML_HEAD}<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>` +
      `${extra}<RequestId>${requestId}</RequestId></Error>`;
    return { status: err.status, headers, body };
  }
}

/** Whether any member of an input lives in the body (no URI, header or query location). */
function hasBodyMembers(model: LoadedModel, shape: Shape): boolean {
  return Object.values(shape.members ?? {}).some((ref) => !model.resolve(ref).location);
}

function headerText(m: Shape, v: unknown): string {
  if (shapeType(m) === 'timestamp') return formatTimestamp(v, m.timestampFormat ?? 'rfc822');
  return utf8Bytes(formatScalar(m, v));
}

/**
 * Header values go out as UTF-8 (as the edge reads them in): Node writes a header string one byte
 * per character, so non-ASCII text is handed over as its UTF-8 bytes.
 */
function utf8Bytes(text: string): string {
  return /[^\x00-\x7f]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

function parseText(m: Shape, raw: string, wire: string, dateFormat: 'rfc822' | 'iso8601' = 'iso8601'): unknown {
  const bad = () => new AwsError('InvalidArgument', `Invalid value for ${wire}: ${raw}`, 400);
  switch (shapeType(m)) {
    case 'integer':
    case 'long': {
      if (!/^-?[0-9]+$/.test(raw.trim())) throw bad();
      return Number(raw);
    }
    case 'boolean':
      if (!/^(true|false)$/i.test(raw)) throw bad();
      return raw.toLowerCase() === 'true';
    case 'blob':
      // A blob in a header or query string travels as base64 (S3's customer-provided keys).
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw.trim())) throw bad();
      return Buffer.from(raw.trim(), 'base64');
    case 'timestamp': {
      const d = new Date(raw);
      if (Number.isNaN(d.getTime())) {
        if (dateFormat === 'rfc822') return undefined; // S3 ignores unparseable conditional dates
        throw bad();
      }
      return d;
    }
    default:
      return raw;
  }
}

export async function readAll(stream: Readable | undefined, limit: number): Promise<Buffer> {
  if (!stream) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > limit) throw new AwsError('MaxMessageLengthExceeded', 'Your request was too big.', 400);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
