// S3 Select: SQL over CSV and JSON objects, answered as the event stream the SDK v3's
// SelectObjectContentCommand parses (Records, Stats, End, CRC-framed); WHERE with comparisons,
// AND/OR/LIKE, LIMIT, aggregates, CAST; gzip input; refusals before the answer and errors in the
// stream; boto3 too.
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import {
  PutObjectCommand,
  SelectObjectContentCommand,
  type InputSerialization,
  type OutputSerialization,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type TestKumo } from '../helpers/kumo.js';
import { boto3 } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';
import { recordsInRange } from '../../src/services/s3/select/scan-range.js';
import { createBucket, failure, useS3 } from './support.js';

let kumo: TestKumo;
let s3: S3Client;
let Bucket: string;

const CSV = 'name,city,age\nAda,London,36\nGrace,"New York, NY",85\nLinus,Helsinki,54\n"Bob ""The"" Builder",Leeds,7\n';
const LINES = ['{"id":1,"user":{"name":"ada","langs":["en","fr"]},"score":9.5}', '{"id":2,"user":{"name":"bob"},"score":4}', '{"id":3,"user":{"name":"cy"}}'].join('\n');

useS3(async (f) => {
  ({ kumo, s3 } = f);
  Bucket = await createBucket(s3, 'select');
  await s3.send(new PutObjectCommand({ Bucket, Key: 'people.csv', Body: CSV }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'people.csv.gz', Body: gzipSync(CSV) }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'events.jsonl', Body: LINES }));
  await s3.send(new PutObjectCommand({ Bucket, Key: 'doc.json', Body: '{"items":[{"k":"a","n":1},{"k":"b","n":2}]}' }));
  const big = ['n,sq'];
  for (let i = 0; i < 20000; i++) big.push(`${i},${i * i}`);
  await s3.send(new PutObjectCommand({ Bucket, Key: 'big.csv', Body: big.join('\n') }));
});

const csvIn = (FileHeaderInfo = 'USE', extra: Partial<InputSerialization> = {}): InputSerialization => ({ CSV: { FileHeaderInfo: FileHeaderInfo as 'USE' }, ...extra });
const jsonOut: OutputSerialization = { JSON: {} };
const csvOut: OutputSerialization = { CSV: {} };

async function select(Key: string, Expression: string, InputSerialization: InputSerialization, OutputSerialization: OutputSerialization = jsonOut) {
  const r = await s3.send(new SelectObjectContentCommand({ Bucket, Key, Expression, ExpressionType: 'SQL', InputSerialization, OutputSerialization, RequestProgress: { Enabled: true } }));
  let text = '';
  const seen: string[] = [];
  let stats: { BytesScanned?: number; BytesProcessed?: number; BytesReturned?: number } | undefined;
  for await (const e of r.Payload!) {
    if (e.Records) {
      seen.push('Records');
      text += Buffer.from(e.Records.Payload!).toString('utf8');
    } else if (e.Stats) {
      seen.push('Stats');
      stats = e.Stats.Details;
    } else if (e.Progress) seen.push('Progress');
    else if (e.End) seen.push('End');
  }
  return { text, seen, stats };
}

const jsonLinesOf = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('CSV', () => {
  test('SELECT * with a header: records, then Progress, Stats and End; the bytes add up', async () => {
    const r = await select('people.csv', 'SELECT * FROM S3Object', csvIn('USE'), csvOut);
    assert.equal(r.text, 'Ada,London,36\nGrace,"New York, NY",85\nLinus,Helsinki,54\n"Bob ""The"" Builder",Leeds,7\n');
    assert.deepEqual(r.seen, ['Records', 'Progress', 'Stats', 'End']);
    assert.deepEqual(r.stats, { BytesScanned: CSV.length, BytesProcessed: CSV.length, BytesReturned: Buffer.byteLength(r.text) });
  });

  test('columns by name and position, WHERE with CAST, comparisons, AND/OR, LIKE; LIMIT', async () => {
    let r = await select('people.csv', "SELECT s.name, s._2 FROM S3Object s WHERE CAST(s.age AS INT) > 40 AND (s.city LIKE '%York%' OR s.name = 'Linus')", csvIn());
    assert.deepEqual(jsonLinesOf(r.text), [{ name: 'Grace', _2: 'New York, NY' }, { name: 'Linus', _2: 'Helsinki' }]);
    r = await select('people.csv', 'SELECT _1 FROM S3Object LIMIT 2', csvIn('IGNORE'), csvOut);
    assert.equal(r.text, 'Ada\nGrace\n');
    r = await select('people.csv', "SELECT UPPER(name) AS who, age + 1 FROM S3Object WHERE name NOT LIKE 'B%' AND age BETWEEN 30 AND 60", csvIn());
    assert.deepEqual(jsonLinesOf(r.text), [{ who: 'ADA', _2: 37 }, { who: 'LINUS', _2: 55 }]);
    r = await select('people.csv', "SELECT name FROM S3Object WHERE city IN ('Leeds', 'London')", csvIn(), csvOut);
    assert.equal(r.text, 'Ada\n"Bob ""The"" Builder"\n');
  });

  test('aggregates: COUNT, SUM, AVG, MIN, MAX', async () => {
    const r = await select('people.csv', 'SELECT COUNT(*), SUM(CAST(age AS INT)), AVG(CAST(age AS FLOAT)), MIN(CAST(age AS INT)), MAX(age) FROM S3Object', csvIn(), csvOut);
    assert.equal(r.text, '4,182,45.5,7,85\n');
    const none = await select('people.csv', "SELECT COUNT(*) FROM S3Object WHERE name = 'nobody'", csvIn(), csvOut);
    assert.equal(none.text, '0\n');
  });

  test('gzip input; a large object comes in several Records events', async () => {
    const r = await select('people.csv.gz', 'SELECT COUNT(*) FROM S3Object', { ...csvIn(), CompressionType: 'GZIP' }, csvOut);
    assert.equal(r.text, '4\n');
    assert.equal(r.stats?.BytesProcessed, CSV.length);
    assert.equal(r.stats?.BytesScanned, gzipSync(CSV).length);
    const big = await select('big.csv', 'SELECT n, sq FROM S3Object WHERE CAST(n AS INT) % 2 = 0', csvIn(), csvOut);
    assert.ok(big.seen.filter((s) => s === 'Records').length > 1, big.seen.join(','));
    const lines = big.text.trim().split('\n');
    assert.equal(lines.length, 10000);
    assert.equal(lines[9999], '19998,399920004');
  });
});

describe('JSON', () => {
  test('LINES: nested paths, IS MISSING, projections named by their last step', async () => {
    let r = await select('events.jsonl', 'SELECT s.id, s.user.name FROM S3Object s WHERE s.score >= 5 OR s.score IS MISSING', { JSON: { Type: 'LINES' } });
    assert.deepEqual(jsonLinesOf(r.text), [{ id: 1, name: 'ada' }, { id: 3, name: 'cy' }]);
    r = await select('events.jsonl', "SELECT * FROM S3Object s WHERE s.user.langs[1] = 'fr'", { JSON: { Type: 'LINES' } });
    assert.deepEqual(jsonLinesOf(r.text), [JSON.parse(LINES.split('\n')[0])]);
    r = await select('events.jsonl', 'SELECT s.id, s.user.name FROM S3Object s', { JSON: { Type: 'LINES' } }, csvOut);
    assert.equal(r.text, '1,ada\n2,bob\n3,cy\n');
  });

  test('DOCUMENT: FROM S3Object[*].items[*] walks into the document', async () => {
    const r = await select('doc.json', 'SELECT d.k FROM S3Object[*].items[*] d WHERE d.n > 1', { JSON: { Type: 'DOCUMENT' } });
    assert.deepEqual(jsonLinesOf(r.text), [{ k: 'b' }]);
  });
});

describe('ScanRange', () => {
  const at = (text: string, line: number) => Buffer.byteLength(text.split('\n').slice(0, line).join('\n')) + (line > 0 ? 1 : 0);
  const names = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => l.split(',')[0]);

  test('only records whose first byte is in the range; End alone is the last End bytes', async () => {
    const range = async (ScanRange: { Start?: number; End?: number }) => {
      const r = await s3.send(new SelectObjectContentCommand({
        Bucket, Key: 'people.csv', Expression: 'SELECT s._1 FROM S3Object s', ExpressionType: 'SQL',
        InputSerialization: csvIn('NONE'), OutputSerialization: csvOut, ScanRange,
      }));
      let text = '';
      for await (const e of r.Payload!) if (e.Records) text += Buffer.from(e.Records.Payload!).toString();
      return names(text);
    };
    assert.deepEqual(await range({ Start: at(CSV, 1), End: at(CSV, 2) }), ['Ada', 'Grace']);
    assert.deepEqual(await range({ Start: at(CSV, 1) + 1, End: at(CSV, 3) }), ['Grace', 'Linus']);
    assert.deepEqual(await range({ Start: at(CSV, 3) }), ['Linus', '"Bob ""The"" Builder"']);
    assert.deepEqual(await range({ End: Buffer.byteLength(CSV) - at(CSV, 4) + 1 }), ['"Bob ""The"" Builder"']);
    assert.deepEqual(await range({ Start: 10_000 }), []);
  });

  test('JSON LINES take a range; gzip and JSON DOCUMENT do not', async () => {
    const r = await select('events.jsonl', 'SELECT s.id FROM S3Object s', { JSON: { Type: 'LINES' } });
    assert.equal(jsonLinesOf(r.text).length, 3);
    const ranged = await s3.send(new SelectObjectContentCommand({
      Bucket, Key: 'events.jsonl', Expression: 'SELECT s.id FROM S3Object s', ExpressionType: 'SQL',
      InputSerialization: { JSON: { Type: 'LINES' } }, OutputSerialization: jsonOut, ScanRange: { Start: at(LINES, 1) },
    }));
    let text = '';
    for await (const e of ranged.Payload!) if (e.Records) text += Buffer.from(e.Records.Payload!).toString();
    assert.deepEqual(jsonLinesOf(text), [{ id: 2 }, { id: 3 }]);
    for (const InputSerialization of [{ ...csvIn(), CompressionType: 'GZIP' as const }, { JSON: { Type: 'DOCUMENT' as const } }]) {
      const f = await failure(s3.send(new SelectObjectContentCommand({
        Bucket, Key: 'people.csv.gz', Expression: 'SELECT * FROM S3Object', ExpressionType: 'SQL', InputSerialization, OutputSerialization: csvOut, ScanRange: { Start: 1 },
      })));
      assert.equal(f.name, 'UnsupportedScanRangeInput');
    }
  });

  test('the range cut is the same whatever the chunking of the bytes', async () => {
    const bytes = Buffer.from('aa\r\nbbb\r\ncc\r\nd');
    const cut = async (chunks: Buffer[], first: number, last: number) => {
      const out: Buffer[] = [];
      for await (const b of recordsInRange((async function* () { yield* chunks; })(), first, last, Buffer.from('\r\n'))) out.push(b);
      return Buffer.concat(out).toString();
    };
    for (const chunks of [[bytes], [...bytes].map((b) => Buffer.from([b]))]) {
      // Reading begins a delimiter's length before the start, as the handler reads it.
      const from = (first: number) => chunks.length === 1 ? [bytes.subarray(Math.max(0, first - 2))] : [...bytes.subarray(Math.max(0, first - 2))].map((b) => Buffer.from([b]));
      assert.equal(await cut(from(0), 0, 0), 'aa\r\n');
      assert.equal(await cut(from(4), 4, 9), 'bbb\r\ncc\r\n');
      assert.equal(await cut(from(5), 5, 100), 'cc\r\nd');
      assert.equal(await cut(from(12), 12, 100), 'd');
      assert.equal(await cut(from(14), 14, 100), '');
    }
  });
});

describe('refusals and errors', () => {
  test('bad SQL, an unknown function, a bad setting: S3 errors before the answer', async () => {
    let f = await failure(select('people.csv', 'SELECT FROM S3Object', csvIn()));
    assert.deepEqual([f.name, f.status], ['ParseUnexpectedToken', 400]);
    f = await failure(select('people.csv', 'SELECT nosuch(name) FROM S3Object', csvIn()));
    assert.equal(f.name, 'UnsupportedFunction');
    f = await failure(select('people.csv', 'SELECT CAST(name AS WIDGET) FROM S3Object', csvIn()));
    assert.equal(f.name, 'ParseInvalidTypeParam');
    f = await failure(select('people.csv', 'SELECT * FROM S3Object', csvIn('SOMETIMES')));
    assert.equal(f.name, 'InvalidFileHeaderInfo');
    f = await failure(select('nope.csv', 'SELECT * FROM S3Object', csvIn()));
    assert.equal(f.name, 'NoSuchKey');
  });

  test('a CAST that fails on a record, an object that is not the gzip it is said to be: error events in the stream', async () => {
    let f = await failure(select('people.csv', 'SELECT CAST(city AS INT) FROM S3Object', csvIn()));
    assert.equal(f.name, 'CastFailed');
    f = await failure(select('people.csv', 'SELECT * FROM S3Object', { ...csvIn(), CompressionType: 'GZIP' }));
    assert.equal(f.name, 'InvalidCompressionFormat');
  });

  test('nesting deep enough to exhaust a stack is refused, and kumo answers on', async () => {
    const deep = `SELECT * FROM S3Object WHERE ${'('.repeat(100_000)}1${')'.repeat(100_000)} = 1`;
    const f = await failure(select('people.csv', deep, csvIn()));
    assert.equal(f.name, 'UnsupportedSqlStructure');
    assert.equal((await select('people.csv', 'SELECT COUNT(*) FROM S3Object', csvIn(), csvOut)).text, '4\n');
  });
});

describe('boto3', { skip: missing('boto3') }, () => {
  test('select_object_content reads Records and Stats', async () => {
    const out = await boto3<{ records: string; stats: Record<string, number>; end: boolean }>(
      kumo.url,
      `
import json, os, boto3
s3 = boto3.client('s3', endpoint_url=os.environ['KUMO_URL'])
r = s3.select_object_content(Bucket=${JSON.stringify(Bucket)}, Key='people.csv', ExpressionType='SQL',
  Expression="SELECT s.name FROM S3Object s WHERE CAST(s.age AS INT) < 50",
  InputSerialization={'CSV': {'FileHeaderInfo': 'USE'}}, OutputSerialization={'CSV': {}})
records, stats, end = '', {}, False
for e in r['Payload']:
    if 'Records' in e: records += e['Records']['Payload'].decode()
    if 'Stats' in e: stats = e['Stats']['Details']
    if 'End' in e: end = True
print(json.dumps({'records': records, 'stats': stats, 'end': end}))
`,
    );
    assert.equal(out.records, 'Ada\n"Bob ""The"" Builder"\n');
    assert.equal(out.stats.BytesScanned, CSV.length);
    assert.equal(out.end, true);
  });
});
