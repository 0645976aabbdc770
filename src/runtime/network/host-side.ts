/**
 * The fabric's footprint in the host namespace: the dummy (or portless bridge) carrying the service address, one
 * uplink veth per VPC, /32 routes to transit addresses, and the nft table `ip kumo<n>` that maps
 * public (loopback) IPs to transit addresses and keeps instances off every host port but the
 * service address's 80, 53 and OUTSIDE_PORT. With --internet, the same table forwards what the
 * routers let out (never towards kumo's or other VPCs' addresses) and masquerades it behind the
 * host's own address; the routers' default routes and ip_forward are fabric.ts's. Nothing here
 * touches a table, route or interface we did not name.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { exec, hostSysctl, ip, nft, quietly } from './exec.js';
import { FABRIC_BLOCK, OUTSIDE_PORT, dummyName, hostTable, isRouterNs, slotBlock, slotOfLink, slotOfNetns, slotOfTable } from './names.js';

/** Idempotent: a slot taken over after a crash keeps its dummy, so the service address never goes away. */
export async function ensureDummy(slot: number, serviceAddress: string): Promise<void> {
  const dev = dummyName(slot);
  const have = await ip(undefined, '-o', '-4', 'addr', 'show', 'dev', dev).catch(() => '');
  if (have.includes(` ${serviceAddress}/32 `) && /[<,]UP[,>]/.test(await ip(undefined, '-o', 'link', 'show', dev).catch(() => ''))) return;
  await quietly(ip(undefined, 'link', 'del', dev));
  try {
    await ip(undefined, 'link', 'add', dev, 'type', 'dummy');
  } catch {
    // Kernels built without the dummy driver (some VMs): a bridge without ports holds a local
    // address just as well, and nothing is ever enslaved to it.
    await ip(undefined, 'link', 'add', dev, 'type', 'bridge');
  }
  hostSysctl(`net.ipv6.conf.${dev}.disable_ipv6`, 1);
  await ip(undefined, 'addr', 'add', `${serviceAddress}/32`, 'dev', dev);
  await ip(undefined, 'link', 'set', dev, 'up');
}

export interface HostTableInput {
  slot: number;
  serviceAddress: string;
  /** public (loopback) ip → transit ip */
  publics: Map<string, string>;
  /** --internet: forward and masquerade what the routers let out. */
  internet?: boolean;
}

/** The host table, replaced whole (create-then-delete-then-define is one transaction). */
export function renderHostTable(t: HostTableInput): string {
  const name = hostTable(t.slot);
  const veths = `"kh${t.slot}-*"`;
  const publics = [...t.publics].sort(([a], [b]) => a.localeCompare(b));
  const lines = [
    `table ip ${name}`,
    `delete table ip ${name}`,
    `table ip ${name} {`,
    `  chain output {`,
    `    type nat hook output priority -100; policy accept;`,
  ];
  // Connections the host opens to a public IP go to the instance's transit address, from there
  // the router's 1:1 dnat takes them to its private IP.
  if (publics.length) lines.push(`    dnat to ip daddr map { ${publics.map(([p, tr]) => `${p} : ${tr}`).join(', ')} }`);
  lines.push(
    `  }`,
    `  chain postrouting {`,
    `    type nat hook postrouting priority srcnat; policy accept;`,
    // A 127/8 source cannot leave the host; the router sees our uplink end's address instead.
    `    oifname ${veths} ip saddr 127.0.0.0/8 masquerade`,
    // The routers' internet flows (already behind their uplink addresses) leave behind the host's.
    ...(t.internet ? [`    ip saddr ${slotBlock(t.slot)} oifname != ${veths} masquerade`] : []),
    `  }`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    // Instances reach the host only for kumo's services; the host's other listeners (sshd, the
    // API) stay out of their reach, as they would be on AWS.
    `    iifname ${veths} ct state established,related accept`,
    `    iifname ${veths} ip daddr ${t.serviceAddress} tcp dport { 80, 443, ${OUTSIDE_PORT} } accept`,
    `    iifname ${veths} ip daddr ${t.serviceAddress} meta l4proto { tcp, udp } th dport 53 accept`,
    `    iifname ${veths} drop`,
    `  }`,
  );
  if (t.internet) {
    lines.push(
      `  chain forward {`,
      `    type filter hook forward priority filter; policy accept;`,
      // Through the host only to the host's networks: never to a VPC of this kumo or another.
      `    iifname ${veths} ip daddr ${FABRIC_BLOCK} drop`,
      `    iifname ${veths} accept`,
      `    oifname ${veths} ct state established,related accept`,
      `    oifname ${veths} drop`,
      `  }`,
    );
  }
  lines.push(`}`);
  return lines.join('\n') + '\n';
}

export const applyHostTable = (t: HostTableInput) => nft(undefined, renderHostTable(t));

/**
 * --internet needs the host to route: ip_forward on (a host-wide switch; kumo's forward chain
 * above keeps what it forwards to its own flows). Returns how to put it back as it was: only a
 * switch this call turned on is turned off again (at close; a crash leaves it on).
 */
export function enableForwarding(log: (line: string) => void): () => void {
  const key = 'net.ipv4.ip_forward';
  if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() === '1') return () => {};
  hostSysctl(key, 1);
  log('fabric: --internet: turned the host\'s net.ipv4.ip_forward on (off again when kumo stops)');
  return () => hostSysctl(key, 0);
}

/** Everything on the host that belongs to the slots `match` picks (by name), for cleanup and leak checks. */
export async function listFootprint(match: (slot: number) => boolean): Promise<{ netns: string[]; links: string[]; tables: string[]; slots: Set<number> }> {
  let netns: string[] = [];
  try {
    netns = readdirSync('/run/netns').filter((n) => {
      const s = slotOfNetns(n);
      return s !== undefined && match(s);
    });
  } catch {
    // no namespaces at all
  }
  const links = (await ip(undefined, '-o', 'link', 'show'))
    .split('\n')
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => {
      if (!n) return false;
      const s = slotOfLink(n);
      return s !== undefined && match(s);
    });
  const tables = (await exec('nft', ['list', 'tables']))
    .split('\n')
    .map((l) => /^table ip (\S+)$/.exec(l.trim())?.[1])
    .filter((n): n is string => {
      if (!n) return false;
      const s = slotOfTable(n);
      return s !== undefined && match(s);
    });
  const slots = new Set<number>();
  for (const n of netns) slots.add(slotOfNetns(n)!);
  for (const n of links) slots.add(slotOfLink(n)!);
  for (const n of tables) slots.add(slotOfTable(n)!);
  return { netns, links, tables, slots };
}

/**
 * Removes a slot's footprint by name. Namespaces first (their veths go with them unless a process
 * still holds the namespace), then host links explicitly (which also takes their routes), then
 * the table. keepInstances spares instance namespaces (their eth0 dies with the router) so that
 * processes inside keep running and get their network back when plugged again.
 */
export async function removeFootprint(slot: number, opts: { keepInstances?: boolean } = {}): Promise<void> {
  const f = await listFootprint((s) => s === slot);
  for (const ns of f.netns) {
    if (opts.keepInstances && !isRouterNs(ns)) continue;
    await quietly(ip(undefined, 'netns', 'delete', ns));
  }
  const again = await listFootprint((s) => s === slot);
  for (const l of again.links) await quietly(ip(undefined, 'link', 'del', l));
  for (const t of again.tables) await quietly(exec('nft', ['delete', 'table', 'ip', t]));
}
