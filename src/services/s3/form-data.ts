/**
 * A streaming reader of multipart/form-data (RFC 7578), for S3's browser uploads (./post-object.ts).
 * S3 reads the fields that come before the file part (bounded: they are the policy and its
 * inputs), then the file, and ignores whatever follows it. So does this reader: `fields()` collects
 * the leading text fields up to the first part with a filename (or the end), and `file()` streams
 * that part's bytes as they arrive, holding back only as many as could be the start of the next
 * boundary. Nothing is buffered whole; a body that ends before the file's closing boundary fails
 * the file stream, so a truncated upload is never taken for a complete one.
 */
import { Readable } from 'node:stream';

/** A body that is not the multipart/form-data it claims to be. */
export class MalformedForm extends Error {}

/** The fields before the file outgrew the limit. */
export class FormPreambleTooLarge extends Error {}

export interface FilePart {
  /** The form field's name (S3 ignores it; browsers send `file`). */
  name: string;
  filename: string;
  contentType?: string;
  body: Readable;
}

export interface LeadingFields {
  /** Field names as sent, in order; a name may repeat. */
  fields: [string, string][];
  /** The first part with a filename, if any; its body must be read (or destroyed) by the caller. */
  file?: FilePart;
}

/** The boundary named by a multipart/form-data Content-Type, or undefined if it names none. */
export function formBoundary(contentType: string | undefined): string | undefined {
  const m = /^\s*multipart\/form-data\s*;(.*)$/is.exec(contentType ?? '');
  if (!m) return undefined;
  const b = /(?:^|;)\s*boundary\s*=\s*(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(m[1]);
  return b ? (b[1] ?? b[2]) : undefined;
}

const CRLF = Buffer.from('\r\n');
const HEADERS_END = Buffer.from('\r\n\r\n');

export class FormReader {
  /** `\r\n--boundary`: every delimiter, the first one included once a CRLF is put before the body. */
  private readonly delimiter: Buffer;
  private buf: Buffer = CRLF;
  private ended = false;

  constructor(
    private readonly body: Readable,
    boundary: string,
  ) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`);
  }

  /**
   * The text fields before the first file part (one with a filename, unless `isFile` says
   * otherwise), their headers and values together at most `limit` bytes (S3's bound on a POST's
   * pre-data).
   */
  async leadingFields(limit: number, isFile: (name: string, filename: string | undefined) => boolean = (_n, f) => f !== undefined): Promise<LeadingFields> {
    let budget = limit;
    const spend = (n: number) => {
      budget -= n;
      if (budget < 0) throw new FormPreambleTooLarge();
    };
    // The preamble (anything before the first boundary) is ignored, but still bounded.
    for await (const chunk of this.bytesToDelimiter()) spend(chunk.length);
    const fields: [string, string][] = [];
    while (await this.nextPart()) {
      const headers = await this.partHeaders(budget);
      spend(headers.size);
      const disposition = parseDisposition(headers.values.get('content-disposition'));
      if (isFile(disposition.name, disposition.filename)) {
        const body = Readable.from(this.bytesToDelimiter(), { objectMode: false });
        return { fields, file: { name: disposition.name, filename: disposition.filename ?? '', contentType: headers.values.get('content-type'), body } };
      }
      const chunks: Buffer[] = [];
      for await (const chunk of this.bytesToDelimiter()) {
        spend(chunk.length);
        chunks.push(chunk);
      }
      fields.push([disposition.name, Buffer.concat(chunks).toString('utf8')]);
    }
    return { fields };
  }

  /** After a delimiter: true if a part follows, false at the closing `--`. */
  private async nextPart(): Promise<boolean> {
    await this.want(2);
    if (this.buf.subarray(0, 2).toString() === '--') return false;
    // Transport padding (linear white space) may follow a delimiter, then the line ends.
    for (;;) {
      const crlf = this.buf.indexOf(CRLF);
      if (crlf >= 0) {
        if (!/^[ \t]*$/.test(this.buf.subarray(0, crlf).toString('latin1'))) throw new MalformedForm('junk after a boundary');
        this.buf = this.buf.subarray(crlf + 2);
        return true;
      }
      if (this.buf.length > 1024) throw new MalformedForm('junk after a boundary');
      if (!(await this.fill())) throw new MalformedForm('the body ends after a boundary');
    }
  }

  private async partHeaders(limit: number): Promise<{ values: Map<string, string>; size: number }> {
    let end: number;
    // A part with no headers at all starts with the blank line straight away.
    for (;;) {
      if (this.buf.subarray(0, 2).equals(CRLF)) {
        end = -2;
        break;
      }
      end = this.buf.indexOf(HEADERS_END);
      if (end >= 0) break;
      if (this.buf.length > limit) throw new FormPreambleTooLarge();
      if (!(await this.fill())) throw new MalformedForm('the body ends inside part headers');
    }
    const text = end < 0 ? '' : this.buf.subarray(0, end).toString('utf8');
    this.buf = this.buf.subarray(end + 4);
    const values = new Map<string, string>();
    for (const line of text.split('\r\n')) {
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new MalformedForm('a part header without a name');
      values.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    return { values, size: end + 4 };
  }

  /**
   * The bytes up to the next delimiter, which is consumed. Holds back only the tail that could be
   * the start of a delimiter split across chunks.
   */
  private async *bytesToDelimiter(): AsyncGenerator<Buffer> {
    const keep = this.delimiter.length - 1;
    for (;;) {
      const at = this.buf.indexOf(this.delimiter);
      if (at >= 0) {
        const before = this.buf.subarray(0, at);
        this.buf = this.buf.subarray(at + this.delimiter.length);
        if (before.length) yield before;
        return;
      }
      if (this.buf.length > keep) {
        const out = this.buf.subarray(0, this.buf.length - keep);
        this.buf = this.buf.subarray(this.buf.length - keep);
        yield out;
      }
      if (!(await this.fill())) throw new MalformedForm('the body ends before its closing boundary');
    }
  }

  private async want(n: number): Promise<void> {
    while (this.buf.length < n) if (!(await this.fill())) throw new MalformedForm('the body ends after a boundary');
  }

  /**
   * One more chunk of the body, read in paused mode with listeners only while waiting: what the
   * form does not use stays unread, for the edge to drain once the answer is out.
   */
  private async fill(): Promise<boolean> {
    for (;;) {
      if (this.ended) return false;
      const chunk: Buffer | string | null = this.body.read();
      if (chunk !== null) {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.buf = this.buf.length ? Buffer.concat([this.buf, bytes]) : bytes;
        return true;
      }
      if (this.body.readableEnded) {
        this.ended = true;
        return false;
      }
      // Closed before its end: the client went away mid-body.
      if (this.body.destroyed) throw Object.assign(new Error('the client closed the connection mid-body'), { code: 'ECONNRESET' });
      await new Promise<void>((resolve, reject) => {
        const settle = (e?: Error) => {
          this.body.off('readable', onEvent).off('end', onEvent).off('close', onEvent).off('error', settle);
          if (e) reject(e);
          else resolve();
        };
        const onEvent = () => settle();
        this.body.on('readable', onEvent).on('end', onEvent).on('close', onEvent).on('error', settle);
      });
    }
  }
}

/** `form-data; name="key"; filename="a.txt"`: quoted or bare parameter values. */
function parseDisposition(header: string | undefined): { name: string; filename?: string } {
  if (!header || !/^\s*form-data\s*(;|$)/i.test(header)) throw new MalformedForm('a part that is not form-data');
  const params = new Map<string, string>();
  const re = /;\s*([^=;\s]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/g;
  for (let m = re.exec(header); m; m = re.exec(header)) {
    params.set(m[1].toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3].trim());
  }
  const name = params.get('name');
  if (name === undefined) throw new MalformedForm('a part without a name');
  return { name, filename: params.get('filename') };
}
