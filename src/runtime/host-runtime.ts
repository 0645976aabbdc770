/**
 * Picks what runs containers on this host (DESIGN.md, "Data plane"): the native driver with the
 * VPC fabric where Linux, root and systemd-nspawn allow, the process driver anywhere else.
 * Called by the composition root only; services receive the result.
 *
 * Each owner of containers (EC2's instances now; load balancer and database nodes next) gets a
 * driver of its own, on a directory of its own and with host names of its own, so no owner ever
 * lists, reclaims or resets another's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KumoConfig } from '../config.js';
import { detectRuntime, which, type RuntimeMode } from './detect.js';
import type { ExitKind, InstanceDriver } from './instances/driver.js';
import { NativeDriver } from './instances/native.js';
import { ProcessDriver } from './instances/process.js';
import { Fabric } from './network/fabric.js';
import { ensureImage, imageSpecByName, rootfsOf } from './images/builder.js';
import { SnapshotStore } from './snapshots/store.js';
import { VolumeStore } from './volumes.js';
import { loopsUnder } from './loop.js';
import { run } from './instances/host.js';

export interface ContainerOwner {
  /** Its directory under the data dir (`instances`). */
  dir: string;
  /** Starts the names of what the driver makes on the host for it (`kumo-ec2-`). */
  prefix: string;
  /** A container that ended on its own (its OS powered off or rebooted, or it died). */
  onExit?: (id: string, kind: ExitKind) => void;
}

export interface HostRuntime {
  mode: RuntimeMode;
  /** A driver for one owner's containers. */
  driverFor(owner: ContainerOwner): InstanceDriver;
  /** Volumes as disk files (native only): `<data-dir>/volumes`. */
  volumes?: VolumeStore;
  /** EBS snapshots (native only, with the volumes they are taken of): `<data-dir>/snapshots`. */
  snapshots?: SnapshotStore;
  imageRootfs(name: string): Promise<string>;
  /** The VPC fabric (native only): takes this data dir's slot back after a crash, then clears what dead kumos left. */
  openFabric?: () => Promise<Fabric>;
}

export function createHostRuntime(config: KumoConfig, log: (line: string) => void): HostRuntime {
  const mode = detectRuntime(config.runtime);
  const native = mode.mode === 'native';
  let snapshots: SnapshotStore | undefined;
  return {
    mode,
    driverFor: (owner) => {
      const root = join(config.dataDir, owner.dir);
      return native ? new NativeDriver({ root, prefix: owner.prefix, onExit: owner.onExit }) : new ProcessDriver({ root });
    },
    volumes: native ? new VolumeStore(join(config.dataDir, 'volumes')) : undefined,
    get snapshots() {
      // Made on first use: `kumo reset` of a dead kumo's data dir needs none.
      return native ? (snapshots ??= new SnapshotStore(join(config.dataDir, 'snapshots'))) : undefined;
    },
    openFabric: native
      ? async () => {
          // After a crash, this data dir's slot is taken over as it is (instances keep running
          // and serving); its owner prunes what it does not claim again.
          const fabric = await Fabric.open({ log, owner: config.dataDir, internet: config.internet });
          await Fabric.cleanupStale();
          return fabric;
        }
      : undefined,
    imageRootfs: async (name) => {
      if (!native) return '';
      const spec = imageSpecByName(name);
      if (!existsSync(rootfsOf(config.imageDir, spec)) && !which('debootstrap')) {
        throw new Error(`the ${name} base image is not built and debootstrap is not installed (apt-get install debootstrap)`);
      }
      return ensureImage(config.imageDir, spec, log);
    },
  };
}

/**
 * `kumo reset` of a data dir whose kumo is not running: what a dead kumo left running for these
 * owners (containers, their mounts and cgroups, their volumes, the network kept for them) ends.
 */
/** Mount points under `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const prefix = `${dir.replace(/\/$/, '')}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

export async function reclaimHostState(config: KumoConfig, owners: ContainerOwner[], volumeDirs: string[] = []): Promise<void> {
  const runtime = createHostRuntime(config, () => {});
  if (runtime.mode.mode !== 'native') return;
  for (const owner of owners) await runtime.driverFor(owner).reclaimLeftovers?.();
  // Volumes the dead kumo had mounted or attached: the data dir must be removable.
  for (const store of [runtime.volumes, ...volumeDirs.map((d) => new VolumeStore(join(config.dataDir, d)))]) {
    for (const id of store?.list() ?? []) await store!.unmountRoot(id);
  }
  // Whatever a launch cut short left mounted there (no container record to reclaim it by).
  for (const mnt of mountsUnder(config.dataDir)) await run('umount', ['--lazy', mnt]).catch(() => {});
  for (const loop of await loopsUnder(config.dataDir)) await run('losetup', ['--detach', loop.split(' ')[0]!]).catch(() => {});
  await Fabric.releaseOwner(config.dataDir);
}
