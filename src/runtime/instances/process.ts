/**
 * The process instance driver, for hosts where the native one cannot run (not root, not Linux, no
 * systemd-nspawn): an instance is a directory and a process group, so kumo still starts, EC2's
 * API still works, and user data still runs and shows up in the console output.
 *
 *   <root>/<id>/instance.json                  the launch spec (without user data)
 *                            user-data          the script, run once at first boot
 *                            user-data.started  present once it ran (never again, as on EC2)
 *                            user-data.done     its exit status
 *                            init.sh            the instance's "init" (see INIT below)
 *                            init.pid           the running init's pid = its process group id
 *                            root/              the instance's "filesystem": cwd and HOME
 *                            console.log        what init and user data print
 *
 * A running instance is one `/bin/sh init.sh` in its own session and process group, started
 * detached so a Ctrl-C at kumo's terminal does not reach it. Init runs the user data in the
 * foreground (first boot only), then waits forever, so the instance stays running after its
 * script exits; anything the script starts in the background stays in the group. stop = SIGTERM
 * to the whole group, SIGKILL to it past the deadline; start runs init again without user data.
 *
 * Limits, by construction (DESIGN.md: "no isolation, documented as such"):
 * - no network isolation: user data shares the host's network and ports; the instance has no
 *   private IP of its own, no security groups, no IMDS at 169.254.169.254 and no VPC DNS;
 * - no filesystem isolation: root/ is only a working directory; the image (imageRootfs) is not
 *   used, and the script sees the host's files with kumo's user's rights (no root unless kumo is);
 * - only first-boot user data runs: a stopped instance restarts with nothing running in it (there
 *   is no systemd to bring enabled services back);
 * - user data must be a `#!` script (gzip-compressed is fine); cloud-config and MIME multipart
 *   are logged and skipped;
 * - a process that leaves the group (setsid, daemon(3), double fork into a new session) escapes
 *   stop and terminate;
 * - `hostname`, `nameservers` and `network` of the launch spec are ignored.
 * After a kumo restart a running instance is found again through init.pid (a pid reused by an
 * unrelated process group leader would be mistaken for it; this is checked on Linux).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { InstanceDriver, InstanceStatus, LaunchSpec } from './driver.js';
import { instanceIds } from './host.js';

const INIT = `#!/bin/sh
# kumo process driver: this shell is the instance's init; its process group is the instance.
if [ "$1" = first-boot ] && [ ! -e user-data.started ] && [ -e user-data ]; then
  : > user-data.started
  if [ "$(head -c 2 user-data)" = '#!' ]; then
    (cd root && exec ../user-data)
    rc=$?
    echo "kumo: user data exited with status $rc"
  else
    rc=0
    echo "kumo: user data is not a #! script; the process driver runs only scripts, skipped"
  fi
  echo $rc > user-data.done
fi
while :; do sleep 3600 & wait $!; done
`;

export interface ProcessInstancePaths {
  dir: string;
  root: string;
  console: string;
  spec: string;
  userData: string;
  init: string;
  pid: string;
  started: string;
  done: string;
}

export class ProcessDriver implements InstanceDriver {
  readonly kind = 'process' as const;
  private readonly running = new Map<string, ChildProcess>();

  /** `root`: the owner's directory, one subdirectory per instance. */
  constructor(private readonly options: { root: string }) {}

  paths(id: string): ProcessInstancePaths {
    if (!/^[a-z0-9-]+$/.test(id)) throw new Error(`bad instance id ${JSON.stringify(id)}`);
    const dir = join(this.options.root, id);
    const f = (name: string) => join(dir, name);
    return {
      dir, root: f('root'), console: f('console.log'), spec: f('instance.json'), userData: f('user-data'),
      init: f('init.sh'), pid: f('init.pid'), started: f('user-data.started'), done: f('user-data.done'),
    };
  }

  async launch(spec: LaunchSpec, beforeStart?: () => Promise<void>): Promise<void> {
    const p = this.paths(spec.id);
    if (existsSync(p.dir)) throw new Error(`instance ${spec.id} already exists`);
    mkdirSync(p.root, { recursive: true });
    const { userData, ...stored } = spec;
    writeFileSync(p.spec, JSON.stringify(stored, null, 2));
    if (userData !== undefined) writeFileSync(p.userData, gunzipIfGzipped(userData), { mode: 0o700 });
    writeFileSync(p.init, INIT, { mode: 0o700 });
    await beforeStart?.();
    this.spawnInit(spec.id, true);
  }

  async start(id: string): Promise<void> {
    if (this.status(id) === 'running') return;
    const p = this.paths(id);
    if (!existsSync(p.spec)) throw new Error(`instance ${id} does not exist`);
    // Orphans of a crashed init would otherwise run on untracked next to the new one.
    if (this.leftoverGroup(id) !== undefined) await this.stop(id, 5_000);
    this.spawnInit(id, false);
  }

  private spawnInit(id: string, firstBoot: boolean): void {
    const p = this.paths(id);
    const consoleFd = openSync(p.console, 'a');
    try {
      // The instance gets a clean environment: nothing of kumo's (credentials, KUMO_*) leaks in.
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
        HOME: p.root,
        LANG: process.env.LANG ?? 'C.UTF-8',
        INSTANCE_ID: id,
      };
      const child = spawn('/bin/sh', [p.init, ...(firstBoot ? ['first-boot'] : [])], {
        cwd: p.dir, env, stdio: ['ignore', consoleFd, consoleFd], detached: true,
      });
      // spawn reports failure as an event; unhandled, it would take kumo down.
      child.once('error', () => {});
      child.once('exit', () => {
        if (this.running.get(id) === child) this.running.delete(id);
      });
      // Keeps running without holding kumo's event loop open; stop() re-refs while it waits.
      child.unref();
      if (child.pid === undefined) throw new Error(`could not start instance ${id}`);
      writeFileSync(p.pid, `${child.pid}\n`);
      this.running.set(id, child);
    } finally {
      closeSync(consoleFd);
    }
  }

  async stop(id: string, deadlineMs = 30_000): Promise<void> {
    const p = this.paths(id);
    const pgid = this.leftoverGroup(id);
    if (pgid !== undefined) {
      const child = this.running.get(id);
      child?.ref();
      signalGroup(pgid, 'SIGTERM');
      if (!(await waitGroupGone(pgid, deadlineMs))) {
        signalGroup(pgid, 'SIGKILL');
        if (!(await waitGroupGone(pgid, 10_000))) throw new Error(`instance ${id}: processes survived SIGKILL`);
      }
      child?.unref();
    }
    this.running.delete(id);
    rmSync(p.pid, { force: true });
  }

  /**
   * The group to clear on stop: the running init's, or, when init itself died, the group its
   * orphans still hold. The kernel does not hand out a pid while it is some live process's group
   * id, so live members of a group whose leader is gone are ours; a live leader that is not our
   * init means the pid was reused after our group emptied.
   */
  private leftoverGroup(id: string): number | undefined {
    const live = this.groupOf(id);
    if (live !== undefined) return live;
    let pgid: number;
    try {
      pgid = Number(readFileSync(this.paths(id).pid, 'utf8').trim());
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pgid) || pgid <= 1 || !groupAlive(pgid)) return undefined;
    return processExists(pgid) ? undefined : pgid;
  }

  async terminate(id: string, deadlineMs?: number): Promise<void> {
    await this.stop(id, deadlineMs);
    rmSync(this.paths(id).dir, { recursive: true, force: true });
  }

  status(id: string): InstanceStatus {
    if (this.groupOf(id) !== undefined) return 'running';
    return existsSync(this.paths(id).spec) ? 'stopped' : 'terminated';
  }

  list(): string[] {
    return instanceIds(this.options.root, (id) => this.paths(id).spec);
  }

  consoleOutput(id: string): string {
    try {
      return readFileSync(this.paths(id).console, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * The instance's process group while its init lives: ours if we started it, else the one
   * init.pid names (kumo restarted meanwhile). Once init is gone the instance is stopped, even if
   * stray members of its group linger (stop still clears those when called).
   */
  private groupOf(id: string): number | undefined {
    const child = this.running.get(id);
    // Our own child is checked on the host too: Node learns of its exit only on a later tick.
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      return isOurInit(child.pid, this.paths(id).init) ? child.pid : undefined;
    }
    let pid: number;
    try {
      pid = Number(readFileSync(this.paths(id).pid, 'utf8').trim());
    } catch {
      return undefined;
    }
    return Number.isInteger(pid) && pid > 1 && isOurInit(pid, this.paths(id).init) ? pid : undefined;
  }
}

/** cloud-init accepts gzip-compressed user data (it fits more into EC2's 16 KB); so does this driver. */
function gunzipIfGzipped(data: string | Buffer): string | Buffer {
  if (typeof data === 'string' || data[0] !== 0x1f || data[1] !== 0x8b) return data;
  try {
    return gunzipSync(data);
  } catch {
    return data; // not gzip after all: run (or skip) it as it is
  }
}

/** Is pid alive and (where /proc tells) the init of this instance rather than a reused pid? */
function isOurInit(pid: number, initPath: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return cmdline.split('\0').includes(initPath) && !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return process.platform !== 'linux'; // no /proc: trust the pid
  }
}

/** Alive and not a zombie: a dead init that nobody has reaped yet does not count. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return process.platform !== 'linux';
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is already empty
  }
}

/** Whether any live (non-zombie) process is still in the group. */
function groupAlive(pgid: number): boolean {
  if (process.platform === 'linux') {
    // kill(-pgid, 0) also succeeds for zombies whose parent has not reaped them yet (a container
    // whose pid 1 never reaps); /proc shows the state, so only live members count.
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid && fields[0] !== 'Z') return true;
      } catch {
        // exited while we looked
      }
    }
    return false;
  }
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGroupGone(pgid: number, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (groupAlive(pgid)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
