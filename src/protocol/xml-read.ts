/**
 * A strict, small XML reader for request documents (./xml-decode.ts walks what it returns).
 *
 * Request bodies come from anyone, so it reads deliberately less than XML: no DOCTYPE (hence no
 * entity declarations, internal or external, and nothing to expand), only the five predefined
 * entities and numeric character references, and a nesting bound. Whatever falls outside, or is
 * not well-formed (unclosed or crossed tags, a duplicate or unquoted attribute, text outside the
 * root, a second root), is an error. One pass over the string, no intermediate tokens: a
 * DeleteObjects body of 1,000 keys reads in well under a millisecond.
 *
 * The tree is the one fast-xml-parser builds with attributes as `@name` and text as `#text`,
 * namespace prefixes removed and no value trimmed or converted:
 *
 *   <A>t</A>                      { A: 't' }           (no children, no attributes: the text)
 *   <A/>  <A></A>                 { A: '' }
 *   <A x="1">t</A>                { A: { '@x': '1', '#text': 't' } }
 *   <A><B>1</B><B>2</B> </A>      { A: { B: ['1', '2'], '#text': ' ' } }   (repeats: a list)
 *
 * `xmlns` attributes are left out. Line ends in text and attribute values read as "\n", as XML
 * says. Nodes have no prototype, so no element name can reach Object.prototype.
 */
export type XmlNode = string | XmlElement;
export interface XmlElement {
  [name: string]: XmlNode | XmlNode[];
}

export class XmlError extends Error {}

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const NAME = /[A-Za-z_:\u00c0-\uffff][-A-Za-z0-9_.:\u00b7\u00c0-\uffff]*/y;
const ATTRIBUTE = /[ \t\r\n]+([A-Za-z_:\u00c0-\uffff][-A-Za-z0-9_.:\u00b7\u00c0-\uffff]*)[ \t\r\n]*=[ \t\r\n]*(?:"([^"<]*)"|'([^'<]*)')/y;
const SPACE = /[ \t\r\n]*/y;
const ONLY_SPACE = /^[ \t\r\n]*$/;

const fail = (why: string): never => {
  throw new XmlError(why);
};

/** XML 1.0's Char production. */
function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/** Text as written → its characters: references decoded, line ends normalized. */
export function decodeText(raw: string): string {
  const text = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&]*);?/g, (ref, name: string) => {
    if (!ref.endsWith(';')) fail('a bare & in text');
    if (name in PREDEFINED) return PREDEFINED[name];
    const m = /^#(?:([0-9]+)|x([0-9a-fA-F]+))$/.exec(name);
    if (!m) fail(`an entity (&${name};) that is not XML's own`);
    const code = m![1] !== undefined ? Number(m![1]) : parseInt(m![2], 16);
    if (!isXmlChar(code)) fail('a reference to a character XML does not allow');
    return String.fromCodePoint(code);
  });
}

const localName = (name: string) => {
  const colon = name.lastIndexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
};

interface Open {
  name: string;
  element?: XmlElement;
  text: string;
}

function add(parent: Open, name: string, node: XmlNode): void {
  const el = (parent.element ??= Object.create(null) as XmlElement);
  const key = localName(name);
  const had = el[key];
  if (had === undefined) el[key] = node;
  else if (Array.isArray(had)) had.push(node);
  else el[key] = [had, node];
}

function close(o: Open): XmlNode {
  if (!o.element) return o.text;
  if (o.text !== '') o.element['#text'] = o.text;
  return o.element;
}

/** Reads `xml` into `{ rootName: node }`; throws XmlError for anything it does not take. */
export function readXml(xml: string, maxDepth: number): XmlElement {
  const doc = Object.create(null) as XmlElement;
  const open: Open[] = [];
  let rootSeen = false;
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  if (xml.startsWith('<?xml', i) && /[ \t\r\n?]/.test(xml[i + 5] ?? '')) {
    const end = xml.indexOf('?>', i);
    if (end < 0) fail('an unterminated XML declaration');
    i = end + 2;
  }
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? n : lt);
    if (text) {
      const top = open[open.length - 1];
      if (top) top.text += decodeText(text);
      else if (!ONLY_SPACE.test(text)) fail('text outside the root element');
    }
    if (lt < 0) break;
    i = lt;
    const next = xml.charCodeAt(i + 1);
    if (next === 0x21 /* ! */) {
      if (xml.startsWith('<!--', i)) {
        const end = xml.indexOf('-->', i + 4);
        if (end < 0) fail('an unterminated comment');
        i = end + 3;
      } else if (xml.startsWith('<![CDATA[', i)) {
        const end = xml.indexOf(']]>', i + 9);
        const top = open[open.length - 1];
        if (end < 0 || !top) fail('a CDATA section outside the root or unterminated');
        top!.text += xml.slice(i + 9, end);
        i = end + 3;
      } else {
        fail('a markup declaration (DOCTYPE, ENTITY)');
      }
    } else if (next === 0x3f /* ? */) {
      const end = xml.indexOf('?>', i + 2);
      if (end < 0 || (/^xml$/i.test(xml.slice(i + 2, i + 5)) && /[ \t\r\n?]/.test(xml[i + 5] ?? ''))) fail('a misplaced XML declaration or unterminated processing instruction');
      i = end + 2;
    } else if (next === 0x2f /* / */) {
      NAME.lastIndex = i + 2;
      const name = NAME.exec(xml)?.[0];
      const top = open.pop();
      if (!name || !top || top.name !== name) fail('an end tag that closes nothing open');
      SPACE.lastIndex = i + 2 + name!.length;
      SPACE.exec(xml);
      if (xml.charCodeAt(SPACE.lastIndex) !== 0x3e /* > */) fail('a malformed end tag');
      i = SPACE.lastIndex + 1;
      const node = close(top!);
      const parent = open[open.length - 1];
      if (parent) add(parent, name!, node);
      else doc[localName(name!)] = node;
    } else {
      NAME.lastIndex = i + 1;
      const name = NAME.exec(xml)?.[0];
      if (!name) fail('a malformed start tag');
      if (open.length === 0 && rootSeen) fail('a second root element');
      if (open.length >= maxDepth) fail(`elements nested deeper than ${maxDepth}`);
      rootSeen = true;
      const o: Open = { name: name!, text: '' };
      i = i + 1 + name!.length;
      const seen = new Set<string>();
      for (;;) {
        ATTRIBUTE.lastIndex = i;
        const a = ATTRIBUTE.exec(xml);
        if (!a) break;
        i = ATTRIBUTE.lastIndex;
        if (seen.has(a[1])) fail('a duplicate attribute');
        seen.add(a[1]);
        if (a[1] === 'xmlns' || a[1].startsWith('xmlns:')) continue;
        (o.element ??= Object.create(null) as XmlElement)[`@${localName(a[1])}`] = decodeText(a[2] ?? a[3]);
      }
      SPACE.lastIndex = i;
      SPACE.exec(xml);
      i = SPACE.lastIndex;
      if (xml.startsWith('/>', i)) {
        i += 2;
        const parent = open[open.length - 1];
        if (parent) add(parent, name!, close(o));
        else doc[localName(name!)] = close(o);
      } else if (xml.charCodeAt(i) === 0x3e /* > */) {
        i += 1;
        open.push(o);
      } else {
        fail('a malformed start tag');
      }
    }
  }
  if (open.length) fail('an element left open');
  if (!rootSeen) fail('no root element');
  return doc;
}
