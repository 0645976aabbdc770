// kumo's event-stream frames, read back by the SDK's own codec (@smithy/core/event-streams): the
// prelude and message CRCs, string headers, the payload; an AwsError while iterating ends the
// stream with an error message.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { loadModel } from '../../src/models/loader.js';
import { AwsError } from '../../src/protocol/errors.js';
import { encodeEventStream, eventMessage } from '../../src/protocol/event-stream.js';

// (bytes → text, text → bytes)
const codec = new EventStreamCodec(
  (b: Uint8Array) => new TextDecoder().decode(b),
  (s: string) => new TextEncoder().encode(s),
);

const headersOf = (m: ReturnType<EventStreamCodec['decode']>) => Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, String(v.value)]));

test('one message decodes as the SDK reads it', () => {
  const m = codec.decode(eventMessage([[':message-type', 'event'], [':event-type', 'Records']], Buffer.from('a,b\n')));
  assert.deepEqual(headersOf(m), { ':message-type': 'event', ':event-type': 'Records' });
  assert.equal(new TextDecoder().decode(m.body), 'a,b\n');
});

test("SelectObjectContent's events from the model: blob and XML payloads, empty events, an error at the end", async () => {
  const model = loadModel('s3-2006-03-01');
  const op = model.raw.operations.SelectObjectContent;
  const out = model.resolve(op.output!);
  const stream = model.resolve(out.members!.Payload);
  async function* events() {
    yield { Records: { Payload: Buffer.from('x\n') } };
    yield { Stats: { Details: { BytesScanned: 10, BytesProcessed: 10, BytesReturned: 2 } } };
    yield { End: {} };
    throw new AwsError('CastFailed', 'no', 400);
  }
  const frames: Buffer[] = [];
  for await (const f of encodeEventStream(model, stream, events())) frames.push(f);
  const [records, stats, end, error] = frames.map((f) => codec.decode(f));
  assert.equal(headersOf(records)[':content-type'], 'application/octet-stream');
  assert.equal(headersOf(stats)[':event-type'], 'Stats');
  assert.equal(
    new TextDecoder().decode(stats.body),
    '<Stats><BytesScanned>10</BytesScanned><BytesProcessed>10</BytesProcessed><BytesReturned>2</BytesReturned></Stats>',
  );
  assert.deepEqual(headersOf(end), { ':message-type': 'event', ':event-type': 'End' });
  assert.deepEqual(headersOf(error), { ':message-type': 'error', ':error-code': 'CastFailed', ':error-message': 'no' });
});
