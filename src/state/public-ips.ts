/**
 * The public IPv4 addresses kumo hands out (Elastic IPs and auto-assigned public IPs),
 * unique across accounts and regions like AWS's. They come from a loopback pool (KUMO_EIP_POOL,
 * default 127.100.0.0/16; anything outside 127.0.0.0/8 is refused), so no kumo address is a real
 * public one and the host reaches each of them on loopback (DESIGN.md: the fabric forwards them
 * into the VPC).
 */
import { randomInt } from 'node:crypto';
import { contains, intToIp, last, parseCidr4, type Cidr4 } from '../lib/cidr.js';
import type { Db } from './db.js';
import type { Scope } from './scope.js';

export const DEFAULT_PUBLIC_IP_POOL = '127.100.0.0/16';
const LOOPBACK = parseCidr4('127.0.0.0/8')!;
/** How many released addresses allocate avoids (see PublicIps.recent). */
const RECENT = 32;

/** The pool as configured; anything outside 127.0.0.0/8 is refused, so kumo never hands out real addresses. */
export function parsePublicIpPool(text: string): Cidr4 {
  const pool = parseCidr4(text);
  if (!pool || !contains(LOOPBACK, pool) || pool.prefix > 30) {
    throw new Error(`invalid Elastic IP pool '${text}': expected a CIDR block of at least 4 addresses inside 127.0.0.0/8`);
  }
  return pool;
}

export class PublicIps {
  private readonly stmts;

  private readonly pool: Cidr4;
  /**
   * Addresses released lately (this process), handed out again only when nothing else is free: an
   * instance started again gets a new public IP, as on AWS, not by chance the one it just gave back.
   */
  private readonly recent: string[] = [];

  constructor(db: Db, pool = DEFAULT_PUBLIC_IP_POOL) {
    this.pool = parsePublicIpPool(pool);
    this.stmts = {
      taken: db.prepare('SELECT 1 FROM ec2_public_ips WHERE address = ?'),
      all: db.prepare('SELECT address FROM ec2_public_ips'),
      put: db.prepare('INSERT INTO ec2_public_ips (address, account, region, owner) VALUES (?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM ec2_public_ips WHERE address = ?'),
      ownedBy: db.prepare('SELECT address FROM ec2_public_ips WHERE account = ? AND region = ? AND owner = ? LIMIT 1'),
    };
  }

  /** A random free address of the pool (network and broadcast aside), or undefined when all are taken. */
  allocate(scope: Scope, owner: string): string | undefined {
    const first = this.pool.base + 1;
    const count = last(this.pool) - 1 - first + 1;
    // Random probes find a free address at once in a mostly empty pool; a full scan settles the rest.
    let ip: string | undefined;
    for (let i = 0; i < 32 && !ip; i++) {
      const candidate = intToIp(first + randomInt(count));
      if (!this.recent.includes(candidate) && !this.stmts.taken.get(candidate)) ip = candidate;
    }
    if (!ip) {
      const used = new Set((this.stmts.all.all() as { address: string }[]).map((r) => r.address));
      for (let n = first; n < first + count && !ip; n++) if (!used.has(intToIp(n)) && !this.recent.includes(intToIp(n))) ip = intToIp(n);
      ip ??= this.recent.find((r) => !used.has(r));
    }
    if (!ip) return undefined;
    this.stmts.put.run(ip, scope.account, scope.region, owner);
    return ip;
  }

  /** The address `owner` holds (an instance's or an interface's auto-assigned one, an allocation's). */
  ownedBy(scope: Scope, owner: string): string | undefined {
    return (this.stmts.ownedBy.get(scope.account, scope.region, owner) as { address: string } | undefined)?.address;
  }

  release(address: string): void {
    this.stmts.del.run(address);
    this.recent.push(address);
    if (this.recent.length > RECENT) this.recent.shift();
  }
}
