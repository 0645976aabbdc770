// The request-document reader: the tree it builds is the one fast-xml-parser built before it (as
// configured for kumo until then), on the documents S3 clients send and on the odd shapes XML
// allows; what is not well-formed, or reaches beyond XML's own entities, is refused.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { readXml, XmlError } from '../../src/protocol/xml-read.js';

const reference = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: false,
  textNodeName: '#text',
});

/** Plain objects, so deepEqual compares trees whatever their prototypes. */
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

const read = (xml: string) => plain(readXml(xml, 32));

describe('readXml builds the same tree as before', () => {
  const docs = [
    '<Delete><Quiet>true</Quiet><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v</VersionId></Object></Delete>',
    '<?xml version="1.0" encoding="UTF-8"?>\n<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\n  <Object>\n    <Key>a</Key>\n  </Object>\n</Delete>\n',
    '<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"abc"</ETag></Part></CompleteMultipartUpload>',
    '<AccessControlPolicy><AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser"><ID>1</ID></Grantee><Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>',
    '<A><B> </B><C/><D></D><E a="1"/><F a=\'2\'>t</F></A>',
    '<A>text<B>x</B>more</A>',
    '<A><![CDATA[<x>&amp;]]></A>',
    '<A><!-- c --><B>1</B><!-- d --></A>',
    '<A>a<!-- c -->b</A>',
    '<s3:A xmlns:s3="x"><s3:B>1</s3:B><s3:B>2</s3:B></s3:A>',
    '<A><B><C>1</C></B><B>2</B><B/></A>',
    '<A>  </A>',
    '<A  >x</A  >',
    '\ufeff<A>1</A>',
    '<A>a > b</A>',
    '<A>\u00e9\u{1F600}</A>',
    '<A b = "1"\n c="2"/>',
    '<A>a\r\nb</A>',
  ];
  for (const xml of docs) {
    test(JSON.stringify(xml).slice(0, 70), () => {
      const { '?xml': _decl, ...want } = reference.parse(xml) as Record<string, unknown>;
      assert.deepEqual(read(xml), plain(want));
    });
  }

  test('references decode in text and attributes; a CDATA section stays literal', () => {
    assert.deepEqual(read('<A b="&lt;&#65;">&amp;&lt;&gt;&quot;&apos;&#65;&#x42;&#x1F600;<![CDATA[&amp;]]></A>'), {
      A: { '@b': '<A', '#text': '&<>"\'AB\u{1F600}&amp;' },
    });
  });

  test('no element name reaches the prototype', () => {
    const doc = readXml('<A><__proto__><x>1</x></__proto__><constructor>2</constructor></A>', 32);
    const a = doc.A as Record<string, unknown>;
    assert.deepEqual(plain(a.__proto__), { x: '1' });
    assert.equal(a.constructor, '2');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });
});

describe('readXml refuses', () => {
  const bad: Record<string, string> = {
    'a DOCTYPE': '<!DOCTYPE x><A/>',
    'a DOCTYPE after the root': '<A/><!DOCTYPE x>',
    'an entity of its own': '<A>&nope;</A>',
    'a bare ampersand': '<A>a & b</A>',
    'a reference to a forbidden character': '<A>&#0;</A>',
    'an unclosed element': '<A><B></A>',
    'crossed tags': '<A><B></A></B>',
    'a stray end tag': '<A></A></B>',
    'a duplicate attribute': '<A b="1" b="2"/>',
    'an unquoted attribute': '<A b=1/>',
    '< in an attribute value': '<A b="<"/>',
    'text after the root': '<A>x</A>text',
    'text before the root': 'text<A/>',
    'a second root': '<A/><B/>',
    'no root': '<!-- nothing -->',
    'an empty document': '',
    'a name starting with a digit': '<1A/>',
    'a misplaced XML declaration': ' <A/><?xml version="1.0"?>',
    'an unterminated comment': '<A><!-- x</A>',
    'nesting past the bound': `${'<a>'.repeat(33)}${'</a>'.repeat(33)}`,
  };
  for (const [name, xml] of Object.entries(bad)) {
    test(name, () => {
      assert.throws(() => readXml(xml, 32), XmlError);
    });
  }

  test('what fast-xml-parser found malformed, it does too', () => {
    for (const xml of Object.values(bad)) {
      if (XMLValidator.validate(xml) !== true) assert.throws(() => readXml(xml, 32), XmlError, xml);
    }
  });

  test('nesting at the bound is fine', () => {
    assert.doesNotThrow(() => readXml(`${'<a>'.repeat(32)}${'</a>'.repeat(32)}`, 32));
  });
});
