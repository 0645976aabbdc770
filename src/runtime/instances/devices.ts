/**
 * Block devices and filesystems handed to a running container. Root inside a container is root of
 * its own user namespace: it may format a disk it owns, but the kernel does not let it mount a
 * block device's filesystem (ext4, xfs are not mountable from a user namespace), nor reach the
 * host's /dev. So kumo does the privileged half from the host and the container's root the rest:
 *
 *   <container dir>/incoming   a shared mount on the host, bound into the container at
 *                              /run/kumo/incoming: what kumo mounts in it appears in there
 *   expose:  host bind-mounts /dev/loopN at incoming/dev-<name> → root inside binds it to
 *            /dev/<name> → the host's copy goes (the container's bind keeps the device)
 *   mount:   host mounts the device's filesystem at incoming/fs-<name> (nosuid,nodev: the disk's
 *            contents are the instance's, never a way to host devices or host privilege) → root
 *            inside binds it where it asked (what a user's `mount /dev/xvdf /data` becomes)
 *   list:    the container's /sys/block is a directory of its own (made on the host before the
 *            container starts and bound there by nspawn; a tmpfs in containers started before
 *            kumo did that) holding its devices under their AWS names, each a link to the real
 *            device in sysfs (`xvda -> …/block/loop0`): lsblk shows the instance's disks with
 *            their live sizes, and none of the host's. The root volume is listed from the start
 *            but never exposed (its filesystem is mounted by the host).
 *
 * This is LXD's answer too (it mounts on a container's behalf, for allowed filesystems), done
 * through mount(8)'s type helpers in the image instead of a seccomp notifier.
 */
import { chownSync, existsSync, lchownSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMounted, run } from './host.js';
import { CONTAINER_ID_BASE, CONTAINER_ID_COUNT } from './user-namespace.js';

export const INCOMING_INSIDE = '/run/kumo/incoming';
/** Filesystems kumo mounts for an instance: the ones AWS's guides format volumes with. */
export const MOUNTABLE = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs'];

/** Makes `dir` a shared mount the container will see (idempotent); nspawn binds it in. */
export async function prepareIncoming(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  chownSync(dir, CONTAINER_ID_BASE, CONTAINER_ID_BASE);
  if (!isMounted(dir)) await run('mount', ['--bind', '--make-shared', dir, dir]);
}

/** A block device the instance sees listed (its root volume): the host's loop device, the name inside. */
export interface ListedDevice {
  hostDevice: string;
  name: string;
}

/**
 * The container's /sys/block, made on the host before it starts (nspawn binds the directory
 * there): a link per device listed, so lsblk inside sees its root volume from the first moment,
 * with no need to wait for the container's init and enter it. Owned by the container's root, who
 * may add to it (`listDevice`, for volumes attached later).
 */
export function prepareBlockList(dir: string, devices: ListedDevice[]): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o755 });
  chownSync(dir, CONTAINER_ID_BASE, CONTAINER_ID_BASE);
  for (const d of devices) {
    if (!DEVICE_NAME.test(d.name)) throw new Error(`bad device name ${JSON.stringify(d.name)}`);
    const loop = LOOP_DEVICE.exec(d.hostDevice)?.[1];
    if (!loop) throw new Error(`not a loop device: ${d.hostDevice}`);
    const link = join(dir, d.name);
    symlinkSync(`../devices/virtual/block/${loop}`, link);
    lchownSync(link, CONTAINER_ID_BASE, CONTAINER_ID_BASE);
  }
}

/** Everything mounted for the container goes (lazily: the container may still hold it as it dies). */
export async function releaseIncoming(dir: string): Promise<void> {
  if (isMounted(dir)) await run('umount', ['--recursive', '--lazy', dir]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}

/** Runs a shell command as root inside the container (its user, mount and pid namespaces). */
export function asContainerRoot(init: number, script: string, args: string[] = []): Promise<string> {
  return run('nsenter', ['-t', String(init), '-U', '-m', '-p', '-r', '-w', '--', '/bin/sh', '-ec', script, 'kumo', ...args]);
}

const DEVICE_NAME = /^(xvd|sd|nvme)[a-z0-9]{1,8}$/;

const LOOP_DEVICE = /^\/dev\/(loop\d+)$/;

/** Shows the host device as /sys/block/<name> inside the container (see the header). */
export async function listDevice(init: number, hostDevice: string, name: string): Promise<void> {
  if (!DEVICE_NAME.test(name)) throw new Error(`bad device name ${JSON.stringify(name)}`);
  const loop = LOOP_DEVICE.exec(hostDevice)?.[1];
  if (!loop) throw new Error(`not a loop device: ${hostDevice}`);
  await asContainerRoot(init, 'mountpoint -q /sys/block || mount -t tmpfs -o mode=755,size=64k kumo-block /sys/block; ln -sfn "../devices/virtual/block/$2" "/sys/block/$1"', [name, loop]);
}

export async function exposeDevice(incoming: string, init: number, hostDevice: string, name: string): Promise<void> {
  if (!DEVICE_NAME.test(name)) throw new Error(`bad device name ${JSON.stringify(name)}`);
  await listDevice(init, hostDevice, name);
  // The loop device serves this volume alone while attached; the instance's root may open it.
  await run('chown', [`${CONTAINER_ID_BASE}:${CONTAINER_ID_BASE}`, hostDevice]);
  await run('chmod', ['0660', hostDevice]);
  const staged = join(incoming, `dev-${name}`);
  writeFileSync(staged, '');
  await run('mount', ['--bind', hostDevice, staged]);
  try {
    // Idempotent: a device already there (a container adopted after a restart) stays as it is.
    await asContainerRoot(init, 'mountpoint -q "/dev/$1" && exit 0; touch "/dev/$1"; mount --bind "$2/dev-$1" "/dev/$1"', [name, INCOMING_INSIDE]);
  } finally {
    await run('umount', [staged]).catch(() => {});
    rmSync(staged, { force: true });
  }
}

/**
 * Takes a device back: whatever the instance mounted from it is unmounted (lazily, as a forced
 * detach is on AWS), then the node goes.
 */
export async function hideDevice(incoming: string, init: number | undefined, hostDevice: string | undefined, name: string): Promise<void> {
  if (!DEVICE_NAME.test(name)) throw new Error(`bad device name ${JSON.stringify(name)}`);
  const fs = join(incoming, `fs-${name}`);
  if (init !== undefined) {
    const targets = existsSync(fs) ? mountsOfDevice(init, name) : [];
    const script = 'name=$1; shift; for t in "$@"; do umount -l "$t" || true; done; umount -l "/dev/$name" 2>/dev/null || true; rm -f "/dev/$name" "/sys/block/$name"';
    await asContainerRoot(init, script, [name, ...targets]).catch(() => {});
  }
  if (isMounted(fs)) await run('umount', ['--lazy', fs]).catch(() => {});
  rmSync(fs, { recursive: true, force: true });
  if (hostDevice) {
    await run('chown', ['0:6', hostDevice]).catch(() => {});
  }
}

/** Mounts the device's filesystem for the instance at `target` (a path inside it). */
export async function mountFilesystem(incoming: string, init: number, hostDevice: string, name: string, type: string, options: string[], target: string): Promise<void> {
  if (!DEVICE_NAME.test(name)) throw new Error(`bad device name ${JSON.stringify(name)}`);
  if (!MOUNTABLE.includes(type)) throw new Error(`kumo mounts ${MOUNTABLE.join(', ')} filesystems, not ${type}`);
  const fs = join(incoming, `fs-${name}`);
  if (!isMounted(fs)) {
    mkdirSync(fs, { recursive: true });
    // Every instance's filesystems are mounted by the one host kernel, where a volume restored
    // from a snapshot of another (mounted elsewhere) carries the same XFS UUID; on AWS they sit on
    // different machines and never meet, so the UUID check is not the instance's to trip on.
    const unique = type === 'xfs' && !options.includes('nouuid') ? ['nouuid'] : [];
    await run('mount', ['-t', type, '-o', [...options, ...unique, 'nosuid', 'nodev'].join(','), hostDevice, fs]);
    ownFreshFilesystem(fs);
  }
  await asContainerRoot(init, '[ -d "$2" ] || { echo "mount point $2 does not exist" >&2; exit 32; }; mount --bind "$1" "$2"', [`${INCOMING_INSIDE}/fs-${name}`, target]);
}

/**
 * mkfs run inside the instance writes the new filesystem's root (and lost+found) as owned by uid 0,
 * which the host kernel, mounting it, reads as the host's root: inside, root would not own its
 * own new disk. What mkfs made is given to the instance's root; files written later from inside
 * are stored with the instance's IDs already.
 */
function ownFreshFilesystem(fs: string): void {
  for (const path of [fs, join(fs, 'lost+found')]) {
    try {
      const st = lstatSync(path);
      if (st.uid < CONTAINER_ID_COUNT) lchownSync(path, CONTAINER_ID_BASE + st.uid, CONTAINER_ID_BASE + (st.gid < CONTAINER_ID_COUNT ? st.gid : 0));
    } catch {
      // no lost+found (xfs, btrfs)
    }
  }
}

/** Mount points inside the container whose filesystem is the one kumo mounted from /dev/<name>. */
function mountsOfDevice(init: number, name: string): string[] {
  let info = '';
  try {
    info = readFileSync(`/proc/${init}/mountinfo`, 'utf8');
  } catch {
    return [];
  }
  const lines = info.split('\n').map((l) => l.split(' '));
  const source = lines.find((f) => f[4] === `${INCOMING_INSIDE}/fs-${name}`);
  if (!source) return [];
  return lines.filter((f) => f[2] === source[2] && f[4] !== source[4] && f[3] === source[3]).map((f) => f[4]!);
}
