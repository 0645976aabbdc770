/**
 * Base images for the native instance driver: a Debian root filesystem built once with
 * `debootstrap` into `<imagesDir>/<name>/rootfs` and reused by every later launch (it becomes the
 * read-only lower layer of each instance's overlayfs root).
 *
 * A build happens in `<imagesDir>/.build-<name>-<pid>/` and is renamed into place only when
 * complete, so a half-built image (crash, Ctrl-C, full disk) is never seen as an image: the rename
 * is the commit. A lock file `<imagesDir>/.lock-<name>` (created O_EXCL, holding the builder's
 * pid) keeps two builders from racing; a lock whose pid is dead is stale and taken over, and the
 * dead builder's temp dir is removed. Tests may point `KUMO_TEST_IMAGE_CACHE` at a shared dir
 * (see test/runtime/support.ts) so a machine builds the image once per run, not once per file.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../../state/data-dir.js';

export interface ImageSpec {
  /** Directory name under imagesDir, e.g. `debian-12`. */
  name: string;
  suite: string;
  /** Packages on top of the minbase variant. */
  include: string[];
  mirror?: string;
}

/** systemd to boot, dbus for systemctl, iproute2 for the network, python3 and curl for user data. */
export const DEBIAN_12: ImageSpec = {
  name: 'debian-12',
  suite: 'bookworm',
  include: ['systemd', 'systemd-sysv', 'dbus', 'iproute2', 'ca-certificates', 'python3', 'curl'],
};

const SPECS = new Map([[DEBIAN_12.name, DEBIAN_12]]);

export function imageSpecByName(name: string): ImageSpec {
  const spec = SPECS.get(name);
  if (!spec) throw new Error(`no kumo image named ${name}`);
  return spec;
}

export type Progress = (line: string) => void;

export const rootfsOf = (imagesDir: string, name: string) => join(imagesDir, name, 'rootfs');

/** Returns the image's rootfs, building it first if no complete build exists. */
export async function ensureImage(imagesDir: string, spec: ImageSpec, progress: Progress = () => {}): Promise<string> {
  const rootfs = rootfsOf(imagesDir, spec.name);
  if (existsSync(rootfs)) return rootfs;
  mkdirSync(imagesDir, { recursive: true });
  const release = await acquireLock(join(imagesDir, `.lock-${spec.name}`), progress);
  try {
    // Another builder may have finished while we waited for the lock.
    if (existsSync(rootfs)) return rootfs;
    removeAbandonedBuilds(imagesDir, spec.name);
    const tmp = join(imagesDir, `.build-${spec.name}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      const started = Date.now();
      progress(`image ${spec.name}: debootstrap ${spec.suite} (minbase + ${spec.include.join(',')}); a first build takes a few minutes`);
      await debootstrap(spec, join(tmp, 'rootfs'), progress);
      finishRootfs(join(tmp, 'rootfs'));
      writeFileSync(join(tmp, 'image.json'), JSON.stringify({ ...spec, builtAt: new Date().toISOString() }, null, 2));
      renameSync(tmp, join(imagesDir, spec.name));
      progress(`image ${spec.name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return rootfs;
  } finally {
    release();
  }
}

function debootstrap(spec: ImageSpec, target: string, progress: Progress): Promise<void> {
  const args = ['--variant=minbase', `--include=${spec.include.join(',')}`, spec.suite, target];
  if (spec.mirror) args.push(spec.mirror);
  return new Promise((resolve, reject) => {
    const child = spawn('debootstrap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        // debootstrap prints one `I: Retrieving/Unpacking/Configuring x...` line per package:
        // enough to show life without flooding.
        if (/^I: (Retriev|Validat|Extract|Install|Configur|Base system)/.test(line)) progress(`image ${spec.name}: ${line.slice(3)}`);
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`debootstrap exited with ${code}:\n${tail.join('\n')}`)),
    );
  });
}

/** Makes the tree a template rather than one machine. */
function finishRootfs(rootfs: string): void {
  // An empty machine-id makes each container's systemd derive its own (from nspawn's uuid)
  // instead of every instance sharing the one debootstrap's systemd postinst generated.
  writeFileSync(join(rootfs, 'etc/machine-id'), '');
  // debootstrap copies the build host's /etc/hostname, /etc/hosts and /etc/resolv.conf; an instance must not
  // carry the host's name (the driver writes each instance's own at launch).
  rmSync(join(rootfs, 'etc/hostname'), { force: true });
  // Nor the host's resolvers, which an instance's namespace cannot reach (lookups would hang).
  writeFileSync(join(rootfs, 'etc/resolv.conf'), '');
  writeFileSync(join(rootfs, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n');
  // Downloaded .debs are dead weight in every instance's lower layer.
  const archives = join(rootfs, 'var/cache/apt/archives');
  for (const f of readdirSync(archives)) if (f.endsWith('.deb')) rmSync(join(archives, f));
}

function removeAbandonedBuilds(imagesDir: string, name: string): void {
  for (const entry of readdirSync(imagesDir)) {
    const m = entry.startsWith(`.build-${name}-`) ? /-(\d+)$/.exec(entry) : null;
    if (m && !isAlive(Number(m[1]))) rmSync(join(imagesDir, entry), { recursive: true, force: true });
  }
}

async function acquireLock(path: string, progress: Progress): Promise<() => void> {
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(path, 'utf8').trim() || '0');
    } catch {
      continue; // released between our open and our read
    }
    if (holder > 0 && !isAlive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (!told) progress(`image: waiting for build by pid ${holder} to finish`);
    told = true;
    // A build takes minutes; polling the lock twice a second costs nothing.
    await new Promise((r) => setTimeout(r, 500));
  }
}
