/**
 * Writes a value as XML by walking its model shape. The three XML wire families differ only in
 * how they name list members (`item` for ec2, `member` for query and rest-xml unless the model
 * names it) and in the date format of headers, so one walker serves them all.
 *
 *   encodeStructure(model, shape, value, flavour) → "<Member>…</Member>…" (children only)
 *   encodeElement(model, name, shape, value, flavour) → "<name …>…</name>"
 */
import type { LoadedModel } from '../models/loader.js';
import type { Shape } from '../models/shapes.js';
import { shapeType } from '../models/shapes.js';

export type XmlFlavour = 'ec2' | 'query' | 'rest-xml';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"'\r]/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : c === "'" ? '&apos;' : '&#13;',
  );
}

export function formatTimestamp(v: unknown, format: 'iso8601' | 'rfc822' | 'unixTimestamp' = 'iso8601'): string {
  const d = v instanceof Date ? v : new Date(typeof v === 'number' ? v : String(v));
  if (Number.isNaN(d.getTime())) throw new Error(`not a timestamp: ${String(v)}`);
  if (format === 'rfc822') return d.toUTCString();
  if (format === 'unixTimestamp') return String(Math.floor(d.getTime() / 1000));
  return d.toISOString();
}

export function formatScalar(shape: Shape, v: unknown): string {
  switch (shapeType(shape)) {
    case 'timestamp':
      return formatTimestamp(v, shape.timestampFormat ?? 'iso8601');
    case 'blob':
      return Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('base64') : String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default:
      return String(v);
  }
}

/** The children of a structure, in model order; absent members are left out. */
export function encodeStructure(
  model: LoadedModel,
  shape: Shape,
  value: Record<string, unknown>,
  flavour: XmlFlavour,
): string {
  let out = '';
  for (const [name, ref] of Object.entries(shape.members ?? {})) {
    const v = value[name];
    if (v === undefined || v === null) continue;
    const member = model.resolve(ref);
    if (member.xmlAttribute || member.location) continue;
    out += encodeMember(model, member.locationName ?? name, member, v, flavour);
  }
  return out;
}

function encodeMember(model: LoadedModel, name: string, shape: Shape, v: unknown, flavour: XmlFlavour): string {
  if (shapeType(shape) === 'list' && (shape.flattened || false)) {
    const item = model.resolve(shape.member ?? {});
    const itemName = item.locationName ?? name;
    return (v as unknown[]).map((x) => encodeElement(model, itemName, item, x, flavour)).join('');
  }
  return encodeElement(model, name, shape, v, flavour);
}

export function encodeElement(model: LoadedModel, name: string, shape: Shape, v: unknown, flavour: XmlFlavour): string {
  const type = shapeType(shape);
  const attrs = attributes(model, shape, v);
  if (type === 'structure') {
    const inner = encodeStructure(model, shape, v as Record<string, unknown>, flavour);
    return `<${name}${attrs}>${inner}</${name}>`;
  }
  if (type === 'list') {
    const item = model.resolve(shape.member ?? {});
    const itemName = item.locationName ?? (flavour === 'ec2' ? 'item' : 'member');
    const items = (v as unknown[]).map((x) => encodeElement(model, itemName, item, x, flavour)).join('');
    return `<${name}${attrs}>${items}</${name}>`;
  }
  if (type === 'map') {
    const key = model.resolve(shape.key ?? {});
    const val = model.resolve(shape.value ?? {});
    const kn = key.locationName ?? 'key';
    const vn = val.locationName ?? 'value';
    const entries = Object.entries(v as Record<string, unknown>).map(
      ([k, x]) => `${encodeElement(model, kn, key, k, flavour)}${encodeElement(model, vn, val, x, flavour)}`,
    );
    const body = shape.flattened
      ? entries.map((e) => `<${name}>${e}</${name}>`).join('')
      : `<${name}${attrs}>${entries.map((e) => `<entry>${e}</entry>`).join('')}</${name}>`;
    return body;
  }
  return `<${name}${attrs}>${escapeXml(formatScalar(shape, v))}</${name}>`;
}

function attributes(model: LoadedModel, shape: Shape, v: unknown): string {
  let out = '';
  if (shape.xmlNamespace) {
    const ns = shape.xmlNamespace;
    out += ns.prefix ? ` xmlns:${ns.prefix}="${escapeXml(ns.uri)}"` : ` xmlns="${escapeXml(ns.uri)}"`;
  }
  if (shapeType(shape) === 'structure' && v && typeof v === 'object') {
    for (const [mName, ref] of Object.entries(shape.members ?? {})) {
      const member = model.resolve(ref);
      const x = (v as Record<string, unknown>)[mName];
      if (!member.xmlAttribute || x === undefined || x === null) continue;
      out += ` ${member.locationName ?? mName}="${escapeXml(formatScalar(member, x))}"`;
    }
  }
  return out;
}
