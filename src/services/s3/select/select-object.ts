/**
 * SelectObjectContent: an SQL query (./sql.ts) over one CSV or JSON object (plain or gzip), read
 * as it streams (./records.ts), answered as an event stream (../../../protocol/event-stream.ts):
 * Records events of up to 64 KiB of output (./output.ts), then Progress (if asked), Stats and
 * End. A ScanRange reads only the records that start within it (./scan-range.ts). What can be refused before reading the object (the request's settings, the SQL, its
 * functions) is an ordinary S3 error; what goes wrong while reading (a CAST that fails on some
 * record, a malformed line) arrives as an error event, as on S3, since the answer has begun.
 */
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { S3Operations } from '../../../models/generated/s3.js';
import { AwsError } from '../../../protocol/errors.js';
import { type OpHandler } from '../../service.js';
import type { BlobStore } from '../blobs.js';
import type { Versioning } from '../commit.js';
import { S3Errors } from '../errors.js';
import { checkReadable } from '../archive.js';
import { namedVersion } from '../object-rules.js';
import { plainBytes } from '../sse-c.js';
import { readKey, type CustomerKey } from '../sse.js';
import type { ObjectRow, S3Store } from '../store.js';
import { readFrom, recordsInRange, scanBounds, ScanRangeErrors } from './scan-range.js';
import { Aggregates, checkQuery, columnName, evaluate, truth, type OutRecord, type Row } from './evaluate.js';
import { csvWriter, jsonWriter, type Serialize } from './output.js';
import { csvRecords, csvRow, fromPath, jsonDocuments, jsonLines, jsonRow } from './records.js';
import { parseQuery, type Query } from './sql.js';

type Op<K extends keyof S3Operations> = OpHandler<S3Operations, K>;
type Input = S3Operations['SelectObjectContent']['input'];
type Event = NonNullable<S3Operations['SelectObjectContent']['output']['Payload']> extends AsyncIterable<infer E> ? E : never;

const RECORDS_EVENT_BYTES = 64 * 1024;

const SelectErrors = {
  expressionType: () => new AwsError('InvalidExpressionType', 'The ExpressionType is invalid. Only SQL expressions are supported.', 400),
  headerInfo: () => new AwsError('InvalidFileHeaderInfo', 'The FileHeaderInfo is invalid. Only NONE, USE, and IGNORE are supported.', 400),
  jsonType: () => new AwsError('InvalidJsonType', 'The JsonType is invalid. Only DOCUMENT and LINES are supported.', 400),
  compression: () => new AwsError('InvalidCompressionFormat', 'The file is not in a supported compression format. Only GZIP and BZIP2 are supported.', 400),
  oneFormat: (what: string) => new AwsError('InvalidRequest', `Exactly one of the ${what} formats must be specified.`, 400),
  gzip: () => new AwsError('InvalidCompressionFormat', 'GZIP is not applicable to the queried object. Please correct the request and try again.', 400),
};

/** The request's settings, checked before anything is read. */
function checkRequest(input: Input): void {
  if (input.ExpressionType !== 'SQL') throw SelectErrors.expressionType();
  const inp = input.InputSerialization;
  const formats = [inp?.CSV, inp?.JSON, inp?.Parquet].filter((f) => f !== undefined).length;
  if (formats !== 1) throw SelectErrors.oneFormat('input');
  if (inp.Parquet) throw S3Errors.notImplemented('S3 Select on Parquet objects');
  const compression = inp.CompressionType ?? 'NONE';
  if (compression === 'BZIP2') throw S3Errors.notImplemented('S3 Select on BZIP2 objects');
  if (compression !== 'NONE' && compression !== 'GZIP') throw SelectErrors.compression();
  if (inp.CSV?.FileHeaderInfo !== undefined && !['USE', 'IGNORE', 'NONE'].includes(inp.CSV.FileHeaderInfo)) throw SelectErrors.headerInfo();
  if (inp.JSON?.Type !== undefined && !['DOCUMENT', 'LINES'].includes(inp.JSON.Type)) throw SelectErrors.jsonType();
  const out = input.OutputSerialization;
  if ([out?.CSV, out?.JSON].filter((f) => f !== undefined).length !== 1) throw SelectErrors.oneFormat('output');
  // Scan ranges need a delimiter that always ends a record, in bytes as stored.
  if (input.ScanRange && (compression !== 'NONE' || inp.CSV?.AllowQuotedRecordDelimiter || (inp.JSON && inp.JSON.Type !== 'LINES'))) {
    throw ScanRangeErrors.unsupported();
  }
}

/** The object's bytes the query reads: all of them, or the records a ScanRange names. */
function source(blobs: BlobStore, obj: ObjectRow, key: CustomerKey | undefined, input: Input, counted: { scanned: number }): Readable {
  const delimiter = Buffer.from(input.InputSerialization.CSV?.RecordDelimiter || '\n');
  const range = input.ScanRange ? scanBounds(input.ScanRange, obj.size) : undefined;
  const from = range ? readFrom(range.first, delimiter) : 0;
  const stored = from <= obj.size - 1 ? plainBytes(blobs, obj, key, from, obj.size - 1) : Readable.from([]);
  const raw = counting(stored, (n) => (counted.scanned += n));
  if (!range) return raw;
  const inRange = Readable.from(recordsInRange(raw, range.first, range.last, delimiter), { objectMode: false });
  // The range ends before the object does: what is left of it is not read.
  inRange.on('close', () => raw.destroy());
  return inRange;
}

export function selectHandlers(store: S3Store, blobs: BlobStore, v: Versioning) {
  const SelectObjectContent: Op<'SelectObjectContent'> = (ctx, input) => {
    const obj = namedVersion(store, ctx, v.find, input.Bucket, input.Key, undefined);
    checkReadable(obj, ctx.now());
    const key = readKey(obj.attrs.Encryption, input);
    checkRequest(input);
    const query = parseQuery(input.Expression);
    checkQuery(query);
    const write: Serialize = input.OutputSerialization.CSV ? csvWriter(input.OutputSerialization.CSV) : jsonWriter(input.OutputSerialization.JSON ?? {});
    const counted = { scanned: 0, processed: 0 };
    const raw = source(blobs, obj, key, input, counted);
    let unpacked: Readable = raw;
    if (input.InputSerialization.CompressionType === 'GZIP') {
      const gunzip = createGunzip();
      raw.on('error', (e) => gunzip.destroy(e));
      unpacked = raw.pipe(gunzip);
    }
    const bytes = counting(unpacked, (n) => (counted.processed += n));
    const rows = input.InputSerialization.CSV ? csvRows(bytes, input.InputSerialization.CSV) : jsonRows(bytes, input.InputSerialization.JSON?.Type ?? 'DOCUMENT', query);
    return { Payload: events(query, rows, write, counted, input.RequestProgress?.Enabled === true, () => bytes.destroy()) };
  };

  return { SelectObjectContent };
}

/**
 * The same bytes, counted as the query reads them. (A 'data' listener would count them too, but
 * it starts the stream flowing before the query reads it: what came before would be lost.)
 */
function counting(bytes: Readable, add: (n: number) => void): Readable {
  async function* pass(): AsyncGenerator<Buffer> {
    for await (const chunk of bytes as AsyncIterable<Buffer>) {
      add(chunk.length);
      yield chunk;
    }
  }
  return Readable.from(pass(), { objectMode: false });
}

async function* csvRows(bytes: Readable, o: NonNullable<Input['InputSerialization']['CSV']>): AsyncGenerator<Row> {
  const info = o.FileHeaderInfo ?? 'NONE';
  let header: string[] | undefined;
  let first = true;
  for await (const fields of csvRecords(bytes, o)) {
    if (first && info !== 'NONE') {
      first = false;
      if (info === 'USE') header = fields;
      continue;
    }
    first = false;
    yield csvRow(fields, header);
  }
}

async function* jsonRows(bytes: Readable, type: string, query: Query): AsyncGenerator<Row> {
  const docs = type === 'LINES' ? jsonLines(bytes) : jsonDocuments(bytes);
  for await (const doc of docs) for (const record of fromPath(doc, query.from)) yield jsonRow(record);
}

async function* events(
  query: Query,
  rows: AsyncGenerator<Row>,
  write: Serialize,
  counted: { scanned: number; processed: number },
  progress: boolean,
  stop: () => void,
): AsyncGenerator<Event> {
  let pending: string[] = [];
  let pendingBytes = 0;
  let returned = 0;
  const flush = (): Event => {
    const payload = Buffer.from(pending.join(''), 'utf8');
    pending = [];
    pendingBytes = 0;
    returned += payload.length;
    return { Records: { Payload: payload } };
  };
  const aggregates = new Aggregates(query);
  let emitted = 0;
  try {
    for await (const row of rows) {
      if (query.where && truth(evaluate(query.where, row, query.alias)) !== true) continue;
      if (aggregates.any) {
        aggregates.add(row, query.alias);
        continue;
      }
      if (query.limit !== undefined && emitted >= query.limit) break;
      const line = write(project(query, row));
      emitted++;
      pending.push(line);
      pendingBytes += line.length;
      if (pendingBytes >= RECORDS_EVENT_BYTES) yield flush();
    }
    if (aggregates.any && (query.limit === undefined || query.limit > 0)) {
      const values = aggregates.values();
      const empty: Row = { get: () => undefined, whole: () => ({ names: [], values: [] }) };
      pending.push(write(project(query, empty, values)));
    }
  } catch (e) {
    // zlib's errors (Z_DATA_ERROR, …): the object is not the gzip the request said it is.
    if (typeof (e as NodeJS.ErrnoException)?.code === 'string' && (e as NodeJS.ErrnoException).code!.startsWith('Z_')) throw SelectErrors.gzip();
    throw e;
  } finally {
    // A LIMIT reached, or a failure: the rest of the object is not read.
    stop();
  }
  if (pending.length) yield flush();
  const details = { BytesScanned: counted.scanned, BytesProcessed: counted.processed, BytesReturned: returned };
  if (progress) yield { Progress: { Details: details } };
  yield { Stats: { Details: details } };
  yield { End: {} };
}

function project(query: Query, row: Row, aggregates?: Map<unknown, unknown>): OutRecord {
  if (!query.columns) return row.whole();
  return {
    names: query.columns.map((c, i) => columnName(c.e, c.alias, i + 1)),
    values: query.columns.map((c) => evaluate(c.e, row, query.alias, aggregates as Map<never, unknown>)),
  };
}
