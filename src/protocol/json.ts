/**
 * The json wire family (AWS JSON 1.0 and 1.1: ACM, and the many services like it): a POST whose
 * `X-Amz-Target: <targetPrefix>.<Operation>` names the operation and whose body is the input as
 * one JSON document; the answer is the output as JSON, or `{"__type": code, "message": …}` with
 * the error's status.
 *
 *   JsonCodec   decode: walk the input shape over the parsed body (blobs base64, timestamps epoch
 *               seconds); encode: walk the output shape the same way back
 *
 * What the shape does not name is ignored, as AWS's JSON services do; a value of the wrong JSON
 * type is a SerializationException and a required member left out a ValidationException, in
 * AWS's words. Knows no service: the target prefix and version come from the model.
 */
import type { LoadedModel } from '../models/loader.js';
import type { Operation, Shape } from '../models/shapes.js';
import { shapeType } from '../models/shapes.js';
import { AwsError, encodeJsonError } from './errors.js';
import type { Codec, DecodedCall, WireRequest, WireResponse, WireTraits } from './types.js';

/** The body is one small document, read whole (bounded) and signed over its bytes. */
const JSON_TRAITS: WireTraits = {
  body: 'document',
  hostAddressing: false,
  requestIdHeaders: (requestId) => ({ 'x-amzn-requestid': requestId }),
};

const serialization = (message: string) => new AwsError('SerializationException', message, 400);

export class JsonCodec implements Codec {
  readonly traits = JSON_TRAITS;
  private readonly contentType: string;

  constructor(readonly model: LoadedModel) {
    this.contentType = `application/x-amz-json-${model.metadata.jsonVersion ?? '1.0'}`;
  }

  operationName(req: WireRequest): string | undefined {
    const target = req.headers['x-amz-target'] ?? '';
    const dot = target.lastIndexOf('.');
    if (dot < 0 || target.slice(0, dot) !== this.model.metadata.targetPrefix) return undefined;
    return target.slice(dot + 1);
  }

  async decode(req: WireRequest): Promise<DecodedCall> {
    if (req.method !== 'POST') throw new AwsError('UnknownOperationException', `The HTTP method ${req.method} is not supported by this service.`, 404);
    const name = this.operationName(req);
    const operation = name === undefined ? undefined : this.model.operation(name);
    if (!operation) throw new AwsError('UnknownOperationException', `The operation '${req.headers['x-amz-target'] ?? ''}' is not known to this service.`, 400);
    const text = req.body?.toString('utf8').trim() ?? '';
    let doc: unknown = {};
    if (text) {
      try {
        doc = JSON.parse(text);
      } catch {
        throw serialization('The request body is not valid JSON.');
      }
    }
    const shape = operation.input ? this.model.resolve(operation.input) : undefined;
    const input = shape ? (this.read(shape, doc, '') as Record<string, unknown>) : {};
    return { operation, input };
  }

  encode(operation: Operation, output: Record<string, unknown> | undefined, _requestId: string): WireResponse {
    const shape = operation.output ? this.model.resolve(operation.output) : undefined;
    const body = JSON.stringify(shape && output ? this.write(shape, output) : {});
    return { status: 200, headers: { 'content-type': this.contentType }, body };
  }

  encodeError(err: AwsError, requestId: string): WireResponse {
    return encodeJsonError(err, requestId, this.contentType);
  }

  /** `path` names the member as AWS's validation messages do (camelCase, dotted). */
  private read(shape: Shape, v: unknown, path: string): unknown {
    if (v === null) return undefined;
    const type = shapeType(shape);
    const expect = (ok: boolean, what: string) => {
      if (!ok) throw serialization(`Expected ${what} for '${path || 'the request'}'.`);
    };
    switch (type) {
      case 'structure': {
        expect(typeof v === 'object' && !Array.isArray(v), 'an object');
        const obj = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [name, ref] of Object.entries(shape.members ?? {})) {
          if (obj[name] === undefined) continue;
          const value = this.read(this.model.resolve(ref), obj[name], path ? `${path}.${lowerFirst(name)}` : lowerFirst(name));
          if (value !== undefined) out[name] = value;
        }
        const missing = (shape.required ?? []).filter((r) => out[r] === undefined);
        if (missing.length) {
          const where = (r: string) => (path ? `${path}.${lowerFirst(r)}` : lowerFirst(r));
          throw new AwsError(
            'ValidationException',
            `${missing.length} validation error${missing.length > 1 ? 's' : ''} detected: ${missing.map((r) => `Value null at '${where(r)}' failed to satisfy constraint: Member must not be null`).join('; ')}`,
            400,
          );
        }
        return out;
      }
      case 'list':
        expect(Array.isArray(v), 'a list');
        return (v as unknown[]).map((item, i) => this.read(this.model.resolve(shape.member ?? {}), item, `${path}.${i + 1}.member`));
      case 'map': {
        expect(typeof v === 'object' && !Array.isArray(v), 'a map');
        const value = this.model.resolve(shape.value ?? {});
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, this.read(value, x, `${path}.${k}`)]));
      }
      case 'boolean':
        expect(typeof v === 'boolean', 'a boolean');
        return v;
      case 'integer':
      case 'long':
        expect(typeof v === 'number' && Number.isInteger(v), 'an integer');
        return v;
      case 'float':
      case 'double':
        expect(typeof v === 'number', 'a number');
        return v;
      case 'timestamp': {
        // Epoch seconds; a few clients send ISO 8601 strings, which AWS takes too.
        const d = typeof v === 'number' ? new Date(v * 1000) : typeof v === 'string' ? new Date(v) : undefined;
        expect(d !== undefined && !Number.isNaN(d.getTime()), 'a timestamp (epoch seconds)');
        return d;
      }
      case 'blob':
        expect(typeof v === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s/g, '')), 'base64 data');
        return Buffer.from(v as string, 'base64');
      default:
        expect(typeof v === 'string', 'a string');
        return v;
    }
  }

  private write(shape: Shape, v: unknown): unknown {
    if (v === undefined || v === null) return undefined;
    switch (shapeType(shape)) {
      case 'structure': {
        const obj = v as Record<string, unknown>;
        const out: Record<string, unknown> = {};
        for (const [name, ref] of Object.entries(shape.members ?? {})) {
          const value = this.write(this.model.resolve(ref), obj[name]);
          if (value !== undefined) out[name] = value;
        }
        return out;
      }
      case 'list':
        return (v as unknown[]).map((item) => this.write(this.model.resolve(shape.member ?? {}), item));
      case 'map': {
        const value = this.model.resolve(shape.value ?? {});
        return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, this.write(value, x)]));
      }
      case 'timestamp': {
        const d = v instanceof Date ? v : new Date(v as string | number);
        return d.getTime() / 1000;
      }
      case 'blob':
        return Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('base64') : String(v);
      default:
        return v;
    }
  }
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);
