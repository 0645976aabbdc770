/**
 * Private IPv4 addresses in use per subnet, so DescribeSubnets' AvailableIpAddressCount stays
 * true as later features (network interfaces, instances, load balancer nodes, databases) take
 * addresses. AWS reserves the first four addresses and the last one of every subnet; those are
 * never handed out and not recorded here. Callers allocate inside their own transaction.
 */
import { intToIp, ipToInt, last, parseCidr4 } from '../lib/cidr.js';
import type { Db } from './db.js';
import type { Scope } from './scope.js';

export const RESERVED_ADDRESSES = 5;

export class SubnetAddresses {
  private readonly stmts;

  constructor(db: Db) {
    this.stmts = {
      used: db.prepare('SELECT address FROM ec2_subnet_addresses WHERE account = ? AND region = ? AND subnet_id = ?'),
      count: db.prepare('SELECT count(*) AS n FROM ec2_subnet_addresses WHERE account = ? AND region = ? AND subnet_id = ?'),
      counts: db.prepare('SELECT subnet_id AS id, count(*) AS n FROM ec2_subnet_addresses WHERE account = ? AND region = ? GROUP BY subnet_id'),
      put: db.prepare('INSERT INTO ec2_subnet_addresses (account, region, subnet_id, address, owner) VALUES (?, ?, ?, ?, ?)'),
      del: db.prepare('DELETE FROM ec2_subnet_addresses WHERE account = ? AND region = ? AND subnet_id = ? AND address = ?'),
      delOwner: db.prepare('DELETE FROM ec2_subnet_addresses WHERE account = ? AND region = ? AND owner = ?'),
    };
  }

  /**
   * Takes `wanted` (if given and free and usable) or the lowest free usable address of `cidr`;
   * undefined when the subnet is full or `wanted` is taken or reserved.
   */
  allocate(scope: Scope, subnetId: string, cidr: string, owner: string, wanted?: string): string | undefined {
    const c = parseCidr4(cidr);
    if (!c) return undefined;
    const used = new Set((this.stmts.used.all(scope.account, scope.region, subnetId) as { address: string }[]).map((r) => r.address));
    const first = c.base + 4;
    const end = last(c) - 1;
    let pick: number | undefined;
    if (wanted !== undefined) {
      const n = ipToInt(wanted);
      if (n >= first && n <= end && !used.has(wanted)) pick = n;
    } else {
      for (let n = first; n <= end; n++) {
        if (!used.has(intToIp(n))) {
          pick = n;
          break;
        }
      }
    }
    if (pick === undefined) return undefined;
    const address = intToIp(pick);
    this.stmts.put.run(scope.account, scope.region, subnetId, address, owner);
    return address;
  }

  release(scope: Scope, subnetId: string, address: string): void {
    this.stmts.del.run(scope.account, scope.region, subnetId, address);
  }

  /** Frees every address an owner (an ENI, a load balancer node…) holds. */
  releaseOwner(scope: Scope, owner: string): void {
    this.stmts.delOwner.run(scope.account, scope.region, owner);
  }

  inUse(scope: Scope, subnetId: string): number {
    return (this.stmts.count.get(scope.account, scope.region, subnetId) as { n: number }).n;
  }

  /** Addresses in use per subnet ID, for listings. */
  inUseBySubnet(scope: Scope): Map<string, number> {
    const rows = this.stmts.counts.all(scope.account, scope.region) as { id: string; n: number }[];
    return new Map(rows.map((r) => [r.id, r.n]));
  }
}
