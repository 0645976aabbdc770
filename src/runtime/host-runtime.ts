/**
 * Picks what runs instances on this host (DESIGN.md, "Data plane"): the native driver with the
 * VPC fabric where Linux, root and systemd-nspawn allow, the process driver anywhere else.
 * Called by the composition root only; services receive the result.
 */
import type { KumoConfig } from '../config.js';
import { detectRuntime, which, type RuntimeMode } from './detect.js';
import type { ExitKind, InstanceDriver } from './instances/driver.js';
import { NativeDriver } from './instances/native.js';
import { ProcessDriver } from './instances/process.js';
import { Fabric } from './network/fabric.js';
import { existsSync } from 'node:fs';
import { ensureImage, imageSpecByName, rootfsOf } from './images/builder.js';

export interface HostRuntime {
  mode: RuntimeMode;
  driver: InstanceDriver;
  imageRootfs(name: string): Promise<string>;
  /** The VPC fabric (native only): takes this data dir's slot back after a crash, then clears what dead kumos left. */
  openFabric?: () => Promise<Fabric>;
  /** Where the driver reports containers that ended on their own; set once the supervisor exists. */
  onExit: (handler: (id: string, kind: ExitKind) => void) => void;
}

export function createHostRuntime(config: KumoConfig, log: (line: string) => void): HostRuntime {
  const mode = detectRuntime(config.runtime);
  let exitHandler: (id: string, kind: ExitKind) => void = () => {};
  const onExit = (id: string, kind: ExitKind) => exitHandler(id, kind);
  const driver: InstanceDriver = mode.mode === 'native' ? new NativeDriver(config.dataDir, { onExit }) : new ProcessDriver(config.dataDir);
  return {
    mode,
    driver,
    openFabric:
      mode.mode === 'native'
        ? async () => {
            // After a crash, this data dir's slot is taken over as it is (instances keep running
            // and serving); its owner prunes what it does not claim again.
            const fabric = await Fabric.open({ log, owner: config.dataDir });
            await Fabric.cleanupStale();
            return fabric;
          }
        : undefined,
    imageRootfs: async (name) => {
      if (mode.mode !== 'native') return '';
      const spec = imageSpecByName(name);
      if (!existsSync(rootfsOf(config.imageDir, spec)) && !which('debootstrap')) {
        throw new Error(`the ${name} base image is not built and debootstrap is not installed (apt-get install debootstrap)`);
      }
      return ensureImage(config.imageDir, spec, log);
    },
    onExit: (handler) => {
      exitHandler = handler;
    },
  };
}

