/**
 * The native instance driver: an instance is a systemd-nspawn container booting systemd in an
 * overlayfs root (lower = the image's rootfs, read-only and shared; upper = this instance's root
 * volume) inside its network namespace, its own user namespace (user-namespace.ts: root inside is
 * an unprivileged ID on the host) and its own cgroups (cgroups.ts: the instance type's memory and
 * vCPUs).
 *
 * The driver serves one owner (EC2's instances; load balancer and database nodes next), which
 * gives it its directory, the prefix of the host names it makes, and where to report exits:
 *
 *   <root>/<id>/instance.json   the launch spec, so start() works after a restart
 *               merged/         the mounted root while the container runs
 *               incoming/       shared with it: devices and filesystems kumo hands in (devices.ts)
 *               block/          its /sys/block: the devices it lists, its root volume from the start
 *               console.log     the container's console
 *               launcher.pid    the running container (container-process.ts)
 *               runtime.json    the namespace it runs in, and whether it is ours
 *   <volume>/upper/ work/       the root volume (overlay upper and its workdir): a path the owner
 *                               gives (runtime/volumes.ts), or <root>/<id>/ when it gives none
 *
 * kumo's data dir is private to root (0700), so no other host user reaches a root volume; inside
 * one, files belong to the container's ID range, so even a setuid file gives no host privilege.
 *
 * launch = mount overlay → provision the root (provision.ts) → the owner's `beforeStart` → start.
 * start = mount overlay → incoming, block list → netns → cgroups → launcher (nspawn). stop = SIGRTMIN+3 to the
 * container's systemd (as nspawn sends on SIGTERM), an orderly halt, repeated until it takes; past
 * the deadline the container's init gets SIGKILL (taking its whole pid namespace with it). Then
 * the overlay is unmounted, the namespace deleted (if the driver made it) and the cgroups removed,
 * so a stopped instance holds nothing on the host but its directory. The host may have no
 * systemd, hence --register=no --keep-unit.
 *
 * A container outlives a kumo that crashes: the next kumo's adopt() takes it over as it runs.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupPids, prepareCgroups, removeCgroups, removeParents } from './cgroups.js';
import { ContainerProcess, tryKill, type ContainerExit } from './container-process.js';
import { exposeDevice, hideDevice, INCOMING_INSIDE, mountFilesystem, prepareBlockList, prepareIncoming, releaseIncoming } from './devices.js';
import type { ExitKind, InstanceDriver, InstanceStatus, LaunchSpec, StartOptions } from './driver.js';
import { commOf, descendantsOf, ensureNetns, instanceIds, mountOverlay, pssBytes, removeNetns, rssBytes, unmount } from './host.js';
import { provisionInstance } from './provision.js';
import { ownRootVolume, PRIVATE_USERS_ARGS, shiftWritten } from './user-namespace.js';

interface Running {
  container: ContainerProcess;
  /** The namespace it runs in, and whether the driver made it (and so removes it). */
  netns: string;
  ownNetns: boolean;
  /** Set by stop(): the exit that follows was asked for. */
  stopping?: boolean;
}

/** What instance.json holds: the launch spec without user data, and how its root is owned. */
type StoredSpec = Omit<LaunchSpec, 'userData' | 'netns'> & {
  /** The root volume's directory (upper/, work/). */
  volume: string;
  /** Root volumes made before instances had user namespaces are owned by host IDs and boot without one. */
  userNamespace?: boolean;
};

export interface NativeDriverOptions {
  /** The owner's directory: one subdirectory per container. */
  root: string;
  /** Starts the names of host objects made per container (its own namespace, its cgroups): one per owner. */
  prefix: string;
  /** A container ended without stop() (its OS powered off or rebooted, or it died). */
  onExit?: (id: string, kind: ExitKind) => void;
}

export interface InstancePaths {
  dir: string;
  merged: string;
  /** Shared with the container at /run/kumo/incoming: how devices and filesystems reach it (devices.ts). */
  incoming: string;
  /** Bound at the container's /sys/block: the devices it lists (devices.ts). */
  block: string;
  console: string;
  spec: string;
  runtime: string;
}

/** A halt asked of a container still booting may be lost (container-process.ts): ask again this often. */
const HALT_REPEAT_MS = 250;
/** How long a just-started container may take to exec its systemd. */
const INIT_DEADLINE_MS = 30_000;

export class NativeDriver implements InstanceDriver {
  readonly kind = 'native' as const;
  private readonly running = new Map<string, Running>();

  constructor(private readonly options: NativeDriverOptions) {}

  paths(id: string): InstancePaths {
    if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`bad instance id ${JSON.stringify(id)}`);
    const dir = join(this.options.root, id);
    return { dir, merged: join(dir, 'merged'), incoming: join(dir, 'incoming'), block: join(dir, 'block'), console: join(dir, 'console.log'), spec: join(dir, 'instance.json'), runtime: join(dir, 'runtime.json') };
  }

  /** The namespace the driver makes for a container that is given none. */
  netnsOf(id: string): string {
    return `${this.options.prefix}${id}`;
  }

  private cgroupOf(id: string): string {
    return `${this.options.prefix}${id}`;
  }

  async launch(spec: LaunchSpec, beforeStart?: () => Promise<void>): Promise<void> {
    const p = this.paths(spec.id);
    if (existsSync(p.dir)) throw new Error(`instance ${spec.id} already exists`);
    mkdirSync(this.options.root, { recursive: true, mode: 0o700 });
    mkdirSync(p.dir, { mode: 0o700 });
    mkdirSync(p.merged);
    const volume = spec.volume ?? p.dir;
    for (const d of ['upper', 'work']) mkdirSync(join(volume, d), { recursive: true });
    if (!spec.volume) ownRootVolume(join(volume, 'upper'));
    const { userData, netns, blockDevices, hostToken: _secret, ...rest } = spec;
    const stored: StoredSpec = { ...rest, volume, userNamespace: true };
    writeFileSync(p.spec, JSON.stringify(stored, null, 2), { mode: 0o600 });
    await this.mount(stored, p);
    try {
      await provisionInstance(p.merged, {
        hostname: spec.hostname ?? spec.id, nameservers: spec.nameservers ?? [],
        defaultUser: spec.defaultUser ?? 'admin', publicKeys: spec.publicKeys ?? [],
        userData: userData === undefined ? undefined : Buffer.from(userData), hostToken: spec.hostToken,
        trustedCertificates: spec.trustedCertificates, layers: { upper: join(volume, 'upper'), imageRootfs: spec.imageRootfs },
      });
      shiftWritten(join(volume, 'upper'), p.merged);
      await beforeStart?.();
    } catch (err) {
      await unmount(p.merged);
      throw err;
    }
    await this.start(spec.id, { netns, blockDevices });
  }

  async start(id: string, opts: StartOptions = {}): Promise<void> {
    if (this.running.has(id)) return;
    const p = this.paths(id);
    let spec = this.storedSpec(id);
    if (opts.resources && JSON.stringify(opts.resources) !== JSON.stringify(spec.resources)) {
      // The instance type may change while stopped; the next boot gets the new type's limits.
      spec = { ...spec, resources: opts.resources };
      writeFileSync(p.spec, JSON.stringify(spec, null, 2), { mode: 0o600 });
    }
    const ownNetns = !opts.netns;
    const ns = opts.netns ?? this.netnsOf(id);
    try {
      await this.mount(spec, p);
      if (spec.userNamespace) await prepareIncoming(p.incoming);
      prepareBlockList(p.block, opts.blockDevices ?? []);
      if (ownNetns) await ensureNetns(ns);
      writeFileSync(p.runtime, JSON.stringify({ netns: ns, ownNetns }), { mode: 0o600 });
      const cgroups = prepareCgroups(this.cgroupOf(id), spec.resources ?? {});
      this.track(id, { container: ContainerProcess.launch(p, cgroups, `/run/netns/${ns}`, this.nspawnArgs(id, spec, p)), netns: ns, ownNetns });
    } catch (err) {
      await this.release(id, ownNetns);
      throw err;
    }
  }

  /** Root volumes made before volumes were paths of their own live in the container's directory. */
  private storedSpec(id: string): StoredSpec {
    const spec = JSON.parse(readFileSync(this.paths(id).spec, 'utf8')) as StoredSpec;
    return { ...spec, volume: spec.volume ?? this.paths(id).dir };
  }

  private mount(spec: StoredSpec, p: InstancePaths): Promise<void> {
    return mountOverlay(spec.imageRootfs, join(spec.volume, 'upper'), join(spec.volume, 'work'), p.merged);
  }

  private nspawnArgs(id: string, spec: StoredSpec, p: InstancePaths): string[] {
    return [
      '--register=no', '--keep-unit', '--boot', '--quiet',
      `--directory=${p.merged}`, `--machine=${id}`, `--hostname=${spec.hostname ?? id}`,
      ...(spec.userNamespace ? [...PRIVATE_USERS_ARGS, `--bind-ro=${p.incoming}:${INCOMING_INSIDE}`] : []),
      `--bind=${p.block}:/sys/block`,
      // read-only: the console goes to our stdout (the log file) and nobody can type into it.
      '--console=read-only',
      // The instance's own resolv.conf (provisionInstance), not the host's: the host's servers are
      // unreachable from its namespace and every lookup would wait for a timeout.
      '--resolv-conf=off',
    ];
  }

  /** Follows a running container until it ends; an end nobody asked for is reported. */
  private track(id: string, entry: Running): void {
    this.running.set(id, entry);
    void entry.container.exited.then((kind: ContainerExit) => {
      if (this.running.get(id) === entry) this.running.delete(id);
      if (entry.stopping) return;
      // Nobody asked: the OS inside powered off or rebooted, or the container died.
      void this.release(id, entry.ownNetns)
        .catch(() => {})
        .then(() => this.options.onExit?.(id, kind));
    });
  }

  async stop(id: string, deadlineMs = 30_000): Promise<void> {
    const r = this.running.get(id);
    if (r) r.stopping = true;
    if (r && r.container.alive) {
      r.container.hold();
      r.container.requestHalt();
      const again = setInterval(() => r.container.requestHalt(), HALT_REPEAT_MS);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        r.container.exited.then(() => false),
        new Promise<boolean>((res) => (timer = setTimeout(() => res(true), deadlineMs))),
      ]);
      clearTimeout(timer);
      clearInterval(again);
      if (timedOut) await this.kill(id, r.container);
    }
    this.running.delete(id);
    if (existsSync(this.paths(id).spec)) await this.release(id, r?.ownNetns ?? this.recordedNetns(id).ownNetns);
  }

  /**
   * Killing a pid namespace's init kills every process in it, but asynchronously: wait until they
   * are gone, or the next start would mount a second overlay on an upper dir that the dying
   * container's mount namespace still holds.
   */
  private async kill(id: string, container: ContainerProcess): Promise<void> {
    const init = container.initPid();
    if (init !== undefined) tryKill(init);
    const nspawn = container.nspawnPid();
    if (nspawn !== undefined) tryKill(nspawn);
    await container.exited;
    await waitGone(cgroupPids(this.cgroupOf(id)), 10_000);
  }

  private recordedNetns(id: string): { netns: string; ownNetns: boolean } {
    try {
      return JSON.parse(readFileSync(this.paths(id).runtime, 'utf8')) as { netns: string; ownNetns: boolean };
    } catch {
      return { netns: this.netnsOf(id), ownNetns: true };
    }
  }

  /** Undoes start's host side: its own namespace (if it made one), the mount, the cgroups. */
  private async release(id: string, ownNetns: boolean): Promise<void> {
    if (ownNetns) await removeNetns(this.netnsOf(id));
    await releaseIncoming(this.paths(id).incoming);
    rmSync(this.paths(id).block, { recursive: true, force: true });
    await unmount(this.paths(id).merged);
    // nspawn removes its mount-propagation dir on a clean exit, not when it is SIGKILLed.
    rmSync(join('/run/systemd/nspawn/propagate', id), { recursive: true, force: true });
    rmSync(join(this.paths(id).dir, 'launcher.pid'), { force: true });
    await removeCgroups(this.cgroupOf(id));
  }

  async exposeDevice(id: string, hostDevice: string, name: string): Promise<void> {
    await exposeDevice(this.paths(id).incoming, await this.requireInit(id), hostDevice, name);
  }

  async runInside(id: string, script: string, input = ''): Promise<string> {
    const init = await this.requireInit(id);
    return new Promise((resolve, reject) => {
      const child = spawn('nsenter', ['-t', String(init), '-U', '-m', '-u', '-i', '-n', '-p', '-r', '-w', '--', '/bin/sh', '-ec', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`inside ${id}: exit ${code}: ${err.trim()}`))));
      child.stdin.end(input);
    });
  }

  async hideDevice(id: string, name: string, hostDevice?: string): Promise<void> {
    await hideDevice(this.paths(id).incoming, this.running.get(id)?.container.initPid(), hostDevice, name);
  }

  /** Mounts an exposed device's filesystem at `target` inside the instance, for its root (devices.ts). */
  async mountDevice(id: string, hostDevice: string, name: string, type: string, options: string[], target: string): Promise<void> {
    await mountFilesystem(this.paths(id).incoming, await this.requireInit(id), hostDevice, name, type, options, target);
  }

  /**
   * The container's systemd. Right after start nspawn's first child is still its own helper (the
   * inner child runs systemd only once nspawn has set up /dev and the mounts), so wait for it.
   */
  private async requireInit(id: string, deadlineMs = INIT_DEADLINE_MS): Promise<number> {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const container = this.running.get(id)?.container;
      if (!container?.alive) throw new Error(`instance ${id} is not running`);
      const init = container.initPid();
      if (init !== undefined && commOf(init) === 'systemd') return init;
      if (Date.now() > until) throw new Error(`instance ${id} has no init after ${deadlineMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Stops the container and removes its directory; a root volume its owner gave stays (the owner's to delete). */
  async terminate(id: string, deadlineMs?: number): Promise<void> {
    await this.stop(id, deadlineMs);
    rmSync(this.paths(id).dir, { recursive: true, force: true });
  }

  status(id: string): InstanceStatus {
    if (this.running.has(id)) return 'running';
    return existsSync(this.paths(id).spec) ? 'stopped' : 'terminated';
  }

  list(): string[] {
    return instanceIds(this.options.root, (id) => this.paths(id).spec);
  }

  /**
   * Asks the container's systemd how the boot went (`systemctl is-system-running` inside it): a
   * hung or stopped init does not answer in time and is impaired, as an unreachable EC2
   * instance fails its reachability check.
   */
  async health(id: string): Promise<'ok' | 'impaired' | 'initializing'> {
    const init = this.running.get(id)?.container.initPid();
    if (!init) return 'impaired';
    try {
      if (/^\d+ \(.*\) [TtZX]/.test(readFileSync(`/proc/${init}/stat`, 'utf8'))) return 'impaired';
    } catch {
      return 'impaired';
    }
    const state = await new Promise<string>((resolve) => {
      execFile('nsenter', ['-t', String(init), '-U', '-m', '-p', 'systemctl', 'is-system-running'], { timeout: 3_000, encoding: 'utf8' }, (err, stdout) => {
        resolve(err && (err as { killed?: boolean }).killed ? 'timeout' : stdout.trim());
      });
    });
    if (state === 'running' || state === 'degraded') return 'ok';
    if (state === 'initializing' || state === 'starting') return 'initializing';
    return 'impaired';
  }

  /**
   * After a crash of kumo its containers still run (they are detached) with their mounts,
   * namespaces and cgroups: each one whose launcher is alive is taken over as it is, and what a
   * container that died meanwhile left (mount, cgroups, namespace) is removed. Returns the
   * instances that run.
   */
  async adopt(): Promise<string[]> {
    const adopted: string[] = [];
    for (const id of this.list()) {
      if (this.running.has(id)) {
        adopted.push(id);
        continue;
      }
      const p = this.paths(id);
      const container = ContainerProcess.adopt(p.dir);
      const { netns, ownNetns } = this.recordedNetns(id);
      if (container?.alive && container.initPid() !== undefined) {
        this.track(id, { container, netns, ownNetns });
        adopted.push(id);
        continue;
      }
      await this.reclaim(id, ownNetns);
    }
    return adopted;
  }

  /** Ends whatever of the instance still runs and removes its host state (its root volume stays). */
  private async reclaim(id: string, ownNetns: boolean): Promise<void> {
    const pids = cgroupPids(this.cgroupOf(id));
    for (const pid of pids) tryKill(pid);
    await waitGone(pids, 10_000);
    await this.release(id, ownNetns);
  }

  /** Ends every container of this data dir, running or not (kumo reset on disk: nothing may survive it). */
  async reclaimLeftovers(): Promise<void> {
    for (const id of this.list()) {
      if (this.running.has(id)) continue;
      await this.reclaim(id, this.recordedNetns(id).ownNetns);
    }
  }

  /** The `kumo` parent cgroups, once no instance (of any kumo on this host) is left in them. */
  async close(): Promise<void> {
    removeParents();
  }

  consoleOutput(id: string): string {
    try {
      return readFileSync(this.paths(id).console, 'utf8');
    } catch {
      return '';
    }
  }

  /** Pids inside the container (its init first, then everything under it), for status checks and memory figures. */
  containerPids(id: string): number[] {
    const init = this.running.get(id)?.container.initPid();
    return init ? [init, ...descendantsOf(init)] : [];
  }

  /**
   * Memory of the instance: its processes plus the nspawn that supervises them. RSS counts the
   * shared libraries in full for every instance; PSS shares them out, so summing PSS over many
   * instances gives what they really cost together.
   */
  rss(id: string): { container: number; nspawn: number; pss: number } {
    const nspawn = this.running.get(id)?.container.nspawnPid();
    const inside = this.containerPids(id);
    const all = nspawn ? [nspawn, ...inside] : [];
    return {
      container: inside.reduce((sum, p) => sum + rssBytes(p), 0),
      nspawn: nspawn ? rssBytes(nspawn) : 0,
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
