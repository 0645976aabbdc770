/**
 * What an instance's root may ask kumo to do for it, at http://169.254.169.254/kumo/… (the
 * metadata address it already reaches; the fabric tells which instance asks): today, mounting an
 * attached volume's filesystem, which root in the instance's user namespace cannot do itself.
 * The image's mount(8) helpers (runtime/images/recipe.ts) call it; a user never needs to.
 *
 *   POST /kumo/mount  device=/dev/xvdf target=/data type=xfs options=rw,noatime
 *                     X-Kumo-Token: the instance's host token (a root-only file inside it)
 *   → 200, or 4xx with the reason mount(8) prints
 *
 * Only what a user of the instance could do with the disk anyway is allowed: a device attached
 * to this instance, a filesystem type kumo mounts, ordinary options; kumo adds nosuid,nodev.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MOUNTABLE } from '../../../runtime/instances/devices.js';
import type { InstanceDriver } from '../../../runtime/instances/driver.js';
import type { InstanceDirectory } from './metadata.js';

/** Which host block device is attached to an instance as /dev/<name> (the EBS side answers). */
export type AttachedDevices = (instanceId: string, name: string) => Promise<string | undefined>;

/** Options that only change how the filesystem behaves for its user; nothing here reaches the host. */
const ALLOWED_OPTIONS = new Set([
  'defaults', 'rw', 'ro', 'noatime', 'atime', 'relatime', 'nodiratime', 'strictatime', 'lazytime', 'sync', 'async',
  'discard', 'nodiscard', 'noexec', 'exec', 'nosuid', 'nodev', 'dirsync', 'nouuid', 'inode64', 'errors=remount-ro',
  'errors=continue', 'data=ordered', 'data=writeback', 'data=journal', 'noquota',
]);
/** Options mount(8) itself acts on: never passed to the kernel. */
const USERSPACE_OPTIONS = /^(nofail|auto|noauto|user|nouser|users|_netdev|x-.*|comment=.*)$/;

const MAX_BODY = 16 * 1024;

export function hostActions(deps: { directory: InstanceDirectory; driver: InstanceDriver; devices: () => AttachedDevices | undefined; portAt: (remote: string) => { portId: string; owner: string } | undefined; owner: string }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const answer = (status: number, text: string) => {
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      perform(deps, req, Buffer.concat(chunks).toString('utf8'), size > MAX_BODY).then(
        ([status, text]) => answer(status, text),
        (err: Error) => answer(500, `kumo could not do it: ${err.message}`),
      );
    });
  };
}

async function perform(deps: Parameters<typeof hostActions>[0], req: IncomingMessage, body: string, tooBig: boolean): Promise<[number, string]> {
  const port = deps.portAt((req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''));
  if (!port || port.owner !== deps.owner) return [403, 'not an instance'];
  if (new URL(req.url ?? '/', 'http://kumo').pathname !== '/kumo/mount') return [404, 'no such action'];
  if (req.method !== 'POST') return [405, 'POST only'];
  if (tooBig) return [413, 'request too large'];
  const instance = deps.directory.find(port.portId)?.instance;
  const token = String(req.headers['x-kumo-token'] ?? '').trim();
  if (!instance?.HostToken || !sameSecret(token, instance.HostToken)) return [403, 'only root in the instance may mount a volume'];
  const form = new URLSearchParams(body);
  const device = form.get('device') ?? '';
  const target = form.get('target') ?? '';
  const type = form.get('type') ?? '';
  const name = /^\/dev\/([a-z0-9]{1,12})$/.exec(device)?.[1];
  if (!name) return [400, `${device || 'no device'}: not a volume device`];
  if (!MOUNTABLE.includes(type)) return [400, `unknown filesystem type '${type}' (kumo mounts ${MOUNTABLE.join(', ')})`];
  if (!target.startsWith('/') || target.includes('\0') || target.split('/').includes('..')) return [400, `${target}: not an absolute path`];
  const options: string[] = [];
  for (const o of (form.get('options') ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    if (USERSPACE_OPTIONS.test(o)) continue;
    if (!ALLOWED_OPTIONS.has(o)) return [400, `option '${o}' is not one kumo passes on`];
    options.push(o);
  }
  const hostDevice = await deps.devices()?.(instance.InstanceId, name);
  if (!hostDevice) return [400, `${device}: no volume is attached to this instance there`];
  if (!deps.driver.mountDevice) return [501, 'this runtime cannot mount volumes'];
  try {
    await deps.driver.mountDevice(instance.InstanceId, hostDevice, name, type, options, target);
  } catch (err) {
    return [400, `${device} on ${target}: ${(err as Error).message.split('\n').at(-1)}`];
  }
  return [200, 'mounted'];
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
