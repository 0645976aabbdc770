/**
 * Volumes as directories: `<root>/<vol-id>/upper` is the layer an overlay root puts over its
 * image (and `work` overlayfs's scratch dir), so a volume outlives the container that mounted it
 * and can be handed to another. Its owner creates and deletes it (EC2's root volumes today, EBS
 * next); the container driver only mounts it. `volume.json` says which image it sits on.
 *
 * The tree is root's alone (0700); inside `upper`, files belong to the containers' ID range
 * (instances/user-namespace.ts), starting with `upper` itself: the root directory of whatever
 * boots from it.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ownRootVolume } from './instances/user-namespace.js';

export interface VolumeInfo {
  volumeId: string;
  /** The read-only image the volume's upper layer belongs over. */
  imageRootfs: string;
}

export class VolumeStore {
  constructor(readonly root: string) {}

  path(volumeId: string): string {
    if (!/^vol-[0-9a-f]{8,17}$/.test(volumeId)) throw new Error(`bad volume id ${JSON.stringify(volumeId)}`);
    return join(this.root, volumeId);
  }

  /** The volume's directory, created (empty, over `imageRootfs`) if it does not exist yet. */
  ensure(volumeId: string, imageRootfs: string): string {
    const dir = this.path(volumeId);
    if (existsSync(join(dir, 'volume.json'))) return dir;
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    for (const d of ['upper', 'work']) mkdirSync(join(dir, d), { recursive: true });
    ownRootVolume(join(dir, 'upper'));
    const info: VolumeInfo = { volumeId, imageRootfs };
    writeFileSync(join(dir, 'volume.json'), JSON.stringify(info, null, 2), { mode: 0o600 });
    return dir;
  }

  info(volumeId: string): VolumeInfo | undefined {
    try {
      return JSON.parse(readFileSync(join(this.path(volumeId), 'volume.json'), 'utf8')) as VolumeInfo;
    } catch {
      return undefined;
    }
  }

  remove(volumeId: string): void {
    rmSync(this.path(volumeId), { recursive: true, force: true });
  }

  list(): string[] {
    try {
      return readdirSync(this.root).filter((id) => existsSync(join(this.root, id, 'volume.json')));
    } catch {
      return [];
    }
  }
}
