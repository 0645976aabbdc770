/**
 * The small part of the DNS wire format (RFC 1035, EDNS from RFC 6891) that an answering-only
 * server needs: read one question (and whether the client speaks EDNS), write a response with A,
 * CNAME and PTR records. Hand-rolled rather than a dependency because that subset is this file; it
 * never parses answers from elsewhere, since kumo never forwards queries.
 */

export const TYPES: Record<number, string> = {
  1: 'A', 2: 'NS', 5: 'CNAME', 6: 'SOA', 12: 'PTR', 15: 'MX', 16: 'TXT', 28: 'AAAA', 33: 'SRV', 41: 'OPT',
  43: 'DS', 46: 'RRSIG', 48: 'DNSKEY', 64: 'SVCB', 65: 'HTTPS', 255: 'ANY',
};
const TYPE_A = 1;
const TYPE_CNAME = 5;
const TYPE_PTR = 12;
const TYPE_OPT = 41;
const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

export interface Query {
  id: number;
  flags: number;
  opcode: number;
  /** Questions as counted in the header; only the first is answered. */
  qdcount: number;
  /** Name exactly as sent (case kept), without the trailing dot. */
  name: string;
  type: number;
  class: number;
  /** The question's bytes (name, type, class), echoed verbatim in the response. */
  question: Buffer;
  /** The client's EDNS UDP payload size, when it sent an OPT record. */
  ednsSize?: number;
}

export class FormatError extends Error {}

/** Parses a query; throws FormatError when it cannot be a DNS query at all. */
export function decodeQuery(msg: Buffer): Query {
  if (msg.length < 12) throw new FormatError('short header');
  const id = msg.readUInt16BE(0);
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) throw new FormatError('a response, not a query');
  const qdcount = msg.readUInt16BE(4);
  const ancount = msg.readUInt16BE(6);
  const nscount = msg.readUInt16BE(8);
  const arcount = msg.readUInt16BE(10);
  const base = { id, flags, opcode: (flags >> 11) & 0xf, qdcount };
  if (qdcount === 0) return { ...base, name: '', type: 0, class: 0, question: Buffer.alloc(0) };
  const [name, afterName] = readName(msg, 12);
  if (afterName + 4 > msg.length) throw new FormatError('truncated question');
  const type = msg.readUInt16BE(afterName);
  const klass = msg.readUInt16BE(afterName + 2);
  // Rebuilt rather than copied: a (rare) compressed question name would point at nothing in our reply.
  const question = Buffer.concat([encodeName(name), msg.subarray(afterName, afterName + 4)]);
  let off = afterName + 4;
  let ednsSize: number | undefined;
  // Skip any further questions and the answer/authority sections, then look for OPT.
  try {
    for (let i = 1; i < qdcount; i++) off = readName(msg, off)[1] + 4;
    for (let i = 0; i < ancount + nscount + arcount; i++) {
      const [, o] = readName(msg, off);
      const rrType = msg.readUInt16BE(o);
      const rrClass = msg.readUInt16BE(o + 2);
      const rdlen = msg.readUInt16BE(o + 8);
      if (i >= ancount + nscount && rrType === TYPE_OPT) ednsSize = Math.max(512, rrClass);
      off = o + 10 + rdlen;
    }
  } catch {
    // A malformed trailing section does not spoil a readable question.
  }
  return { ...base, name, type, class: klass, question, ...(ednsSize !== undefined ? { ednsSize } : {}) };
}

/** Reads a possibly compressed name; returns it (no trailing dot) and the offset after it in place. */
function readName(msg: Buffer, start: number): [string, number] {
  const labels: string[] = [];
  let off = start;
  let end = -1;
  for (let jumps = 0; ; ) {
    if (off >= msg.length) throw new FormatError('name runs past the message');
    const len = msg[off]!;
    if (len === 0) {
      if (end < 0) end = off + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= msg.length || ++jumps > 16) throw new FormatError('bad compression pointer');
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | msg[off + 1]!;
      continue;
    }
    if (len & 0xc0) throw new FormatError('unknown label type');
    if (off + 1 + len > msg.length) throw new FormatError('label runs past the message');
    labels.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  const name = labels.join('.');
  if (name.length > 253) throw new FormatError('name too long');
  return [name, end];
}

export function encodeName(name: string): Buffer {
  const parts: Buffer[] = [];
  for (const label of name.replace(/\.$/, '').split('.').filter(Boolean)) {
    const b = Buffer.from(label, 'latin1');
    if (b.length > 63) throw new Error(`label too long in ${name}`);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export interface AnswerRecord {
  /** Owner name; undefined means the question's name (written as a pointer to it). */
  name?: string;
  type: 'A' | 'CNAME' | 'PTR';
  data: string;
  ttl: number;
}

export interface ResponseParts {
  rcode: number;
  answers: AnswerRecord[];
  /** Size limit for UDP; past it the answers are dropped and TC set, so the client retries over TCP. */
  maxSize?: number;
}

/**
 * A response to `q`: its id, opcode and RD echoed, QR and RA set (from an instance's view this is
 * its recursive resolver, and every answer it gives is final), the question echoed, an OPT record
 * when the client sent one.
 */
export function encodeResponse(q: Query, parts: ResponseParts): Buffer {
  const opt = q.ednsSize !== undefined
    ? Buffer.from([0, 0, TYPE_OPT, (1232 >> 8) & 0xff, 1232 & 0xff, 0, 0, 0, 0, 0, 0])
    : Buffer.alloc(0);
  const header = (ancount: number, tc: boolean) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(q.id, 0);
    const flags = 0x8000 | (q.opcode << 11) | (tc ? 0x0200 : 0) | (q.flags & 0x0100) | 0x0080 | (parts.rcode & 0xf);
    h.writeUInt16BE(flags, 2);
    h.writeUInt16BE(q.question.length ? 1 : 0, 4);
    h.writeUInt16BE(ancount, 6);
    h.writeUInt16BE(0, 8);
    h.writeUInt16BE(opt.length ? 1 : 0, 10);
    return h;
  };
  const records = parts.answers.map((a) => encodeRecord(a));
  const full = Buffer.concat([header(records.length, false), q.question, ...records, opt]);
  if (parts.maxSize === undefined || full.length <= parts.maxSize) return full;
  return Buffer.concat([header(0, true), q.question, opt]);
}

function encodeRecord(a: AnswerRecord): Buffer {
  // 0xc00c: the question's name, which always starts right after the 12-byte header.
  const owner = a.name === undefined ? Buffer.from([0xc0, 0x0c]) : encodeName(a.name);
  let rdata: Buffer;
  if (a.type === 'A') {
    const octets = a.data.split('.').map(Number);
    if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
      throw new Error(`not an IPv4 address: ${a.data}`);
    }
    rdata = Buffer.from(octets);
  } else {
    rdata = encodeName(a.data);
  }
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(a.type === 'A' ? TYPE_A : a.type === 'CNAME' ? TYPE_CNAME : TYPE_PTR, 0);
  fixed.writeUInt16BE(CLASS_IN, 2);
  fixed.writeUInt32BE(a.ttl >>> 0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([owner, fixed, rdata]);
}
