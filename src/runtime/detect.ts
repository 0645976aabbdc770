/**
 * Which instance driver this host can run (see DESIGN.md): `native` needs Linux, root,
 * systemd-nspawn, ip and nft; anything else gets the `process` driver. Reported by /_kumo/health and
 * `kumo status` so users know what "running" means here.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RuntimeMode {
  mode: 'native' | 'process';
  reason: string;
}

export function which(cmd: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of [...path.split(delimiter), '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

export function detectRuntime(forced?: 'auto' | 'process'): RuntimeMode {
  if (forced === 'process') return { mode: 'process', reason: 'KUMO_RUNTIME=process' };
  if (process.platform !== 'linux') return { mode: 'process', reason: `platform is ${process.platform}, not linux` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return { mode: 'process', reason: 'not running as root' };
  if (!which('systemd-nspawn')) return { mode: 'process', reason: 'systemd-nspawn is not installed (apt-get install systemd-container)' };
  // The VPC fabric: network namespaces and veths (ip), security groups and ACLs (nft).
  for (const [cmd, pkg] of [['ip', 'iproute2'], ['nft', 'nftables']]) {
    if (!which(cmd!)) return { mode: 'process', reason: `${cmd} is not installed (apt-get install ${pkg})` };
  }
  return { mode: 'native', reason: 'linux, root, systemd-nspawn, ip and nft available' };
}
