/**
 * S3 Select's input, read record by record as the object's bytes stream (never whole): CSV with
 * its delimiters, quote and escape characters, comment lines and header row; JSON as LINES (one
 * document per line) or DOCUMENT (whitespace-separated documents; `FROM S3Object[*].path` walks
 * into each). Each record becomes a Row for ./evaluate.ts. A record longer than S3's 1 MB limit
 * is refused (OverMaxRecordSize), so a body without delimiters cannot grow without bound.
 */
import { StringDecoder } from 'node:string_decoder';
import type { InputSerialization } from '../../../models/generated/s3.js';
import { AwsError } from '../../../protocol/errors.js';
import type { OutRecord, Row } from './evaluate.js';

const MAX_RECORD = 1024 * 1024;

export const RecordErrors = {
  tooLarge: () => new AwsError('OverMaxRecordSize', 'The length of a record in the input or result is greater than maxCharsPerRecord of 1 MB.', 400),
  csv: () => new AwsError('CSVParsingError', 'Encountered an error parsing the CSV file. Check the file and try again.', 400),
  json: () => new AwsError('JSONParsingError', 'Encountered an error parsing the JSON file. Check the file and try again.', 400),
};

/** CSV input settings, as the request gives them. */
export type CsvInput = NonNullable<InputSerialization['CSV']>;

/** Splits CSV text into records of fields, across chunk boundaries. */
export async function* csvRecords(bytes: AsyncIterable<Buffer>, o: CsvInput): AsyncGenerator<string[]> {
  const fieldSep = o.FieldDelimiter || ',';
  const recordSep = o.RecordDelimiter || '\n';
  const quote = o.QuoteCharacter ?? '"';
  const escape = o.QuoteEscapeCharacter || quote;
  const comment = o.Comments || undefined;
  const decoder = new StringDecoder('utf8');
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let atFieldStart = true;
  let recordSize = 0;
  let buf = '';
  const lookahead = Math.max(fieldSep.length, recordSep.length, escape.length + quote.length);
  const finishRecord = (): string[] | undefined => {
    fields.push(field);
    const out = fields;
    fields = [];
    field = '';
    atFieldStart = true;
    recordSize = 0;
    // A blank line is no record; a comment line neither.
    if (out.length === 1 && out[0] === '') return undefined;
    if (comment !== undefined && out[0].startsWith(comment)) return undefined;
    // CRLF files read with the default LF delimiter keep no stray CR.
    if (recordSep === '\n') out[out.length - 1] = out[out.length - 1].replace(/\r$/, '');
    return out;
  };
  const feed = function* (final: boolean): Generator<string[]> {
    let i = 0;
    const stop = final ? buf.length : buf.length - lookahead;
    while (i < stop) {
      if (quoted) {
        if (escape !== quote && buf.startsWith(escape + quote, i)) {
          field += quote;
          i += escape.length + quote.length;
        } else if (buf.startsWith(quote + quote, i) && escape === quote) {
          field += quote;
          i += 2 * quote.length;
        } else if (buf.startsWith(quote, i)) {
          quoted = false;
          i += quote.length;
        } else field += buf[i++];
      } else if (quote && atFieldStart && buf.startsWith(quote, i)) {
        quoted = true;
        atFieldStart = false;
        i += quote.length;
      } else if (buf.startsWith(fieldSep, i)) {
        fields.push(field);
        field = '';
        atFieldStart = true;
        i += fieldSep.length;
      } else if (buf.startsWith(recordSep, i)) {
        i += recordSep.length;
        const r = finishRecord();
        if (r) yield r;
      } else {
        field += buf[i++];
        atFieldStart = false;
      }
      if (++recordSize > MAX_RECORD) throw RecordErrors.tooLarge();
    }
    buf = buf.slice(i);
  };
  for await (const chunk of bytes) {
    buf += decoder.write(chunk);
    yield* feed(false);
  }
  buf += decoder.end();
  yield* feed(true);
  if (quoted) throw RecordErrors.csv();
  if (field !== '' || fields.length > 0) {
    const r = finishRecord();
    if (r) yield r;
  }
}

/** A CSV record as a Row: `_N` by position, names by the header row (unquoted: any case). */
export function csvRow(fields: string[], header: string[] | undefined): Row {
  const index = (name: string, quoted: boolean): number => {
    const positional = /^_([0-9]+)$/.exec(name);
    if (positional) return Number(positional[1]) - 1;
    if (!header) return -1;
    const exact = header.indexOf(name);
    if (exact >= 0 || quoted) return exact;
    return header.findIndex((h) => h.toLowerCase() === name.toLowerCase());
  };
  return {
    get(path, quoted) {
      if (path.length !== 1 || typeof path[0] !== 'string') return undefined;
      const i = index(path[0], quoted[0]);
      return i >= 0 && i < fields.length ? fields[i] : undefined;
    },
    whole(): OutRecord {
      return { names: fields.map((_, i) => header?.[i] ?? `_${i + 1}`), values: fields };
    },
  };
}

/** JSON LINES: one document per line. */
export async function* jsonLines(bytes: AsyncIterable<Buffer>): AsyncGenerator<unknown> {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  const parse = (line: string): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      throw RecordErrors.json();
    }
  };
  for await (const chunk of bytes) {
    buf += decoder.write(chunk);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) yield parse(line);
    }
    if (buf.length > MAX_RECORD) throw RecordErrors.tooLarge();
  }
  buf += decoder.end();
  if (buf.trim()) yield parse(buf.trim());
}

/** JSON DOCUMENT: whitespace-separated top-level documents, each found by its balanced brackets. */
export async function* jsonDocuments(bytes: AsyncIterable<Buffer>): AsyncGenerator<unknown> {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  let i = 0;
  const take = (end: number): unknown => {
    const text = buf.slice(start, end);
    buf = buf.slice(end);
    i -= end;
    start = -1;
    try {
      return JSON.parse(text);
    } catch {
      throw RecordErrors.json();
    }
  };
  const scan = function* (final: boolean): Generator<unknown> {
    for (; i < buf.length; i++) {
      const c = buf[i];
      if (start < 0) {
        if (/\s/.test(c)) continue;
        start = i;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') {
          inString = false;
          if (depth === 0) yield take(i + 1);
        }
      } else if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth < 0) throw RecordErrors.json();
        if (depth === 0) yield take(i + 1);
      } else if (depth === 0) {
        // A top-level number, true, false or null ends at whitespace (or the end of the body).
        const after = buf[i + 1];
        if ((after === undefined && final) || (after !== undefined && /\s/.test(after))) yield take(i + 1);
      }
      if (start >= 0 && i - start > MAX_RECORD) throw RecordErrors.tooLarge();
    }
  };
  for await (const chunk of bytes) {
    buf += decoder.write(chunk);
    yield* scan(false);
    if (start < 0) {
      buf = '';
      i = 0;
    }
  }
  buf += decoder.end();
  yield* scan(true);
  if (start >= 0) {
    if (depth !== 0 || inString) throw RecordErrors.json();
    yield take(buf.length);
  }
}

/** The records a FROM path names in one document: `*` explodes arrays, a name takes a member. */
export function* fromPath(doc: unknown, path: ('*' | string)[]): Generator<unknown> {
  if (path.length === 0) {
    yield doc;
    return;
  }
  const [step, ...rest] = path;
  if (step === '*') {
    if (Array.isArray(doc)) for (const d of doc) yield* fromPath(d, rest);
    else yield* fromPath(doc, rest);
  } else if (doc !== null && typeof doc === 'object' && !Array.isArray(doc)) {
    const v = member(doc as Record<string, unknown>, step, false);
    if (v !== undefined) yield* fromPath(v, rest);
  }
}

function member(o: Record<string, unknown>, name: string, quoted: boolean): unknown {
  if (Object.prototype.hasOwnProperty.call(o, name)) return o[name];
  if (quoted) return undefined;
  const k = Object.keys(o).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : o[k];
}

/** A JSON record as a Row: paths walk its members and array items. */
export function jsonRow(doc: unknown): Row {
  return {
    get(path, quoted) {
      let v: unknown = doc;
      for (let i = 0; i < path.length; i++) {
        const step = path[i];
        if (typeof step === 'number') v = Array.isArray(v) ? v[step] : undefined;
        else v = v !== null && typeof v === 'object' && !Array.isArray(v) ? member(v as Record<string, unknown>, step, quoted[i]) : undefined;
        if (v === undefined) return undefined;
      }
      return v;
    },
    whole: () => ({ json: doc }),
  };
}
