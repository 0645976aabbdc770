// The streaming multipart/form-data reader of browser uploads, fed one byte at a time (every
// boundary split across reads) and in whole; what it refuses.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { FormPreambleTooLarge, FormReader, MalformedForm, formBoundary } from '../../src/services/s3/form-data.js';

const body = Buffer.from(
  'preamble to ignore\r\n--B\r\nContent-Disposition: form-data; name="key"\r\n\r\na/${filename}\r\n' +
    '--B  \r\ncontent-disposition: form-data; name="x-amz-meta-q"\r\n\r\nsay "hi"\r\n\r\n' +
    '--B\r\nContent-Disposition: form-data; name="file"; filename="C:\\\\dir\\\\x.txt"\r\nContent-Type: text/plain\r\n\r\n' +
    'line\r\n--C\r\n-\r\n\r\n--B--\r\nepilogue',
);

async function readAll(chunks: Buffer[]) {
  const read = await new FormReader(Readable.from(chunks), 'B').leadingFields(1024);
  const file: Buffer[] = [];
  for await (const c of read.file!.body) file.push(c as Buffer);
  return { fields: read.fields, file: { ...read.file!, body: Buffer.concat(file).toString() } };
}

test('fields, then the file streamed, the same whether the body comes whole or byte by byte', async () => {
  const whole = await readAll([body]);
  const bytes = await readAll([...body].map((b) => Buffer.from([b])));
  for (const r of [whole, bytes]) {
    assert.deepEqual(r.fields, [['key', 'a/${filename}'], ['x-amz-meta-q', 'say "hi"\r\n']]);
    assert.equal(r.file.filename, 'C:\\dir\\x.txt');
    assert.equal(r.file.contentType, 'text/plain');
    assert.equal(r.file.body, 'line\r\n--C\r\n-\r\n');
  }
});

test('the boundary of a Content-Type, quoted or not', () => {
  assert.equal(formBoundary('multipart/form-data; boundary=----WebKitFormBoundaryAbc'), '----WebKitFormBoundaryAbc');
  assert.equal(formBoundary('Multipart/Form-Data; charset=utf-8; boundary="a b"'), 'a b');
  assert.equal(formBoundary('application/x-www-form-urlencoded'), undefined);
  assert.equal(formBoundary('multipart/form-data'), undefined);
});

test('refused: a truncated file, a part without a name, fields past the limit', async () => {
  const cut = body.subarray(0, body.indexOf('--B--'));
  await assert.rejects(readAll([cut.subarray(0, cut.length - 2)]), MalformedForm);
  const noName = Buffer.from('--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--');
  await assert.rejects(new FormReader(Readable.from([noName]), 'B').leadingFields(1024), MalformedForm);
  await assert.rejects(new FormReader(Readable.from([body]), 'B').leadingFields(40), FormPreambleTooLarge);
  const none = await new FormReader(Readable.from([Buffer.from('--B\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--B--')]), 'B').leadingFields(1024);
  assert.deepEqual(none, { fields: [['a', '1']] });
});
