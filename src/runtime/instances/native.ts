/**
 * The native instance driver: an instance is a systemd-nspawn container booting systemd in an
 * overlayfs root (lower = the image's rootfs, read-only and shared; upper = this instance's root
 * volume) inside its own network namespace `kumo-<id>`.
 *
 *   <dataDir>/instances/<id>/instance.json   the launch spec, so start() works after a restart
 *                            upper/ work/    the root volume (overlay upper and its workdir)
 *                            merged/         the mounted root while the instance runs
 *                            console.log     nspawn's stdout: the container's console
 *
 * start = mount overlay → netns (+ veth) → spawn nspawn. stop = SIGTERM to nspawn, which (with
 * --boot) turns it into SIGRTMIN+3 for the container's systemd, an orderly poweroff; past the
 * deadline the container's init gets SIGKILL (taking its whole pid namespace with it). Then the
 * overlay is unmounted and the namespace deleted, so a stopped instance holds nothing on the
 * host but its directory. The host may have no systemd, hence --register=no --keep-unit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { InstanceDriver, InstanceStatus, LaunchSpec } from './driver.js';
import {
  attachVeth, descendantsOf, detachVeth, ensureNetns, mountOverlay, peerName, pssBytes, removeNetns, rssBytes, unmount,
} from './host.js';
import { provisionInstance } from './provision.js';

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
}

export interface InstancePaths {
  dir: string;
  upper: string;
  work: string;
  merged: string;
  console: string;
  spec: string;
}

export const netnsOf = (id: string) => `kumo-${id}`;

export class NativeDriver implements InstanceDriver {
  readonly kind = 'native' as const;
  private readonly running = new Map<string, Running>();

  constructor(private readonly dataDir: string) {}

  paths(id: string): InstancePaths {
    if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`bad instance id ${JSON.stringify(id)}`);
    const dir = join(this.dataDir, 'instances', id);
    return {
      dir, upper: join(dir, 'upper'), work: join(dir, 'work'), merged: join(dir, 'merged'),
      console: join(dir, 'console.log'), spec: join(dir, 'instance.json'),
    };
  }

  async launch(spec: LaunchSpec): Promise<void> {
    const p = this.paths(spec.id);
    if (existsSync(p.dir)) throw new Error(`instance ${spec.id} already exists`);
    for (const d of [p.upper, p.work, p.merged]) mkdirSync(d, { recursive: true });
    const { userData, ...stored } = spec;
    writeFileSync(p.spec, JSON.stringify(stored, null, 2));
    await mountOverlay(spec.imageRootfs, p.upper, p.work, p.merged);
    try {
      await provisionInstance(p.merged, {
        hostname: spec.hostname ?? spec.id, nameservers: spec.nameservers ?? [],
        defaultUser: spec.defaultUser ?? 'admin', publicKeys: spec.publicKeys ?? [],
        userData: userData === undefined ? undefined : Buffer.from(userData),
      });
    } catch (err) {
      await unmount(p.merged);
      throw err;
    }
    await this.start(spec.id);
  }

  async start(id: string): Promise<void> {
    if (this.running.has(id)) return;
    const p = this.paths(id);
    const spec = JSON.parse(readFileSync(p.spec, 'utf8')) as Omit<LaunchSpec, 'userData'>;
    const ns = netnsOf(id);
    try {
      await mountOverlay(spec.imageRootfs, p.upper, p.work, p.merged);
      await ensureNetns(ns);
      if (spec.network) {
        const { routerNs, address, gateway } = spec.network;
        await attachVeth(ns, peerName(id), routerNs, address, gateway);
      }
      this.spawnContainer(id, spec, p);
    } catch (err) {
      await this.release(id, spec);
      throw err;
    }
  }

  private spawnContainer(id: string, spec: Omit<LaunchSpec, 'userData'>, p: InstancePaths): void {
    const consoleFd = openSync(p.console, 'a');
    try {
      const args = [
        '--register=no', '--keep-unit', '--boot', '--quiet',
        `--directory=${p.merged}`, `--machine=${id}`, `--hostname=${spec.hostname ?? id}`,
        `--network-namespace-path=/run/netns/${netnsOf(id)}`,
        // read-only: the console goes to our stdout (the log file) and nobody can type into it.
        '--console=read-only',
        // The instance's own resolv.conf (provisionInstance), not the host's: the host's servers are
        // unreachable from its namespace and every lookup would wait for a timeout.
        '--resolv-conf=off',
      ];
      // detached: its own process group, so a Ctrl-C aimed at kumo does not hard-kill instances;
      // kumo stops them itself, cleanly.
      // Its own cgroup first: without systemd on the host every nspawn would share one, and the
      // containers' systemds, each managing that same tree, break each other's units
      // (status=219/CGROUP seen with 20 instances at once).
      const cg = `for h in systemd unified; do d=/sys/fs/cgroup/$h/kumo/${id}; [ -d /sys/fs/cgroup/$h ] || continue; mkdir -p $d && echo $$ > $d/cgroup.procs; done; exec systemd-nspawn "$@"`;
      const child = spawn('/bin/sh', ['-c', cg, 'sh', ...args], { stdio: ['ignore', consoleFd, consoleFd], detached: true });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.once('exit', () => {
        if (this.running.get(id)?.child === child) this.running.delete(id);
      });
      child.unref();
      this.running.set(id, { child, exited });
    } finally {
      closeSync(consoleFd);
    }
  }

  async stop(id: string, deadlineMs = 30_000): Promise<void> {
    const r = this.running.get(id);
    if (r && r.child.exitCode === null && r.child.signalCode === null) {
      // The child is unref'd while it runs; while we wait for it, it must keep node alive.
      r.child.ref();
      r.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        r.exited.then(() => false),
        new Promise<boolean>((res) => (timer = setTimeout(() => res(true), deadlineMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        // Killing a pid namespace's init kills every process in it, but asynchronously: wait
        // until they are gone, or the next start would mount a second overlay on an upper dir
        // that the dying container's mount namespace still holds.
        const pids = r.child.pid ? descendantsOf(r.child.pid) : [];
        if (pids[0]) tryKill(pids[0]);
        r.child.kill('SIGKILL');
        await r.exited;
        await waitGone(pids, 10_000);
      }
    }
    this.running.delete(id);
    const p = this.paths(id);
    if (existsSync(p.spec)) await this.release(id, JSON.parse(readFileSync(p.spec, 'utf8')) as LaunchSpec);
  }

  /** Undoes start's host side: veth, namespace, mount. */
  private async release(id: string, spec: Pick<LaunchSpec, 'network'>): Promise<void> {
    if (spec.network) await detachVeth(peerName(id), spec.network.routerNs);
    await removeNetns(netnsOf(id));
    await unmount(this.paths(id).merged);
    // nspawn removes its mount-propagation dir on a clean exit, not when it is SIGKILLed.
    rmSync(join('/run/systemd/nspawn/propagate', id), { recursive: true, force: true });
    // A cgroup stays busy until the kernel has reaped its last process, a moment after nspawn exits.
    const end = Date.now() + 5_000;
    for (const h of CGROUP_HIERARCHIES) {
      for (;;) {
        try {
          removeCgroupTree(`/sys/fs/cgroup/${h}/kumo/${id}`);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EBUSY' || Date.now() > end) throw err;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  }

  async terminate(id: string, deadlineMs?: number): Promise<void> {
    await this.stop(id, deadlineMs);
    rmSync(this.paths(id).dir, { recursive: true, force: true });
  }

  status(id: string): InstanceStatus {
    if (this.running.has(id)) return 'running';
    return existsSync(this.paths(id).spec) ? 'stopped' : 'terminated';
  }

  consoleOutput(id: string): string {
    try {
      return readFileSync(this.paths(id).console, 'utf8');
    } catch {
      return '';
    }
  }

  /** Pids inside the container (its init and everything under it), for status checks and memory figures. */
  containerPids(id: string): number[] {
    const pid = this.running.get(id)?.child.pid;
    return pid ? descendantsOf(pid) : [];
  }

  /**
   * Memory of the instance: its processes plus the nspawn that supervises them. RSS counts the
   * shared libraries in full for every instance; PSS shares them out, so summing PSS over many
   * instances gives what they really cost together.
   */
  rss(id: string): { container: number; nspawn: number; pss: number } {
    const pid = this.running.get(id)?.child.pid;
    const all = pid ? [pid, ...this.containerPids(id)] : [];
    return {
      container: this.containerPids(id).reduce((sum, p) => sum + rssBytes(p), 0),
      nspawn: pid ? rssBytes(pid) : 0,
      pss: all.reduce((sum, p) => sum + pssBytes(p), 0),
    };
  }
}

async function waitGone(pids: number[], deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  const alive = (pid: number) => {
    try {
      return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  while (pids.some(alive)) {
    if (Date.now() > end) throw new Error(`processes ${pids.filter(alive).join(' ')} survived SIGKILL`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const CGROUP_HIERARCHIES = ['systemd', 'unified'];

/** A cgroup is removed with rmdir, children first (its files cannot be deleted). */
function removeCgroupTree(dir: string): void {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // never created, or gone
  }
  for (const e of entries) if (e.isDirectory()) removeCgroupTree(join(dir, e.name));
  rmdirSync(dir);
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
