/**
 * The query and ec2 wire families: form-encoded `Action=…&Version=…` requests, XML responses.
 *
 *   QueryCodec            query: <OpResponse><OpResult>…</OpResult><ResponseMetadata>…
 *     └── Ec2Codec        ec2:   <OpResponse><requestId/>…</OpResponse>, <Response><Errors>…
 *
 * Parameters come from the query string and, for POST, the form body; the presigning parameters
 * (X-Amz-*) and Action/Version belong to the envelope, not the operation.
 */
import type { LoadedModel } from '../models/loader.js';
import type { Operation } from '../models/shapes.js';
import { AwsError, CommonErrors } from './errors.js';
import { decodeQueryInput, paramTree, type QueryFlavour } from './query-decode.js';
import type { Codec, DecodedCall, WireRequest, WireResponse, WireTraits } from './types.js';
import { encodeStructure, escapeXml } from './xml-encode.js';

const ENVELOPE = new Set(['Action', 'Version', 'AWSAccessKeyId', 'SignatureMethod', 'SignatureVersion', 'Signature', 'Timestamp', 'Expires', 'SecurityToken']);
const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n';

export function formParams(req: WireRequest): [string, string][] {
  const pairs = [...req.query];
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (req.body && req.body.length > 0 && (type === '' || type.startsWith('application/x-www-form-urlencoded'))) {
    const text = req.body.toString('utf8');
    if (/%(?![0-9A-Fa-f]{2})/.test(text)) throw CommonErrors.malformedQueryString('The request body contains a malformed percent-encoding.');
    for (const [k, v] of new URLSearchParams(text)) pairs.push([k, v]);
  }
  return pairs;
}

/** Forms read whole; the request named in x-amzn-RequestId (the body names it too). */
const QUERY_TRAITS: WireTraits = {
  body: 'form',
  hostAddressing: false,
  requestIdHeaders: (requestId) => ({ 'x-amzn-requestid': requestId }),
};

export class QueryCodec implements Codec {
  readonly model: LoadedModel;
  readonly traits = QUERY_TRAITS;
  protected readonly flavour: QueryFlavour;

  constructor(model: LoadedModel, flavour: QueryFlavour = 'query') {
    this.model = model;
    this.flavour = flavour;
  }

  operationName(req: WireRequest): string | undefined {
    const fromQuery = req.query.find(([k]) => k === 'Action')?.[1];
    if (fromQuery) return fromQuery;
    if (!req.body) return undefined;
    return new URLSearchParams(req.body.toString('utf8')).get('Action') ?? undefined;
  }

  async decode(req: WireRequest): Promise<DecodedCall> {
    if (req.method !== 'POST' && req.method !== 'GET') {
      throw new AwsError('InvalidHttpRequest', `The HTTP method ${req.method} is not supported by this service.`, 405);
    }
    const pairs = formParams(req);
    const action = pairs.find(([k]) => k === 'Action')?.[1];
    if (!action) throw CommonErrors.missingAction();
    const operation = this.model.operation(action);
    if (!operation) throw CommonErrors.invalidAction(action);
    const params = pairs.filter(([k]) => !ENVELOPE.has(k) && !k.startsWith('X-Amz-'));
    const input = decodeQueryInput(this.model, operation.input ? this.model.resolve(operation.input) : undefined, paramTree(params), this.flavour);
    return { operation, input };
  }

  encode(operation: Operation, output: Record<string, unknown> | undefined, requestId: string): WireResponse {
    const ns = this.model.metadata.xmlNamespace ?? '';
    const shape = operation.output ? this.model.resolve(operation.output) : undefined;
    const inner = shape && output ? encodeStructure(this.model, shape, output, 'query') : '';
    const wrapper = shape?.resultWrapper;
    const result = wrapper ? `<${wrapper}>${inner}</${wrapper}>` : inner;
    const body =
      `${XML_HEAD}<${operation.name}Response xmlns="${ns}">${result}` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation.name}Response>`;
    return { status: 200, headers: { 'content-type': 'text/xml' }, body };
  }

  encodeError(err: AwsError, requestId: string): WireResponse {
    const ns = this.model.metadata.xmlNamespace ?? '';
    const body =
      `${XML_HEAD}<ErrorResponse xmlns="${ns}"><Error><Type>${err.fault}</Type><Code>${escapeXml(err.code)}</Code>` +
      `<Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    return { status: err.status, headers: { 'content-type': 'text/xml', ...err.headers }, body };
  }
}

export class Ec2Codec extends QueryCodec {
  constructor(model: LoadedModel) {
    super(model, 'ec2');
  }

  override encode(operation: Operation, output: Record<string, unknown> | undefined, requestId: string): WireResponse {
    const ns = this.model.metadata.xmlNamespace ?? '';
    const shape = operation.output ? this.model.resolve(operation.output) : undefined;
    let inner = shape && output ? encodeStructure(this.model, shape, output, 'ec2') : '';
    // Operations without an output shape answer <return>true</return>, as EC2 does.
    if (!shape) inner = '<return>true</return>';
    const body =
      `${XML_HEAD}<${operation.name}Response xmlns="${ns}/"><requestId>${requestId}</requestId>${inner}</${operation.name}Response>`;
    return { status: 200, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
  }

  override encodeError(err: AwsError, requestId: string): WireResponse {
    const body =
      `${XML_HEAD}<Response><Errors><Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message>` +
      `</Error></Errors><RequestID>${requestId}</RequestID></Response>`;
    return { status: err.status, headers: { 'content-type': 'text/xml;charset=UTF-8', ...err.headers }, body };
  }
}
