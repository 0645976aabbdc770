/**
 * Host plumbing the native driver needs, as small functions over `ip`, `mount` and /proc:
 * network namespaces, overlayfs mounts, and process trees.
 * Each "ensure"/"remove" is idempotent so that a supervisor can repeat it after a crash.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

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

/** A process's command name, or undefined once it is gone. */
export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
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

/** Container IDs with a directory under the owner's `root` that holds their launch spec (both drivers keep this layout). */
export function instanceIds(root: string, specOf: (id: string) => string): string[] {
  try {
    return readdirSync(root).filter((id) => existsSync(specOf(id)));
  } catch {
    return [];
  }
}
