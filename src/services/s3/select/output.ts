/**
 * S3 Select's output serialization: CSV (field and record delimiters, quote and escape
 * characters, QuoteFields ASNEEDED or ALWAYS) or JSON (one object per record, separated by the
 * record delimiter; MISSING values are left out, as S3 does).
 */
import type { OutputSerialization } from '../../../models/generated/s3.js';
import { AwsError } from '../../../protocol/errors.js';
import { text, type OutRecord } from './evaluate.js';

/** CSV output settings, as the request gives them. */
export type CsvOutput = NonNullable<OutputSerialization['CSV']>;

export const OutputErrors = {
  quoteFields: () => new AwsError('InvalidQuoteFields', 'The QuoteFields is invalid. Only ALWAYS and ASNEEDED are supported.', 400),
};

export type Serialize = (r: OutRecord) => string;

export function csvWriter(o: CsvOutput): Serialize {
  const fieldSep = o.FieldDelimiter || ',';
  const recordSep = o.RecordDelimiter || '\n';
  const quote = o.QuoteCharacter ?? '"';
  const escape = o.QuoteEscapeCharacter || quote;
  const mode = o.QuoteFields ?? 'ASNEEDED';
  if (mode !== 'ASNEEDED' && mode !== 'ALWAYS') throw OutputErrors.quoteFields();
  const field = (v: unknown): string => {
    const s = v === null || v === undefined ? '' : text(v);
    const needs = mode === 'ALWAYS' || (quote !== '' && (s.includes(fieldSep) || s.includes(recordSep) || s.includes(quote) || /[\r\n]/.test(s)));
    return needs ? quote + s.split(quote).join(escape + quote) + quote : s;
  };
  return (r) => {
    const values = 'json' in r ? jsonValues(r.json) : r.values;
    return values.map(field).join(fieldSep) + recordSep;
  };
}

function jsonValues(v: unknown): unknown[] {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return Object.values(v);
  return Array.isArray(v) ? v : [v];
}

export function jsonWriter(o: { RecordDelimiter?: string }): Serialize {
  const recordSep = o.RecordDelimiter || '\n';
  return (r) => {
    if ('json' in r) return JSON.stringify(r.json) + recordSep;
    const out: Record<string, unknown> = {};
    r.names.forEach((n, i) => {
      const v = r.values[i];
      if (v !== undefined) out[n] = v instanceof Date ? v.toISOString() : v;
    });
    return JSON.stringify(out) + recordSep;
  };
}
