/**
 * Host plumbing the native driver needs, as small functions over `ip`, `mount` and /proc:
 * network namespaces, a veth into a caller's namespace, overlayfs mounts, and process trees.
 * Each "ensure"/"remove" is idempotent so that a supervisor can repeat it after a crash.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

export function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export const netnsExists = (name: string) => existsSync(`/run/netns/${name}`);

export async function ensureNetns(name: string): Promise<void> {
  if (!netnsExists(name)) await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export async function removeNetns(name: string): Promise<void> {
  if (netnsExists(name)) await run('ip', ['netns', 'delete', name]);
}

/** Interface names are at most 15 bytes; instance ids are 19, so the host end gets a hash. */
export const peerName = (id: string) => `kv${createHash('sha1').update(id).digest('hex').slice(0, 10)}`;

/** eth0 in the instance's namespace, its peer in routerNs with the gateway address. */
export async function attachVeth(ns: string, peer: string, routerNs: string, address: string, gateway: string): Promise<void> {
  await detachVeth(peer, routerNs);
  await run('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', peer, 'netns', routerNs]);
  await run('ip', ['-n', ns, 'addr', 'add', address, 'dev', 'eth0']);
  await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
  await run('ip', ['-n', routerNs, 'addr', 'add', gateway, 'dev', peer]);
  await run('ip', ['-n', routerNs, 'link', 'set', peer, 'up']);
  await run('ip', ['-n', ns, 'route', 'add', 'default', 'via', gateway.split('/')[0]!]);
}

/** Deleting one end deletes the pair; done explicitly so the peer never outlives the instance. */
export async function detachVeth(peer: string, routerNs: string): Promise<void> {
  if (!netnsExists(routerNs)) return;
  const links = await run('ip', ['-n', routerNs, '-o', 'link', 'show']);
  if (links.includes(` ${peer}@`) || links.includes(` ${peer}:`)) await run('ip', ['-n', routerNs, 'link', 'del', peer]);
}

export function isMounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === dir);
}

export async function mountOverlay(lower: string, upper: string, work: string, merged: string): Promise<void> {
  if (isMounted(merged)) return;
  await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
}

export async function unmount(dir: string): Promise<void> {
  if (isMounted(dir)) await run('umount', [dir]);
}

export function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return []; // exited
  }
}

export function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  for (const c of childrenOf(pid)) out.push(c, ...descendantsOf(c));
  return out;
}

export function rssBytes(pid: number): number {
  return kbField(`/proc/${pid}/status`, 'VmRSS');
}

/** Proportional set size: shared pages (libraries all instances map from the one image) counted once in total. */
export function pssBytes(pid: number): number {
  return kbField(`/proc/${pid}/smaps_rollup`, 'Pss');
}

function kbField(file: string, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Instance IDs with a directory under <dataDir>/instances that holds their launch spec (both drivers keep this layout). */
export function instanceIds(dataDir: string, specOf: (id: string) => string): string[] {
  try {
    return readdirSync(join(dataDir, 'instances')).filter((id) => existsSync(specOf(id)));
  } catch {
    return [];
  }
}
