/**
 * Every name and address the fabric creates, derived from the slot so that several kumo
 * processes on one host (parallel tests) never collide, and so that a crashed process's
 * leftovers can be found by name alone, without its memory.
 *
 * Slot n owns the /21 block n of 198.18.0.0/15 (RFC 2544 benchmarking space: never routed on the
 * internet, unlikely to clash with a user's VPC CIDR):
 *   +1            service address (IMDS tcp 80, DNS 53), on the dummy `kumos<n>` in the host netns
 *   +4k .. +4k+3  VPC k's uplink /30 (k = 1..255): host end +1, router end +2
 *   +1024 ..      transit addresses, one per plugged instance (what the host-side servers see)
 *
 * Inside every VPC, whatever the slot: 169.254.169.254 (IMDS) and 169.254.169.253 (DNS), as on
 * AWS, and OUTSIDE_ADDRESS, kumo's own (no AWS meaning): the package proxy and the mirror of
 * well-known downloads (runtime/outside), which the router DNATs to the service address.
 */
import { createHash } from 'node:crypto';
import { intToIp, ipToInt } from '../../lib/cidr.js';

export const SLOTS = 64;
const BLOCK = ipToInt('198.18.0.0');
const BLOCK_SIZE = 2048;
export const MAX_VPCS = 255;
export const TRANSIT_FIRST = 1024;
export const TRANSIT_END = 2048;

const base = (slot: number) => BLOCK + slot * BLOCK_SIZE;
const hash = (s: string, n: number) => createHash('sha1').update(s).digest('hex').slice(0, n);

export const serviceAddress = (slot: number) => intToIp(base(slot) + 1);

/** Every slot's block together: nothing in a VPC may reach another VPC's or kumo's addresses through the host. */
export const FABRIC_BLOCK = '198.18.0.0/15';
/** The slot's own /21 (uplinks and transit addresses: what leaves a router for the host). */
export const slotBlock = (slot: number) => `${intToIp(base(slot))}/21`;

/**
 * Where instances reach kumo's view of the outside world (runtime/outside): port 80 there is
 * DNATed to OUTSIDE_PORT on the service address. Link-local and the same in every VPC, so the
 * image can name it (apt's proxy) without knowing the slot; the VPC's DNS answers the mirrored
 * download hosts with it.
 */
export const OUTSIDE_ADDRESS = '169.254.169.250';
/** The outside server's port on the service address (apt-cacher-ng's customary port). */
export const OUTSIDE_PORT = 3142;

export function uplinkAddresses(slot: number, k: number): { host: string; router: string } {
  if (k < 1 || k > MAX_VPCS) throw new Error(`uplink index ${k} out of range`);
  return { host: intToIp(base(slot) + 4 * k + 1), router: intToIp(base(slot) + 4 * k + 2) };
}

/** Transit index j → address; indices whose last octet is 0 or 255 are never handed out (see isUsableTransit). */
export const transitAddress = (slot: number, j: number) => intToIp(base(slot) + j);
export const isUsableTransit = (j: number) => j >= TRANSIT_FIRST && j < BLOCK_SIZE && j % 256 !== 0 && j % 256 !== 255;

export const routerNs = (slot: number, vpcId: string) => `kumo${slot}-vpc-${hash(vpcId, 10)}`;
export const isRouterNs = (name: string) => /^kumo\d+-vpc-[0-9a-f]{10}$/.test(name);
export const portNs = (slot: number, portId: string) => `kumo${slot}-${portId}`;
/** ≤ 15 bytes: "kh63-" + 8 hex. */
export const hostVeth = (slot: number, vpcId: string) => `kh${slot}-${hash(vpcId, 8)}`;
/** The host end of a router's uplink, from the router namespace's name alone (both hash the VPC id). */
export const hostVethOfRouter = (ns: string) => `kh${slotOfNetns(ns)}-${ns.slice(-10, -2)}`;
export const dummyName = (slot: number) => `kumos${slot}`;
export const hostTable = (slot: number) => `kumo${slot}`;
/** The port's veth end inside the router namespace (names there are per namespace). */
export const peerName = (portId: string) => `p${hash(portId, 10)}`;
export const UPLINK = 'uplink';
export const ROUTER_TABLE = 'kumo';

/** Which slot a host-level name belongs to, for cleanup by name. */
export function slotOfNetns(name: string): number | undefined {
  const m = /^kumo(\d+)-/.exec(name);
  return m ? Number(m[1]) : undefined;
}
export function slotOfLink(name: string): number | undefined {
  const m = /^kh(\d+)-/.exec(name) ?? /^kumos(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
export function slotOfTable(name: string): number | undefined {
  const m = /^kumo(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
