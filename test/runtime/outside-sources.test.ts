/**
 * Which registry instances reach (runtime/outside/apt-sources.ts): the host's apt sources in both
 * formats, only Debian's archives among them, the images' canonical names mapped onto the host's
 * mirror, and the allow-list every proxied request goes through. Pure: no root, no network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoutes, parseDeb822, parseOneLine, readHostSources, routeOf } from '../../src/runtime/outside/apt-sources.js';

const DEB822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://ftp.jp.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: https://security.debian.org/debian-security
Suites: bookworm-security
Components: main contrib

Types: deb
URIs: https://deb.nodesource.com/node_20.x
Suites: nodistro
Components: main

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
`;

test('host sources: one-line and deb822 files, only the suffixes apt reads', () => {
  const root = mkdtempSync(join(tmpdir(), 'kumo-apt-'));
  try {
    mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    writeFileSync(join(root, 'etc/apt/sources.list'), '# a comment\ndeb [arch=amd64 signed-by=/k.gpg] http://deb.debian.org/debian/ bookworm main contrib\ndeb-src http://deb.debian.org/debian bookworm main\n');
    writeFileSync(join(root, 'etc/apt/sources.list.d/debian.sources'), DEB822);
    writeFileSync(join(root, 'etc/apt/sources.list.d/docker.list'), 'deb https://download.docker.com/linux/debian bookworm stable\n');
    writeFileSync(join(root, 'etc/apt/sources.list.d/gcloud.list.disabled-by-farm'), 'deb https://packages.cloud.google.com/apt cloud-sdk main\n');
    const uris = readHostSources(root).map((s) => s.uri);
    assert.deepEqual(uris, [
      'http://deb.debian.org/debian', 'http://ftp.jp.debian.org/debian', 'https://security.debian.org/debian-security',
      'https://deb.nodesource.com/node_20.x', 'https://download.docker.com/linux/debian',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  assert.deepEqual(parseOneLine('deb http://x/debian bookworm main non-free-firmware # trailing'), [{ uri: 'http://x/debian', suites: ['bookworm'], components: ['main', 'non-free-firmware'] }]);
  assert.deepEqual(parseDeb822(DEB822).find((s) => s.uri.includes('disabled')), undefined, 'Enabled: no');
});

test('routes: the host\'s Debian archives, and the images\' names mapped onto them', () => {
  const routes = packageRoutes([
    ...parseDeb822(DEB822),
    ...parseOneLine('deb https://download.docker.com/linux/debian bookworm stable\ndeb http://archive.ubuntu.com/ubuntu jammy main'),
  ]);
  const to = (url: string) => routeOf(routes, new URL(url))?.upstream.href;
  // The images ask deb.debian.org; kumo fetches from the host's mirrors (https where the host uses it).
  assert.equal(to('http://deb.debian.org/debian/dists/bookworm/InRelease'), 'http://ftp.jp.debian.org/debian/dists/bookworm/InRelease');
  assert.equal(to('http://deb.debian.org/debian-security/pool/main/o/openssl/libssl3_3.0.15-1~deb12u1_amd64.deb'),
    'https://security.debian.org/debian-security/pool/main/o/openssl/libssl3_3.0.15-1~deb12u1_amd64.deb');
  assert.equal(to('http://ftp.jp.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb'), 'http://ftp.jp.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb', 'the host\'s mirror by its own name');
  // Not Debian's archive (another suite naming, a component of its own): not the registry.
  assert.equal(to('http://download.docker.com/linux/debian/dists/bookworm/InRelease'), undefined);
  assert.equal(to('http://archive.ubuntu.com/ubuntu/dists/jammy/InRelease'), undefined);
  assert.equal(to('http://deb.nodesource.com/node_20.x/dists/nodistro/InRelease'), undefined);
  assert.deepEqual(packageRoutes([]).map((r) => r.to), ['http://deb.debian.org/debian/', 'http://deb.debian.org/debian-security/'], 'no Debian source on the host: Debian\'s own');
});

test('the allow-list: registry paths only, nothing around them', () => {
  const routes = packageRoutes(parseOneLine('deb http://deb.debian.org/debian bookworm main'));
  const r = (url: string) => routeOf(routes, new URL(url));
  assert.deepEqual(r('http://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb')?.immutable, true);
  assert.deepEqual(r('http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/0f42')?.immutable, true);
  assert.deepEqual(r('http://deb.debian.org/debian/dists/bookworm/InRelease')?.immutable, false);
  for (const refused of [
    'http://example.com/debian/dists/bookworm/InRelease',
    'http://deb.debian.org/debian/README',
    'http://deb.debian.org/debian/',
    'http://deb.debian.org/debian/pool/main/h/hello/?list',
    'http://deb.debian.org/debian/%2e%2e/etc/passwd',
    'http://deb.debian.org/debian/pool//x',
    'http://deb.debian.org/debian-other/pool/main/x.deb',
    'https://deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb',
    'http://user:pw@deb.debian.org/debian/pool/main/h/hello/hello_2.10-3_amd64.deb',
  ]) {
    assert.equal(r(refused), undefined, refused);
  }
});
