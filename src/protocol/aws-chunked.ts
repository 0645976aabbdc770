/**
 * Decodes `Content-Encoding: aws-chunked` bodies, which current SDKs send for S3 uploads:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n <bytes> \r\n … 0[;chunk-signature=<sig>]\r\n
 *   [<trailer>:<value>\r\n …] \r\n
 *
 * The data flows through as it arrives; chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)
 * are checked as each chunk ends by the `verifyChunk` callback the edge supplies, and trailers
 * (checksums, trailer signature) are collected for the handler. Any framing or signature error
 * fails the stream, so the consumer (an object write) discards what it had.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AwsError } from './errors.js';

export interface ChunkVerifier {
  /** Checks one chunk's signature given the hex SHA-256 of its data. */
  chunk(signature: string, dataSha256: string): boolean;
  /** Checks the trailer signature over the canonical trailer lines. */
  trailer?(signature: string, canonicalTrailers: string): boolean;
}

type State = 'size' | 'data' | 'data-crlf' | 'trailer' | 'done';
const MAX_LINE = 4096;

export const incompleteBody = () =>
  new AwsError('IncompleteBody', 'The request body terminated unexpectedly', 400);
const badSignature = () =>
  new AwsError('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', 403);

export class AwsChunkedDecoder extends Transform {
  readonly trailers = new Map<string, string>();
  private state: State = 'size';
  private line = '';
  private remaining = 0;
  private chunkSig: string | undefined;
  private chunkHash: Hash | undefined;
  private decoded = 0;
  private trailerLines: string[] = [];

  constructor(
    private readonly verifier?: ChunkVerifier,
    private readonly expectedLength?: number,
  ) {
    super();
  }

  override _transform(buf: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      let i = 0;
      while (i < buf.length) {
        if (this.state === 'data') {
          const n = Math.min(this.remaining, buf.length - i);
          const slice = buf.subarray(i, i + n);
          this.chunkHash?.update(slice);
          this.push(slice);
          this.decoded += n;
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'data-crlf';
          continue;
        }
        if (this.state === 'done') {
          // Anything after the final CRLF is not part of the message.
          i = buf.length;
          break;
        }
        const nl = buf.indexOf(0x0a, i);
        const end = nl < 0 ? buf.length : nl + 1;
        this.line += buf.toString('latin1', i, end);
        i = end;
        if (this.line.length > MAX_LINE) throw incompleteBody();
        if (nl < 0) break;
        const line = this.line.replace(/\r?\n$/, '');
        this.line = '';
        this.onLine(line);
      }
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  private onLine(line: string): void {
    switch (this.state) {
      case 'data-crlf':
        if (line !== '') throw incompleteBody();
        this.endChunk();
        this.state = 'size';
        return;
      case 'size': {
        const [sizeHex, ...ext] = line.split(';');
        if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex)) throw incompleteBody();
        this.remaining = parseInt(sizeHex, 16);
        this.chunkSig = ext.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length);
        if (this.verifier && !this.chunkSig) throw badSignature();
        this.chunkHash = this.verifier ? createHash('sha256') : undefined;
        if (this.remaining === 0) {
          this.endChunk();
          this.state = 'trailer';
        } else this.state = 'data';
        return;
      }
      case 'trailer': {
        if (line === '') {
          this.finishTrailers();
          this.state = 'done';
          return;
        }
        const colon = line.indexOf(':');
        if (colon < 0) throw incompleteBody();
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === 'x-amz-trailer-signature') {
          if (this.verifier?.trailer && !this.verifier.trailer(value, this.trailerLines.join(''))) throw badSignature();
        } else {
          this.trailers.set(name, value);
          this.trailerLines.push(`${name}:${value}\n`);
        }
        return;
      }
      default:
        throw incompleteBody();
    }
  }

  private endChunk(): void {
    if (this.verifier && this.chunkHash && this.chunkSig !== undefined) {
      if (!this.verifier.chunk(this.chunkSig, this.chunkHash.digest('hex'))) throw badSignature();
    }
    this.chunkHash = undefined;
  }

  private finishTrailers(): void {
    if (this.expectedLength !== undefined && this.decoded !== this.expectedLength) throw incompleteBody();
  }

  override _flush(done: TransformCallback): void {
    // Some clients end the body right after the final chunk's trailers without the last CRLF.
    if (this.state === 'trailer' && this.line === '') {
      try {
        this.finishTrailers();
      } catch (e) {
        done(e as Error);
        return;
      }
      this.state = 'done';
    }
    done(this.state === 'done' ? undefined : incompleteBody());
  }
}
