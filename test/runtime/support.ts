/**
 * Shared by the native runtime tests: whether this host can run them (root, Linux, nspawn,
 * debootstrap, ip), where the cached test image lives, and the leak checks every file ends with.
 *
 * The base image takes about a minute to build, so the tests share one build per machine in
 * KUMO_TEST_IMAGE_CACHE (default /var/tmp/kumo-test-images); delete that dir to force a rebuild.
 * With KUMO_REQUIRE_NATIVE=1 (set by CI) a host that cannot run them fails instead of skipping.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { which } from '../../src/runtime/detect.js';
import { cgroupLeftovers } from '../../src/runtime/instances/cgroups.js';
import { loopsOf } from '../../src/runtime/loop.js';

export const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';

/** A reason to skip, or undefined when the host can run native tests. Throws when CI requires them. */
export function nativeSkipReason(): string | undefined {
  let reason: string | undefined;
  if (process.platform !== 'linux') reason = `platform is ${process.platform}`;
  else if (process.getuid?.() !== 0) reason = 'not running as root';
  else {
    const missing = ['systemd-nspawn', 'debootstrap', 'ip', 'mount'].filter((c) => !which(c));
    if (missing.length) reason = `missing ${missing.join(', ')} (apt-get install systemd-container debootstrap iproute2)`;
  }
  if (reason && process.env.KUMO_REQUIRE_NATIVE === '1') {
    throw new Error(`KUMO_REQUIRE_NATIVE=1 but native runtime tests cannot run: ${reason}`);
  }
  if (reason) console.log(`# skipping native runtime tests: ${reason}`);
  return reason;
}

/**
 * Like nativeSkipReason, for tests of the VPC fabric alone (network namespaces standing in for
 * instances, no nspawn): root, Linux and `tools`.
 */
export function fabricSkipReason(tools: string[]): string | undefined {
  let reason: string | undefined;
  if (process.platform !== 'linux') reason = `platform is ${process.platform}`;
  else if (process.getuid?.() !== 0) reason = 'not running as root';
  else {
    const missing = tools.filter((c) => !which(c));
    if (missing.length) reason = `missing ${missing.join(', ')} (apt-get install iproute2 nftables curl python3)`;
  }
  if (reason && process.env.KUMO_REQUIRE_NATIVE === '1') throw new Error(`KUMO_REQUIRE_NATIVE=1 but fabric tests cannot run: ${reason}`);
  if (reason) console.log(`# skipping fabric tests: ${reason}`);
  return reason;
}

/** A reason to skip load-balancer tests (no HAProxy), or undefined; throws when CI requires native tests. */
export function haproxySkipReason(): string | undefined {
  if (which('haproxy')) return undefined;
  const reason = 'haproxy is not installed (apt-get install haproxy)';
  if (process.env.KUMO_REQUIRE_NATIVE === '1') throw new Error(`KUMO_REQUIRE_NATIVE=1 but load balancer tests cannot run: ${reason}`);
  console.log(`# skipping load balancer tests: ${reason}`);
  return reason;
}

/** Polls a condition until it holds or the deadline passes (boots are event-driven elsewhere; here we only observe). */
export async function waitFor<T>(what: string, deadlineMs: number, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** What of ours is still on the host: nspawn processes, overlay mounts and namespaces whose names contain `marker`. */
export function leftovers(marker: string): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.startsWith('systemd-nspawn') && cmd.includes(marker)) out.push(`process ${pid}: ${cmd}`);
    } catch {
      // exited while we looked
    }
  }
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (line.includes(marker)) out.push(`mount: ${line.split(' ')[4]}`);
  }
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    // no namespaces at all
  }
  for (const ns of names) if (ns.includes(marker)) out.push(`netns: ${ns}`);
  out.push(...cgroupLeftovers(marker));
  // nspawn's per-machine mount propagation dir, which it removes when it exits cleanly.
  try {
    for (const d of readdirSync('/run/systemd/nspawn/propagate')) if (d.includes(marker)) out.push(`nspawn dir: ${d}`);
  } catch {
    // nspawn never ran
  }
  return out;
}

/**
 * A file in a root volume's filesystem (its overlay upper layer) while no instance has it
 * mounted: the disk is mounted read-only for the read, as one would inspect a detached disk.
 */
export async function readFromRootVolume(disk: string, path: string): Promise<string> {
  return (await bytesFromRootVolume(disk, path)).toString('utf8');
}

export async function bytesFromRootVolume(disk: string, path: string): Promise<Buffer> {
  const dir = mkdtempSync('/tmp/kumo-volume-read-');
  const run = (cmd: string, args: string[]) => new Promise<string>((resolve, reject) =>
    execFile(cmd, args, (err, out, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(out))));
  try {
    await run('mount', ['-o', 'ro,loop,noload', disk, dir]);
    try {
      return readFileSync(join(dir, 'upper', path));
    } finally {
      await run('umount', ['-d', dir]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What still holds a volume's disk file on the host: its loop devices, and every process with one
 * of them mounted in its mount namespace (a copy of the host's mounts taken while the volume was
 * mounted keeps its filesystem alive, unflushed, after the host let it go).
 */
export async function diskHolders(disk: string): Promise<string[]> {
  const loops = await loopsOf(disk);
  const out = loops.map((l) => `loop device ${l}`);
  if (!loops.length) return out;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const mounts = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
      if (loops.some((l) => mounts.includes(` ${l} `))) out.push(`process ${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`);
    } catch {
      // exited while we looked
    }
  }
  return out;
}
