/**
 * What cloud-init does for an EC2 instance, done by the driver on the instance's mounted root
 * before its first boot: identity (hostname, hosts, resolvers), the default login user with
 * passwordless sudo and the launch key pair in its authorized_keys, and the user data decoded
 * (gzip, MIME multipart) into parts that first-boot.ts's runner executes during that boot.
 *
 * Every launch is a new instance: state a previous instance left in the root (when the root
 * comes from an image made from that instance) is forgotten first.
 *
 * Work that needs no running system happens here, on the host, so that an instance is reachable
 * by SSH as soon as sshd starts; only user data (which may install packages and start services)
 * waits for the instance's own systemd.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HOST_TOKEN_FILE } from '../images/recipe.js';
import { gunzipSync } from 'node:zlib';
import { addUser } from './user-add.js';
import { DONE_MARKER, installFirstBoot, STARTED_MARKER, USER_DATA_DIR, USER_DATA_UNIT, type UserDataParts } from './first-boot.js';

export interface ProvisionParams {
  hostname: string;
  /** /etc/resolv.conf's servers (the VPC's base+2); none means lookups fail fast. */
  nameservers: string[];
  /** ec2-user, admin, ubuntu…: created if the image lacks it. */
  defaultUser: string;
  /** OpenSSH public key lines for the default user's authorized_keys (the launch key pair). */
  publicKeys: string[];
  userData?: Buffer;
  /** The instance's secret for asking kumo to act for it (mounting a volume): root may read it, no one else. */
  hostToken?: string;
  /** CA certificates (PEM) added to the system's trust store. */
  trustedCertificates?: string[];
  /** The root's upper layer and the image under it: with them, the default user's creation is replayed when it can be (./user-add.ts). */
  layers?: { upper: string; imageRootfs: string };
}

/** `root` is the instance's mounted root; every write lands in its upper layer. */
export async function provisionInstance(root: string, p: ProvisionParams): Promise<void> {
  forgetPreviousInstance(root);
  writeIdentity(root, p.hostname, p.nameservers);
  await ensureUser(root, p.defaultUser, p.layers);
  if (p.publicKeys.length) addAuthorizedKeys(root, p.defaultUser, p.publicKeys);
  if (p.hostToken) {
    mkdirSync(join(root, dirname(HOST_TOKEN_FILE)), { recursive: true, mode: 0o700 });
    writeFileSync(join(root, HOST_TOKEN_FILE), `${p.hostToken}\n`, { mode: 0o600 });
  }
  if (p.trustedCertificates?.length) trust(root, p.trustedCertificates);
  if (p.userData !== undefined && p.userData.length > 0) {
    installFirstBoot(root, splitUserData(p.userData), p.defaultUser);
  }
}

/**
 * kumo's certificate authority joins the image's trusted ones, as update-ca-certificates would add
 * it: its file where that tool looks (so a later run keeps it) and its PEM in the bundle that
 * OpenSSL, curl and Python read, so `aws` and `curl https://s3.….amazonaws.com` trust kumo's
 * endpoints inside the VPC.
 */
function trust(root: string, pems: string[]): void {
  const local = join(root, 'usr/local/share/ca-certificates');
  mkdirSync(local, { recursive: true });
  pems.forEach((pem, i) => writeFileSync(join(local, `kumo-${i}.crt`), pem.endsWith('\n') ? pem : `${pem}\n`, { mode: 0o644 }));
  const bundle = join(root, 'etc/ssl/certs/ca-certificates.crt');
  if (!existsSync(bundle)) return;
  const have = readFileSync(bundle, 'utf8');
  const missing = pems.filter((pem) => !have.includes(pem.trim()));
  if (missing.length) writeFileSync(bundle, `${have.endsWith('\n') || !have ? have : `${have}\n`}${missing.map((pem) => `${pem.trim()}\n`).join('')}`);
}

/**
 * A root made from another instance (an image created from it, SCENARIO.md part A) carries that
 * instance's first-boot state. cloud-init keys its per-instance work on the instance ID; here every
 * provisioning is a new instance, so: new SSH host keys (regenerated at boot), user data that runs
 * again if the new launch has some and the old one's never, a machine ID of its own.
 */
function forgetPreviousInstance(root: string): void {
  const rm = (path: string) => rmSync(join(root, path), { recursive: true, force: true });
  for (const path of [STARTED_MARKER, DONE_MARKER, `${USER_DATA_DIR}/instance`, `${USER_DATA_DIR}/kumo-init.py`]) rm(path);
  rm(`etc/systemd/system/${USER_DATA_UNIT}`);
  rm(`etc/systemd/system/multi-user.target.wants/${USER_DATA_UNIT}`);
  const ssh = join(root, 'etc/ssh');
  if (existsSync(ssh)) for (const f of readdirSync(ssh)) if (f.startsWith('ssh_host_')) rm(`etc/ssh/${f}`);
  const machineId = join(root, 'etc/machine-id');
  if (existsSync(machineId) && readFileSync(machineId, 'utf8').trim()) writeFileSync(machineId, '');
}

function writeIdentity(root: string, hostname: string, nameservers: string[]): void {
  // systemd takes the hostname from /etc/hostname at boot, over nspawn's --hostname.
  writeFileSync(join(root, 'etc/hostname'), `${hostname}\n`);
  writeFileSync(join(root, 'etc/hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n`);
  writeFileSync(join(root, 'etc/resolv.conf'), nameservers.map((s) => `nameserver ${s}\n`).join(''));
}

interface PasswdEntry {
  uid: number;
  gid: number;
  home: string;
}

function lookupUser(root: string, name: string): PasswdEntry | undefined {
  for (const line of readFileSync(join(root, 'etc/passwd'), 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) return { uid: Number(f[2]), gid: Number(f[3]), home: f[5]! };
  }
  return undefined;
}

/**
 * The image's own useradd (through chroot) rather than editing passwd/shadow/group by hand: it
 * knows the image's UID ranges, skeleton and group files. Same sudo rule as cloud-init's.
 */
async function ensureUser(root: string, name: string, layers: ProvisionParams['layers']): Promise<void> {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new Error(`bad user name ${JSON.stringify(name)}`);
  if (name === 'root') return;
  if (!lookupUser(root, name)) {
    const groups = ['adm', 'sudo'].filter((g) => readFileSync(join(root, 'etc/group'), 'utf8').includes(`\n${g}:`));
    if (layers) await addUser({ root, ...layers, name, groups });
    else await chroot(root, ['useradd', '-m', '-s', '/bin/bash', '-c', name, ...(groups.length ? ['-G', groups.join(',')] : []), name]);
  }
  const sudoers = join(root, 'etc/sudoers.d');
  mkdirSync(sudoers, { recursive: true });
  writeFileSync(join(sudoers, '90-cloud-init-users'), `# Created by kumo at first boot, as cloud-init does\n${name} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
}

function addAuthorizedKeys(root: string, user: string, keys: string[]): void {
  const u = user === 'root' ? { uid: 0, gid: 0, home: '/root' } : lookupUser(root, user);
  if (!u) throw new Error(`user ${user} missing in the image`);
  const dir = join(root, u.home, '.ssh');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'authorized_keys');
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  // An image made from an instance already has its key; a second copy would be noise.
  const have = new Set(before.split('\n').map((l) => l.trim()));
  writeFileSync(file, before + keys.map((k) => k.trim()).filter((k) => !have.has(k)).map((k) => `${k}\n`).join(''));
  chmodSync(dir, 0o700);
  chmodSync(file, 0o600);
  chownSync(dir, u.uid, u.gid);
  chownSync(file, u.uid, u.gid);
}

function chroot(root: string, argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('chroot', [root, ...argv], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } }, (err, _out, stderr) =>
      err ? reject(new Error(`chroot ${argv.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(),
    );
  });
}

// ---- user data decoding, as cloud-init does it ----

const isGzip = (b: Buffer) => b.length > 2 && b[0] === 0x1f && b[1] === 0x8b;

/** Gzip, MIME multipart and the `#` prefixes cloud-init dispatches on, into runnable parts. */
export function splitUserData(data: Buffer): UserDataParts {
  const parts: UserDataParts = { scripts: [], boothooks: [], cloudConfigs: [], notes: [] };
  classify(data, undefined, parts, 0);
  return parts;
}

function classify(raw: Buffer, contentType: string | undefined, parts: UserDataParts, depth: number): void {
  const data = isGzip(raw) ? gunzipSync(raw) : raw;
  const head = data.subarray(0, 200).toString('latin1');
  const type = (contentType ?? '').toLowerCase();
  if (depth < 5 && (type.startsWith('multipart/') || (!contentType && /^(content-type|mime-version):/i.test(head)))) {
    for (const part of parseMime(data, contentType)) classify(part.body, part.type, parts, depth + 1);
  } else if (type === 'text/x-shellscript' || head.startsWith('#!')) {
    parts.scripts.push(data);
  } else if (type === 'text/cloud-config' || head.startsWith('#cloud-config')) {
    parts.cloudConfigs.push(data);
  } else if (type === 'text/cloud-boothook' || head.startsWith('#cloud-boothook')) {
    // A boothook without its own #! is run by the shell; ours are run once, first of all.
    parts.boothooks.push(head.startsWith('#!') ? data : Buffer.concat([Buffer.from('#!/bin/sh\n'), data]));
  } else if (type === 'text/x-include-url' || head.startsWith('#include')) {
    parts.notes.push('#include user data ignored: instances have no network to fetch it from');
  } else if (data.toString('utf8').trim()) {
    parts.notes.push(`user data part of type ${contentType ?? 'text/plain'} not understood; ignored (as cloud-init does)`);
  }
}

interface MimePart {
  type: string | undefined;
  body: Buffer;
}

/** Enough of RFC 2046 for user data: a boundary, parts with headers, base64 or plain bodies. */
function parseMime(data: Buffer, outerType: string | undefined): MimePart[] {
  const text = data.toString('latin1');
  let headers = '';
  let body = text;
  if (!outerType) {
    const split = /\r?\n\r?\n/.exec(text);
    headers = split ? text.slice(0, split.index) : text;
    body = split ? text.slice(split.index + split[0].length) : '';
  }
  const typeLine = outerType ?? header(headers, 'content-type') ?? '';
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(typeLine)?.[1];
  if (!boundary) return [];
  const out: MimePart[] = [];
  for (const chunk of body.split(`--${boundary}`).slice(1)) {
    if (chunk.startsWith('--')) break; // the closing delimiter
    const part = chunk.replace(/^\r?\n/, '');
    const split = /\r?\n\r?\n/.exec(part);
    const h = split ? part.slice(0, split.index) : '';
    let b = split ? part.slice(split.index + split[0].length) : part;
    b = b.replace(/\r?\n$/, ''); // the line break before the next delimiter belongs to it
    const cte = (header(h, 'content-transfer-encoding') ?? '').toLowerCase();
    const bytes = cte === 'base64' ? Buffer.from(b.replace(/\s+/g, ''), 'base64') : Buffer.from(b, 'latin1');
    const ct = header(h, 'content-type');
    out.push({ type: ct?.toLowerCase().startsWith('multipart/') ? ct : ct?.split(';')[0]!.trim(), body: bytes });
  }
  return out;
}

function header(headers: string, name: string): string | undefined {
  // Folded header lines (continuations start with whitespace) are joined first.
  const unfolded = headers.replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && line.slice(0, i).trim().toLowerCase() === name) return line.slice(i + 1).trim();
  }
  return undefined;
}
