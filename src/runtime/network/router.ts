/**
 * Namespaces and links of one VPC: its router namespace with the uplink veth to the host, the
 * gateway/DNS addresses on the router's lo, and each instance's namespace with eth0 whose peer
 * sits in the router. No bridge: every instance has a /32 route in the router and proxy ARP on
 * its peer, so even same-subnet packets are routed, and the forward hook sees all of them.
 */
import { ensureNetns, netnsExists, removeNetns } from '../instances/host.js';
import { hostSysctl, ip, ipBatch, quietly, sysctls } from './exec.js';
import { UPLINK, peerName } from './names.js';

export async function createRouter(ns: string, hostIf: string, up: { host: string; router: string }, serviceAddress: string): Promise<void> {
  await quietly(ip(undefined, 'link', 'del', hostIf)); // a leftover from a half-done earlier attempt
  await removeNetns(ns);
  await ensureNetns(ns);
  // Before any link exists, so `default` covers the veths created later.
  await sysctls(ns, {
    'net.ipv4.ip_forward': 1,
    'net.ipv4.conf.all.rp_filter': 1,
    'net.ipv4.conf.default.rp_filter': 1,
    'net.ipv6.conf.all.disable_ipv6': 1,
    'net.ipv6.conf.default.disable_ipv6': 1,
  });
  await ip(undefined, 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', UPLINK, 'netns', ns);
  await ip(undefined, 'addr', 'add', `${up.host}/30`, 'dev', hostIf);
  // Lets host connections to public (127/8) IPs leave through this veth before masquerade.
  hostSysctl(`net.ipv4.conf.${hostIf}.route_localnet`, 1);
  // IPv4 only; no link-local chatter (DAD, router solicitations) on the host's side either.
  hostSysctl(`net.ipv6.conf.${hostIf}.disable_ipv6`, 1);
  await ip(undefined, 'link', 'set', hostIf, 'up');
  await ip(ns, 'addr', 'add', `${up.router}/30`, 'dev', UPLINK);
  await ip(ns, 'link', 'set', UPLINK, 'up');
  // The only way out of the VPC: to the service address. No default route (but with --internet:
  // setDefaultRoute).
  await ip(ns, 'route', 'add', `${serviceAddress}/32`, 'via', up.host, 'dev', UPLINK);
}

/**
 * With --internet the router's default route leads to the host (its forward chain decides who
 * may take it: rules.ts); without it there is none, and anything not for kumo is unreachable.
 */
export async function setDefaultRoute(ns: string, up: { host: string }, on: boolean): Promise<void> {
  if (on) await ip(ns, 'route', 'replace', 'default', 'via', up.host, 'dev', UPLINK);
  else await quietly(ip(ns, 'route', 'del', 'default'));
}

export async function removeRouter(ns: string, hostIf: string): Promise<void> {
  await removeNetns(ns);
  await quietly(ip(undefined, 'link', 'del', hostIf));
}

/** Makes exactly `want` (bare IPv4 addresses) the /32s on the router's lo, besides 127.0.0.1. */
export async function setLoopbackAddresses(ns: string, want: string[]): Promise<void> {
  const have = (await ip(ns, '-o', '-4', 'addr', 'show', 'dev', 'lo'))
    .split('\n')
    .map((l) => / inet (\S+)\//.exec(l)?.[1])
    .filter((a): a is string => !!a && a !== '127.0.0.1');
  for (const a of have) if (!want.includes(a)) await ip(ns, 'addr', 'del', `${a}/32`, 'dev', 'lo');
  for (const a of want) if (!have.includes(a)) await ip(ns, 'addr', 'add', `${a}/32`, 'dev', 'lo');
}

export interface Wiring {
  routerNs: string;
  portNs: string;
  portId: string;
  privateIp: string;
  prefix: number;
  gateway: string;
}

/**
 * (Re)creates eth0; the instance namespace itself is reused if it exists (a running instance may
 * be in it). Each namespace's commands go in one `ip -batch` (and the router's, with its sysctls,
 * in one shell): instances launched together wait on each other's plugs, so process spawns count.
 */
export async function wirePort(w: Wiring): Promise<void> {
  const peer = peerName(w.portId);
  if (netnsExists(w.portNs)) {
    await quietly(ip(w.routerNs, 'link', 'del', peer));
    await quietly(ip(w.portNs, 'link', 'del', 'eth0'));
  } else {
    await ip(undefined, 'netns', 'add', w.portNs);
  }
  await ipBatch(w.portNs, [
    'link set lo up',
    `link add eth0 type veth peer name ${peer} netns ${w.routerNs}`,
    `addr add ${w.privateIp}/${w.prefix} dev eth0`,
    'link set eth0 up',
    `route add default via ${w.gateway} dev eth0 onlink`,
  ]);
  // Proxy ARP answers for every address the router routes elsewhere (other instances, same
  // subnet included); without the delay, the first packet does not wait up to 0.8 s.
  await sysctls(w.routerNs, { [`net.ipv4.conf.${peer}.proxy_arp`]: 1, [`net.ipv4.neigh.${peer}.proxy_delay`]: 0 }, [
    `ip link set ${peer} up`,
    `ip route replace ${w.privateIp}/32 dev ${peer}`,
  ]);
}

export async function unwirePort(routerNs: string, portNs: string, portId: string): Promise<void> {
  // Deleting one end deletes the pair, even while a process keeps the instance namespace alive.
  await quietly(ip(routerNs, 'link', 'del', peerName(portId)));
  await removeNetns(portNs);
}
