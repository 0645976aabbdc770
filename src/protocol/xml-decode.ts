/**
 * Reads an XML request document (rest-xml payloads: S3's CreateBucketConfiguration, Delete,
 * CompleteMultipartUpload, Tagging, …) into a typed value by walking the payload's shape.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { LoadedModel } from '../models/loader.js';
import type { Shape } from '../models/shapes.js';
import { shapeType } from '../models/shapes.js';
import { AwsError } from './errors.js';

type XmlNode = string | { [k: string]: XmlNode | XmlNode[] };

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  textNodeName: '#text',
});

export const malformedXml = () =>
  new AwsError(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    400,
  );

/** Parses `xml` and returns the value of its root element, decoded as `shape`. */
export function decodeXmlDocument(model: LoadedModel, shape: Shape, xml: string, rootName: string): unknown {
  if (XMLValidator.validate(xml) !== true) throw malformedXml();
  const doc = parser.parse(xml) as Record<string, XmlNode>;
  const roots = Object.keys(doc).filter((k) => k !== '?xml');
  if (roots.length !== 1 || roots[0] !== rootName) throw malformedXml();
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
        if (node === '' || node === undefined) return [];
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

function decodeXmlScalar(shape: Shape, text: string): unknown {
  switch (shapeType(shape)) {
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
