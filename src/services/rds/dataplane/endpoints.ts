/**
 * RDS endpoint names in kumo's DNS (runtime/dns/zones.ts): `<id>.<suffix>.<region>.rds.amazonaws.com`
 * answers with the DB instance's private address inside its VPC, and from the host (or another
 * VPC) with its public (loopback) address when it is publicly accessible, else its private one,
 * unreachable from there, as on AWS. A short TTL, as RDS uses, so clients follow a failover.
 */
import type { DnsZone } from '../../../runtime/dns/zones.js';
import { endpointAddress } from '../instances/view.js';
import type { RdsStore } from '../store.js';

const TTL = 5;

export function endpointZone(store: RdsStore): DnsZone {
  return {
    name: 'rds',
    suffixes: ['rds.amazonaws.com'],
    resolve: (q, asker) => {
      const found = store.instances.everywhere().find(({ row }) => row.InstanceCreateTime !== undefined && endpointAddress(row) === q.name);
      if (!found) return 'nxdomain';
      const r = found.row;
      const inside = asker.kind === 'vpc' && asker.vpcId === r.VpcId;
      const ip = inside || !r.PublicIpAddress ? r.PrivateIpAddress : r.PublicIpAddress;
      return { answers: q.type === 'A' ? [{ type: 'A', data: ip, ttl: TTL }] : [] };
    },
  };
}
