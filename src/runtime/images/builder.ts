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
 *
 * A finished tree is shifted once into the containers' ID range (user-namespace.ts): root inside
 * an instance owns it, host root does not.
 *
 * The directory name carries a hash of the recipe (packages, customize script: recipe.ts), so a
 * changed recipe builds a new image rather than reusing a cache built from an older one.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../../lib/process.js';
import { CONTAINER_ID_BASE, shiftImage } from '../instances/user-namespace.js';
import { BASE_PACKAGES, CUSTOMIZE_SCRIPT } from './recipe.js';
import { DB_CUSTOMIZE_SCRIPT, DB_PACKAGES } from './db-recipe.js';

export interface ImageSpec {
  /** Image name, e.g. `debian-12`; its directory under imagesDir is `<name>-<recipe hash>`. */
  name: string;
  suite: string;
  /** Packages on top of the minbase variant. */
  include: string[];
  /** Shell script run inside the new rootfs (chroot) after debootstrap, with network access. */
  customize?: string;
  mirror?: string;
}

/** Debian 12 with sshd, sudo, python3, curl and a local apt repository of web servers (recipe.ts). */
export const DEBIAN_12: ImageSpec = {
  name: 'debian-12',
  suite: 'bookworm',
  include: BASE_PACKAGES,
  customize: CUSTOMIZE_SCRIPT,
};

/** What RDS's DB instances boot: MariaDB and PostgreSQL, configured at each node's first boot (db-recipe.ts). */
export const DB_IMAGE: ImageSpec = {
  name: 'kumo-db-12',
  suite: 'bookworm',
  include: DB_PACKAGES,
  customize: DB_CUSTOMIZE_SCRIPT,
};

const SPECS = new Map([DEBIAN_12, DB_IMAGE].map((s) => [s.name, s]));

export function imageSpecByName(name: string): ImageSpec {
  const spec = SPECS.get(name);
  if (!spec) throw new Error(`no kumo image named ${name}`);
  return spec;
}

export type Progress = (line: string) => void;

/** `<name>-<8 hex of the recipe's hash>`: a new recipe never matches an old build. */
export function imageDirName(spec: ImageSpec): string {
  const recipe = JSON.stringify([spec.suite, spec.include, spec.customize ?? '', spec.mirror ?? '', BUILDER_VERSION, CONTAINER_ID_BASE]);
  return `${spec.name}-${createHash('sha256').update(recipe).digest('hex').slice(0, 8)}`;
}

/** Bumped when this file changes what it does to a rootfs (finishRootfs, the ID shift). */
const BUILDER_VERSION = 3;

export const rootfsOf = (imagesDir: string, spec: ImageSpec) => join(imagesDir, imageDirName(spec), 'rootfs');

/** Returns the image's rootfs, building it first if no complete build exists. */
export async function ensureImage(imagesDir: string, spec: ImageSpec, progress: Progress = () => {}): Promise<string> {
  const dirName = imageDirName(spec);
  const rootfs = rootfsOf(imagesDir, spec);
  if (existsSync(rootfs)) return rootfs;
  // Images are root's: an image's files are the ones every instance boots from.
  mkdirSync(imagesDir, { recursive: true, mode: 0o700 });
  const release = await acquireLock(join(imagesDir, `.lock-${dirName}`), progress);
  try {
    // Another builder may have finished while we waited for the lock.
    if (existsSync(rootfs)) return rootfs;
    removeAbandonedBuilds(imagesDir, dirName);
    const tmp = join(imagesDir, `.build-${dirName}-${process.pid}`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      const started = Date.now();
      progress(`image ${dirName}: debootstrap ${spec.suite} (minbase + ${spec.include.join(',')}); a first build takes a few minutes`);
      await debootstrap(spec, join(tmp, 'rootfs'), progress);
      if (spec.customize) {
        progress(`image ${dirName}: customizing (${((Date.now() - started) / 1000).toFixed(0)} s so far)`);
        await customize(spec, join(tmp, 'rootfs'), progress);
      }
      finishRootfs(join(tmp, 'rootfs'));
      // Owned by the containers' ID range, as every instance's root user will see it (user-namespace.ts).
      await shiftImage(join(tmp, 'rootfs'));
      writeFileSync(join(tmp, 'image.json'), JSON.stringify({ ...spec, builtAt: new Date().toISOString() }, null, 2));
      renameSync(tmp, join(imagesDir, dirName));
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
  // debootstrap prints one `I: Retrieving/Unpacking/Configuring x...` line per package:
  // enough to show life without flooding.
  const shown = (line: string) => (/^I: (Retriev|Validat|Extract|Install|Configur|Base system)/.test(line) ? line.slice(3) : undefined);
  return runLogged('debootstrap', args, `image ${spec.name}`, shown, progress);
}

/**
 * The recipe's script in a chroot of the new tree. The build host's resolv.conf (debootstrap
 * copied it) lets apt download; finishRootfs blanks it afterwards.
 */
function customize(spec: ImageSpec, rootfs: string, progress: Progress): Promise<void> {
  const shown = (line: string) => (/^(customize:|Fetched )/.test(line) ? line : undefined);
  return runLogged('chroot', [rootfs, '/bin/sh', '-c', spec.customize!], `image ${spec.name}`, shown, progress);
}

function runLogged(cmd: string, args: string[], label: string, shown: (line: string) => string | undefined, progress: Progress): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const tail: string[] = [];
    const onLine = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > 20) tail.shift();
        const s = shown(line);
        if (s) progress(`${label}: ${s}`);
      }
    };
    child.stdout.on('data', onLine);
    child.stderr.on('data', onLine);
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited with ${code}:\n${tail.join('\n')}`)),
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
