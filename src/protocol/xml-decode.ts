/**
 * Reads an XML request document (rest-xml payloads: S3's CreateBucketConfiguration, Delete,
 * CompleteMultipartUpload, Tagging, …) into a typed value by walking the payload's shape.
 *
 * Request bodies come from anyone, so the reader (./xml-read.ts) is deliberately narrower than
 * XML: no DOCTYPE (hence no entity declarations, internal or external, and nothing to expand),
 * only the five predefined entities and numeric character references, and a nesting bound far
 * above any document S3 defines. Whatever falls outside is MalformedXML, as S3 answers it.
 */
import type { LoadedModel } from '../models/loader.js';
import type { Shape } from '../models/shapes.js';
import { shapeType } from '../models/shapes.js';
import { AwsError } from './errors.js';
import { readXml, XmlError, type XmlNode } from './xml-read.js';

/** S3's deepest documents (replication, lifecycle filters) nest under ten levels. */
const MAX_DEPTH = 32;

export const malformedXml = () =>
  new AwsError(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    400,
  );

/** Parses `xml` and returns the value of its root element, decoded as `shape`. */
export function decodeXmlDocument(model: LoadedModel, shape: Shape, xml: string, rootName: string): unknown {
  let doc;
  try {
    doc = readXml(xml, MAX_DEPTH);
  } catch (e) {
    if (e instanceof XmlError) throw malformedXml();
    throw e;
  }
  if (!(rootName in doc)) throw malformedXml();
  return decodeNode(model, shape, doc[rootName]);
}

function decodeNode(model: LoadedModel, shape: Shape, node: XmlNode | XmlNode[] | undefined): unknown {
  const type = shapeType(shape);
  if (Array.isArray(node) && type !== 'list') throw malformedXml();
  switch (type) {
    case 'structure': {
      if (typeof node !== 'object' || node === null) return {};
      const obj = node as Record<string, XmlNode | XmlNode[]>;
      const out: Record<string, unknown> = {};
      for (const [name, ref] of Object.entries(shape.members ?? {})) {
        const member = model.resolve(ref);
        // Members bound to the URI, headers or query string are never read from the document.
        if (member.location) continue;
        if (member.xmlAttribute) {
          const attr = obj[`@${(member.locationName ?? name).replace(/^.*:/, '')}`];
          if (typeof attr === 'string') out[name] = attr;
          continue;
        }
        const wire = shapeType(member) === 'list' && member.flattened
          ? model.resolve(member.member ?? {}).locationName ?? member.locationName ?? name
          : member.locationName ?? name;
        const child = obj[wire];
        if (child === undefined) continue;
        out[name] = decodeNode(model, member, child);
      }
      return out;
    }
    case 'list': {
      const item = model.resolve(shape.member ?? {});
      let items: XmlNode[];
      if (shape.flattened) {
        items = Array.isArray(node) ? node : [node as XmlNode];
      } else {
        if (node === undefined || (typeof node === 'string' && node.trim() === '')) return [];
        if (typeof node !== 'object' || Array.isArray(node)) throw malformedXml();
        const inner = node[item.locationName ?? 'member'];
        items = inner === undefined ? [] : Array.isArray(inner) ? inner : [inner];
      }
      return items.map((x) => decodeNode(model, item, x));
    }
    case 'map':
      throw malformedXml();
    default: {
      const text = typeof node === 'string' ? node : typeof node === 'object' && node && '#text' in node ? String(node['#text']) : '';
      return decodeXmlScalar(shape, text);
    }
  }
}

function decodeXmlScalar(shape: Shape, raw: string): unknown {
  const type = shapeType(shape);
  if (type === 'string') return raw;
  const text = raw.trim();
  switch (type) {
    case 'integer':
    case 'long': {
      if (!/^-?[0-9]+$/.test(text)) throw malformedXml();
      return Number(text);
    }
    case 'float':
    case 'double': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) throw malformedXml();
      return n;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw malformedXml();
      return text === 'true';
    case 'timestamp': {
      const d = new Date(text);
      if (Number.isNaN(d.getTime())) throw malformedXml();
      return d;
    }
    case 'blob':
      return Buffer.from(text, 'base64');
    default:
      return text;
  }
}
