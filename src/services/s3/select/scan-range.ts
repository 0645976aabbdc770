/**
 * S3 Select's ScanRange: only the records whose first byte lies in [first, last] are read, found
 * by their record delimiter as the bytes stream (S3 allows scan ranges only where a delimiter
 * always ends a record: uncompressed CSV without quoted delimiters, JSON LINES). Reading begins
 * a delimiter's length before `first`, so a record that starts exactly there is seen to start
 * there; the last record is read to its end, past `last`.
 */
import { AwsError } from '../../../protocol/errors.js';

export const ScanRangeErrors = {
  unsupported: () => new AwsError('UnsupportedScanRangeInput', 'Scan range queries are not supported on this type of object.', 400),
  invalid: () => new AwsError('InvalidArgument', 'The ScanRange is invalid.', 400, { fields: { ArgumentName: 'ScanRange' } }),
};

/** The byte range a ScanRange names in an object of `size` bytes (End alone: the last End bytes). */
export function scanBounds(range: { Start?: number; End?: number }, size: number): { first: number; last: number } {
  const { Start, End } = range;
  if ((Start !== undefined && Start < 0) || (End !== undefined && End < 0)) throw ScanRangeErrors.invalid();
  if (Start === undefined && End !== undefined) return { first: Math.max(0, size - End), last: size - 1 };
  const first = Start ?? 0;
  const last = Math.min(End ?? size - 1, size - 1);
  if (End !== undefined && End < first) throw ScanRangeErrors.invalid();
  return { first, last };
}

/** Where to begin reading for `first`: a delimiter's length before it. */
export function readFrom(first: number, delimiter: Buffer): number {
  return Math.max(0, first - delimiter.length);
}

export async function* recordsInRange(bytes: AsyncIterable<Buffer>, first: number, last: number, delimiter: Buffer): AsyncGenerator<Buffer> {
  let pos = readFrom(first, delimiter);
  let carry: Buffer = Buffer.alloc(0);
  let emitting = first === 0;
  const keep = delimiter.length - 1;
  for await (const chunk of bytes) {
    let buf: Buffer = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    if (!emitting) {
      const at = buf.indexOf(delimiter);
      if (at < 0) {
        const cut = Math.max(0, buf.length - keep);
        pos += cut;
        carry = buf.subarray(cut);
        continue;
      }
      const start = pos + at + delimiter.length;
      if (start > last) return;
      buf = buf.subarray(at + delimiter.length);
      pos = start;
      emitting = true;
    }
    // `buf` begins at a record start (pos) within range; find where the last record in range ends.
    let from = 0;
    for (;;) {
      const at = buf.indexOf(delimiter, from);
      if (at < 0) break;
      const next = pos + at + delimiter.length;
      if (next > last) {
        yield buf.subarray(0, at + delimiter.length);
        return;
      }
      from = at + delimiter.length;
    }
    const cut = Math.max(from, buf.length - keep);
    if (cut > 0) yield buf.subarray(0, cut);
    pos += cut;
    carry = buf.subarray(cut);
  }
  if (emitting && carry.length) yield carry;
}
