/**
 * provisionInstance's host side without booting anything (runs anywhere, root or not): user data
 * decoding the way cloud-init dispatches it (gzip, MIME multipart with base64 and nested parts,
 * `#!`, `#cloud-config`, `#cloud-boothook`, `#include`), and what lands in a root: identity
 * files, authorized_keys, the first-boot parts and unit. test/runtime/first-boot.test.ts boots it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { provisionInstance, splitUserData } from '../../src/runtime/instances/provision.js';

const text = (b: Buffer[]) => b.map((x) => x.toString());

test('plain scripts, cloud-config, boothooks and gzip are told apart by their first line', () => {
  assert.deepEqual(text(splitUserData(Buffer.from('#!/bin/bash\necho hi\n')).scripts), ['#!/bin/bash\necho hi\n']);
  assert.deepEqual(text(splitUserData(gzipSync('#cloud-config\nruncmd: [ls]\n')).cloudConfigs), ['#cloud-config\nruncmd: [ls]\n']);
  const hook = splitUserData(Buffer.from('#cloud-boothook\necho early\n'));
  assert.deepEqual(text(hook.boothooks), ['#!/bin/sh\n#cloud-boothook\necho early\n'], 'a boothook without #! runs under sh');
  assert.match(splitUserData(Buffer.from('#include\nhttp://example.com/x\n')).notes[0]!, /no network/);
  assert.match(splitUserData(Buffer.from('just some words')).notes[0]!, /not understood/);
  assert.deepEqual(splitUserData(Buffer.from('')), { scripts: [], boothooks: [], cloudConfigs: [], notes: [] });
});

test('MIME multipart: CRLF, base64 parts, gzip inside, nested multipart, parts in order', () => {
  const inner = [
    'Content-Type: multipart/mixed; boundary=INNER', '', '--INNER', 'Content-Type: text/x-shellscript', '',
    '#!/bin/sh\necho nested', '--INNER--', '',
  ].join('\r\n');
  const mime = [
    'Content-Type: multipart/mixed;', ' boundary="OUTER"', 'MIME-Version: 1.0', '',
    '--OUTER', 'Content-Type: text/cloud-config; charset="us-ascii"', 'Content-Transfer-Encoding: base64', '',
    Buffer.from('#cloud-config\npackages: [nginx]\n').toString('base64'),
    '--OUTER', 'Content-Type: text/x-shellscript', '', '#!/bin/bash\necho one',
    '--OUTER', 'Content-Type: application/octet-stream', 'Content-Transfer-Encoding: base64', '',
    gzipSync('#!/bin/bash\necho two\n').toString('base64'),
    '--OUTER', inner,
    '--OUTER--', '',
  ].join('\r\n');
  const parts = splitUserData(gzipSync(mime));
  assert.deepEqual(text(parts.cloudConfigs), ['#cloud-config\npackages: [nginx]\n']);
  assert.deepEqual(text(parts.scripts), ['#!/bin/bash\necho one', '#!/bin/bash\necho two\n', '#!/bin/sh\necho nested']);
});

test('a root gets identity, the key in the default user\'s authorized_keys, sudo and first-boot parts', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-provision-'));
  try {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    for (const d of ['etc/systemd/system', 'home/admin']) mkdirSync(join(root, d), { recursive: true });
    // The user already exists in this fake image, so no useradd (chroot) is needed.
    writeFileSync(join(root, 'etc/passwd'), `root:x:0:0:root:/root:/bin/bash\nadmin:x:${uid}:${gid}:admin:/home/admin:/bin/bash\n`);
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nsudo:x:27:\n');
    await provisionInstance(root, {
      hostname: 'ip-10-0-0-6', nameservers: ['10.0.0.2'], defaultUser: 'admin',
      publicKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx9 cms'], userData: Buffer.from('#!/bin/bash\necho hi\n'),
    });
    assert.equal(readFileSync(join(root, 'etc/hostname'), 'utf8'), 'ip-10-0-0-6\n');
    assert.match(readFileSync(join(root, 'etc/hosts'), 'utf8'), /127\.0\.1\.1\tip-10-0-0-6/);
    assert.equal(readFileSync(join(root, 'etc/resolv.conf'), 'utf8'), 'nameserver 10.0.0.2\n');
    const keys = join(root, 'home/admin/.ssh/authorized_keys');
    assert.equal(readFileSync(keys, 'utf8'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx9 cms\n');
    assert.equal(statSync(keys).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'home/admin/.ssh')).mode & 0o777, 0o700);
    assert.match(readFileSync(join(root, 'etc/sudoers.d/90-cloud-init-users'), 'utf8'), /^admin ALL=\(ALL\) NOPASSWD:ALL$/m);
    assert.deepEqual(readdirSync(join(root, 'var/lib/cloud/instance/scripts')), ['part-001']);
    assert.equal(readFileSync(join(root, 'var/lib/cloud/instance/default-user'), 'utf8'), 'admin\n');
    // An absolute link, meant for inside the instance.
    assert.equal(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/kumo-user-data.service')), '/etc/systemd/system/kumo-user-data.service');
    assert.ok(existsSync(join(root, 'etc/systemd/system/kumo-user-data.service')));
    assert.ok(existsSync(join(root, 'var/lib/cloud/kumo-init.py')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a root made from another instance forgets its host keys, user data state and machine id', async () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-provision-'));
  try {
    const uid = process.getuid?.() ?? 0;
    const gid = process.getgid?.() ?? 0;
    for (const d of ['etc/ssh', 'etc/systemd/system/multi-user.target.wants', 'home/admin/.ssh', 'var/lib/cloud/instance/scripts']) {
      mkdirSync(join(root, d), { recursive: true });
    }
    writeFileSync(join(root, 'etc/passwd'), `admin:x:${uid}:${gid}:admin:/home/admin:/bin/bash\n`);
    writeFileSync(join(root, 'etc/group'), 'sudo:x:27:\n');
    writeFileSync(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
    writeFileSync(join(root, 'etc/ssh/ssh_host_ed25519_key'), 'old');
    writeFileSync(join(root, 'etc/ssh/sshd_config'), 'kept');
    writeFileSync(join(root, 'var/lib/cloud/user-data.started'), '');
    writeFileSync(join(root, 'var/lib/cloud/instance/scripts/part-001'), '#!/bin/sh\necho old\n');
    writeFileSync(join(root, 'etc/systemd/system/kumo-user-data.service'), 'old');
    symlinkSync('/etc/systemd/system/kumo-user-data.service', join(root, 'etc/systemd/system/multi-user.target.wants/kumo-user-data.service'));
    writeFileSync(join(root, 'home/admin/.ssh/authorized_keys'), 'ssh-ed25519 AAAA cms\n');
    await provisionInstance(root, { hostname: 'cms02', nameservers: [], defaultUser: 'admin', publicKeys: ['ssh-ed25519 AAAA cms'] });
    assert.equal(readFileSync(join(root, 'etc/machine-id'), 'utf8'), '');
    assert.deepEqual(readdirSync(join(root, 'etc/ssh')), ['sshd_config']);
    assert.ok(!existsSync(join(root, 'var/lib/cloud/user-data.started')));
    assert.ok(!existsSync(join(root, 'var/lib/cloud/instance')), 'no user data of the previous instance to run again');
    assert.deepEqual(readdirSync(join(root, 'etc/systemd/system/multi-user.target.wants')), []);
    assert.equal(readFileSync(join(root, 'home/admin/.ssh/authorized_keys'), 'utf8'), 'ssh-ed25519 AAAA cms\n', 'the same key is not added twice');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
