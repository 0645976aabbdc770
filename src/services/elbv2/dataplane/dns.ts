/**
 * ELBv2's DNS zone in kumo's registry (runtime/dns/zones.ts): `<name>-<n>.<region>.elb.amazonaws.com`
 * (network load balancers: `<name>-<hex>.elb.<region>.amazonaws.com`; `internal-…` for internal
 * ones) answers with its nodes' addresses. Split horizon:
 * inside the load balancer's VPC the nodes' private addresses; elsewhere (the host, other VPCs)
 * an internet-facing load balancer's public (loopback) addresses and an internal one's private
 * addresses, as AWS publishes them.
 */
import type { DnsZone } from '../../../runtime/dns/zones.js';
import { REGIONS } from '../../../state/regions.js';
import type { Elbv2Store } from '../store.js';

export function elbZone(store: Elbv2Store): DnsZone {
  return {
    name: 'elbv2',
    // ALBs and classic: <name>-<n>.<region>.elb.amazonaws.com; NLBs: <name>-<hex>.elb.<region>.amazonaws.com.
    suffixes: ['elb.amazonaws.com', ...REGIONS.map((r) => `elb.${r.name}.amazonaws.com`)],
    resolve: (q, asker) => {
      const found = store.everywhere().find(({ lb }) => lb.State.Code !== 'deleting' && lb.DNSName.toLowerCase() === q.name);
      if (!found) return 'nxdomain';
      if (q.type !== 'A') return { answers: [] };
      const { lb } = found;
      const inside = asker.kind === 'vpc' && asker.vpcId === lb.VpcId;
      const addresses = lb.Nodes.map((n) => (!inside && lb.Scheme === 'internet-facing' ? n.PublicIp : n.PrivateIp)).filter((a): a is string => !!a);
      return { answers: addresses.map((data) => ({ type: 'A' as const, data, ttl: 60 })) };
    },
  };
}
