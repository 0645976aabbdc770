/**
 * kumo's view of the outside world without instances (runtime/outside): the package proxy and its
 * cache against a stand-in registry on loopback (it counts what it is asked), driven with proxy
 * form requests as apt sends them; the download mirror's answers for what it does not mirror; the
 * DNS answers for mirrored hosts. No root, nothing leaves the machine.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FRESH_MS, PackageCache } from '../../src/runtime/outside/package-cache.js';
import { createUpstream } from '../../src/runtime/outside/upstream.js';
import { OutsideWorld } from '../../src/runtime/outside/world.js';

const DEB = Buffer.alloc(300_000, 7);
let registry: Server;
let registryPort = 0;
/** path → how many times the registry was asked for it */
const asked = new Map<string, number>();
let inRelease = 'Origin: Debian\n';
let inReleaseDate = new Date('2026-01-01T00:00:00Z');
/** Holds the slow file's second half until released. */
let releaseSlow: () => void = () => {};

let dir = '';
let world: OutsideWorld;
let proxy: Server;
let proxyPort = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kumo-outside-'));
  registry = createServer((req, res) => {
    const path = req.url ?? '';
    asked.set(path, (asked.get(path) ?? 0) + 1);
    if (path === '/debian/pool/main/h/hello/hello_1_all.deb') return send(res, DEB);
    if (path === '/debian/pool/main/s/slow/slow_1_all.deb') {
      res.writeHead(200, { 'Content-Length': String(DEB.length) });
      res.write(DEB.subarray(0, 1000));
      releaseSlow = () => res.end(DEB.subarray(1000));
      return;
    }
    if (path === '/debian/pool/main/c/cut/cut_1_all.deb') {
      res.writeHead(200, { 'Content-Length': String(DEB.length) });
      res.write(DEB.subarray(0, 1000), () => res.destroy());
      return;
    }
    if (path === '/debian/dists/bookworm/InRelease') {
      const since = Date.parse(req.headers['if-modified-since'] ?? '');
      if (!Number.isNaN(since) && inReleaseDate.getTime() <= since) return void res.writeHead(304).end();
      return send(res, Buffer.from(inRelease), { 'Last-Modified': inReleaseDate.toUTCString() });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
  registryPort = (registry.address() as AddressInfo).port;
  world = new OutsideWorld({
    cacheDir: dir,
    suite: 'bookworm',
    log: () => {},
    sources: [{ uri: `http://127.0.0.1:${registryPort}/debian`, suites: ['bookworm'], components: ['main'] }],
    upstream: createUpstream(undefined),
  });
  proxy = createServer((req, res) => world.handle(req, res));
  proxy.on('connect', (req, socket) => world.proxy.connect(req, socket));
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyPort = (proxy.address() as AddressInfo).port;
});

after(async () => {
  proxy.closeAllConnections();
  registry.closeAllConnections();
  await Promise.all([new Promise((r) => proxy.close(r)), new Promise((r) => registry.close(r))]);
  rmSync(dir, { recursive: true, force: true });
});

function send(res: ServerResponse, body: Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'Content-Length': String(body.length), ...headers });
  res.end(body);
}

interface Reply { status: number; body: Buffer; headers: Record<string, string | string[] | undefined>; error?: string }

/** A request to kumo's outside server, in proxy form (`path` a full URL) or origin form (`host` given). */
function ask(path: string, opts: { method?: string; headers?: Record<string, string>; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve) => {
    const host = opts.host ?? new URL(path).host;
    const req = request({ host: '127.0.0.1', port: proxyPort, path, method: opts.method ?? 'GET', headers: { host, ...opts.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers, error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, body: Buffer.alloc(0), headers: {}, error: e.message }));
    req.end();
  });
}

const HELLO = 'http://deb.debian.org/debian/pool/main/h/hello/hello_1_all.deb';
const cachedPath = (path: string) => join(dir, 'registry', `127.0.0.1:${registryPort}`, path);

/** An asker has all the bytes (Content-Length) a moment before the file is committed under its name. */
async function committed(path: string): Promise<void> {
  while (!existsSync(cachedPath(path))) await new Promise((r) => setTimeout(r, 10));
}

test('a package is downloaded once: the second ask is answered from disk', async () => {
  const first = await ask(HELLO);
  assert.equal(first.status, 200);
  assert.deepEqual(first.body, DEB);
  await committed('debian/pool/main/h/hello/hello_1_all.deb');
  const before = { ...world.stats().packages };
  const second = await ask(HELLO);
  assert.equal(second.status, 200);
  assert.deepEqual(second.body, DEB);
  assert.equal(asked.get('/debian/pool/main/h/hello/hello_1_all.deb'), 1, 'the registry was asked once');
  const after = world.stats().packages;
  assert.equal(after.downloads, before.downloads, 'nothing downloaded the second time');
  assert.equal(after.hits, before.hits + 1);
  assert.ok(existsSync(cachedPath('debian/pool/main/h/hello/hello_1_all.deb')), 'cached under the registry\'s own name');
});

test('askers at once share one download, streamed while it lands; the file appears only complete', async () => {
  const url = 'http://deb.debian.org/debian/pool/main/s/slow/slow_1_all.deb';
  const both = Promise.all([ask(url), ask(url)]);
  const cached = cachedPath('debian/pool/main/s/slow/slow_1_all.deb');
  while (!asked.get('/debian/pool/main/s/slow/slow_1_all.deb')) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(existsSync(cached), false, 'no half file under the final name');
  assert.equal(readdirSync(join(dir, 'registry', '.tmp')).length, 1, 'the download lands in .tmp/');
  releaseSlow();
  const [a, b] = await both;
  assert.deepEqual([a.status, b.status], [200, 200]);
  assert.ok(a.body.equals(DEB) && b.body.equals(DEB));
  assert.equal(asked.get('/debian/pool/main/s/slow/slow_1_all.deb'), 1);
  await committed('debian/pool/main/s/slow/slow_1_all.deb');
  assert.equal(statSync(cached).size, DEB.length);
});

test('a cut download is never cached: the asker sees it cut, the next ask downloads again', async () => {
  const url = 'http://deb.debian.org/debian/pool/main/c/cut/cut_1_all.deb';
  const r = await ask(url);
  assert.ok(r.error || r.body.length < DEB.length, 'the body ends early');
  assert.equal(existsSync(cachedPath('debian/pool/main/c/cut/cut_1_all.deb')), false);
  await ask(url);
  assert.equal(asked.get('/debian/pool/main/c/cut/cut_1_all.deb'), 2);
  assert.deepEqual(readdirSync(join(dir, 'registry', '.tmp')), [], 'its temporary file is gone');
});

test('indexes: fresh for a while, then one conditional request; an unchanged body keeps its date', async () => {
  let now = Date.parse('2026-06-01T00:00:00Z');
  const cacheDir = join(dir, 'clocked');
  const cache = new PackageCache(cacheDir, createUpstream(undefined), () => now);
  const url = new URL(`http://127.0.0.1:${registryPort}/debian/dists/bookworm/InRelease`);
  const count = () => asked.get('/debian/dists/bookworm/InRelease') ?? 0;
  const n0 = count();
  const file = await cache.file(url, false);
  assert.equal(statSync(file).mtime.getTime(), inReleaseDate.getTime(), 'dated as the registry dates it');
  await cache.file(url, false);
  assert.equal(count(), n0 + 1, 'fresh: not asked again');
  now += FRESH_MS + 1;
  await cache.file(url, false);
  assert.equal(count(), n0 + 2, 'stale: asked again');
  assert.equal(cache.stats.revalidations, 1, 'answered 304: nothing downloaded');
  // A registry (or a cache in front of it) that answers without dates: same body, same file.
  inReleaseDate = new Date('2026-02-01T00:00:00Z');
  now += FRESH_MS + 1;
  await cache.file(url, false);
  assert.equal(statSync(file).mtime.getTime(), Date.parse('2026-01-01T00:00:00Z'), 'identical body: the old file and date stay');
  inRelease = 'Origin: Debian\nDate: later\n';
  inReleaseDate = new Date('2026-03-01T00:00:00Z');
  now += FRESH_MS + 1;
  await cache.file(url, false);
  assert.equal(statSync(file).mtime.getTime(), inReleaseDate.getTime(), 'a changed index replaces the old one');
});

test('a client\'s If-Modified-Since is answered from the cache', async () => {
  const r = await ask(HELLO, { headers: { 'if-modified-since': new Date(Date.now() + 86_400_000).toUTCString() } });
  assert.equal(r.status, 304);
});

test('not an open proxy: other hosts, other paths, other methods, https', async () => {
  const other = await ask('http://example.com/index.html');
  assert.equal(other.status, 504, 'as for a host the proxy cannot reach');
  assert.match(other.body.toString(), /not reachable from instances/);
  assert.equal((await ask('http://deb.debian.org/debian/README')).status, 504);
  assert.equal((await ask(HELLO, { method: 'POST' })).status, 405);
  const connect = await new Promise<string>((resolve) => {
    const req = request({ host: '127.0.0.1', port: proxyPort, method: 'CONNECT', path: 'deb.debian.org:443' });
    req.on('connect', (res, socket) => (socket.destroy(), resolve(String(res.statusCode))));
    req.on('error', (e) => resolve(e.message));
    req.end();
  });
  assert.equal(connect, '504');
  assert.ok(world.stats().packages.refused >= 3);
});

test('downloads: a path not mirrored is 404, a host not mirrored gets no answer', async () => {
  const missing = await ask('/wordpress-1.0.tar.gz', { host: 'ja.wordpress.org' });
  assert.equal(missing.status, 404);
  const stranger = await ask('/', { host: 'example.com' });
  assert.equal(stranger.status, 0, 'connection closed without a response');
  assert.match(stranger.error ?? '', /socket hang up|ECONNRESET/);
});

test('DNS: mirrored hosts inside VPCs only; the rest of their domain does not exist', () => {
  const vpc = { kind: 'vpc' as const, vpcId: 'vpc-1', portId: 'i-1', owner: 'ec2' };
  const q = (name: string) => ({ name, type: 'A', remoteAddress: '198.18.4.1' });
  assert.deepEqual(world.resolve(q('ja.wordpress.org'), vpc), { answers: [{ type: 'A', data: '169.254.169.250' }] });
  assert.deepEqual(world.resolve(q('wordpress.org'), vpc), { answers: [{ type: 'A', data: '169.254.169.250' }] });
  assert.equal(world.resolve(q('api.wordpress.org'), vpc), 'nxdomain');
  assert.equal(world.resolve(q('ja.wordpress.org'), { kind: 'host' }), 'refused');
});

test('half downloads and builds of dead kumos are swept when a cache opens', () => {
  const tmp = join(dir, 'sweep', 'registry', '.tmp');
  const builds = join(dir, 'sweep', 'downloads', 'ja.wordpress.org');
  mkdirSync(tmp, { recursive: true });
  mkdirSync(join(builds, '.build-999999999-x1'), { recursive: true });
  mkdirSync(join(builds, `.build-${process.pid}-x2`), { recursive: true });
  writeFileSync(join(tmp, '999999999-abc'), 'half');
  writeFileSync(join(tmp, `${process.pid}-mine`), 'in progress');
  new OutsideWorld({ cacheDir: join(dir, 'sweep'), suite: 'bookworm', log: () => {}, sources: [], upstream: createUpstream(undefined) });
  assert.deepEqual(readdirSync(tmp), [`${process.pid}-mine`]);
  assert.deepEqual(readdirSync(builds), [`.build-${process.pid}-x2`]);
});
