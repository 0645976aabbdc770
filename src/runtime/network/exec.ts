/**
 * Process helpers for the fabric. host.ts's `run` cannot feed stdin, and nft rulesets are applied
 * as one `nft -f -` transaction (atomic: a router never runs with half its rules), so this file
 * has its own variant plus the few idioms every other file repeats (ip in a namespace, sysctls).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';

export function exec(cmd: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * A command run in a network namespace and in no other: `nsenter --net`. Not `ip netns exec`,
 * which also makes a mount namespace holding a copy of every host mount of that moment for as long
 * as the command runs: a long-lived one (HAProxy) would keep instances' root volumes mounted after
 * the host let them go, their last writes unflushed and their loop devices attached.
 */
export function inNetns(ns: string, command: string[]): [string, string[]] {
  return ['nsenter', [`--net=/run/netns/${ns}`, '--', ...command]];
}

/** `ip` in a namespace, or in the host's when ns is undefined. */
export const ip = (ns: string | undefined, ...args: string[]) => exec('ip', ns ? ['-n', ns, ...args] : args);

/** Applies a whole nft script as one transaction. */
export function nft(ns: string | undefined, script: string): Promise<string> {
  const [cmd, args] = ns ? inNetns(ns, ['nft', '-f', '-']) : ['nft', ['-f', '-']];
  return exec(cmd, args, script);
}

const procSys = (key: string) => `/proc/sys/${key.replace(/\./g, '/')}`;

/**
 * Sets sysctls inside a namespace (each has its own net.* tree; inNetns enters it, and
 * /proc/sys/net follows the writer's namespace). Plain writes through sh: no procps needed.
 * Keys are ours (interface names without dots), never user input.
 */
export async function sysctls(ns: string, settings: Record<string, string | number>, then: string[] = []): Promise<void> {
  const writes = Object.entries(settings).map(([k, v]) => `echo ${Number(v)} > ${procSys(k)}`);
  // `then`: commands of ours (fixed verbs, our names and addresses) to run in the same shell.
  if (writes.length || then.length) await exec(...inNetns(ns, ['sh', '-ec', [...writes, ...then].join('\n')]));
}

/** A sysctl of the host's own namespace; only ever used on interfaces the fabric created. */
export function hostSysctl(key: string, value: number): void {
  writeFileSync(procSys(key), String(value));
}

/** Tolerates "already gone": teardown must be repeatable after a crash or a half-done setup. */
export async function quietly(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch {
    // already absent
  }
}
