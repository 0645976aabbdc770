/**
 * Root in an instance is not root on the host: every container runs in a user namespace that maps
 * its UIDs and GIDs 0..65535 to the host's CONTAINER_ID_BASE.. range, so a process running as root
 * inside is, to the host kernel, an unprivileged user that owns nothing outside its instance.
 *
 * The image's files must then be owned by that range, not by the host's root: the image builder
 * shifts a new image once (shiftImage, nspawn's own recursive chown, which keeps setuid bits, ACLs
 * and file capabilities right), so instances share the image read-only without copying it up
 * (nspawn's per-container chown would copy the whole 290 MB image into every root volume, and its
 * ID-mapped mounts are refused on these hosts). What kumo itself writes into a root volume as
 * host root before the first boot (provisioning) is shifted afterwards (shiftWritten).
 *
 * One range serves every instance on the host: instances cannot see each other anyway (own PID,
 * mount, network and IPC namespaces, root volumes under a 0700 directory), and one range is what
 * lets one shifted image serve them all.
 */
import { spawn } from 'node:child_process';
import { chmodSync, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { prepareCgroups, removeCgroups } from './cgroups.js';

/**
 * 0x70000000: a multiple of 65536 (nspawn's --private-users=yes derives the range from the root
 * directory's owner and requires that), above the ranges nspawn's `pick` hands out
 * (0x00080000..0x6FFF0000), below 2^31 (IDs systemd tells everyone to avoid).
 */
export const CONTAINER_ID_BASE = 0x70000000;
export const CONTAINER_ID_COUNT = 65536;

/** Shifts a freshly built image tree (owned by host IDs 0..65535) into the container range, in place. */
export async function shiftImage(rootfs: string): Promise<void> {
  // In a cgroup of its own, as every nspawn kumo runs: without systemd on the host, nspawn makes
  // its payload/supervisor cgroups next to the one it is in, and the host's root is no place for them.
  const cgroup = `image-shift-${process.pid}`;
  const procs = prepareCgroups(cgroup, {});
  try {
    await new Promise<void>((resolve, reject) => {
      const args = [
        '--register=no', '--keep-unit', '--quiet', `--directory=${rootfs}`,
        `--private-users=${CONTAINER_ID_BASE}:${CONTAINER_ID_COUNT}`, '--private-users-ownership=chown',
        // Nothing is booted: nspawn chowns the tree, then runs this one command in it.
        '/bin/true',
      ];
      const enter = 'for f in $KUMO_CGROUPS; do echo $$ > "$f" || exit 70; done; exec systemd-nspawn "$@"';
      const child = spawn('/bin/sh', ['-c', enter, 'shift', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, KUMO_CGROUPS: procs.join(' ') } });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`shifting ${rootfs} into the container ID range failed (${code}): ${err.trim()}`))));
    });
  } finally {
    await removeCgroups(cgroup);
  }
}

/**
 * After kumo wrote files into a root volume as host root (through the mounted root `merged`,
 * whose writes land in `upper`): every entry of `upper` still owned by a host ID below the range
 * gets the container ID it stands for (host 0 → container root, 1000 → the login user...).
 * Called before the first boot, when `upper` holds only what provisioning wrote. chown clears
 * setuid and setgid bits, so the mode is put back afterwards.
 */
export function shiftWritten(upper: string, merged: string): void {
  const walk = (rel: string) => {
    for (const name of readdirSync(join(upper, rel))) {
      const path = join(rel, name);
      const st = lstatSync(join(upper, path));
      // overlayfs whiteouts (0:0 character devices) stand for deletions and have no merged twin.
      if (st.isCharacterDevice() && st.rdev === 0) continue;
      if (st.uid < CONTAINER_ID_COUNT || st.gid < CONTAINER_ID_COUNT) {
        const target = join(merged, path);
        lchownSync(target, shifted(st.uid), shifted(st.gid));
        if (!st.isSymbolicLink() && st.mode & 0o6000) chmodSync(target, st.mode & 0o7777);
      }
      if (st.isDirectory()) walk(path);
    }
  };
  walk('');
}

const shifted = (id: number) => (id < CONTAINER_ID_COUNT ? CONTAINER_ID_BASE + id : id);

/** The overlay root's owner is its upper directory's: container root, so nspawn picks the right range. */
export function ownRootVolume(upper: string): void {
  lchownSync(upper, CONTAINER_ID_BASE, CONTAINER_ID_BASE);
  chmodSync(upper, 0o755);
}

/** nspawn's flags for a container whose root is owned by the range already (no chown at start). */
export const PRIVATE_USERS_ARGS = [`--private-users=${CONTAINER_ID_BASE}:${CONTAINER_ID_COUNT}`, '--private-users-ownership=off'];
