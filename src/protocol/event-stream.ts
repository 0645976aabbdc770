/**
 * The AWS event stream (application/vnd.amazon.eventstream), as S3's SelectObjectContent answers
 * with it, encoded from the model: an output whose payload member is `eventstream` is an async
 * iterable of `{ <EventName>: <event> }`, each framed as one message:
 *
 *   total length (4) | headers length (4) | CRC32 of those 8 bytes (4) | headers | payload | CRC32 of all before (4)
 *
 * with the headers `:message-type` = event, `:event-type` = the event's name and `:content-type`
 * (application/octet-stream for a blob payload, text/xml for a structure, none when empty). The
 * event's `eventpayload` member is the payload; its `eventheader` members are headers. An AwsError
 * thrown while iterating becomes an error message (`:error-code`, `:error-message`) that ends the
 * stream, which is how a failure after the answer began reaches the client.
 */
import { crc32 } from 'node:zlib';
import type { LoadedModel } from '../models/loader.js';
import { shapeType, type Shape } from '../models/shapes.js';
import { isAwsError } from './errors.js';
import { encodeElement, formatScalar } from './xml-encode.js';

/** One message: string headers (type 7) and a payload, with both CRCs. */
export function eventMessage(headers: [string, string][], payload: Buffer): Buffer {
  const encoded = Buffer.concat(
    headers.map(([name, value]) => {
      const n = Buffer.from(name, 'utf8');
      const v = Buffer.from(value, 'utf8');
      const h = Buffer.alloc(1 + n.length + 1 + 2 + v.length);
      h.writeUInt8(n.length, 0);
      n.copy(h, 1);
      h.writeUInt8(7, 1 + n.length);
      h.writeUInt16BE(v.length, 2 + n.length);
      v.copy(h, 4 + n.length);
      return h;
    }),
  );
  const total = 12 + encoded.length + payload.length + 4;
  const msg = Buffer.alloc(total);
  msg.writeUInt32BE(total, 0);
  msg.writeUInt32BE(encoded.length, 4);
  msg.writeUInt32BE(crc32(msg.subarray(0, 8)), 8);
  encoded.copy(msg, 12);
  payload.copy(msg, 12 + encoded.length);
  msg.writeUInt32BE(crc32(msg.subarray(0, total - 4)), total - 4);
  return msg;
}

/** Whether an output's payload member is an event stream. */
export function isEventStream(shape: Shape): boolean {
  return shape.eventstream === true;
}

export async function* encodeEventStream(model: LoadedModel, stream: Shape, events: AsyncIterable<Record<string, unknown>>): AsyncGenerator<Buffer> {
  try {
    for await (const event of events) {
      for (const [name, value] of Object.entries(event)) {
        const ref = stream.members?.[name];
        if (!ref) throw new Error(`no event ${name} in the stream's shape`);
        yield encodeEvent(model, name, model.resolve(ref), (value ?? {}) as Record<string, unknown>);
      }
    }
  } catch (e) {
    if (!isAwsError(e)) throw e;
    yield eventMessage([[':message-type', 'error'], [':error-code', e.code], [':error-message', e.message]], Buffer.alloc(0));
  }
}

function encodeEvent(model: LoadedModel, name: string, shape: Shape, value: Record<string, unknown>): Buffer {
  const headers: [string, string][] = [[':message-type', 'event'], [':event-type', name]];
  let payload = Buffer.alloc(0);
  for (const [member, ref] of Object.entries(shape.members ?? {})) {
    const m = model.resolve(ref);
    const v = value[member];
    if (v === undefined || v === null) continue;
    if (ref.eventheader === true || m.eventheader === true) headers.push([member, formatScalar(m, v)]);
    else if (ref.eventpayload === true || m.eventpayload === true) {
      if (shapeType(m) === 'blob') {
        payload = Buffer.from(v as Uint8Array);
        headers.push([':content-type', 'application/octet-stream']);
      } else {
        payload = Buffer.from(encodeElement(model, name, m, v, 'rest-xml'), 'utf8');
        headers.push([':content-type', 'text/xml']);
      }
    }
  }
  return eventMessage(headers, payload);
}
