/**
 * One kumo per data directory. The lock is `<data-dir>/kumo.pid`, created exclusively (O_EXCL), so
 * of two kumos starting at once exactly one wins; it records who holds it and, once listening,
 * where. A pid file left by a crash (kill -9, power loss) is stale and taken over: its process is
 * gone, or its pid now belongs to another process, which the process start time recorded next to
 * the pid reveals (Linux /proc; elsewhere a live pid is trusted). `kumo stop` relies on the same
 * check so that it never signals a stranger that inherited a dead kumo's pid. A kumo whose pid
 * file was deleted under it is still found, by the state.db it holds open (findKumoByDataDir):
 * `kumo stop` stops it and no second kumo starts on its data dir.
 */
import { chmodSync, mkdirSync, readFileSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { isAlive, processStartTime as processStart } from '../lib/process.js';

export interface PidFile {
  pid: number;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), where known. */
  procStart?: string;
  host: string;
  /** 0 while starting; the listening port once ready. */
  port: number;
  startedAt: string;
  version: string;
}

export const pidFilePath = (dataDir: string) => join(dataDir, 'kumo.pid');

/** Data dirs this process holds: its own pid in a pid file is not proof (pids repeat across container restarts). */
const heldHere = new Set<string>();

export function readPidFile(dataDir: string): PidFile | undefined {
  try {
    const p = JSON.parse(readFileSync(pidFilePath(dataDir), 'utf8')) as PidFile;
    return Number.isInteger(p.pid) && p.pid > 0 ? p : undefined;
  } catch {
    return undefined;
  }
}

export { processStartTime as processStart } from '../lib/process.js';

/** Is the kumo this pid file describes still running (and not merely its pid reused)? */
export function isRunning(dataDir: string, p: PidFile): boolean {
  if (p.pid === process.pid) return heldHere.has(dataDir);
  if (!isAlive(p.pid)) return false;
  if (p.procStart === undefined) return true;
  const now = processStart(p.pid);
  return now === undefined || now === p.procStart;
}

/** The running kumo that holds this data dir, if any. */
export function runningKumo(dataDir: string): PidFile | undefined {
  const p = readPidFile(dataDir);
  return p && isRunning(dataDir, p) ? p : undefined;
}

/** Does this command line run `kumo start` (bin/kumo.js, an installed `kumo`, or the CLI module itself)? */
export function isKumoStart(args: string[]): boolean {
  const entry = args.findIndex((a) => /(^|\/)kumo(\.js)?$|(^|\/)cli\/main\.[jt]s$/.test(a));
  return entry >= 0 && args.slice(entry + 1).includes('start');
}

/**
 * The kumo that runs on this data dir, found without its pid file (deleted by hand or by a cleaner
 * of temporary files): another process, running `kumo start`, that has `<data-dir>/state.db`
 * open, which every running kumo does. Linux only (/proc); processes kumo's user may not inspect
 * are not seen. The record has no host or port: those were in the pid file.
 */
export function findKumoByDataDir(dataDir: string): PidFile | undefined {
  let db: string;
  let pids: string[];
  try {
    db = join(realpathSync(dataDir), 'state.db');
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      const holds = readdirSync(`/proc/${pid}/fd`).some((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`) === db;
        } catch {
          return false;
        }
      });
      if (!holds || !isKumoStart(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'))) continue;
      const procStart = processStart(Number(pid));
      if (procStart === undefined) continue;
      return { pid: Number(pid), procStart, host: '', port: 0, startedAt: '', version: '' };
    } catch {
      // gone meanwhile, or not ours to look at
    }
  }
  return undefined;
}

const REASONS: Record<string, string> = {
  ENOTDIR: 'a part of the path is a file, not a directory',
  EEXIST: 'it exists and is not a directory',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
};

/**
 * Creates the directory if needed and checks that kumo can work in it. It is made private to
 * kumo's user (0700): it holds secrets (state.db has user data and key material, console logs
 * what instances print) and the instances' root volumes, which no other host user may reach.
 */
export function prepareDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = statSync(dir);
    if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'EEXIST' });
    if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(dir, 0o700);
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    throw new Error(`cannot use data directory ${dir}: ${REASONS[code] ?? (e as Error).message}${code ? ` (${code})` : ''}`);
  }
}

export interface DataDirLock {
  /** Records where the holder listens, for `kumo status`, `stop` and `reset`. */
  ready(host: string, port: number): void;
  release(): void;
}

function inUse(dir: string, p: PidFile): Error {
  const where = p.port ? `port ${p.port}` : 'still starting';
  return new Error(`data directory ${dir} is in use by kumo (pid ${p.pid}, ${where}); stop it first with 'kumo stop --data-dir ${dir}'`);
}

export function lockDataDir(dir: string, version: string, host = '', port = 0): DataDirLock {
  const file = pidFilePath(dir);
  const record: PidFile = { pid: process.pid, procStart: processStart(process.pid), host, port, startedAt: new Date().toISOString(), version };
  if (heldHere.has(dir)) throw inUse(dir, readPidFile(dir) ?? record);
  // A kumo whose pid file was deleted still has the data dir: a second one must not open it too.
  const recorded = readPidFile(dir);
  const unrecorded = recorded && isRunning(dir, recorded) ? undefined : findKumoByDataDir(dir);
  if (unrecorded) {
    throw new Error(`data directory ${dir} is in use by kumo (pid ${unrecorded.pid}), whose pid file is gone; stop it first with 'kumo stop --data-dir ${dir}'`);
  }
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(record), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 5) throw e;
    }
    const holder = readPidFile(dir);
    if (holder && isRunning(dir, holder)) throw inUse(dir, holder);
    // An unreadable file younger than a second is another kumo between creating and writing it.
    const st = statSync(file, { throwIfNoEntry: false });
    if (!holder && st && Date.now() - st.mtimeMs < 1000) {
      throw new Error(`data directory ${dir} is being locked by another kumo that is starting`);
    }
    rmSync(file, { force: true });
  }
  heldHere.add(dir);
  let held = true;
  return {
    ready(h: string, p: number) {
      record.host = h;
      record.port = p;
      // Replace atomically, so that readers never see a half-written file.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(record));
      renameSync(tmp, file);
    },
    release() {
      if (!held) return;
      held = false;
      heldHere.delete(dir);
      if (readPidFile(dir)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}
