/**
 * Loop devices: a disk file made into a block device (`losetup`), for volumes a filesystem is
 * mounted from or that an instance sees as a disk. Every call is idempotent and finds the device
 * again by its backing file, so a restarted kumo picks up what a crashed one left attached.
 */
import { realpathSync } from 'node:fs';
import { run } from './instances/host.js';

/** The loop devices backed by `file` (normally one), e.g. ['/dev/loop3']. */
export async function loopsOf(file: string): Promise<string[]> {
  const out = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']).catch(() => '');
  const want = canonical(file);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([dev, back]) => dev && back && (back === want || back === `${want} (deleted)`))
    .map(([dev]) => dev!);
}

/** The loop device for `file`, attached if it has none yet. */
export async function attachLoop(file: string): Promise<string> {
  const [existing] = await loopsOf(file);
  if (existing) return existing;
  return (await run('losetup', ['--find', '--show', '--direct-io=off', file])).trim();
}

export async function detachLoops(file: string): Promise<void> {
  for (const dev of await loopsOf(file)) await run('losetup', ['--detach', dev]).catch(() => {});
}

/** After the file grew: the device takes its new size. */
export async function refreshLoop(file: string): Promise<void> {
  for (const dev of await loopsOf(file)) await run('losetup', ['--set-capacity', dev]);
}

/** Every loop device whose backing file lies under `dir`, for leak checks. */
export async function loopsUnder(dir: string): Promise<string[]> {
  const out = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']).catch(() => '');
  const root = canonical(dir);
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter(([dev, back]) => dev && back?.startsWith(`${root}/`))
    .map(([dev, back]) => `${dev} ${back}`);
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
