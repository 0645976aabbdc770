/**
 * Loop devices: a disk file made into a block device (`losetup`), for volumes a filesystem is
 * mounted from or that an instance sees as a disk. Every call is idempotent and finds the device
 * again by its backing file, so a restarted kumo picks up what a crashed one left attached.
 * Which file backs which device is read from sysfs (where `losetup --list` reads it too), not by
 * running losetup: a process spawned from kumo costs milliseconds of its event loop.
 */
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { run } from './instances/host.js';

/** Every attached loop device and its backing file, e.g. ['/dev/loop3', '/var/…/disk']. */
function attached(): [string, string][] {
  let names: string[];
  try {
    names = readdirSync('/sys/block');
  } catch {
    return [];
  }
  const out: [string, string][] = [];
  for (const name of names) {
    if (!/^loop\d+$/.test(name)) continue;
    try {
      out.push([`/dev/${name}`, readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim()]);
    } catch {
      // not attached
    }
  }
  return out;
}

/** The loop devices backed by `file` (normally one), e.g. ['/dev/loop3']. */
export async function loopsOf(file: string): Promise<string[]> {
  const want = canonical(file);
  return attached()
    .filter(([, back]) => back === want || back === `${want} (deleted)`)
    .map(([dev]) => dev);
}

/**
 * `losetup --find` takes the first free device; two at once may take the same one, and the loser
 * sleeps before it tries again (a fifth of a second, for 3 of 20 root volumes made together). So
 * the finding and taking is done under a lock on /dev/loop-control, shared by every kumo on the
 * host and held for milliseconds.
 */
const FIND_AND_TAKE = ['flock', '/dev/loop-control', 'losetup', '--find', '--show', '--direct-io=off'];

/** The loop device for `file`, attached if it has none yet. */
export async function attachLoop(file: string): Promise<string> {
  const [existing] = await loopsOf(file);
  if (existing) return existing;
  const [cmd, ...args] = FIND_AND_TAKE;
  return (await run(cmd!, [...args, file])).trim();
}

/**
 * Mounts `file`'s filesystem at `target` through its loop device (attached if it has none): one
 * process either way. A mount that fails detaches the device it attached. Returns the device.
 */
export async function mountLoop(file: string, target: string, type: string, options: string): Promise<string> {
  const [dev] = await loopsOf(file);
  if (dev) {
    await run('mount', ['-t', type, '-o', options, dev, target]);
    return dev;
  }
  const script = `dev=$(${FIND_AND_TAKE.join(' ')} "$1"); mount -t "$2" -o "$3" "$dev" "$4" || { losetup --detach "$dev"; exit 1; }; echo "$dev"`;
  return (await run('sh', ['-ec', script, 'mount-loop', file, type, options, target])).trim();
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
  const root = canonical(dir);
  return attached()
    .filter(([, back]) => back.startsWith(`${root}/`))
    .map(([dev, back]) => `${dev} ${back}`);
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
