/**
 * RDS backups with real clients: a MySQL instance's first automated backup (creating →
 * backing-up → available); a manual snapshot, and an instance restored from it (on another
 * port) holding the rows of that moment and not the later ones; DeleteDBInstance with a final
 * snapshot, restored in turn with every row; the refusals RDS gives; DescribeEvents telling the
 * story. Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resolver } from 'node:dns/promises';
import {
  CopyDBSnapshotCommand, CreateDBInstanceCommand, CreateDBSnapshotCommand, DeleteDBInstanceCommand, DeleteDBSnapshotCommand, DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand, DescribeEventsCommand, RDSClient, RestoreDBInstanceFromDBSnapshotCommand, type DBInstance, type DBSnapshot,
} from '@aws-sdk/client-rds';
import mysql from 'mysql2/promise';
import { waitFor, type TestKumo } from '../helpers/kumo.js';
import { rdsFixture } from '../helpers/rds.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
const ID = 'shop-db';
const PASSWORD = 'Secret123!';
let kumo: TestKumo;
let rds: RDSClient;
let hostDns: Resolver;
let sg = '';

before(async () => {
  if (skip) return;
  ({ kumo, rds, sg, hostDns } = await rdsFixture(3306, 3307));
});

after(async () => {
  if (skip) return;
  for (const d of (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []) {
    await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: d.DBInstanceIdentifier, SkipFinalSnapshot: true })).catch(() => {});
  }
  await waitFor('every database deleted', async () => ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).length === 0, 120_000);
  rds.destroy();
  await kumo.stop();
});

const db = async (id: string): Promise<DBInstance> => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
const status = (id: string, want: string, ms = 240_000) => waitFor(`${id} ${want}`, async () => {
  const d = await db(id);
  if (d.DBInstanceStatus === 'failed') throw new Error(`${id} failed`);
  return d.DBInstanceStatus === want ? d : undefined;
}, ms);
const snapshot = async (id: string): Promise<DBSnapshot> => (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: id }))).DBSnapshots![0]!;
const snapshotAvailable = (id: string) => waitFor(`snapshot ${id} available`, async () => {
  const s = await snapshot(id);
  if (s.Status === 'failed') throw new Error(`snapshot ${id} failed`);
  return s.Status === 'available' ? s : undefined;
}, 120_000);

async function connect(d: DBInstance): Promise<mysql.Connection> {
  const [ip] = await hostDns.resolve4(d.Endpoint!.Address!);
  return mysql.createConnection({ host: ip, port: d.Endpoint!.Port, user: 'admin', password: PASSWORD, database: 'shop', connectTimeout: 5000 });
}

async function items(d: DBInstance): Promise<string[]> {
  const c = await connect(d);
  try {
    const [rows] = (await c.query('SELECT name FROM items ORDER BY id')) as unknown as [{ name: string }[]];
    return rows.map((r) => r.name);
  } finally {
    c.destroy();
  }
}

async function insert(d: DBInstance, ...names: string[]): Promise<void> {
  const c = await connect(d);
  try {
    for (const n of names) await c.query('INSERT INTO items (name) VALUES (?)', [n]);
  } finally {
    c.destroy();
  }
}

const restore = (id: string, from: string, port?: number) =>
  rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: id, DBSnapshotIdentifier: from, DBInstanceClass: 'db.t3.micro', PubliclyAccessible: true, VpcSecurityGroupIds: [sg], Port: port }));

test('a new instance is backed up first; a snapshot and a final snapshot restore the rows of their moment', { skip, timeout: 15 * 60_000 }, async () => {
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: ID, Engine: 'mysql', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'admin', MasterUserPassword: PASSWORD,
    DBName: 'shop', PubliclyAccessible: true, VpcSecurityGroupIds: [sg], BackupRetentionPeriod: 7, Tags: [{ Key: 'team', Value: 'web' }], CopyTagsToSnapshot: true,
  }));
  const seen = new Set<string>();
  const up = await waitFor(`${ID} available`, async () => {
    const d = await db(ID);
    seen.add(d.DBInstanceStatus!);
    if (d.DBInstanceStatus === 'failed') throw new Error(`${ID} failed`);
    return d.DBInstanceStatus === 'available' ? d : undefined;
  }, 240_000);
  const automated = (await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: ID, SnapshotType: 'automated' }))).DBSnapshots ?? [];
  assert.equal(automated.length, 1, 'the first automated backup');
  assert.match(automated[0]!.DBSnapshotIdentifier!, /^rds:shop-db-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}$/);
  assert.equal(automated[0]!.Status, 'available');
  assert.ok(seen.has('creating'), `statuses seen: ${[...seen]}`);

  const c = await connect(up!);
  await c.query('CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40) NOT NULL)');
  c.destroy();
  await insert(up!, 'apple', 'banana');

  const made = (await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: ID, DBSnapshotIdentifier: 'before-cherry' }))).DBSnapshot!;
  assert.deepEqual([made.Status, made.SnapshotType, made.Engine, made.DBInstanceIdentifier], ['creating', 'manual', 'mysql', ID]);
  assert.ok(['backing-up', 'available'].includes((await db(ID)).DBInstanceStatus!), 'backing-up while the snapshot is taken');
  const taken = await snapshotAvailable('before-cherry');
  assert.equal(taken!.PercentProgress, 100);
  assert.ok(taken!.SnapshotCreateTime instanceof Date);
  assert.deepEqual(taken!.TagList, [{ Key: 'team', Value: 'web' }], 'CopyTagsToSnapshot copies the instance tags');
  await status(ID, 'available');
  await assert.rejects(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: ID, DBSnapshotIdentifier: 'before-cherry' })), { name: 'DBSnapshotAlreadyExistsFault' });
  await insert(up!, 'cherry');

  // Restored on another port: the rows of the snapshot's moment, not the later one.
  const restored = (await restore('shop-db-restored', 'before-cherry', 3307)).DBInstance!;
  assert.equal(restored.DBInstanceStatus, 'creating');
  const back = await status('shop-db-restored', 'available');
  assert.equal(back!.Endpoint!.Port, 3307);
  assert.notEqual(back!.Endpoint!.Address, up!.Endpoint!.Address);
  assert.deepEqual(await items(back!), ['apple', 'banana']);
  await insert(back!, 'durian');
  assert.deepEqual(await items(up!), ['apple', 'banana', 'cherry'], 'the original is untouched by the restored one');

  // Deleted with a final snapshot: it holds every row; restored, they are all there.
  await assert.rejects(rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: ID })), { name: 'InvalidParameterCombination' });
  const deleting = (await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: ID, FinalDBSnapshotIdentifier: 'shop-final' }))).DBInstance!;
  assert.equal(deleting.DBInstanceStatus, 'deleting');
  await waitFor(`${ID} gone`, async () => !((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).some((d) => d.DBInstanceIdentifier === ID), 120_000);
  const final = await snapshotAvailable('shop-final');
  assert.equal(final!.SnapshotType, 'manual');
  assert.equal(((await rds.send(new DescribeDBSnapshotsCommand({ DBInstanceIdentifier: ID, SnapshotType: 'automated' }))).DBSnapshots ?? []).length, 0, 'automated backups go with their instance');
  await restore('shop-db-final', 'shop-final');
  const last = await status('shop-db-final', 'available');
  assert.deepEqual(await items(last!), ['apple', 'banana', 'cherry']);

  const events = (await rds.send(new DescribeEventsCommand({ SourceType: 'db-instance', Duration: 60 }))).Events ?? [];
  const said = (id: string) => events.filter((e) => e.SourceIdentifier === id).map((e) => e.Message);
  for (const m of ['DB instance created', 'Backing up DB instance', 'Finished DB Instance backup', 'DB instance deleted']) assert.ok(said(ID).includes(m), `${ID}: ${m} (events: ${said(ID)})`);
  assert.ok(said('shop-db-restored').includes('Restored from snapshot before-cherry'), `restored: ${said('shop-db-restored')}`);
  const snapshotEvents = (await rds.send(new DescribeEventsCommand({ SourceType: 'db-snapshot', SourceIdentifier: 'before-cherry' }))).Events ?? [];
  assert.deepEqual(snapshotEvents.map((e) => e.Message), ['Creating manual snapshot', 'Manual snapshot created']);
});

test('snapshots: copies, deletion and refusals', { skip, timeout: 5 * 60_000 }, async () => {
  const copy = (await rds.send(new CopyDBSnapshotCommand({ SourceDBSnapshotIdentifier: 'before-cherry', TargetDBSnapshotIdentifier: 'before-cherry-copy' }))).DBSnapshot!;
  assert.equal(copy.Status, 'available');
  assert.match(copy.SourceDBSnapshotIdentifier!, /:snapshot:before-cherry$/);
  await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: 'before-cherry' }));
  await assert.rejects(rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'before-cherry' })), { name: 'DBSnapshotNotFoundFault' });
  // The copy still restores once its source is gone.
  await restore('shop-db-copy', 'before-cherry-copy');
  const fromCopy = await status('shop-db-copy', 'available');
  assert.deepEqual(await items(fromCopy!), ['apple', 'banana']);

  const automated = ((await rds.send(new DescribeDBSnapshotsCommand({ SnapshotType: 'automated' }))).DBSnapshots ?? [])[0];
  assert.ok(automated, 'the restored instances have automated backups of their own');
  await assert.rejects(rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: automated!.DBSnapshotIdentifier })), { name: 'InvalidDBSnapshotStateFault' });
  await assert.rejects(restore('shop-db-copy', 'before-cherry-copy'), { name: 'DBInstanceAlreadyExistsFault' });
  await assert.rejects(restore('nowhere', 'no-such-snapshot'), { name: 'DBSnapshotNotFoundFault' });
  await assert.rejects(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'no-such-db', DBSnapshotIdentifier: 'x' })), { name: 'DBInstanceNotFoundFault' });
  await assert.rejects(rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: 'shop-db-copy', DBSnapshotIdentifier: 'Bad--Name' })), { name: 'InvalidParameterValue' });
});
