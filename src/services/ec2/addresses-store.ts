/**
 * The Elastic IP table. A public IP is unique across every account and region (they are all
 * loopback addresses of this one host), which a unique index on the row's PublicIp enforces.
 */
import type { Db, Migration } from '../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../state/resources.js';

export interface AddressRecord {
  AllocationId: string;
  PublicIp: string;
  Domain: string;
  PublicIpv4Pool: string;
  NetworkBorderGroup: string;
}

export const addressMigrations: Migration[] = [
  {
    version: 1,
    up: `${resourceTableSql('ec2_addresses')}
      CREATE UNIQUE INDEX ec2_addresses_public_ip ON ec2_addresses (json_extract(data, '$.PublicIp'));`,
  },
];

export class AddressTable extends ResourceTable<AddressRecord> {
  private readonly allIps;

  constructor(db: Db) {
    super(db, 'ec2_addresses');
    this.allIps = db.prepare(`SELECT json_extract(data, '$.PublicIp') AS ip FROM ec2_addresses`).pluck();
  }

  /** Public IPs held by anyone, in any account or region. */
  taken(): Set<string> {
    return new Set(this.allIps.all() as string[]);
  }
}
