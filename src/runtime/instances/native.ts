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
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { ExitKind, InstanceDriver, InstanceStatus, LaunchSpec } from './driver.js';
import { descendantsOf, ensureNetns, instanceIds, mountOverlay, pssBytes, removeNetns, rssBytes, run, unmount } from './host.js';
import { provisionInstance } from './provision.js';

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  /** The namespace it runs in, and whether the driver made it (and so removes it). */
  netns: string;
  ownNetns: boolean;
  /** Set by stop(): the exit that follows was asked for. */
  stopping?: boolean;
}

export interface NativeDriverOptions {
  /** A container ended without stop() (its OS powered off or rebooted, or it died). */
  onExit?: (id: string, kind: ExitKind) => void;
}

// systemd-nspawn's exit status when the container's OS asked for a reboot.
const NSPAWN_REBOOT = 133;

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

  constructor(
    private readonly dataDir: string,
    private readonly options: NativeDriverOptions = {},
  ) {}

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
    const { userData, netns, ...stored } = spec;
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
    await this.start(spec.id, { netns });
  }

  async start(id: string, opts: { netns?: string } = {}): Promise<void> {
    if (this.running.has(id)) return;
    const p = this.paths(id);
    const spec = JSON.parse(readFileSync(p.spec, 'utf8')) as Omit<LaunchSpec, 'userData'>;
    const ownNetns = !opts.netns;
    const ns = opts.netns ?? netnsOf(id);
    try {
      await mountOverlay(spec.imageRootfs, p.upper, p.work, p.merged);
      if (ownNetns) await ensureNetns(ns);
      this.spawnContainer(id, spec, p, ns, ownNetns);
    } catch (err) {
      await this.release(id, ownNetns);
      throw err;
    }
  }

  private spawnContainer(id: string, spec: Omit<LaunchSpec, 'userData'>, p: InstancePaths, ns: string, ownNetns: boolean): void {
    const consoleFd = openSync(p.console, 'a');
    try {
      const args = [
        '--register=no', '--keep-unit', '--boot', '--quiet',
        `--directory=${p.merged}`, `--machine=${id}`, `--hostname=${spec.hostname ?? id}`,
        `--network-namespace-path=/run/netns/${ns}`,
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
      const entry: Running = { child, exited, netns: ns, ownNetns };
      child.once('exit', (code, signal) => {
        if (this.running.get(id)?.child === child) this.running.delete(id);
        if (entry.stopping) return;
        // Nobody asked: the OS inside powered off or rebooted, or the container died.
        const kind: ExitKind = code === 0 ? 'poweroff' : code === NSPAWN_REBOOT ? 'reboot' : 'crash';
        void this.release(id, ownNetns)
          .catch(() => {})
          .then(() => this.options.onExit?.(id, signal ? 'crash' : kind));
      });
      child.unref();
      this.running.set(id, entry);
    } finally {
      closeSync(consoleFd);
    }
  }

  async stop(id: string, deadlineMs = 30_000): Promise<void> {
    const r = this.running.get(id);
    if (r) r.stopping = true;
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
    if (existsSync(this.paths(id).spec)) await this.release(id, r?.ownNetns ?? true);
  }

  /** Undoes start's host side: its own namespace (if it made one), the mount, the cgroups. */
  private async release(id: string, ownNetns: boolean): Promise<void> {
    if (ownNetns) await removeNetns(netnsOf(id));
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

  list(): string[] {
    return instanceIds(this.dataDir, (id) => this.paths(id).spec);
  }

  /**
   * Asks the container's systemd how the boot went (`systemctl is-system-running` inside it): a
   * hung or stopped init does not answer in time and is impaired, as an unreachable EC2
   * instance fails its reachability check.
   */
  async health(id: string): Promise<'ok' | 'impaired' | 'initializing'> {
    const init = this.containerPids(id)[0];
    if (!init) return 'impaired';
    try {
      if (/^\d+ \(.*\) [TtZX]/.test(readFileSync(`/proc/${init}/stat`, 'utf8'))) return 'impaired';
    } catch {
      return 'impaired';
    }
    const state = await new Promise<string>((resolve) => {
      execFile('nsenter', ['-t', String(init), '-m', '-p', 'systemctl', 'is-system-running'], { timeout: 3_000, encoding: 'utf8' }, (err, stdout) => {
        resolve(err && (err as { killed?: boolean }).killed ? 'timeout' : stdout.trim());
      });
    });
    if (state === 'running' || state === 'degraded') return 'ok';
    if (state === 'initializing' || state === 'starting') return 'initializing';
    return 'impaired';
  }

  /** A root volume that outlives its instance (DeleteOnTermination=false) moves to <dataDir>/volumes/<vol-id>/. */
  async keepRootVolume(id: string, volumeId: string): Promise<void> {
    const p = this.paths(id);
    if (!existsSync(p.upper)) return;
    const dest = join(this.dataDir, 'volumes', volumeId);
    mkdirSync(dest, { recursive: true });
    const spec = JSON.parse(readFileSync(p.spec, 'utf8')) as LaunchSpec;
    renameSync(p.upper, join(dest, 'upper'));
    writeFileSync(join(dest, 'volume.json'), JSON.stringify({ volumeId, imageRootfs: spec.imageRootfs, from: id }, null, 2));
  }

  /**
   * After a crash of kumo, its containers may still run (they are detached) and their mounts
   * remain. They are killed through their cgroups and their mounts and namespaces removed, so
   * the supervisor can boot them again from a clean slate.
   */
  async reclaimLeftovers(): Promise<void> {
    for (const id of this.list()) {
      if (this.running.has(id)) continue;
      const pids = CGROUP_HIERARCHIES.flatMap((h) => cgroupPids(`/sys/fs/cgroup/${h}/kumo/${id}`));
      for (const pid of pids) tryKill(pid);
      await waitGone(pids, 10_000);
      await this.release(id, true);
    }
  }

  /** The `kumo` parent cgroups, once no instance (of any kumo on this host) is left in them. */
  async close(): Promise<void> {
    for (const h of CGROUP_HIERARCHIES) {
      try {
        rmdirSync(`/sys/fs/cgroup/${h}/kumo`);
      } catch {
        // absent, or another kumo's instances still run there
      }
    }
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

/** Every process in a cgroup and its children. */
function cgroupPids(dir: string): number[] {
  let out: number[] = [];
  try {
    out = readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) out.push(...cgroupPids(join(dir, e.name)));
  } catch {
    // no such cgroup
  }
  return out;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
