/**
 * What an instance's root may ask kumo to do for it, at http://169.254.169.254/kumo/… (the
 * metadata address it already reaches; the fabric tells which instance asks): what root in the
 * instance's user namespace cannot do itself with a disk attached to it. The image's mount(8)
 * helpers and its mkfs.xfs (runtime/images/recipe.ts) call it; a user never needs to.
 *
 *   POST /kumo/mount  device=/dev/xvdf target=/data type=xfs options=rw,noatime
 *   POST /kumo/mkfs   device=/dev/xvdf type=xfs args=-f\n-L\ndata   (one argument a line)
 *                     X-Kumo-Token: the instance's host token (a root-only file inside it)
 *   → 200 (with mkfs's output), or 4xx with the reason the command prints
 *
 * Only what a user of the instance could do with the disk anyway is allowed: a device attached
 * to this instance, a filesystem type kumo mounts, ordinary options (kumo adds nosuid,nodev), and
 * mkfs options that shape the new filesystem, never one naming another file or device.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MOUNTABLE } from '../../../runtime/instances/devices.js';
import type { InstanceDriver } from '../../../runtime/instances/driver.js';
import { run } from '../../../runtime/instances/host.js';
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

type Deps = Parameters<typeof hostActions>[0];
type Asked = { instanceId: string; form: URLSearchParams; device: string; name: string; hostDevice: string };

async function perform(deps: Deps, req: IncomingMessage, body: string, tooBig: boolean): Promise<[number, string]> {
  const port = deps.portAt((req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''));
  if (!port || port.owner !== deps.owner) return [403, 'not an instance'];
  const action = new URL(req.url ?? '/', 'http://kumo').pathname;
  if (action !== '/kumo/mount' && action !== '/kumo/mkfs') return [404, 'no such action'];
  if (req.method !== 'POST') return [405, 'POST only'];
  if (tooBig) return [413, 'request too large'];
  const instance = deps.directory.find(port.portId)?.instance;
  const token = String(req.headers['x-kumo-token'] ?? '').trim();
  if (!instance?.HostToken || !sameSecret(token, instance.HostToken)) return [403, 'only root in the instance may do this'];
  const form = new URLSearchParams(body);
  const device = form.get('device') ?? '';
  const name = /^\/dev\/([a-z0-9]{1,12})$/.exec(device)?.[1];
  if (!name) return [400, `${device || 'no device'}: not a volume device`];
  const hostDevice = await deps.devices()?.(instance.InstanceId, name);
  if (!hostDevice) return [400, `${device}: no volume is attached to this instance there`];
  const asked = { instanceId: instance.InstanceId, form, device, name, hostDevice };
  return action === '/kumo/mount' ? mount(deps, asked) : makeFilesystem(asked);
}

async function mount(deps: Deps, { instanceId, form, device, name, hostDevice }: Asked): Promise<[number, string]> {
  const target = form.get('target') ?? '';
  const type = form.get('type') ?? '';
  if (!MOUNTABLE.includes(type)) return [400, `unknown filesystem type '${type}' (kumo mounts ${MOUNTABLE.join(', ')})`];
  if (!target.startsWith('/') || target.includes('\0') || target.split('/').includes('..')) return [400, `${target}: not an absolute path`];
  const options: string[] = [];
  for (const o of (form.get('options') ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    if (USERSPACE_OPTIONS.test(o)) continue;
    if (!ALLOWED_OPTIONS.has(o)) return [400, `option '${o}' is not one kumo passes on`];
    options.push(o);
  }
  if (!deps.driver.mountDevice) return [501, 'this runtime cannot mount volumes'];
  try {
    await deps.driver.mountDevice(instanceId, hostDevice, name, type, options, target);
  } catch (err) {
    return [400, `${device} on ${target}: ${(err as Error).message.split('\n').at(-1)}`];
  }
  return [200, 'mounted'];
}

/** mkfs.xfs flags that take no value, and options whose value shapes the filesystem (-b size=4096). */
const MKFS_FLAGS = new Set(['-f', '-q', '-K', '-N']);
const MKFS_SUBOPTION_FLAGS = new Set(['-b', '-d', '-i', '-m', '-n', '-s']);
/** Sub-options that name a file or device (the data file, an external log or realtime device). */
const MKFS_PATH_SUBOPTIONS = /(^|,)(name|file|logdev|rtdev)(=|,|$)/;

/** mkfs.xfs on the host (BLKBSZSET needs the host's root), with only the arguments that shape the filesystem. */
async function makeFilesystem({ form, device, hostDevice }: Asked): Promise<[number, string]> {
  if (form.get('type') !== 'xfs') return [400, `kumo formats xfs for instances; ${form.get('type')} is made inside`];
  const given = (form.get('args') ?? '').split('\n').filter(Boolean);
  const args: string[] = [];
  for (let i = 0; i < given.length; i++) {
    const a = given[i]!;
    if (MKFS_FLAGS.has(a)) args.push(a);
    else if (a === '-L' && /^[A-Za-z0-9_.-]{0,12}$/.test(given[i + 1] ?? '')) args.push(a, given[++i]!);
    else if (MKFS_SUBOPTION_FLAGS.has(a) && /^[a-z0-9_=,]{1,200}$/.test(given[i + 1] ?? '') && !MKFS_PATH_SUBOPTIONS.test(given[i + 1]!)) args.push(a, given[++i]!);
    else return [400, `option '${a}' is not one kumo passes on (${[...MKFS_FLAGS, '-L label', ...[...MKFS_SUBOPTION_FLAGS].map((f) => `${f} opts`)].join(', ')})`];
  }
  try {
    const out = await run('mkfs.xfs', [...args, hostDevice]);
    // mkfs names the device it wrote; the instance knows it by its own name.
    return [200, out.replaceAll(hostDevice, device)];
  } catch (err) {
    return [400, (err as Error).message.replace(/^mkfs\.xfs [^:]*: /, '').replaceAll(hostDevice, device)];
  }
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
