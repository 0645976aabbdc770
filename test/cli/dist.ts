/**
 * Tests that run `bin/kumo.js` need dist/ compiled from the current sources. ensureDist() builds it
 * when it is missing or older than any source file. Test files run in parallel, so the build holds
 * a lock directory; a file that finds the lock taken waits for the other build instead of racing it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, waitFor } from '../helpers/kumo.js';

const run = promisify(execFile);
const ENTRY = join(ROOT, 'dist', 'cli', 'main.js');
const LOCK = join(ROOT, '.kumo-test', 'build.lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    newest = Math.max(newest, s.isDirectory() ? newestSource(p) : name.endsWith('.ts') ? s.mtimeMs : 0);
  }
  return newest;
}

function fresh(): boolean {
  try {
    return statSync(ENTRY).mtimeMs >= newestSource(join(ROOT, 'src'));
  } catch {
    return false;
  }
}

function lockHolderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
  } catch {
    // Just taken, pid not written yet; or left by a holder that died at once.
    try {
      return Date.now() - statSync(LOCK).mtimeMs < 5_000;
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function ensureDist(): Promise<void> {
  if (fresh()) return;
  mkdirSync(join(ROOT, '.kumo-test'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // Another test file is building: wait for it, then take its result if it is fresh.
      await waitFor('the other build of dist/', () => !lockHolderAlive(), 180_000);
      if (fresh()) return;
      rmSync(LOCK, { recursive: true, force: true });
    }
  }
  try {
    writeFileSync(join(LOCK, 'pid'), String(process.pid));
    if (fresh()) return;
    try {
      await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT });
    } catch (e) {
      // Others may be mid-edit elsewhere in src/; an existing dist/ still serves these tests.
      const out = (e as { stdout?: string }).stdout ?? String(e);
      try {
        statSync(ENTRY);
        process.stderr.write(`warning: building dist/ failed, testing the existing build:\n${out}\n`);
      } catch {
        throw new Error(`building dist/ failed:\n${out}`);
      }
    }
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
