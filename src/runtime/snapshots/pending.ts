/**
 * Records of operations under way (`pending/<op>-<id>`, layout.ts), written durably before an
 * operation changes anything and removed after it has finished. They are how recover() knows,
 * after a kill -9 or a power cut, which snapshots were half made and that chunks may be orphaned,
 * without sweeping the whole store at every start.
 *
 * Each record names its process (pid and start time, so a recycled pid is not mistaken for it):
 * recover() leaves alone what a live process is still doing.
 */
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../../lib/process.js';
import { type Layout, type PendingOp, writeDurably } from './layout.js';

export interface PendingRecord {
  op: PendingOp;
  id: string;
  pid: number;
  startTime?: string;
}

const SELF_START = processStartTime(process.pid);

export function beginPending(layout: Layout, op: PendingOp, id: string): void {
  const record: PendingRecord = { op, id, pid: process.pid, startTime: SELF_START };
  rmSync(layout.pendingFile(op, id), { force: true });
  writeDurably(layout.pendingFile(op, id), JSON.stringify(record), layout.tmpFile(`${op}-${id}`));
}

/** No fsync: a record that comes back after a crash only makes recover() check a finished operation. */
export function endPending(layout: Layout, op: PendingOp, id: string): void {
  rmSync(layout.pendingFile(op, id), { force: true });
}

export function listPending(layout: Layout): PendingRecord[] {
  const out: PendingRecord[] = [];
  for (const name of readdirSync(layout.pending)) {
    const m = /^(create|delete)-(.+)$/.exec(name);
    if (!m) continue;
    let record: Partial<PendingRecord> = {};
    try {
      record = JSON.parse(readFileSync(join(layout.pending, name), 'utf8')) as PendingRecord;
    } catch {
      // Unreadable: its process is unknown, so it counts as dead.
    }
    out.push({ op: m[1] as PendingOp, id: m[2], pid: Number(record.pid) || 0, startTime: record.startTime });
  }
  return out;
}

/** Whether the process that wrote `r` still runs (this process included). */
export function isLive(r: { pid: number; startTime?: string }): boolean {
  if (r.pid <= 0) return false;
  const now = processStartTime(r.pid);
  return now !== undefined && now === r.startTime;
}

/** The pid a temp file's name carries (`<label>.<pid>.<rand>`, layout.ts). */
export function tmpOwner(name: string): number {
  const m = /\.(\d+)\.[0-9a-f]+$/.exec(name);
  return m ? Number(m[1]) : 0;
}
