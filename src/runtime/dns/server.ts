/**
 * The DNS server instances use (the VPC's base+2, DNATed by the fabric onto one host address) and
 * the host may use on a loopback address. It answers only what `resolve` knows (kumo's own names:
 * instances, load balancers, databases) and never forwards anywhere: an unknown name is NXDOMAIN,
 * so nothing an instance looks up leaves the machine (DESIGN.md's safety rule).
 *
 * query (UDP datagram, or TCP with a 2-byte length prefix) → decode (wire.ts) → resolve(name,
 * type, remoteAddress) → records filtered to the question's type → response.
 *
 * `resolve` returns the records of a name without regard to the type asked: a CNAME first, then
 * the target's A records (each record after a CNAME is owned by that CNAME's target). The server
 * keeps CNAMEs for any question type and other records for questions of their type or ANY, so an
 * AAAA question for a known name gets NOERROR with no address (as AWS answers for IPv4-only
 * names) and a client falls back to A. `remoteAddress` lets answers depend on who asks (split horizon: the private IP
 * inside a VPC, the public one from the host).
 *
 * UDP answers longer than 512 bytes (or the client's EDNS size) are truncated with TC set, and the
 * client retries over TCP, as resolvers do.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server as TcpServer, type Socket } from 'node:net';
import { isIP } from 'node:net';
import { decodeQuery, encodeResponse, FormatError, RCODE, TYPES, type AnswerRecord, type Query } from './wire.js';

export interface DnsQuestion {
  /** Lower case, no trailing dot. */
  name: string;
  /** 'A', 'AAAA', 'CNAME', 'MX', … or 'TYPE<n>' for types without a name here. */
  type: string;
  remoteAddress: string;
}

export interface DnsAnswer {
  /** PTR for reverse names (5.1.0.10.in-addr.arpa → ip-10-0-1-5…), as the VPC resolver answers them. */
  type: 'A' | 'CNAME' | 'PTR';
  data: string;
  /** Seconds; 60 unless given. */
  ttl?: number;
}

export type DnsResolution = { answers: DnsAnswer[] } | 'nxdomain' | 'refused';

export interface DnsServerOptions {
  resolve: (q: DnsQuestion) => DnsResolution | Promise<DnsResolution>;
}

export interface DnsServer {
  /** Binds UDP and TCP on host:port (port 0: one free port for both). */
  listen(host: string, port: number): Promise<void>;
  close(): Promise<void>;
  address(): { udp: number; tcp: number };
}

const DEFAULT_TTL = 60;
const TCP_IDLE_MS = 10_000;
const MAX_TCP_CONNECTIONS = 512;

export function createDnsServer(opts: DnsServerOptions): DnsServer {
  let udp: UdpSocket | undefined;
  let tcp: TcpServer | undefined;
  const conns = new Set<Socket>();

  async function answer(msg: Buffer, remoteAddress: string, maxSize: number | undefined): Promise<Buffer | undefined> {
    let q: Query;
    try {
      q = decodeQuery(msg);
    } catch (err) {
      // Responses are never answered (two servers must not bounce errors at each other).
      if (!(err instanceof FormatError) || msg.length < 12 || msg.readUInt16BE(2) & 0x8000) return undefined;
      // Header readable, rest not: FORMERR with the id, so the client stops waiting.
      const id = msg.readUInt16BE(0);
      return encodeResponse({ id, flags: msg.readUInt16BE(2), opcode: 0, qdcount: 0, name: '', type: 0, class: 0, question: Buffer.alloc(0) },
        { rcode: RCODE.FORMERR, answers: [] });
    }
    const limit = maxSize === undefined ? undefined : Math.max(maxSize, q.ednsSize ?? 512);
    const reply = (rcode: number, answers: AnswerRecord[] = []) => encodeResponse(q, { rcode, answers, ...(limit !== undefined ? { maxSize: limit } : {}) });
    if (q.opcode !== 0) return reply(RCODE.NOTIMP);
    if (q.qdcount !== 1) return reply(RCODE.FORMERR);
    if (q.class !== 1 && q.class !== 255) return reply(RCODE.REFUSED);
    const type = TYPES[q.type] ?? `TYPE${q.type}`;
    let res: DnsResolution;
    try {
      res = await opts.resolve({ name: q.name.toLowerCase(), type, remoteAddress });
    } catch {
      return reply(RCODE.SERVFAIL);
    }
    if (res === 'nxdomain') return reply(RCODE.NXDOMAIN);
    if (res === 'refused') return reply(RCODE.REFUSED);
    try {
      return reply(RCODE.NOERROR, records(res.answers, type));
    } catch {
      return reply(RCODE.SERVFAIL); // resolve gave something unencodable (a bad address)
    }
  }

  function onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    answer(msg, rinfo.address, 512)
      .then((out) => {
        if (out && udp) udp.send(out, rinfo.port, rinfo.address);
      })
      .catch(() => {}); // a query we cannot answer is dropped, as a lost datagram would be
  }

  function onConnection(sock: Socket): void {
    // Each connection costs a socket and a buffer; a runaway client must not exhaust kumo's fds.
    if (conns.size >= MAX_TCP_CONNECTIONS) return void sock.destroy();
    conns.add(sock);
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    sock.on('close', () => conns.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = Buffer.alloc(0);
    // Queries on one connection may be pipelined; answers go back in order.
    let chain = Promise.resolve();
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const pending = answer(msg, (sock.remoteAddress ?? '').replace(/^::ffff:/, ''), undefined);
        chain = chain
          .then(async () => {
            const out = await pending;
            // Unparseable, or (absurdly) past what a 2-byte length can frame: end the connection.
            if (!out || out.length > 0xffff) return void sock.destroy();
            const len = Buffer.alloc(2);
            len.writeUInt16BE(out.length);
            if (!sock.destroyed) sock.write(Buffer.concat([len, out]));
          })
          .catch(() => void sock.destroy());
      }
    });
  }

  return {
    async listen(host, port) {
      if (udp || tcp) throw new Error('DNS server already listening');
      const family = isIP(host) === 6 ? 'udp6' : 'udp4';
      // With port 0 the UDP port is picked first and TCP must get the same one; another process
      // may hold it on TCP, so try a few.
      for (let attempt = 0; ; attempt++) {
        const u = createSocket(family);
        u.on('message', onDatagram);
        await new Promise<void>((resolve, reject) => {
          u.once('error', reject);
          u.bind(port, host, () => (u.off('error', reject), resolve()));
        });
        const t = createServer(onConnection);
        try {
          await new Promise<void>((resolve, reject) => {
            t.once('error', reject);
            t.listen(u.address().port, host, () => (t.off('error', reject), resolve()));
          });
        } catch (err) {
          u.close();
          if (port === 0 && (err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 10) continue;
          throw err;
        }
        u.on('error', () => {}); // ICMP errors for a vanished client must not crash kumo
        udp = u;
        tcp = t;
        return;
      }
    },
    async close() {
      const [u, t] = [udp, tcp];
      udp = tcp = undefined;
      for (const c of conns) c.destroy();
      await Promise.all([
        u && new Promise<void>((r) => u.close(() => r())),
        t && new Promise<void>((r) => t.close(() => r())),
      ]);
    },
    address() {
      if (!udp || !tcp) throw new Error('DNS server is not listening');
      const a = tcp.address();
      return { udp: udp.address().port, tcp: typeof a === 'object' && a ? a.port : 0 };
    },
  };
}

/** resolve's records for a question type, with their owners: the question's name, then each CNAME's target. */
function records(answers: DnsAnswer[], qtype: string): AnswerRecord[] {
  const out: AnswerRecord[] = [];
  let owner: string | undefined;
  for (const a of answers) {
    const keep = a.type === 'CNAME' || qtype === a.type || qtype === 'ANY';
    if (keep) out.push({ ...(owner !== undefined ? { name: owner } : {}), type: a.type, data: a.data, ttl: a.ttl ?? DEFAULT_TTL });
    if (a.type === 'CNAME') owner = a.data;
  }
  return out;
}
