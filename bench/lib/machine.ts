/** What the figures were measured on: CPU, cores, memory, OS, Node and kumo versions. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, release, platform, arch } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './spawn.js';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  kumo: string;
  kumoCommit?: string;
  /** src/ differs from the commit (dist/ is built from the working tree). */
  srcDirty?: boolean;
}

function cpuModel(): string {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const m = /^model name\s*:\s*(.+)$/m.exec(info) ?? /^Hardware\s*:\s*(.+)$/m.exec(info);
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model?.trim() || 'unknown';
}

function srcDirty(): boolean | undefined {
  try {
    return execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
  } catch {
    return undefined;
  }
}

function gitCommit(): string | undefined {
  try {
    const head = readFileSync(join(ROOT, '.git', 'HEAD'), 'utf8').trim();
    if (!head.startsWith('ref: ')) return head.slice(0, 12);
    return readFileSync(join(ROOT, '.git', head.slice(5)), 'utf8').trim().slice(0, 12);
  } catch {
    return undefined;
  }
}

export function machine(): Machine {
  let kumo = 'unknown';
  try {
    kumo = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    // leave unknown
  }
  return {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
    kumo,
    kumoCommit: gitCommit(),
    srcDirty: srcDirty(),
  };
}
