/**
 * Pure: a VPC's subnets, policy and plugged instances → the nft script of its router namespace.
 * Kept free of I/O so the policy semantics are unit-tested without root.
 *
 * Order in the forward chain, and why:
 *  1. kumo's services (IMDS, DNS, the package proxy and download mirror at OUTSIDE_ADDRESS, via
 *     the uplink) pass before any NACL or group, as on AWS where neither filters traffic to the
 *     metadata service or the Amazon DNS server. IMDS replies get their TTL set to the instance's
 *     hop limit here (after the router's own decrement, so the instance receives exactly that
 *     TTL). Nothing else may start towards the uplink: the host is not a way out (replies to the
 *     host's connections to public IPs still pass), unless kumo runs with --internet: then
 *     instances with a public IP in a subnet routed to an internet gateway (the `internet` set)
 *     may, once their NACLs and groups allowed it (3.), and are masqueraded behind the uplink.
 *  2. NACLs, stateless, so replies are checked too: egress of the source subnet and ingress of
 *     the destination subnet, only between different subnets; from the uplink counts as outside.
 *     A rule that allows `return`s to the forward chain, a deny drops, the end of the list drops.
 *  3. Security groups, stateful: established/related pass; a new flow needs an egress rule of one
 *     of the source instance's groups (skipped for flows from the uplink) and an ingress rule of
 *     one of the destination's groups. "One of the groups allows" is an OR over chains, done with
 *     the packet mark: group chains set it, the instance chain drops when it is still unset.
 * Sources are trustworthy because the router runs with strict rp_filter: an instance's veth only
 * accepts its own /32 as source.
 */
import { intToIp, ipToInt } from '../../lib/cidr.js';
import { FABRIC_BLOCK, OUTSIDE_ADDRESS, OUTSIDE_PORT, UPLINK } from './names.js';
import type { AclRule, SgRule, VpcPolicy } from './types.js';

export interface RouterPort {
  privateIp: string;
  transitIp: string;
  groups: string[];
  hasPublicIp: boolean;
  hopLimit: number;
  /** May reach beyond the host (--internet, a public IP, its subnet routed to an internet gateway). */
  internet?: boolean;
}

export interface RouterInput {
  table: string;
  serviceAddress: string;
  /** Addresses answering DNS inside the VPC (base+2 of each CIDR, 169.254.169.253). */
  dnsAddresses: string[];
  subnets: { cidr: string; naclId: string }[];
  policy: VpcPolicy;
  ports: RouterPort[];
  /** kumo runs with --internet: the NAT rules are rendered (for the ports marked `internet`). */
  internet?: boolean;
}

const ident = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');
const q = (s: string) => `"${s}"`;

/** `a.b.c.d/n` with host bits cleared (AWS accepts 10.0.0.5/24 in places; nft must not see it); undefined for IPv6 or garbage. */
export function normalizeCidr4(cidr: string): string | undefined {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(cidr.trim());
  if (!m) return undefined;
  const prefix = m[2] === undefined ? 32 : Number(m[2]);
  if (prefix > 32) return undefined;
  let n: number;
  try {
    n = ipToInt(m[1]!);
  } catch {
    return undefined;
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return `${intToIp((n & mask) >>> 0)}/${prefix}`;
}

const PROTO_NAMES: Record<string, string> = { tcp: '6', udp: '17', icmp: '1', all: '-1' };

/** The protocol/port part of a match, or null when the rule can never match IPv4 traffic (icmpv6). */
export function protoMatch(protocol: string, fromPort?: number, toPort?: number): string | null {
  const p = PROTO_NAMES[protocol.toLowerCase()] ?? protocol;
  if (p === '-1') return '';
  if (p === '58') return null; // icmpv6: IPv4 only here
  if (!/^\d+$/.test(p) || Number(p) > 255) throw new Error(`bad protocol ${JSON.stringify(protocol)}`);
  if (p === '6' || p === '17') {
    const name = p === '6' ? 'tcp' : 'udp';
    const lo = fromPort === undefined || fromPort < 0 ? 0 : fromPort;
    const hi = toPort === undefined || toPort < 0 ? 65535 : toPort;
    if (lo === 0 && hi === 65535) return `meta l4proto ${name}`;
    return `${name} dport ${lo === hi ? lo : `${lo}-${hi}`}`;
  }
  if (p === '1') {
    if (fromPort === undefined || fromPort < 0) return 'meta l4proto icmp';
    if (toPort === undefined || toPort < 0) return `icmp type ${fromPort}`;
    return `icmp type ${fromPort} icmp code ${toPort}`;
  }
  return `meta l4proto ${Number(p)}`;
}

const join = (...parts: string[]) => parts.filter(Boolean).join(' ');

/** One NACL direction: ordered rules, allow returns to the caller, deny and the implicit end drop. */
export function aclChain(rules: AclRule[], dir: 'ingress' | 'egress'): string[] {
  const addr = dir === 'ingress' ? 'saddr' : 'daddr';
  const out: string[] = [];
  for (const r of [...rules].sort((a, b) => a.ruleNumber - b.ruleNumber)) {
    const cidr = normalizeCidr4(r.cidr);
    if (!cidr) continue; // IPv6 entry: never matches IPv4 traffic
    // AWS's NACL icmp entries carry type/code separately; AclRule has none, so icmp means all icmp.
    const proto = protoMatch(r.protocol, r.protocol === '1' || r.protocol === 'icmp' ? undefined : r.fromPort, r.toPort);
    if (proto === null) continue;
    out.push(join(cidr === '0.0.0.0/0' ? '' : `ip ${addr} ${cidr}`, proto, r.action === 'allow' ? 'return' : 'drop', `comment "rule ${r.ruleNumber}"`));
  }
  out.push('drop');
  return out;
}

/** One security group direction: each matching rule marks the packet as allowed. */
export function sgChain(rules: SgRule[], dir: 'ingress' | 'egress', groupSet: (g: string) => string): string[] {
  const addr = dir === 'ingress' ? 'saddr' : 'daddr';
  const out: string[] = [];
  for (const r of rules) {
    const proto = protoMatch(r.protocol, r.fromPort, r.toPort);
    if (proto === null) continue;
    const peers = [
      ...r.cidrs.map(normalizeCidr4).filter((c): c is string => !!c).map((c) => (c === '0.0.0.0/0' ? '' : `ip ${addr} ${c}`)),
      ...r.groups.map((g) => `ip ${addr} @${groupSet(g)}`),
    ];
    // One rule per peer: anonymous sets of overlapping prefixes are an nft error.
    for (const peer of new Set(peers)) out.push(join(peer, proto, 'meta mark set 0x1'));
  }
  return out;
}

export function renderRouter(r: RouterInput): string {
  const svc = r.serviceAddress;
  const ports = [...r.ports].sort((a, b) => ipToInt(a.privateIp) - ipToInt(b.privateIp));
  const groups = new Set<string>(Object.keys(r.policy.securityGroups));
  for (const p of ports) p.groups.forEach((g) => groups.add(g));
  for (const sg of Object.values(r.policy.securityGroups)) for (const rule of [...sg.ingress, ...sg.egress]) rule.groups.forEach((g) => groups.add(g));
  const setOf = (g: string) => `g_${ident(g)}`;

  const L: string[] = [`table ip ${r.table}`, `delete table ip ${r.table}`, `table ip ${r.table} {`];
  const chain = (name: string, hook: string | undefined, body: string[]) => {
    L.push(`  chain ${name} {`);
    if (hook) L.push(`    ${hook}`);
    for (const b of body) L.push(`    ${b}`);
    L.push('  }');
  };
  const elems = (xs: string[]) => (xs.length ? ` elements = { ${xs.join(', ')} };` : '');

  for (const g of [...groups].sort()) {
    L.push(`  set ${setOf(g)} { type ipv4_addr;${elems(ports.filter((p) => p.groups.includes(g)).map((p) => p.privateIp))} }`);
  }
  L.push(`  set instances { type ipv4_addr;${elems(ports.map((p) => p.privateIp))} }`);
  if (r.internet) L.push(`  set internet { type ipv4_addr;${elems(ports.filter((p) => p.internet).map((p) => p.privateIp))} }`);

  const publics = ports.filter((p) => p.hasPublicIp);
  const fromInstance = `iifname != ${q(UPLINK)}`;
  chain('prerouting', 'type nat hook prerouting priority dstnat; policy accept;', [
    `${fromInstance} ip daddr 169.254.169.254 tcp dport 80 dnat to ${svc}:80`,
    `${fromInstance} ip daddr ${OUTSIDE_ADDRESS} tcp dport 80 dnat to ${svc}:${OUTSIDE_PORT}`,
    ...(r.dnsAddresses.length
      ? [`${fromInstance} ip daddr { ${r.dnsAddresses.join(', ')} } meta l4proto { tcp, udp } th dport 53 dnat to ${svc}:53`]
      : []),
    ...(publics.length ? [`iifname ${q(UPLINK)} dnat to ip daddr map { ${publics.map((p) => `${p.transitIp} : ${p.privateIp}`).join(', ')} }`] : []),
  ]);
  // Host-side servers learn which instance asks from the transit source address.
  // Flows out to the internet leave behind the uplink's address instead (the host masquerades
  // them once more on its way out: host-side.ts).
  chain('postrouting', 'type nat hook postrouting priority srcnat; policy accept;', [
    ...(r.internet ? [`oifname ${q(UPLINK)} ip saddr @internet ip daddr != ${svc} masquerade`] : []),
    ...(ports.length ? [`oifname ${q(UPLINK)} snat to ip saddr map { ${ports.map((p) => `${p.privateIp} : ${p.transitIp}`).join(', ')} }`] : []),
  ]);
  chain('input', 'type filter hook input priority filter; policy drop;', [
    'iif lo accept',
    'ct state established,related accept',
    'icmp type echo-request accept',
  ]);

  const fwd: string[] = [];
  // One rule per distinct hop limit (nft cannot take the TTL from a map).
  const byHop = new Map<number, string[]>();
  for (const p of ports) byHop.set(p.hopLimit, [...(byHop.get(p.hopLimit) ?? []), p.privateIp]);
  for (const [hop, ips] of [...byHop].sort(([a], [b]) => a - b)) {
    if (!Number.isInteger(hop) || hop < 1 || hop > 255) throw new Error(`bad IMDS hop limit ${hop}`);
    fwd.push(`iifname ${q(UPLINK)} ip saddr ${svc} tcp sport 80 ip daddr { ${ips.join(', ')} } ip ttl set ${hop}`);
  }
  fwd.push(
    `iifname ${q(UPLINK)} ip saddr ${svc} ct state established,related accept`,
    // kumo's services: IMDS on 80, AWS's API endpoints on 443 (edge/vpc-endpoints.ts), packages
    // and downloads on OUTSIDE_PORT (runtime/outside).
    `oifname ${q(UPLINK)} ip daddr ${svc} tcp dport { 80, 443, ${OUTSIDE_PORT} } accept`,
    `oifname ${q(UPLINK)} ip daddr ${svc} meta l4proto { tcp, udp } th dport 53 accept`,
    // Replies to connections the host opened (public IPs) may go back; nothing may start there,
    // but for the internet's flows (never to kumo's own addresses, nor other VPCs').
    ...(r.internet
      ? [`oifname ${q(UPLINK)} ct direction original ip saddr != @internet drop`, `oifname ${q(UPLINK)} ip daddr ${FABRIC_BLOCK} ct direction original drop`]
      : [`oifname ${q(UPLINK)} ct direction original drop`]),
    'ct state invalid drop',
  );
  const nacls = new Set<string>();
  for (const s of r.subnets) {
    const cidr = normalizeCidr4(s.cidr);
    if (!cidr || !r.policy.nacls[s.naclId]) continue; // no NACL known: the default one allows all
    const id = ident(s.naclId);
    nacls.add(s.naclId);
    fwd.push(
      `${fromInstance} ip saddr ${cidr} ip daddr != ${cidr} jump nacl_out_${id}`,
      `iifname ${q(UPLINK)} ip daddr ${cidr} jump nacl_in_${id}`,
      `${fromInstance} ip daddr ${cidr} ip saddr != ${cidr} jump nacl_in_${id}`,
    );
  }
  fwd.push('ct state established,related accept', `${fromInstance} ip saddr != @instances drop`);
  const egress = `ip saddr vmap { ${ports.map((p, i) => `${p.privateIp} : jump inst_out_${i}`).join(', ')} }`;
  // Out to the internet: the source instance's egress rules decide, as for any destination.
  if (r.internet && ports.length) fwd.push(`oifname ${q(UPLINK)} ${egress}`, `oifname ${q(UPLINK)} accept`);
  fwd.push('ip daddr != @instances drop');
  if (ports.length) {
    fwd.push(
      `${fromInstance} ${egress}`,
      `ip daddr vmap { ${ports.map((p, i) => `${p.privateIp} : jump inst_in_${i}`).join(', ')} }`,
      'accept',
    );
  }
  chain('forward', 'type filter hook forward priority filter; policy drop;', fwd);

  for (const n of [...nacls].sort()) {
    chain(`nacl_in_${ident(n)}`, undefined, aclChain(r.policy.nacls[n]!.ingress, 'ingress'));
    chain(`nacl_out_${ident(n)}`, undefined, aclChain(r.policy.nacls[n]!.egress, 'egress'));
  }
  for (const g of [...groups].sort()) {
    const sg = r.policy.securityGroups[g] ?? { ingress: [], egress: [] };
    chain(`sg_in_${ident(g)}`, undefined, sgChain(sg.ingress, 'ingress', setOf));
    chain(`sg_out_${ident(g)}`, undefined, sgChain(sg.egress, 'egress', setOf));
  }
  ports.forEach((p, i) => {
    for (const [dir, name] of [['out', `inst_out_${i}`], ['in', `inst_in_${i}`]] as const) {
      chain(name, undefined, ['meta mark set 0x0', ...p.groups.map((g) => `jump sg_${dir}_${ident(g)}`), 'meta mark != 0x1 drop']);
    }
  });
  L.push('}');
  return L.join('\n') + '\n';
}
