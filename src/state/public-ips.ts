/**
 * The public IPv4 addresses kumo hands out (Elastic IPs now; auto-assigned public IPs later),
 * unique across accounts and regions like AWS's. They come from the documentation ranges
 * 198.51.100.0/24 and 203.0.113.0/24 (RFC 5737), which are never routed on the Internet, so no
 * kumo address can ever be mistaken for, or leak traffic to, a real host. How the host reaches
 * them is the network fabric's business.
 */
import { randomInt } from 'node:crypto';
import { intToIp, ipToInt } from '../runtime/net/cidr.js';
import type { Db } from './db.js';
import type { Scope } from './scope.js';

const POOLS = ['198.51.100.0', '203.0.113.0'].map(ipToInt);

export class PublicIps {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      all: db.prepare('SELECT address FROM ec2_public_ips'),
      put: db.prepare('INSERT INTO ec2_public_ips (address, account, region, owner) VALUES (?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM ec2_public_ips WHERE address = ?'),
    };
  }

  /** A random free address (.1–.254 of each pool), or undefined when all are taken. */
  allocate(scope: Scope, owner: string): string | undefined {
    const used = new Set((this.stmts.all.all() as { address: string }[]).map((r) => r.address));
    const free: string[] = [];
    for (const base of POOLS) for (let i = 1; i < 255; i++) if (!used.has(intToIp(base + i))) free.push(intToIp(base + i));
    if (free.length === 0) return undefined;
    const ip = free[randomInt(free.length)];
    this.stmts.put.run(ip, scope.account, scope.region, owner);
    return ip;
  }

  release(address: string): void {
    this.stmts.del.run(address);
  }
}
