/**
 * Reads an XML request document (rest-xml payloads: S3's CreateBucketConfiguration, Delete,
 * CompleteMultipartUpload, Tagging, …) into a typed value by walking the payload's shape.
 *
 * Request bodies come from anyone, so the reader is deliberately narrower than XML: no DOCTYPE
 * (hence no entity declarations, internal or external, and nothing to expand), only the five
 * predefined entities and numeric character references, and a nesting bound far above any
 * document S3 defines. Whatever falls outside is MalformedXML, as S3 answers it.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { LoadedModel } from '../models/loader.js';
import type { Shape } from '../models/shapes.js';
import { shapeType } from '../models/shapes.js';
import { AwsError, isAwsError } from './errors.js';

type XmlNode = string | { [k: string]: XmlNode | XmlNode[] };

/** S3's deepest documents (replication, lifecycle filters) nest under ten levels. */
const MAX_DEPTH = 32;

export const malformedXml = () =>
  new AwsError(
    'MalformedXML',
    'The XML you provided was not well-formed or did not validate against our published schema',
    400,
  );

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Replaces the parser's entity decoder: XML's own references, and any other one is an error. */
const xmlReferences = {
  decode(text: string): string {
    return text.replace(/&([^;&]*);?/g, (ref, name: string) => {
      if (!ref.endsWith(';')) throw malformedXml();
      if (name in PREDEFINED) return PREDEFINED[name];
      const m = /^#(?:([0-9]+)|x([0-9a-fA-F]+))$/.exec(name);
      if (!m) throw malformedXml();
      const code = m[1] !== undefined ? Number(m[1]) : parseInt(m[2], 16);
      if (!isXmlChar(code)) throw malformedXml();
      return String.fromCodePoint(code);
    });
  },
  // A DOCTYPE is refused before parsing; should one slip through, its entities are refused too.
  addInputEntities(entities: Record<string, unknown>): void {
    if (Object.keys(entities ?? {}).length > 0) throw malformedXml();
  },
  setExternalEntities(): void {},
  setXmlVersion(): void {},
  reset(): void {},
};

/** XML 1.0's Char production. */
function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  entityDecoder: xmlReferences,
  maxNestedTags: MAX_DEPTH,
  textNodeName: '#text',
});

/**
 * Markup declarations (`<!DOCTYPE`, and the `<!ENTITY` it may hold) are the only `<!` forms
 * besides comments and CDATA sections; neither text nor attribute values may hold a raw `<`, so
 * any other `<!` outside those two is a declaration (or broken XML) wherever it stands.
 */
function refuseDeclarations(xml: string): void {
  const skippable: [string, string][] = [['<!--', '-->'], ['<![CDATA[', ']]>']];
  for (let at = xml.indexOf('<!'); at >= 0; at = xml.indexOf('<!', at)) {
    const section = skippable.find(([open]) => xml.startsWith(open, at));
    if (!section) throw malformedXml();
    const end = xml.indexOf(section[1], at + section[0].length);
    if (end < 0) throw malformedXml();
    at = end + section[1].length;
  }
}

/** Parses `xml` and returns the value of its root element, decoded as `shape`. */
export function decodeXmlDocument(model: LoadedModel, shape: Shape, xml: string, rootName: string): unknown {
  refuseDeclarations(xml);
  let doc: Record<string, XmlNode>;
  try {
    if (XMLValidator.validate(xml) !== true) throw malformedXml();
    doc = parser.parse(xml) as Record<string, XmlNode>;
  } catch (e) {
    // The parser throws plain Errors for what it cannot read (nesting past the bound, say).
    if (isAwsError(e)) throw e;
    throw malformedXml();
  }
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
