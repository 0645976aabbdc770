/**
 * The image builder: a complete Debian rootfs that can boot systemd, built atomically once and
 * then reused; concurrent callers share one build; nothing half-built is left around.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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
  for (const f of ['usr/lib/systemd/systemd', 'usr/bin/python3', 'usr/bin/curl', 'usr/bin/ip', 'usr/bin/dbus-daemon']) {
    assert.ok(existsSync(join(a, f)), `${f} in the image`);
  }
  assert.equal(readFileSync(join(a, 'etc/machine-id'), 'utf8'), '', 'machine-id left for each instance to fill');
  assert.deepEqual(readdirSync(IMAGE_CACHE).filter((e) => e.startsWith('.')), [], 'no temp build or lock left');

  const again = Date.now();
  assert.equal(await ensureImage(IMAGE_CACHE, DEBIAN_12), a);
  assert.ok(Date.now() - again < 1000, 'a cached image is instant');
});
