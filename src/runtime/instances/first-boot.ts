/**
 * First-boot user data, the way cloud-init runs it on EC2: once, as root, late in the first boot,
 * with its output on the console (so GetConsoleOutput shows it). provision.ts decodes the user
 * data on the host (gzip, MIME multipart) into parts and hands them here; this file writes them
 * into the instance's upper layer with a small runner (kumo-init.py, a tiny cloud-init) and a
 * oneshot unit enabled for multi-user.target.
 *
 *   /var/lib/cloud/instance/scripts/part-NNN       `#!` scripts, run in order after cloud-config's steps
 *   /var/lib/cloud/instance/boothooks/part-NNN     `#cloud-boothook` parts, run first
 *   /var/lib/cloud/instance/cloud-config.d/NNN.yaml `#cloud-config` parts, merged (lists concatenated)
 *   /var/lib/cloud/instance/default-user           the login user, for ssh_authorized_keys
 *
 * The runner drops `user-data.started` before doing anything and the unit is conditioned on its
 * absence, so a reboot never runs user data again, even after a failure or a crash mid-script;
 * `user-data.done` holds the exit status (0, or the last failing step's) once it finished.
 * Cloud-config runs in cloud-init's module order: bootcmd, write_files, users,
 * ssh_authorized_keys, package_update/packages, deferred write_files, then user scripts, runcmd.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const USER_DATA_DIR = 'var/lib/cloud';
export const STARTED_MARKER = `${USER_DATA_DIR}/user-data.started`;
export const DONE_MARKER = `${USER_DATA_DIR}/user-data.done`;
const INSTANCE_DIR = `${USER_DATA_DIR}/instance`;
export const USER_DATA_UNIT = 'kumo-user-data.service';
const UNIT = USER_DATA_UNIT;

export interface UserDataParts {
  scripts: Buffer[];
  boothooks: Buffer[];
  cloudConfigs: Buffer[];
  /** What was skipped and why (e.g. `#include` needs a network), printed on the console. */
  notes: string[];
}

const RUNNER = String.raw`#!/usr/bin/python3
# kumo's first-boot runner: a small cloud-init (see ${UNIT}). Runs once; output goes to the console.
import base64, glob, grp, gzip, os, pwd, subprocess, sys
INST = '/${INSTANCE_DIR}'
status = 0
os.environ.setdefault('HOME', '/root')
os.environ['PATH'] = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
os.environ['DEBIAN_FRONTEND'] = 'noninteractive'

def say(msg):
    print('kumo-init: ' + msg, flush=True)

def failed(what, rc):
    global status
    status = rc or 1
    say('%s failed with status %s' % (what, rc))

def run(cmd, what):
    sys.stdout.flush()
    argv = ['/bin/sh', '-c', cmd] if isinstance(cmd, str) else [str(a) for a in cmd]
    try:
        rc = subprocess.call(argv, stdin=subprocess.DEVNULL)
    except OSError as e:
        say('%s: %s' % (what, e))
        rc = 127
    if rc:
        failed(what, rc)

def listing(v):
    return v if isinstance(v, list) else [] if v is None else [v]

def load_config():
    cfg = {}
    files = sorted(glob.glob(INST + '/cloud-config.d/*.yaml'))
    if not files:
        return cfg
    import yaml
    for f in files:
        try:
            d = yaml.safe_load(open(f, 'rb')) or {}
        except Exception as e:
            say('cloud-config %s is not valid YAML: %s' % (f, e))
            failed('cloud-config', 1)
            continue
        if not isinstance(d, dict):
            say('cloud-config %s is not a mapping; ignored' % f)
            continue
        for k, v in d.items():
            cfg[k] = cfg[k] + v if isinstance(v, list) and isinstance(cfg.get(k), list) else v
    return cfg

def add_keys(user, keys):
    pw = pwd.getpwnam(user)
    d = os.path.join(pw.pw_dir, '.ssh')
    os.makedirs(d, mode=0o700, exist_ok=True)
    path = d + '/authorized_keys'
    with open(path, 'a') as f:
        for k in keys:
            f.write(str(k).strip() + '\n')
    os.chmod(path, 0o600)
    for p in (d, path):
        os.chown(p, pw.pw_uid, pw.pw_gid)

def write_file(f):
    path = f['path']
    content = f.get('content', '')
    data = content if isinstance(content, bytes) else str(content).encode()
    enc = str(f.get('encoding') or '').lower()
    if enc in ('b64', 'base64'):
        data = base64.b64decode(data)
    elif enc in ('gz', 'gzip'):
        data = gzip.decompress(data)
    elif enc in ('gz+base64', 'gzip+base64', 'gz+b64', 'gzip+b64'):
        data = gzip.decompress(base64.b64decode(data))
    os.makedirs(os.path.dirname(path) or '/', exist_ok=True)
    with open(path, 'ab' if f.get('append') else 'wb') as out:
        out.write(data)
    perms = f.get('permissions')
    # Unquoted 0644 is already an int to YAML 1.1; a quoted one is an octal string.
    os.chmod(path, perms if isinstance(perms, int) else int(str(perms), 8) if perms else 0o644)
    user, _, group = str(f.get('owner') or 'root:root').partition(':')
    os.chown(path, pwd.getpwnam(user).pw_uid, grp.getgrnam(group or user).gr_gid)
    say('wrote %s' % path)

def write_files(cfg, deferred):
    for f in listing(cfg.get('write_files')):
        if isinstance(f, dict) and bool(f.get('defer')) == deferred:
            try:
                write_file(f)
            except Exception as e:
                say('write_files %s: %s' % (f.get('path'), e))
                failed('write_files', 1)

def add_user(u):
    name = u['name']
    try:
        pwd.getpwnam(name)
    except KeyError:
        argv = ['useradd', '-m', '-s', u.get('shell') or '/bin/bash']
        groups = u.get('groups')
        if groups:
            argv += ['-G', groups if isinstance(groups, str) else ','.join(groups)]
        if u.get('gecos'):
            argv += ['-c', u['gecos']]
        run(argv + [name], 'users: ' + name)
    for rule in listing(u.get('sudo')):
        if rule:
            with open('/etc/sudoers.d/90-cloud-init-users', 'a') as f:
                f.write('%s %s\n' % (name, rule))
            os.chmod('/etc/sudoers.d/90-cloud-init-users', 0o440)
    if u.get('ssh_authorized_keys'):
        add_keys(name, listing(u['ssh_authorized_keys']))

def parts(kind):
    return sorted(glob.glob('%s/%s/part-*' % (INST, kind)))

open('/${STARTED_MARKER}', 'w').close()
say('first boot: running user data')
for p in parts('boothooks'):
    run([p], 'boothook ' + os.path.basename(p))
cfg = load_config()
for c in listing(cfg.get('bootcmd')):
    run(c, 'bootcmd')
write_files(cfg, False)
default_user = open(INST + '/default-user').read().strip() if os.path.exists(INST + '/default-user') else 'root'
for u in listing(cfg.get('users')):
    if isinstance(u, dict) and u.get('name'):
        add_user(u)
if cfg.get('ssh_authorized_keys'):
    add_keys(default_user, listing(cfg['ssh_authorized_keys']))
if cfg.get('package_update') or cfg.get('package_upgrade') or cfg.get('apt_update') or cfg.get('packages'):
    run(['apt-get', 'update', '-q'], 'package_update')
pkgs = [' '.join(map(str, p[:1])) if isinstance(p, list) else str(p) for p in listing(cfg.get('packages'))]
if pkgs:
    say('installing packages: ' + ' '.join(pkgs))
    # Through the yum shim, which maps Amazon Linux names (httpd) to Debian ones; services start
    # on install as cloud-init's apt would do it (the shim otherwise leaves them stopped, as yum).
    os.environ['KUMO_START_SERVICES'] = '1'
    run(['/usr/local/bin/yum', 'install', '-y'] + pkgs, 'packages')
    del os.environ['KUMO_START_SERVICES']
write_files(cfg, True)
for p in parts('scripts'):
    run([p], 'user data script ' + os.path.basename(p))
for c in listing(cfg.get('runcmd')):
    run(c, 'runcmd')
for n in open(INST + '/notes').read().splitlines() if os.path.exists(INST + '/notes') else []:
    say(n)
print('kumo: user data exited with status %d' % status, flush=True)
with open('/${DONE_MARKER}', 'w') as f:
    f.write('%d\n' % status)
# A failing script leaves the instance running, as on EC2; the console says why.
`;

const UNIT_TEXT = `[Unit]
Description=kumo: run user data (first boot only)
After=network.target
ConditionPathExists=!/${STARTED_MARKER}

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /${USER_DATA_DIR}/kumo-init.py
RemainAfterExit=yes
TimeoutStartSec=0
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

/** `root` is the instance's mounted root (writes land in its upper layer). */
export function installFirstBoot(root: string, parts: UserDataParts, defaultUser: string): void {
  // As cloud-init lays it out: /var/lib/cloud readable by all (`cloud-init status` runs as any
  // user and reads the markers), the user data itself root's only.
  mkdirSync(join(root, USER_DATA_DIR), { recursive: true, mode: 0o755 });
  const inst = join(root, INSTANCE_DIR);
  mkdirSync(inst, { recursive: true, mode: 0o700 });
  const numbered = (kind: string, items: Buffer[], name: (i: number) => string, mode: number) => {
    if (!items.length) return;
    mkdirSync(join(inst, kind), { recursive: true, mode: 0o700 });
    items.forEach((b, i) => writeFileSync(join(inst, kind, name(i + 1)), b, { mode }));
  };
  const nnn = (i: number) => String(i).padStart(3, '0');
  numbered('scripts', parts.scripts, (i) => `part-${nnn(i)}`, 0o700);
  numbered('boothooks', parts.boothooks, (i) => `part-${nnn(i)}`, 0o700);
  numbered('cloud-config.d', parts.cloudConfigs, (i) => `${nnn(i)}.yaml`, 0o600);
  writeFileSync(join(inst, 'default-user'), `${defaultUser}\n`);
  if (parts.notes.length) writeFileSync(join(inst, 'notes'), parts.notes.map((n) => `${n}\n`).join(''));
  writeFileSync(join(root, USER_DATA_DIR, 'kumo-init.py'), RUNNER, { mode: 0o700 });
  const units = join(root, 'etc/systemd/system');
  writeFileSync(join(units, UNIT), UNIT_TEXT);
  mkdirSync(join(units, 'multi-user.target.wants'), { recursive: true });
  symlinkSync(`/etc/systemd/system/${UNIT}`, join(units, 'multi-user.target.wants', UNIT));
}
