/**
 * Request bodies, as the codec's traits say. A `form` body is small and read whole (bounded); a
 * `stream` body (S3) streams, decoded from aws-chunked when the client sent that, and checked
 * against the SHA-256 the client signed when it declared one, so a body that does not match
 * fails its consumer mid-stream.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, Readable, Transform, type TransformCallback } from 'node:stream';
import { AwsChunkedDecoder } from '../protocol/aws-chunked.js';
import { AwsError } from '../protocol/errors.js';
import type { Caller } from './authenticate.js';

export const MAX_FORM_BODY = 4 * 1024 * 1024;

/** Whether the client waits for `100 Continue` before it sends its body. */
export function expectsContinue(headers: Record<string, string>): boolean {
  return /(^|,)\s*100-continue\s*(,|$)/i.test(headers.expect ?? '');
}

/**
 * The body of a request whose client waits for `100 Continue`: the go-ahead is sent the first time
 * anything reads the body (a handler that got past every check), never before, so a request that
 * is refused is answered without it and its client never sends the body. `body` may already be
 * piped through decoders: until the go-ahead no byte arrives for them to read.
 */
export function bodyOnDemand(body: Readable, res: ServerResponse, onGoAhead: () => void): Readable {
  let started = false;
  const out: Readable = new Readable({
    read() {
      if (started) {
        body.resume();
        return;
      }
      started = true;
      onGoAhead();
      res.writeContinue();
      body.on('data', (c: Buffer) => {
        if (!out.push(c)) body.pause();
      });
      body.once('end', () => out.push(null));
      body.once('error', (e) => out.destroy(e));
    },
  });
  return out;
}

/**
 * Reads a form body whole. Past MAX_FORM_BODY it stops and rejects without destroying the
 * request, so the chain can drain the rest and answer on a healthy connection.
 */
export function readForm(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= MAX_FORM_BODY) return void chunks.push(c);
      req.off('data', onData);
      req.pause();
      reject(new AwsError('RequestEntityTooLarge', `Request body exceeds ${MAX_FORM_BODY} bytes.`, 413));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

class Sha256Check extends Transform {
  private readonly hash = createHash('sha256');
  constructor(private readonly expected: string) {
    super();
  }
  override _transform(chunk: Buffer, _e: BufferEncoding, done: TransformCallback) {
    this.hash.update(chunk);
    done(null, chunk);
  }
  override _flush(done: TransformCallback) {
    const actual = this.hash.digest('hex');
    done(
      actual === this.expected
        ? undefined
        : new AwsError('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.", 400, {
            fields: { ClientComputedContentSHA256: this.expected, S3ComputedContentSHA256: actual },
          }),
    );
  }
}

export interface StreamedBody {
  stream: Readable;
  /** Trailing headers of an aws-chunked body (checksums), filled in when the stream ends. */
  trailers?: Map<string, string>;
}

export function streamBody(req: Readable, headers: Record<string, string>, caller: Caller): StreamedBody {
  const sha = headers['x-amz-content-sha256'] ?? '';
  const chunked = sha.startsWith('STREAMING-') || /(^|,)\s*aws-chunked\s*(,|$)/.test(headers['content-encoding'] ?? '');
  const forward = (from: Readable, to: Transform | PassThrough) => {
    from.on('error', (e) => to.destroy(e));
    return from.pipe(to);
  };
  if (chunked) {
    const decodedLength = headers['x-amz-decoded-content-length'];
    const decoder = new AwsChunkedDecoder(caller.chunkVerifier, decodedLength !== undefined ? Number(decodedLength) : undefined);
    return { stream: forward(req, decoder), trailers: decoder.trailers };
  }
  if (caller.declaredPayloadHash) return { stream: forward(req, new Sha256Check(caller.declaredPayloadHash)) };
  return { stream: req };
}
