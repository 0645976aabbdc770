/**
 * The default user of a new instance, made by the image's own useradd (through chroot), once per
 * image, user and day: what that run wrote into the root's upper layer (passwd, group, shadow,
 * gshadow, subuid, subgid and their backups, the home made from /etc/skel, …) is kept in memory
 * and written the same way into later roots of that image, instead of a chroot and a useradd each
 * time (a process spawned from kumo, and its own CPU: instances launched together wait on each
 * other's provisioning).
 *
 * Kept only when it is exactly what useradd would do again: the run wrote nothing but new entries
 * (no whiteout, nothing the root's upper layer held before), and a later root takes it only while
 * its upper layer holds none of those paths, nor anything useradd reads (login.defs, its defaults,
 * the skeleton): everything useradd sees there is then the image's, as in the run kept. The day
 * is part of the key because shadow records the date of the last password change.
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Entry =
  | { path: string; kind: 'dir'; mode: number; uid: number; gid: number }
  | { path: string; kind: 'file'; mode: number; uid: number; gid: number; data: Buffer }
  | { path: string; kind: 'symlink'; uid: number; gid: number; target: string };

/** What useradd reads besides the files it rewrites. */
const READS = ['etc/login.defs', 'etc/default/useradd', 'etc/skel'];

/** Per image, user, groups and day: what useradd wrote, or null where that cannot be replayed. */
const kept = new Map<string, Entry[] | null>();

export interface UserAdd {
  /** The instance's root as mounted (the overlay). */
  root: string;
  /** Its upper layer, where everything written into `root` lands. */
  upper: string;
  /** The image underneath: the same image gives the same useradd. */
  imageRootfs: string;
  name: string;
  /** Supplementary groups (they exist in the image). */
  groups: string[];
}

export async function addUser(u: UserAdd): Promise<void> {
  const key = JSON.stringify([u.imageRootfs, u.name, u.groups, new Date().toISOString().slice(0, 10)]);
  const replay = kept.get(key);
  if (replay && untouched(u.upper, replay)) return write(u.root, replay);
  const before = listing(u.upper);
  await chroot(u.root, ['useradd', '-m', '-s', '/bin/bash', '-c', u.name, ...(u.groups.length ? ['-G', u.groups.join(',')] : []), u.name]);
  if (!kept.has(key)) kept.set(key, READS.some((p) => existsSync(join(u.upper, p))) ? null : written(u.upper, before));
}

/** Whether `upper` holds none of what the replay writes, nor what useradd reads. */
function untouched(upper: string, entries: Entry[]): boolean {
  return ![...READS, ...entries.map((e) => e.path)].some((p) => existsSync(join(upper, p)));
}

function write(root: string, entries: Entry[]): void {
  for (const e of entries) {
    const path = join(root, e.path);
    if (e.kind === 'dir') {
      // Directories the run copied up (etc, home) are there already, as the image has them.
      if (existsSync(path)) continue;
      mkdirSync(path);
    } else if (e.kind === 'file') writeFileSync(path, e.data);
    else symlinkSync(e.target, path);
    if (e.kind !== 'symlink') chmodSync(path, e.mode);
    lchownSync(path, e.uid, e.gid);
  }
}

/** Every path under `dir` with what tells a rewrite apart. */
function listing(dir: string, rel = '', out = new Map<string, string>()): Map<string, string> {
  for (const name of readdirSync(join(dir, rel))) {
    const path = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, path));
    out.set(path, `${st.ino}:${st.mtimeMs}:${st.size}`);
    if (st.isDirectory()) listing(dir, path, out);
  }
  return out;
}

/** What appeared in `upper` since `before`, parents first; null if anything is not a plain new entry. */
function written(upper: string, before: Map<string, string>): Entry[] | null {
  const entries: Entry[] = [];
  for (const [path, id] of [...listing(upper)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const had = before.get(path);
    const st = lstatSync(join(upper, path));
    if (had !== undefined) {
      if (had === id || st.isDirectory()) continue;
      return null;
    }
    const base = { path, uid: st.uid, gid: st.gid };
    if (st.isDirectory()) entries.push({ ...base, kind: 'dir', mode: st.mode & 0o7777 });
    else if (st.isFile()) entries.push({ ...base, kind: 'file', mode: st.mode & 0o7777, data: readFileSync(join(upper, path)) });
    else if (st.isSymbolicLink()) entries.push({ ...base, kind: 'symlink', target: readlinkSync(join(upper, path)) });
    else return null; // a whiteout (a deletion) or a device: not replayed
  }
  return entries;
}

function chroot(root: string, argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('chroot', [root, ...argv], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } }, (err, _out, stderr) =>
      err ? reject(new Error(`chroot ${argv.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(),
    );
  });
}
