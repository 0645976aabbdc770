/**
 * What the edge hands a codec and what it gets back. A codec knows one wire family and nothing
 * of any service: it turns a request into (operation, typed input) and a typed output or an
 * AwsError into a response, always by walking the service's model. What the edge must do
 * differently per family (read the body whole or stream it, address by Host, name the request
 * in headers) it learns from the codec's `traits`, never from the family's name.
 */
import type { Readable } from 'node:stream';
import type { LoadedModel } from '../models/loader.js';
import type { Operation } from '../models/shapes.js';
import type { AwsError } from './errors.js';

export interface WireRequest {
  method: string;
  /** The path as received, still percent-encoded, without the query string. */
  rawPath: string;
  /** Query string pairs, decoded, in order. */
  query: [string, string][];
  /** Header names in lower case; repeated headers joined with ",". */
  headers: Record<string, string>;
  /** The whole body, for families whose bodies are small documents (query, ec2). */
  body?: Buffer;
  /** The body as a stream, for families that stream payloads (rest-xml). */
  stream?: Readable;
  /** S3 addressing: the bucket named by the Host header (virtual-host style), if any. */
  hostBucket?: string;
}

export interface DecodedCall {
  operation: Operation;
  input: Record<string, unknown>;
}

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | Buffer | Readable;
}

/** What the edge needs to know of a wire family to carry its requests. */
export interface WireTraits {
  /**
   * How the body reaches the codec. `form`: a small document read whole (bounded) before
   * authentication, and signed over the bytes as received; form-encoded, its `Version` names the
   * API. `document`: the same, but any other document (JSON), named by no Version. `stream`:
   * handed to the operation as a stream, decoded from aws-chunked and checked against the hash
   * the client signed as it flows.
   */
  readonly body: 'form' | 'document' | 'stream';
  /** The Host header may name a bucket (S3's virtual-host addressing): see WireRequest.hostBucket. */
  readonly hostAddressing: boolean;
  /** The headers that name the request on every answer, success or error. */
  requestIdHeaders(requestId: string): Record<string, string>;
}

export interface Codec {
  readonly model: LoadedModel;
  readonly traits: WireTraits;
  /** Which operation a request names, without decoding its input (for routing and logs). */
  operationName(req: WireRequest): string | undefined;
  decode(req: WireRequest): Promise<DecodedCall>;
  encode(operation: Operation, output: Record<string, unknown> | undefined, requestId: string): WireResponse;
  encodeError(err: AwsError, requestId: string, req?: WireRequest): WireResponse;
}
