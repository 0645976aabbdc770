/**
 * Host-wide slots: each Fabric holds one of 64 slots so that names and addresses of several kumo
 * processes on one host never collide. A slot is a lock file /run/kumo/fabric/slot-<n> created
 * with O_EXCL and holding "<pid> <start time>": the start time (from /proc/<pid>/stat) tells a
 * dead holder from a recycled pid. Taking over a stale slot (clean its leftovers, rewrite its
 * file) happens under a short-lived mutex directory, because two processes seeing the same stale
 * file must not both clean it and both believe they own it. The mutex is held for milliseconds to
 * seconds; one older than MUTEX_STALE_MS belonged to a process that died inside it.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime as startTime } from '../../lib/process.js';
import { SLOTS } from './names.js';

/** Fixed, not configurable: every kumo on the host must see the same slots. */
export const SLOT_DIR = '/run/kumo/fabric';
const MUTEX = () => join(SLOT_DIR, '.mutex');
const MUTEX_STALE_MS = 60_000;

export const slotFile = (n: number) => join(SLOT_DIR, `slot-${n}`);

/** "<pid> <start time> [owner]": the owner (e.g. kumo's data dir) lets a restarted kumo find its slot again. */
export const ownerStamp = (owner?: string) => `${process.pid} ${startTime(process.pid) ?? '?'}${owner ? ` ${encodeURIComponent(owner)}` : ''}\n`;

export function ownerOf(n: number): string | undefined {
  try {
    const o = readFileSync(slotFile(n), 'utf8').trim().split(' ')[2];
    return o === undefined ? undefined : decodeURIComponent(o);
  } catch {
    return undefined;
  }
}

/**
 * A stale slot whose owner (a data dir) still exists is kept for that owner: its instances may
 * still run in it, and the owner's next kumo takes it over as it is. Anyone may clear the others.
 */
export function isReclaimable(n: number): boolean {
  if (!isStale(n)) return false;
  const owner = ownerOf(n);
  return owner === undefined || !existsSync(owner);
}

/** True when the slot file names a process that no longer exists (or cannot be read at all). */
export function isStale(n: number): boolean {
  let text: string;
  try {
    text = readFileSync(slotFile(n), 'utf8');
  } catch {
    return false; // free, not stale
  }
  const [pid, start] = text.trim().split(' ');
  if (!pid || !/^\d+$/.test(pid)) return true; // torn write by a process that died mid-create
  return startTime(Number(pid)) !== start;
}

export function heldSlots(): number[] {
  try {
    return readdirSync(SLOT_DIR).flatMap((f) => (/^slot-(\d+)$/.test(f) ? [Number(f.slice(5))] : []));
  } catch {
    return [];
  }
}

export async function withMutex<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(SLOT_DIR, { recursive: true });
  const deadline = Date.now() + 2 * MUTEX_STALE_MS;
  for (;;) {
    try {
      mkdirSync(MUTEX());
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(MUTEX()).mtimeMs > MUTEX_STALE_MS) rmdirSync(MUTEX());
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`fabric: ${MUTEX()} held for too long`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    rmdirSync(MUTEX());
  }
}

function create(n: number, owner?: string): boolean {
  let fd: number;
  try {
    fd = openSync(slotFile(n), 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    writeSync(fd, ownerStamp(owner));
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Takes a slot: first a stale one left by the same `owner` (handed to `adopt`, so a restarted
 * kumo gets its old names and can keep its instances' namespaces), else the first free or stale
 * one (a stale one is handed to `clean` first).
 */
export function claimSlot(clean: (n: number) => Promise<void>, owner?: string, adopt?: (n: number) => Promise<void>): Promise<{ slot: number; adopted: boolean }> {
  return withMutex(async () => {
    if (owner !== undefined && adopt) {
      for (const n of heldSlots().sort((a, b) => a - b)) {
        if (ownerOf(n) !== owner || !isStale(n)) continue;
        await adopt(n);
        unlinkSync(slotFile(n));
        if (create(n, owner)) return { slot: n, adopted: true };
      }
    }
    for (let n = 0; n < SLOTS; n++) {
      if (create(n, owner)) return { slot: n, adopted: false };
      if (isReclaimable(n)) {
        await clean(n);
        unlinkSync(slotFile(n));
        if (create(n, owner)) return { slot: n, adopted: false };
      }
    }
    throw new Error(`fabric: all ${SLOTS} slots in ${SLOT_DIR} are held by live processes`);
  });
}

export function releaseSlot(n: number): void {
  try {
    unlinkSync(slotFile(n));
  } catch {
    // already released
  }
}
