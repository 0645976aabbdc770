/**
 * How the instances-api-* tests reach into an instance launched through the API (not a test
 * file). "Inside" is inside the container: its init's namespaces, root and resolver
 * configuration (nsenter), as a process of the instance sees them. "In its network namespace" is
 * the network view its processes have, with the host's tools (curl, node, nft), for what the
 * image has no tool for. Nothing here changes the instance; probes that count packets live in a
 * table of their own and are removed.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { childrenOf } from '../../src/runtime/instances/host.js';
import { waitFor } from '../helpers/kumo.js';

const exec = promisify(execFile);

/** The instance's network namespace (the fabric names it after the instance). */
export function netnsOf(id: string): string {
  const ns = readdirSync('/run/netns').find((n) => n.endsWith(`-${id}`));
  if (!ns) throw new Error(`no network namespace for ${id}`);
  return ns;
}

/** A host command in the instance's network namespace; its stdout. */
export async function inNetns(id: string, cmd: string[], input?: string): Promise<string> {
  const child = exec('ip', ['netns', 'exec', netnsOf(id), ...cmd], { timeout: 30_000 });
  if (input !== undefined) child.child.stdin!.end(input);
  return (await child).stdout;
}

/** The container's init (systemd), the child of its systemd-nspawn. */
function initOf(id: string): number | undefined {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('systemd-nspawn') && cmd.some((a) => a.startsWith('--machine=') && a.endsWith(id))) return childrenOf(Number(pid))[0];
    } catch {
      // exited while we looked
    }
  }
  return undefined;
}

/** A shell command inside the instance; its stdout (rejects on a non-zero exit). */
export async function inside(id: string, cmd: string): Promise<string> {
  const init = (await waitFor(`${id}'s init`, () => initOf(id), 30_000))!;
  const { stdout } = await exec('nsenter', ['-t', String(init), '-U', '-m', '-u', '-i', '-n', '-p', '-r', '-w', '/bin/sh', '-c', cmd], { timeout: 60_000 });
  return stdout;
}

/** curl in the instance's network namespace: the body, or undefined when it failed (HTTP ≥ 400 included). */
export const curlIn = (id: string, url: string, args: string[] = []) =>
  inNetns(id, ['curl', '-sf', '--max-time', '3', ...args, url]).catch(() => undefined);

/** The HTTP status a request from the instance gets (0: no answer). */
export async function statusIn(id: string, url: string, args: string[] = []): Promise<number> {
  const out = await inNetns(id, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '3', ...args, url]).catch((e) => String(e.stdout ?? '0'));
  return Number(out.trim()) || 0;
}

/**
 * The TTL the instance's replies from the metadata service arrive with: a counter per TTL value
 * in a table of the test's own in the instance's namespace, around one request.
 */
export async function imdsReplyTtls(id: string): Promise<number[]> {
  const table = `probe${process.pid}`;
  const counters = Array.from({ length: 8 }, (_, k) => `ip saddr 169.254.169.254 tcp sport 80 ip ttl ${k + 1} counter`);
  await inNetns(id, ['nft', '-f', '-'], `table ip ${table} {\n  chain input { type filter hook input priority 0; ${counters.join('; ')}; }\n}\n`);
  try {
    await curlIn(id, 'http://169.254.169.254/latest/meta-data/instance-id');
    const listed = await inNetns(id, ['nft', 'list', 'table', 'ip', table]);
    return [...listed.matchAll(/ip ttl (\d+) counter packets (\d+)/g)].filter((m) => Number(m[2]) > 0).map((m) => Number(m[1]));
  } finally {
    await inNetns(id, ['nft', 'delete', 'table', 'ip', table]);
  }
}

/**
 * Asks the VPC's DNS server at `server` for the A records of `name` from the instance's network
 * namespace: the addresses, or the resolver's error code (ENOTFOUND for NXDOMAIN, EREFUSED, ...).
 */
export async function resolveFrom(id: string, server: string, name: string): Promise<string> {
  const script = `const r=new (require('dns').promises.Resolver)({timeout:2000,tries:1});r.setServers([${JSON.stringify(server)}]);` +
    `r.resolve4(${JSON.stringify(name)}).then(a=>console.log(a.join(',')),e=>console.log(e.code))`;
  return (await inNetns(id, [process.execPath, '-e', script])).trim();
}
