/**
 * What a Fabric has built, written next to its slot lock after every change, so that a kumo that
 * restarts after a crash can take the slot over as it is (fabric.ts, open with an owner): same
 * routers, same veths, same transit addresses, and rule sets rendered exactly as before, so the
 * instances that kept running keep serving with no gap while kumo is away and as it comes back.
 *
 * /run is a tmpfs: after a host reboot neither the file nor what it describes exists.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SLOT_DIR } from './slots.js';
import type { PortSpec, VpcPolicy, VpcSpec } from './types.js';

export interface SavedVpc {
  spec: VpcSpec;
  policy: VpcPolicy;
  index: number;
}

export interface SavedPort {
  spec: PortSpec;
  transitIndex: number;
}

export interface FabricState {
  vpcs: SavedVpc[];
  ports: SavedPort[];
}

const FORMAT = 1;
const stateFile = (slot: number) => join(SLOT_DIR, `slot-${slot}.state.json`);

/** Atomic (write, then rename): a crash mid-write leaves the previous state, never half of one. */
export function saveFabricState(slot: number, state: FabricState): void {
  const tmp = `${stateFile(slot)}.tmp`;
  writeFileSync(tmp, JSON.stringify({ format: FORMAT, ...state }), { mode: 0o600 });
  renameSync(tmp, stateFile(slot));
}

export function loadFabricState(slot: number): FabricState | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(slot), 'utf8')) as FabricState & { format?: number };
    if (s.format !== FORMAT || !Array.isArray(s.vpcs) || !Array.isArray(s.ports)) return undefined;
    return { vpcs: s.vpcs, ports: s.ports };
  } catch {
    return undefined;
  }
}

export function removeFabricState(slot: number): void {
  rmSync(stateFile(slot), { force: true });
  rmSync(`${stateFile(slot)}.tmp`, { force: true });
}
