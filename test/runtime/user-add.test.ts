/**
 * The default user of new roots (runtime/instances/user-add.ts): the image's useradd runs in the
 * first root, and a later root of the same image gets what it wrote replayed; a root whose upper
 * layer already holds something useradd reads runs useradd itself. Whichever way, the result is
 * the same: the same account lines, the same home from the skeleton, with the same owners and modes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEBIAN_12, ensureImage } from '../../src/runtime/images/builder.js';
import { mountOverlay, unmount } from '../../src/runtime/instances/host.js';
import { addUser } from '../../src/runtime/instances/user-add.js';
import { IMAGE_CACHE, nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
let dir = '';
let rootfs = '';
const mounted: string[] = [];

before(async () => {
  if (skip) return;
  dir = mkdtempSync(`/var/tmp/kumo-useradd-${process.pid}-`);
  rootfs = await ensureImage(IMAGE_CACHE, DEBIAN_12, (l) => console.log(`# ${l}`));
});

after(async () => {
  if (skip) return;
  for (const m of mounted) await unmount(m);
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh root over the image: its overlay and upper layer. */
async function root(name: string, prepare?: (upper: string) => void): Promise<{ root: string; upper: string }> {
  const base = join(dir, name);
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(base, d), { recursive: true });
  prepare?.(join(base, 'upper'));
  await mountOverlay(rootfs, join(base, 'upper'), join(base, 'work'), join(base, 'merged'));
  mounted.push(join(base, 'merged'));
  // As provisioning does before the user is made.
  writeFileSync(join(base, 'merged', 'etc/hostname'), `${name}\n`);
  return { root: join(base, 'merged'), upper: join(base, 'upper') };
}

/** What useradd leaves that a user of the instance sees: account lines, home files with owner and mode. */
function account(rootDir: string, user: string) {
  const lines = (f: string) => readFileSync(join(rootDir, f), 'utf8').split('\n').filter((l) => l.split(':')[0] === user || l.split(':')[3]?.split(',').includes(user));
  const home = join(rootDir, 'home', user);
  const files = readdirSync(home).sort().map((f) => {
    const st = lstatSync(join(home, f));
    return [f, st.mode, st.uid, st.gid, readFileSync(join(home, f), 'utf8')];
  });
  const st = lstatSync(home);
  return { passwd: lines('etc/passwd'), group: lines('etc/group'), shadow: lines('etc/shadow'), gshadow: lines('etc/gshadow'), home: [st.mode, st.uid, st.gid], files };
}

test('a replayed default user is the one useradd makes', { skip }, async () => {
  const user = { name: 'admin', groups: ['adm', 'sudo'] };
  const first = await root('first');
  await addUser({ ...first, imageRootfs: rootfs, ...user });
  const second = await root('second');
  await addUser({ ...second, imageRootfs: rootfs, ...user });
  // useradd reads login.defs: a root with its own may not take the replay.
  const own = await root('own', (upper) => {
    mkdirSync(join(upper, 'etc'), { recursive: true });
    writeFileSync(join(upper, 'etc/login.defs'), readFileSync(join(rootfs, 'etc/login.defs')));
  });
  await addUser({ ...own, imageRootfs: rootfs, ...user });
  const want = account(first.root, 'admin');
  assert.equal(want.passwd.length, 1);
  assert.ok(want.files.length > 0, 'a home from the skeleton');
  assert.deepEqual(account(second.root, 'admin'), want);
  assert.deepEqual(account(own.root, 'admin'), want);
  // Nothing else of the first root leaked into the second.
  assert.equal(readFileSync(join(second.root, 'etc/hostname'), 'utf8'), 'second\n');
});
