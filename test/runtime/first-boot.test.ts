/**
 * The base image booted by the native driver with no network at all (not even kumo's package
 * proxy: test/runtime/outside.test.ts has that): per-instance SSH host keys, the launch key in the
 * default user's authorized_keys and an SSH login with passwordless sudo, offline
 * `apt-get install nginx` from the image's local repository and the package lists baked into it,
 * SCENARIO.md's Amazon Linux user data (yum php httpd mysql, chown apache, systemctl
 * enable/start httpd.service) serving PHP with mbstring and mysqli, and
 * gzip-compressed MIME multipart user data with cloud-config (bootcmd, write_files,
 * ssh_authorized_keys, runcmd) next to a shell script, all reported on the console.
 *
 * Commands run inside an instance through nsenter into its init's namespaces; HTTP and SSH go to
 * 127.0.0.1 inside the instance's own network namespace (`ip netns exec kumo-<id>`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DEBIAN_12, ensureImage } from '../../src/runtime/images/builder.js';
import { DONE_MARKER } from '../../src/runtime/instances/first-boot.js';
import { run } from '../../src/runtime/instances/host.js';
import { NativeDriver } from '../../src/runtime/instances/native.js';
import { IMAGE_CACHE, leftovers, nativeSkipReason, waitFor } from './support.js';
import { SEED_002_USER_DATA } from '../helpers/seeds.js';

const skip = nativeSkipReason();
const tag = `kf${process.pid}`;
const debianId = `i-${tag}-deb`;
const amazonId = `i-${tag}-al`;

let dataDir = '';
let driver: NativeDriver;
let rootfs = '';
let key = '';
let pub = '';
let pub2 = '';

// No `apt-get update`: with no network it fails (as it would anywhere); the lists are in the image.
const NGINX_USER_DATA = `#!/bin/bash
set -e
apt-get install -y nginx
echo "nginx-from-user-data" > /var/www/html/index.nginx-debian.html
echo "nginx-installed-$((6 * 7))"
`;

function amazonUserData(extraKey: string): Buffer {
  const cloudConfig = `#cloud-config
bootcmd:
  - echo bootcmd-ran > /run/kumo-bootcmd
write_files:
  - path: /etc/kumo-test/config.txt
    content: written-by-cloud-config
    permissions: '0640'
  - path: /var/www/html/kumo.html
    content: aGVsbG8gZnJvbSBjbG91ZC1jb25maWcK
    encoding: b64
    defer: true
ssh_authorized_keys:
  - ${extraKey}
runcmd:
  - echo "runcmd-ran-$(cat /etc/kumo-test/config.txt)"
  - [sh, -c, 'command -v unzip && echo unzip-present']
`;
  // SCENARIO.md part B's user data (seeds/002), as written for Amazon Linux 2, minus the
  // WordPress download (this instance has no network): a PHP page stands in for it. Offline,
  // `yum -y update` fails and the script goes on (it has no set -e); the installs come from the
  // image's local repository. (cloud-config's `packages` would refresh the lists first and fail
  // the same way: instances-api-userdata.test.ts runs it with kumo's proxy.)
  const script = `${SEED_002_USER_DATA.slice(0, SEED_002_USER_DATA.indexOf('yum -y install php-mbstring'))}yum -y install php-mbstring php-xml mod_ssl php-json unzip
echo '<?php echo "php-" . (extension_loaded("mbstring") ? "mbstring" : "none") . "-" . (function_exists("mysqli_connect") ? "mysqli" : "none");' > /var/www/html/index.php
chown apache:apache -R /var/www/html
chkconfig httpd on

systemctl enable httpd.service
systemctl start httpd.service
echo "httpd-is-$(systemctl is-active httpd)"
mysql --version
`;
  const mime = [
    'Content-Type: multipart/mixed; boundary="==BOUNDARY=="',
    'MIME-Version: 1.0',
    '',
    '--==BOUNDARY==',
    'Content-Type: text/cloud-config; charset="us-ascii"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(cloudConfig).toString('base64'),
    '--==BOUNDARY==',
    'Content-Type: text/x-shellscript; charset="us-ascii"',
    '',
    script,
    '--==BOUNDARY==--',
    '',
  ].join('\n');
  return gzipSync(mime);
}

/** A shell command inside the instance: all of its init's namespaces, its root and cwd. */
async function inside(id: string, cmd: string): Promise<string> {
  // Right after launch nspawn may not have forked the container's init yet.
  await waitFor(`${id} to boot`, 10_000, () => driver.containerPids(id).length > 2);
  const init = driver.containerPids(id)[0]!;
  return run('nsenter', ['-t', String(init), '-U', '-m', '-u', '-i', '-n', '-p', '-r', '-w', '/bin/sh', '-c', cmd]);
}

const inNetns = (id: string, cmd: string, args: string[]) => run('ip', ['netns', 'exec', driver.netnsOf(id), cmd, ...args]);

async function fetchLocal(id: string, path = '/'): Promise<string | undefined> {
  try {
    return await inNetns(id, 'curl', ['-sf', '--max-time', '2', `http://127.0.0.1${path}`]);
  } catch {
    return undefined;
  }
}

const ssh = (id: string, user: string, identity: string, cmd: string, options: string[] = []) =>
  inNetns(id, 'ssh', [
    ...options, '-i', identity, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=5', `${user}@127.0.0.1`, cmd,
  ]);

before(async () => {
  if (skip) return;
  dataDir = mkdtempSync(`/var/tmp/kumo-${tag}-`);
  driver = new NativeDriver({ root: join(dataDir, 'instances'), prefix: 'kumo-test-' });
  rootfs = await ensureImage(IMAGE_CACHE, DEBIAN_12, (l) => console.log(`# ${l}`));
  key = join(dataDir, 'key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'launch-key', '-f', key]);
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'cloud-config-key', '-f', `${key}2`]);
  pub = readFileSync(`${key}.pub`, 'utf8').trim();
  pub2 = readFileSync(`${key}2.pub`, 'utf8').trim();
});

after(async () => {
  if (skip) return;
  try {
    for (const i of [debianId, amazonId]) if (driver.status(i) !== 'terminated') await driver.terminate(i, 5_000);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
  assert.deepEqual(leftovers(tag), [], 'no nspawn process, overlay mount, namespace or cgroup left behind');
});

test('two instances boot with their own SSH host keys, the launch key and their user data', { skip, timeout: 5 * 60_000 }, async (t) => {
  const launched = Date.now();
  // No `network`: each instance has only loopback in its own namespace.
  await Promise.all([
    driver.launch({ id: debianId, imageRootfs: rootfs, hostname: 'ip-10-0-0-5', defaultUser: 'admin', publicKeys: [pub], userData: NGINX_USER_DATA }),
    driver.launch({ id: amazonId, imageRootfs: rootfs, hostname: 'ip-10-0-1-9', defaultUser: 'ec2-user', publicKeys: [pub], userData: amazonUserData(pub2) }),
  ]);

  await t.test('sshd runs with host keys generated at first boot, different per instance', async () => {
    const fingerprints: string[] = [];
    for (const id of [debianId, amazonId]) {
      await waitFor(`sshd in ${id}`, 30_000, async () => (await inside(id, 'systemctl is-active ssh || true').catch(() => '')).trim() === 'active');
      fingerprints.push(await inside(id, 'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub'));
      assert.ok(existsSync(join(join(driver.paths(id).dir, 'upper'), 'etc/ssh/ssh_host_ed25519_key')), 'host key in the instance volume, not the image');
    }
    t.diagnostic(`launch to sshd active in both: ${Date.now() - launched} ms`);
    // The RSA key comes a moment later, at idle priority.
    for (const id of [debianId, amazonId]) {
      await waitFor(`the RSA host key in ${id}`, 30_000, () => existsSync(join(driver.paths(id).merged, 'etc/ssh/ssh_host_rsa_key.pub')));
    }
    assert.notEqual(fingerprints[0], fingerprints[1]);
    assert.ok(!existsSync(join(rootfs, 'etc/ssh/ssh_host_ed25519_key')), 'the image stays without host keys');
  });

  await t.test('the launch key logs in as the default user, who has passwordless sudo', async () => {
    // sshd reloaded with the RSA key once it existed: a client that only accepts RSA host keys gets in.
    await waitFor('sshd to offer the RSA host key', 15_000, () =>
      ssh(debianId, 'admin', key, 'true', ['-o', 'HostKeyAlgorithms=rsa-sha2-512']).then(() => true, () => false));
    assert.match(readFileSync(join(driver.paths(debianId).merged, 'home/admin/.ssh/authorized_keys'), 'utf8'), /launch-key/);
    assert.equal((await ssh(debianId, 'admin', key, 'id -un; sudo -n id -un')).trim(), 'admin\nroot');
    assert.equal((await ssh(amazonId, 'ec2-user', key, 'hostname')).trim(), 'ip-10-0-1-9');
    await assert.rejects(ssh(debianId, 'ec2-user', key, 'true'), 'no ec2-user on the Debian instance');
  });

  await t.test('apt-get install nginx works offline from the image repository', async () => {
    await waitFor('user data on the Debian instance', 180_000, () => existsSync(join(driver.paths(debianId).merged, DONE_MARKER)));
    t.diagnostic(`launch to nginx installed: ${Date.now() - launched} ms`);
    await waitFor('the user data output on the console', 30_000, () => /user data exited with status/.test(driver.consoleOutput(debianId)));
    const console = driver.consoleOutput(debianId);
    assert.match(console, /nginx-installed-42/, 'user data output on the console');
    assert.match(console, /kumo: user data exited with status 0/);
    assert.equal((await waitFor('nginx', 30_000, () => fetchLocal(debianId))).trim(), 'nginx-from-user-data');
    assert.equal((await ssh(debianId, 'admin', key, 'cloud-init status --wait')).trim(), 'status: done');
  });

  await t.test('gzip MIME multipart: cloud-config and a yum/systemctl httpd script', async () => {
    const p = driver.paths(amazonId);
    await waitFor('user data on the Amazon Linux instance', 180_000, () => existsSync(join(p.merged, DONE_MARKER)));
    t.diagnostic(`launch to httpd installed and started: ${Date.now() - launched} ms`);
    // The console gets the user data's lines through journald, a moment after they ran.
    const expected = [/kumo-init: wrote \/etc\/kumo-test\/config\.txt/, /runcmd-ran-written-by-cloud-config/, /unzip-present/, /httpd-is-active/, /mysql +Ver .*MariaDB/];
    await waitFor('the user data output on the console', 30_000, () => expected.every((re) => re.test(driver.consoleOutput(amazonId))));
    const console = driver.consoleOutput(amazonId);
    assert.equal(readFileSync(join(p.merged, DONE_MARKER), 'utf8').trim(), '0', console.slice(-3000));
    assert.match(console, /kumo-init: wrote \/etc\/kumo-test\/config\.txt/);
    assert.match(console, /runcmd-ran-written-by-cloud-config/);
    assert.match(console, /unzip-present/, 'runcmd ran after the script\'s installs');
    assert.match(console, /httpd-is-active/);
    assert.equal((await inside(amazonId, 'cat /run/kumo-bootcmd')).trim(), 'bootcmd-ran');
    assert.equal((await inside(amazonId, 'stat -c %a /etc/kumo-test/config.txt')).trim(), '640');
    assert.equal((await inside(amazonId, 'systemctl is-enabled httpd; systemctl is-active apache2')).trim(), 'enabled\nactive');
    assert.match(console, /mysql +Ver .*MariaDB/, 'the mysql client is installed');
    assert.equal((await inside(amazonId, 'stat -c %U:%G /var/www/html/index.php')).trim(), 'www-data:www-data', 'apache is www-data');
    // Debian's default index.html is gone, as on Amazon Linux, so index.php is the site.
    assert.equal((await waitFor('php', 30_000, () => fetchLocal(amazonId, '/'))).trim(), 'php-mbstring-mysqli');
    assert.equal((await waitFor('httpd', 30_000, () => fetchLocal(amazonId, '/kumo.html'))).trim(), 'hello from cloud-config');
    assert.match(await ssh(amazonId, 'ec2-user', `${key}2`, 'cat ~/.ssh/authorized_keys'), /launch-key[\s\S]*cloud-config-key/, 'ssh_authorized_keys added');
    // restart through the alias restarts apache2 and it still serves.
    await inside(amazonId, 'systemctl restart httpd');
    assert.equal((await waitFor('httpd after restart', 30_000, () => fetchLocal(amazonId, '/kumo.html'))).trim(), 'hello from cloud-config');
  });

  const rss = driver.rss(debianId);
  t.diagnostic(`instance with nginx: RSS ${(rss.container / 2 ** 20).toFixed(1)} MiB in ${driver.containerPids(debianId).length} processes; PSS ${(rss.pss / 2 ** 20).toFixed(1)} MiB`);

  await Promise.all([driver.terminate(debianId), driver.terminate(amazonId)]);
  assert.deepEqual(leftovers(tag), []);
});
