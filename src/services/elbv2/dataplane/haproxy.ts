/**
 * One load-balancer node's HAProxy on the host: Debian's haproxy in master-worker mode, started
 * daemonized inside the node's network namespace (inNetns), so it outlives a kumo that is
 * killed, and found again from its directory alone:
 *
 *   <node dir>/haproxy.cfg   what runs (haproxy-config.ts); `node <generation>` names it
 *   <node dir>/haproxy.pid   the master's pid
 *   <node dir>/stats.sock    the runtime API: `show info` tells the generation the worker runs
 *   <node dir>/h*.sock       health-check tunnels (see haproxy-config.ts)
 *   <node dir>/cert-*.pem    TLS listeners' certificates with their keys (0600), named by content
 *
 * A change is a new file checked with `haproxy -c`, then SIGUSR2 to the master (it re-executes
 * itself on the new file; old workers finish the requests they hold), and done when the stats
 * socket shows the new generation. Processes are told apart by their command line naming this
 * node's configuration file, never by name.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { run } from '../../../runtime/instances/host.js';
import { inNetns } from '../../../runtime/network/exec.js';
import { ERROR_FILES } from './haproxy-config.js';

const START_DEADLINE_MS = 10_000;
const STOP_DEADLINE_MS = 5_000;

export const configPath = (dir: string) => join(dir, 'haproxy.cfg');

/** Pids of live (not zombie) processes whose command line runs this node's configuration. */
export function processesOf(dir: string): number[] {
  const cfg = configPath(dir);
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.endsWith('haproxy') || !argv.includes(cfg)) continue;
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The master, when it runs. */
export function masterOf(dir: string): number | undefined {
  const pid = Number(readFileSync(join(dir, 'haproxy.pid'), 'utf8').trim().split('\n')[0] ?? NaN);
  return Number.isInteger(pid) && processesOf(dir).includes(pid) ? pid : undefined;
}

function safeMaster(dir: string): number | undefined {
  try {
    return masterOf(dir);
  } catch {
    return undefined;
  }
}

/** What the runtime API answers to one command, or undefined when nothing listens. */
export function runtimeApi(dir: string, command: string, timeoutMs = 2_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect(join(dir, 'stats.sock'));
    let data = '';
    const done = (v: string | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('connect', () => sock.end(`${command}\n`));
    sock.on('data', (d) => (data += d));
    sock.on('end', () => done(data));
    sock.on('error', () => done(undefined));
  });
}

/** The generation (global `node`) the current worker runs. */
export async function runningGeneration(dir: string): Promise<string | undefined> {
  const info = await runtimeApi(dir, 'show info');
  return info ? /^node: (.*)$/im.exec(info)?.[1]?.trim() : undefined;
}

async function waitForGeneration(dir: string, generation: string, deadlineMs: number): Promise<boolean> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if ((await runningGeneration(dir)) === generation) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * Writes the configuration (and AWS's error pages, and the certificates it names) after HAProxy
 * accepted it. Certificates no longer named go: a running HAProxy read its own at start.
 */
async function install(dir: string, config: string, files: Record<string, string>): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [name, content] of Object.entries(ERROR_FILES)) if (!existsSync(join(dir, name))) writeFileSync(join(dir, name), content);
  for (const [name, content] of Object.entries(files)) if (!existsSync(join(dir, name))) writeFileSync(join(dir, name), content, { mode: 0o600 });
  const next = join(dir, 'haproxy.cfg.next');
  writeFileSync(next, config);
  await run('haproxy', ['-c', '-q', '-f', next]);
  renameSync(next, configPath(dir));
  for (const name of readdirSync(dir)) if (/^cert-[0-9a-f]{16}\.pem$/.test(name) && !(name in files)) rmSync(join(dir, name), { force: true });
}

/** Starts the node's HAProxy in `netns`, or reloads the one running there; resolves once it runs `generation`. */
export async function applyNode(dir: string, netns: string, config: string, generation: string, files: Record<string, string> = {}): Promise<void> {
  await install(dir, config, files);
  const master = safeMaster(dir);
  if (master !== undefined) {
    for (let attempt = 0; attempt < 3; attempt++) {
      process.kill(master, 'SIGUSR2');
      if (await waitForGeneration(dir, generation, START_DEADLINE_MS / 3)) return;
    }
    throw new Error(`haproxy in ${dir} did not take configuration ${generation}`);
  }
  // Leftovers of a master that died (its workers would keep the listeners).
  await stopNode(dir);
  const log = openSync(join(dir, 'haproxy.log'), 'a');
  try {
    const child = spawn(...inNetns(netns, ['haproxy', '-W', '-D', '-p', join(dir, 'haproxy.pid'), '-f', configPath(dir)]), {
      stdio: ['ignore', log, log],
      detached: true,
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`haproxy in ${netns} exited with ${code}: ${tail(join(dir, 'haproxy.log'))}`);
  } finally {
    closeSync(log);
  }
  if (!(await waitForGeneration(dir, generation, START_DEADLINE_MS))) {
    throw new Error(`haproxy in ${netns} did not come up: ${tail(join(dir, 'haproxy.log'))}`);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-3).join(' / ');
  } catch {
    return '';
  }
}

/** Stops every process of the node (master and workers, old ones included). */
export async function stopNode(dir: string): Promise<void> {
  if (!existsSync(dir)) return;
  let pids = processesOf(dir);
  for (const pid of pids) signal(pid, 'SIGTERM');
  const end = Date.now() + STOP_DEADLINE_MS;
  while (pids.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    pids = processesOf(dir);
  }
  for (const pid of pids) signal(pid, 'SIGKILL');
  while (processesOf(dir).length && Date.now() < end + STOP_DEADLINE_MS) await new Promise((r) => setTimeout(r, 50));
}

/** Stops the node and removes its directory. */
export async function removeNode(dir: string): Promise<void> {
  await stopNode(dir);
  rmSync(dir, { recursive: true, force: true });
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Node directories under the service's directory: `<lb id>/<eni id>` (`classic-<name>/<eni id>` for classic ones). */
export function nodeDirs(root: string): { lbId: string; eniId: string; dir: string }[] {
  if (!existsSync(root)) return [];
  const out: { lbId: string; eniId: string; dir: string }[] = [];
  for (const lbId of readdirSync(root)) {
    if (!/^([0-9a-f]{16}|classic-[A-Za-z0-9-]+)$/.test(lbId)) continue;
    for (const eniId of readdirSync(join(root, lbId))) if (eniId.startsWith('eni-')) out.push({ lbId, eniId, dir: join(root, lbId, eniId) });
  }
  return out;
}
