/**
 * The image builder: a complete Debian rootfs that can boot systemd, built atomically once and
 * then reused; concurrent callers share one build; nothing half-built is left around. What the
 * recipe puts in it (sshd without host keys, sudo, wget, Debian's apt sources through kumo's
 * package proxy behind the local apt repository, the yum shim) is checked here on the tree;
 * test/runtime/first-boot.test.ts boots it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DEBIAN_12, ensureImage } from '../../src/runtime/images/builder.js';
import { IMAGE_CACHE, nativeSkipReason } from './support.js';

const skip = nativeSkipReason();

test('builds the Debian 12 base image once, atomically, and reuses it', { skip, timeout: 15 * 60_000 }, async (t) => {
  const started = Date.now();
  const lines: string[] = [];
  // Two callers at once: one builds, the other waits on the lock and gets the same result.
  const [a, b] = await Promise.all([
    ensureImage(IMAGE_CACHE, DEBIAN_12, (l) => lines.push(l)),
    ensureImage(IMAGE_CACHE, DEBIAN_12, (l) => lines.push(l)),
  ]);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  t.diagnostic(lines.some((l) => l.includes('built in')) ? `image built in ${secs} s` : `image reused from cache in ${secs} s`);
  for (const l of lines.filter((x) => /built in|waiting/.test(x))) t.diagnostic(l);
  assert.equal(a, b);
  assert.equal(lines.filter((l) => l.includes('built in')).length <= 1, true);
  for (const f of [
    'usr/lib/systemd/systemd', 'usr/bin/python3', 'usr/bin/curl', 'usr/bin/ip', 'usr/bin/dbus-daemon', 'usr/sbin/sshd',
    'usr/bin/sudo', 'usr/bin/wget', 'usr/local/bin/yum', 'usr/local/bin/dnf', 'etc/systemd/system/httpd.service',
    'etc/systemd/system/kumo-ssh-keygen.service', 'var/lib/kumo/apt/Packages',
  ]) {
    assert.ok(existsSync(join(a, f)), `${f} in the image`);
  }
  assert.deepEqual(readdirSync(join(a, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_')), [], 'no SSH host keys baked in');
  const index = readFileSync(join(a, 'var/lib/kumo/apt/Packages'), 'utf8');
  for (const pkg of ['apache2', 'apache2-bin', 'nginx', 'php8.2', 'libapache2-mod-php8.2', 'mariadb-client']) {
    assert.match(index, new RegExp(`^Package: ${pkg.replace('.', '\\.')}$`, 'm'), `${pkg} in the local repository`);
  }
  const sources = readFileSync(join(a, 'etc/apt/sources.list'), 'utf8').split('\n').filter((l) => l.startsWith('deb '));
  assert.deepEqual(sources, [
    'deb [trusted=yes] file:/var/lib/kumo/apt ./',
    'deb http://deb.debian.org/debian bookworm main',
    'deb http://deb.debian.org/debian bookworm-updates main',
    'deb http://deb.debian.org/debian-security bookworm-security main',
  ], 'the local repository first, then Debian\'s');
  assert.match(readFileSync(join(a, 'etc/apt/apt.conf.d/90kumo-proxy'), 'utf8'), /^Acquire::http::Proxy "http:\/\/169\.254\.169\.250\/";$/m, 'Debian through kumo\'s proxy');
  assert.ok(readdirSync(join(a, 'var/lib/apt/lists')).includes('deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages'), 'Debian\'s lists baked in');
  assert.match(a, /debian-12-[0-9a-f]{8}\/rootfs$/, 'the cache dir is named by the recipe hash');
  assert.equal(readFileSync(join(a, 'etc/machine-id'), 'utf8'), '', 'machine-id left for each instance to fill');
  assert.deepEqual(readdirSync(IMAGE_CACHE).filter((e) => e.startsWith('.')), [], 'no temp build or lock left');

  // Once built, the image is taken as it is: no lock, no build, the same tree.
  const image = join(a, '..', 'image.json');
  const built = [statSync(a).ino, readFileSync(image, 'utf8')];
  const again: string[] = [];
  const t0 = Date.now();
  assert.equal(await ensureImage(IMAGE_CACHE, DEBIAN_12, (l) => again.push(l)), a);
  t.diagnostic(`cached image found in ${Date.now() - t0} ms`);
  assert.deepEqual(again, [], 'a cached image is neither built nor waited for');
  assert.deepEqual([statSync(a).ino, readFileSync(image, 'utf8')], built, 'the same build, untouched');
});
