/**
 * The DNS zone registry: each service registers the names it answers (EC2 its instances' names;
 * load balancers and databases theirs next), and both of kumo's resolvers ask it: the one in every
 * VPC (base+2, through the fabric) and the one on a host loopback address.
 *
 *   question → the zone with the longest suffix the name falls under → zone.resolve(q, asker)
 *
 * Who asks decides the answer (split horizon): inside a VPC a name may mean a private address,
 * from the host its public (loopback) one. A name under no zone is NXDOMAIN inside a VPC (kumo
 * never forwards a lookup out of the machine) and REFUSED on the host (that resolver is meant for
 * AWS names only, so a host that sends it anything else learns to ask elsewhere).
 */
import type { DnsQuestion, DnsResolution } from './server.js';

export type DnsAsker = { kind: 'host' } | { kind: 'vpc'; vpcId: string; portId: string; owner: string };

export interface DnsZone {
  /** For logs and errors. */
  name: string;
  /** Domains this zone answers for, names under them included (lower case, no trailing dot). */
  suffixes: string[];
  resolve(q: DnsQuestion, asker: DnsAsker): DnsResolution | Promise<DnsResolution>;
}

export class DnsZones {
  private readonly zones: DnsZone[] = [];

  register(zone: DnsZone): void {
    for (const s of zone.suffixes) {
      const other = this.zones.find((z) => z.suffixes.includes(s));
      if (other) throw new Error(`DNS zone ${zone.name}: ${s} is already ${other.name}'s`);
    }
    this.zones.push(zone);
  }

  resolve(q: DnsQuestion, asker: DnsAsker): DnsResolution | Promise<DnsResolution> {
    const zone = this.zoneOf(q.name);
    if (zone) return zone.resolve(q, asker);
    return asker.kind === 'host' ? 'refused' : 'nxdomain';
  }

  private zoneOf(name: string): DnsZone | undefined {
    let best: { zone: DnsZone; length: number } | undefined;
    for (const zone of this.zones) {
      for (const s of zone.suffixes) {
        if ((name === s || name.endsWith(`.${s}`)) && s.length > (best?.length ?? -1)) best = { zone, length: s.length };
      }
    }
    return best?.zone;
  }
}
