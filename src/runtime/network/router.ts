/**
 * Namespaces and links of one VPC: its router namespace with the uplink veth to the host, the
 * gateway/DNS addresses on the router's lo, and each instance's namespace with eth0 whose peer
 * sits in the router. No bridge: every instance has a /32 route in the router and proxy ARP on
 * its peer, so even same-subnet packets are routed, and the forward hook sees all of them.
 */
import { ensureNetns, removeNetns } from '../instances/host.js';
import { exec, hostSysctl, ip, quietly, sysctls } from './exec.js';
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
  /** The host's route to the port's transit address, through the VPC's uplink. */
  transit: { ip: string; router: string; hostIf: string };
}

/**
 * Wires one port in one shell: a process spawned from kumo holds its event loop for milliseconds
 * (instances launched together wait on each other's plugs), the shell's own children cost it
 * nothing. The port's namespace (reused if it exists: a running instance may be in it) gets eth0,
 * its peer in the router proxy ARP and a /32 route, and the host a route to its transit address.
 * Every value is an argument of the script, never spliced into it.
 */
const WIRE_PORT = `
port=$1 router=$2 peer=$3 ip=$4 prefix=$5 gateway=$6 transit=$7 uplink=$8 hostif=$9
if [ -e "/run/netns/$port" ]; then
  ip -n "$router" link del "$peer" 2>/dev/null || true
  ip -n "$port" link del eth0 2>/dev/null || true
else
  ip netns add "$port"
fi
printf '%s\\n' 'link set lo up' "link add eth0 type veth peer name $peer netns $router" \\
  "addr add $ip/$prefix dev eth0" 'link set eth0 up' "route add default via $gateway dev eth0 onlink" |
  ip -n "$port" -batch -
# Proxy ARP answers for every address the router routes elsewhere (other instances, same
# subnet included); without the delay, the first packet waits up to 0.8 s. nsenter, not
# \`ip netns exec\`: no mount namespace holding the host's mounts (see exec.ts's inNetns).
nsenter --net="/run/netns/$router" sh -ec '
  echo 1 > "/proc/sys/net/ipv4/conf/$1/proxy_arp"
  echo 0 > "/proc/sys/net/ipv4/neigh/$1/proxy_delay"
  ip link set "$1" up
  ip route replace "$2/32" dev "$1"' sh "$peer" "$ip"
ip route replace "$transit/32" via "$uplink" dev "$hostif"
`;

export async function wirePort(w: Wiring): Promise<void> {
  const args = [w.portNs, w.routerNs, peerName(w.portId), w.privateIp, String(w.prefix), w.gateway, w.transit.ip, w.transit.router, w.transit.hostIf];
  await exec('sh', ['-ec', WIRE_PORT, 'wire-port', ...args]);
}

export async function unwirePort(routerNs: string, portNs: string, portId: string): Promise<void> {
  // Deleting one end deletes the pair, even while a process keeps the instance namespace alive.
  await quietly(ip(routerNs, 'link', 'del', peerName(portId)));
  await removeNetns(portNs);
}
