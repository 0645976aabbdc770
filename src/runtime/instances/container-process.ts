/**
 * One container's process tree on the host, and how kumo finds it again after a restart:
 *
 *   launcher (sh, detached)          joins the container's cgroups, runs nspawn, and when nspawn
 *   └─ systemd-nspawn                ends writes its exit status to <dir>/exit-status; its pid and
 *      └─ systemd (the container's)  start time are in <dir>/launcher.pid
 *
 * The launcher outlives kumo (its own process group, no pipes to kumo: the console goes straight
 * to console.log), so a kumo that crashed or was killed finds each container by its pid file and
 * adopts it: same processes, no reboot. An adopted launcher is not kumo's child, so its end is
 * noticed by polling, and how it ended (poweroff, reboot, crash) comes from the status file,
 * which serves children and adoptees alike.
 *
 * nspawn is started inside the instance's network namespace (nsenter), not told to join it:
 * nspawn 252 cannot join a namespace it does not own once it has made the container's user
 * namespace. The namespace stays the host's, so root in the instance cannot reconfigure its
 * interfaces or its firewall (its VPC decides those, as on AWS); two sysctls of that namespace
 * give back what an instance's root would miss: binding ports below 1024 and ICMP echo sockets
 * (ping).
 *
 * nspawn runs in a mount namespace of its own (unshare, slave to the host's) from which every
 * other instance's and volume's mounts (loop devices, overlays, namespace files) are gone first.
 * nspawn 252 switches root with MS_MOVE + chroot, so the container's namespace keeps the whole
 * host tree it was copied from underneath its root, out of sight: without this, each instance
 * would hold every volume mounted at its start, alive and unflushed after the host let it go
 * (a stopped instance's last writes missing from its image, its loop device never freed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processStartTime } from '../../lib/process.js';
import { childrenOf } from './host.js';

// systemd-nspawn's exit status when the container's OS asked for a reboot.
const NSPAWN_REBOOT = 133;
const ADOPTED_POLL_MS = 500;
// Linux: SIGRTMIN is 34 (glibc keeps 32 and 33), and Node knows the real-time signals by number only.
const SIGRTMIN_PLUS_3 = 37;

export type ContainerExit = 'poweroff' | 'reboot' | 'crash';

export interface ContainerFiles {
  dir: string;
  console: string;
}

const LAUNCHER = `
for f in $KUMO_CGROUPS; do echo $$ > "$f" || exit 70; done
nsenter --net="$KUMO_NETNS" unshare --mount --propagation slave /bin/sh -c "$KUMO_IN_NAMESPACES" nspawn "$@"
code=$?
echo $code > "$KUMO_DIR/exit-status.tmp" && mv "$KUMO_DIR/exit-status.tmp" "$KUMO_DIR/exit-status"
exit $code
`;

/**
 * Run inside the instance's network namespace and nspawn's own mount namespace, then becomes
 * nspawn. Mounts are dropped deepest first, in one umount; the container's own directory (its
 * root, its incoming mounts) and whatever lies above it stay.
 */
const IN_NAMESPACES = `
echo 0 > /proc/sys/net/ipv4/ip_unprivileged_port_start
echo "0 2147483647" > /proc/sys/net/ipv4/ping_group_range
hide() {
  set --
  while read -r escaped; do
    target=$(printf '%b' "$escaped")
    case "$target" in /|"$KUMO_DIR"|"$KUMO_DIR"/*) continue ;; esac
    case "$KUMO_DIR/" in "$target"/*) continue ;; esac
    set -- "$@" "$target"
  done <<EOF
$(awk '{ split($0, half, " - "); split(half[2], fs, " "); if (fs[1] == "overlay" || fs[1] == "nsfs" || fs[2] ~ /^[/]dev[/]loop/) print $5 }' /proc/self/mountinfo | sort -r)
EOF
  [ $# -eq 0 ] || umount -l "$@" 2>/dev/null || true
}
hide
exec systemd-nspawn "$@"
`;

export class ContainerProcess {
  /** Resolves when the launcher is gone, with how the container ended. */
  readonly exited: Promise<ContainerExit>;
  private child?: ChildProcess;
  private poll?: NodeJS.Timeout;

  private constructor(
    readonly launcher: number,
    private readonly dir: string,
    child?: ChildProcess,
  ) {
    this.child = child;
    this.exited = new Promise<void>((resolve) => {
      if (child) child.once('exit', () => resolve());
      else {
        const started = processStartTime(launcher);
        this.poll = setInterval(() => {
          if (processStartTime(launcher) !== started) {
            clearInterval(this.poll);
            resolve();
          }
        }, ADOPTED_POLL_MS);
        this.poll.unref();
      }
    }).then(() => exitKind(dir));
  }

  /** Starts the launcher: the container boots in `netnsPath` within the given cgroups. */
  static launch(files: ContainerFiles, cgroupProcs: string[], netnsPath: string, nspawnArgs: string[]): ContainerProcess {
    rmSync(join(files.dir, 'exit-status'), { force: true });
    const consoleFd = openSync(files.console, 'a', 0o600);
    try {
      // detached: its own process group, so a Ctrl-C aimed at kumo does not hard-kill instances;
      // kumo stops them itself, cleanly, or leaves them running when it dies.
      const child = spawn('/bin/sh', ['-c', LAUNCHER, 'launcher', ...nspawnArgs], {
        stdio: ['ignore', consoleFd, consoleFd],
        detached: true,
        env: {
          PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
          KUMO_CGROUPS: cgroupProcs.join(' '), KUMO_NETNS: netnsPath, KUMO_DIR: files.dir, KUMO_IN_NAMESPACES: IN_NAMESPACES,
        },
      });
      child.unref();
      const pid = child.pid;
      if (pid === undefined) throw new Error('could not start the container launcher');
      writeFileSync(join(files.dir, 'launcher.pid'), `${pid} ${processStartTime(pid) ?? '?'}\n`, { mode: 0o600 });
      return new ContainerProcess(pid, files.dir, child);
    } finally {
      closeSync(consoleFd);
    }
  }

  /** The launcher recorded in `dir`, if it still runs (and its pid was not recycled by another process). */
  static adopt(dir: string): ContainerProcess | undefined {
    let pid: number;
    let started: string | undefined;
    try {
      [pid, started] = readFileSync(join(dir, 'launcher.pid'), 'utf8').trim().split(' ').map((s, i) => (i === 0 ? Number(s) : s)) as [number, string];
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 0 || processStartTime(pid) !== started) return undefined;
    return new ContainerProcess(pid, dir);
  }

  get alive(): boolean {
    return this.child ? this.child.exitCode === null && this.child.signalCode === null : processStartTime(this.launcher) !== undefined;
  }

  nspawnPid(): number | undefined {
    return childrenOf(this.launcher)[0];
  }

  /** The container's own init (systemd), pid 1 inside. */
  initPid(): number | undefined {
    const nspawn = this.nspawnPid();
    return nspawn === undefined ? undefined : childrenOf(nspawn)[0];
  }

  /** While kumo waits for the container to end, that wait must keep node alive. */
  hold(): void {
    this.child?.ref();
    this.poll?.ref();
  }

  /**
   * Asks the container's systemd for an orderly halt (SIGRTMIN+3, what nspawn itself sends on
   * SIGTERM). Sent to the init directly and meant to be repeated until the container is gone: a
   * pid 1 ignores signals it has no handler for yet, so one sent while it boots is lost, and
   * nspawn reads a second SIGTERM as "kill it now".
   */
  requestHalt(): void {
    const init = this.initPid();
    if (init !== undefined) tryKill(init, SIGRTMIN_PLUS_3);
  }
}

function exitKind(dir: string): ContainerExit {
  let code: number;
  try {
    code = Number(readFileSync(join(dir, 'exit-status'), 'utf8').trim());
  } catch {
    return 'crash'; // the launcher itself was killed
  }
  return code === 0 ? 'poweroff' : code === NSPAWN_REBOOT ? 'reboot' : 'crash';
}

export function tryKill(pid: number, signal: NodeJS.Signals | number = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
