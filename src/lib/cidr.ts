/**
 * IPv4 CIDR arithmetic on 32-bit integers: parsing (strict: the address must be the network
 * address), containment, overlap and host counts. ipaddr.js parses single addresses.
 */
import ipaddr from 'ipaddr.js';

export interface Cidr4 {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
  text: string;
}

export function ipToInt(ip: string): number {
  const bytes = ipaddr.IPv4.parse(ip).toByteArray();
  return ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

// Four decimal parts without leading zeros (what ipaddr.js calls a valid four-part decimal),
// checked here without it: a VPC's siblings are parsed by the thousand.
const CIDR4 = /^(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})\/(0|[1-9][0-9]?)$/;

/** Parses `a.b.c.d/n`; undefined if malformed or if host bits are set. */
export function parseCidr4(text: string): Cidr4 | undefined {
  const m = CIDR4.exec(text ?? '');
  if (!m) return undefined;
  const parts = [m[1], m[2], m[3], m[4]].map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  const prefix = Number(m[5]);
  if (prefix > 32) return undefined;
  const base = ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
  if ((base & hostMask(prefix)) !== 0) return undefined;
  return { base, prefix, text: `${intToIp(base)}/${prefix}` };
}

function hostMask(prefix: number): number {
  return prefix === 0 ? 0xffffffff : (2 ** (32 - prefix) - 1) >>> 0;
}

export function size(c: Cidr4): number {
  return 2 ** (32 - c.prefix);
}

export function last(c: Cidr4): number {
  return c.base + size(c) - 1;
}

export function contains(outer: Cidr4, inner: Cidr4): boolean {
  return inner.base >= outer.base && last(inner) <= last(outer);
}

export function overlaps(a: Cidr4, b: Cidr4): boolean {
  return a.base <= last(b) && b.base <= last(a);
}

export function containsIp(c: Cidr4, ip: number): boolean {
  return ip >= c.base && ip <= last(c);
}
