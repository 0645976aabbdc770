/**
 * Volumes as disk files: `<root>/<vol-id>/disk` is a sparse file of the volume's size (an empty
 * 100 GiB volume costs nothing), made a block device by a loop device when something uses it.
 * Its owner creates and deletes it (EC2's root volumes and EBS volumes); the container driver
 * only mounts what it is given.
 *
 *   <root>/<vol-id>/volume.json   size, format, and for a root volume the image it goes over
 *                   disk          the data
 *                   mnt/          a root volume's filesystem, mounted while its instance runs
 *
 * A root volume holds an ext4 filesystem with `upper/` and `work/`: the layer an overlay root puts
 * over its image, so inside the instance `df /` shows the volume's size and a full volume is
 * "No space left on device" for that instance alone. (On AWS the root volume holds the whole
 * root filesystem; here the image's files stay in the shared read-only lower layer.) A data
 * volume is raw: the user formats it inside the instance, as on AWS.
 *
 * The tree is root's alone (0700); inside a root filesystem, files belong to the containers' ID
 * range (instances/user-namespace.ts), starting with `upper` itself.
 */
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMounted, run, unmount } from './instances/host.js';
import { CONTAINER_ID_BASE } from './instances/user-namespace.js';
import { attachLoop, detachLoops, loopsOf, mountLoop, refreshLoop } from './loop.js';

export interface VolumeInfo {
  volumeId: string;
  sizeBytes: number;
  /** `root`: ext4 holding an overlay's upper layer; `raw`: whatever the instance writes. */
  format: 'root' | 'raw';
  /** A root volume: the read-only image its upper layer belongs over. */
  imageRootfs?: string;
  /** The disk grew while mounted and its filesystem could not follow online: it does at the next mount. */
  fsGrowPending?: boolean;
}

export const GiB = 1024 ** 3;

export class VolumeStore {
  constructor(readonly root: string) {}

  path(volumeId: string): string {
    if (!/^vol-[0-9a-f]{8,17}$/.test(volumeId)) throw new Error(`bad volume id ${JSON.stringify(volumeId)}`);
    return join(this.root, volumeId);
  }

  diskOf(volumeId: string): string {
    return join(this.path(volumeId), 'disk');
  }

  info(volumeId: string): VolumeInfo | undefined {
    try {
      return JSON.parse(readFileSync(join(this.path(volumeId), 'volume.json'), 'utf8')) as VolumeInfo;
    } catch {
      return undefined;
    }
  }

  exists(volumeId: string): boolean {
    return this.info(volumeId) !== undefined;
  }

  list(): string[] {
    try {
      return readdirSync(this.root).filter((id) => existsSync(join(this.root, id, 'volume.json')));
    } catch {
      return [];
    }
  }

  /**
   * A new, empty volume. A root volume gets its filesystem at once (mkfs from a template: no mount
   * needed, a few MiB written). Written whole before volume.json, which is the commit.
   */
  async create(info: VolumeInfo): Promise<void> {
    const disk = this.begin(info.volumeId);
    writeFileSync(disk, '', { mode: 0o600 });
    truncateSync(disk, info.sizeBytes);
    if (info.format === 'root') await makeRootFilesystem(disk);
    this.commit(info);
  }

  /**
   * A volume whose data another part writes (a snapshot restored into `disk`): call fill with
   * the disk path; the volume exists once it returns. A root volume bigger than its snapshot has
   * its filesystem grown to the new size.
   */
  async createFrom(info: VolumeInfo, fill: (disk: string) => Promise<void>): Promise<void> {
    const disk = this.begin(info.volumeId);
    try {
      await fill(disk);
      if (statSync(disk).size < info.sizeBytes) truncateSync(disk, info.sizeBytes);
      if (info.format === 'root') await run('resize2fs', ['-f', disk]).catch(() => {});
    } catch (err) {
      rmSync(this.path(info.volumeId), { recursive: true, force: true });
      throw err;
    }
    this.commit(info);
  }

  /**
   * Grows a volume (never shrinks). A root volume's filesystem follows: at once when it is not
   * mounted; when it is, online if the host lets kumo (ext4's online resize needs
   * CAP_SYS_RESOURCE, which some sandboxes withhold), else at its next mount.
   */
  async grow(volumeId: string, sizeBytes: number): Promise<void> {
    const info = this.require(volumeId);
    if (sizeBytes <= info.sizeBytes) return;
    const disk = this.diskOf(volumeId);
    truncateSync(disk, sizeBytes);
    await refreshLoop(disk);
    let fsGrowPending = false;
    if (info.format === 'root') {
      const mnt = join(this.path(volumeId), 'mnt');
      const [dev] = isMounted(mnt) ? await loopsOf(disk) : [];
      if (!dev) await run('resize2fs', ['-f', disk]);
      else fsGrowPending = !(await run('resize2fs', [dev]).then(() => true, () => false));
    }
    this.commit({ ...info, sizeBytes, ...(fsGrowPending ? { fsGrowPending } : {}) });
  }

  /** Mounts a root volume's filesystem on the host (idempotent); the directory with upper/ and work/. */
  async mountRoot(volumeId: string): Promise<string> {
    const dir = this.path(volumeId);
    // Volumes made before they were disks hold upper/ and work/ directly.
    if (!existsSync(this.diskOf(volumeId)) && existsSync(join(dir, 'upper'))) return dir;
    const info = this.require(volumeId);
    if (info.format !== 'root') throw new Error(`${volumeId} holds no root filesystem`);
    const mnt = join(dir, 'mnt');
    if (isMounted(mnt)) return mnt;
    mkdirSync(mnt, { recursive: true });
    if (info.fsGrowPending) {
      await run('resize2fs', ['-f', this.diskOf(volumeId)]);
      const { fsGrowPending: _done, ...rest } = info;
      this.commit(rest);
    }
    // nosuid, nodev: on the host, nothing in a volume is a way to privilege; the instance's own
    // view of its files comes through the overlay, which is mounted separately.
    await mountLoop(this.diskOf(volumeId), mnt, 'ext4', 'nosuid,nodev');
    return mnt;
  }

  async unmountRoot(volumeId: string): Promise<void> {
    const mnt = join(this.path(volumeId), 'mnt');
    await unmount(mnt);
    await detachLoops(this.diskOf(volumeId));
  }

  /**
   * Holds a volume's mounted filesystem still (fsfreeze) while `fn` reads its disk: a point-in-time
   * copy of a volume in use, as consistent as a disk after a power cut. Writes inside the instance
   * wait meanwhile. A root volume is mounted here; a data volume is mounted by kumo for its
   * instance (runtime/instances/devices.ts), and stays mounted on the host after the instance's
   * own umount, with what it wrote perhaps not yet on the disk: freezing it writes that out. A
   * volume mounted nowhere here is synced first.
   */
  async frozen<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
    const root = join(this.path(volumeId), 'mnt');
    const mnt = isMounted(root) ? root : await mountOfDisk(this.diskOf(volumeId));
    if (!mnt) {
      // Unmounted here, its filesystem may still live on in a mount namespace on its way out (a
      // stopped instance's, for a moment), with its last writes not yet on the disk; sync(1)
      // writes out every filesystem's, wherever it is mounted.
      await run('sync', []);
      return fn();
    }
    await run('fsfreeze', ['--freeze', mnt]);
    try {
      return await fn();
    } finally {
      await run('fsfreeze', ['--unfreeze', mnt]);
    }
  }

  /** The volume as a block device (a data volume attached to an instance). */
  attach(volumeId: string): Promise<string> {
    this.require(volumeId);
    return attachLoop(this.diskOf(volumeId));
  }

  async detach(volumeId: string): Promise<void> {
    await detachLoops(this.diskOf(volumeId));
  }

  async remove(volumeId: string): Promise<void> {
    await this.unmountRoot(volumeId);
    rmSync(this.path(volumeId), { recursive: true, force: true });
  }

  private require(volumeId: string): VolumeInfo {
    const info = this.info(volumeId);
    if (!info) throw new Error(`no volume ${volumeId} on this host`);
    return info;
  }

  /** A fresh directory for a volume being made (what a crash left of an earlier attempt goes first). */
  private begin(volumeId: string): string {
    const dir = this.path(volumeId);
    if (this.exists(volumeId)) throw new Error(`volume ${volumeId} already exists`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { mode: 0o700 });
    return join(dir, 'disk');
  }

  private commit(info: VolumeInfo): void {
    const file = join(this.path(info.volumeId), 'volume.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(info, null, 2), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
}

/**
 * ext4 with `upper/` (the instance root's, so the overlay root is owned by root inside) and
 * `work/`, built from a template directory: nothing is mounted, and lazy init writes only a few
 * MiB of metadata however large the volume.
 */
async function makeRootFilesystem(disk: string): Promise<void> {
  const template = mkdtempSync(join(disk, '..', '.template-'));
  try {
    mkdirSync(join(template, 'upper'));
    mkdirSync(join(template, 'work'));
    chownSync(join(template, 'upper'), CONTAINER_ID_BASE, CONTAINER_ID_BASE);
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'lazy_itable_init=1,lazy_journal_init=1', '-d', template, disk]);
  } finally {
    rmSync(template, { recursive: true, force: true });
  }
}

/** Where the host has a disk file's filesystem mounted (through its loop device), if anywhere. */
async function mountOfDisk(disk: string): Promise<string | undefined> {
  const loops = new Set(await loopsOf(disk));
  if (!loops.size) return undefined;
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [fields, tail] = line.split(' - ');
    const source = tail?.split(' ')[1];
    // mountinfo escapes spaces and the like as octal (\040).
    if (source && loops.has(source)) return fields!.split(' ')[4]!.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return undefined;
}
