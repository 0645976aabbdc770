/**
 * RDS for PostgreSQL, Multi-AZ from CreateDBInstance: a standby in another zone streaming
 * synchronously; a client (pg) inserting a row every 10 ms through the endpoint while a forced
 * failover moves the primary: the zones swap, DescribeEvents records it, no acknowledged row is
 * lost, and a new standby is built. A snapshot of the Multi-AZ primary restores as a Single-AZ
 * instance that takes writes (it waits for no standby). Needs root (skips otherwise; fails under
 * KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resolver } from 'node:dns/promises';
import {
  CreateDBInstanceCommand, CreateDBSnapshotCommand, DeleteDBInstanceCommand, DescribeDBInstancesCommand, DescribeDBSnapshotsCommand, DescribeEventsCommand,
  RDSClient, RebootDBInstanceCommand, RestoreDBInstanceFromDBSnapshotCommand, type DBInstance,
} from '@aws-sdk/client-rds';
import pg from 'pg';
import { waitFor, type TestKumo } from '../helpers/kumo.js';
import { endpointWriter, rdsFixture } from '../helpers/rds.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
const ID = 'orders-pg';
const PASSWORD = 'Secret123!';
let kumo: TestKumo;
let rds: RDSClient;
let hostDns: Resolver;
let sg = '';

before(async () => {
  if (skip) return;
  ({ kumo, rds, sg, hostDns } = await rdsFixture(5432));
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: ID, Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'app', MasterUserPassword: PASSWORD,
    DBName: 'orders', PubliclyAccessible: true, VpcSecurityGroupIds: [sg], MultiAZ: true, BackupRetentionPeriod: 0,
  }));
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

const db = async (id = ID): Promise<DBInstance> => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
const status = (want: string, id = ID, ms = 300_000) => waitFor(`${id} ${want}`, async () => {
  const d = await db(id);
  if (d.DBInstanceStatus === 'failed') throw new Error(`${id} failed`);
  return d.DBInstanceStatus === want ? d : undefined;
}, ms);
/**
 * The API shows Multi-AZ with a secondary zone from the moment a failover completes, while the
 * standby rebuilt in the old zone is still catching up: ready is when the primary waits for it
 * (a synchronous standby in pg_stat_replication).
 */
const standbyReady = () => waitFor('the standby ready', async () => {
  const d = await db();
  if (d.DBInstanceStatus === 'failed') throw new Error(`${ID} failed`);
  if (!(d.DBInstanceStatus === 'available' && d.MultiAZ && d.SecondaryAvailabilityZone)) return undefined;
  const c = await client(d);
  try {
    return (await c.query("SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'")).rows.length === 1 ? d : undefined;
  } finally {
    await c.end();
  }
}, 300_000);

async function client(d: DBInstance): Promise<pg.Client> {
  const [ip] = await hostDns.resolve4(d.Endpoint!.Address!);
  const c = new pg.Client({ host: ip, port: d.Endpoint!.Port, user: 'app', password: PASSWORD, database: 'orders', connectionTimeoutMillis: 1000, statement_timeout: 15_000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** The PostgreSQL side of endpointWriter: `orders.writes` by the endpoint name. */
const writer = (d: DBInstance) => endpointWriter<pg.Client>({
  connect: () => client(d),
  insert: (c, n) => c.query('INSERT INTO writes (n) VALUES ($1)', [n]),
  close: (c) => c.end(),
});

test('created Multi-AZ; a forced failover with a writer running loses no acknowledged row', { skip, timeout: 15 * 60_000 }, async (t) => {
  const multi = await standbyReady();
  assert.notEqual(multi!.SecondaryAvailabilityZone, multi!.AvailabilityZone, 'the standby is in another zone');
  const admin = await client(multi!);
  await admin.query('CREATE TABLE writes (id SERIAL PRIMARY KEY, n INT NOT NULL)');
  const sync = await admin.query("SELECT application_name, sync_state FROM pg_stat_replication");
  await admin.end();
  assert.deepEqual(sync.rows.map((r) => r.sync_state), ['sync'], 'the standby is synchronous');

  const w = writer(multi!);
  await waitFor('the writer under way', async () => w.acked.length >= 50, 30_000);
  await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: ID, ForceFailover: true }));
  const moved = await status('available', ID, 120_000);
  assert.equal(moved!.AvailabilityZone, multi!.SecondaryAvailabilityZone, 'the zones swap');
  const before = w.acked.length;
  await waitFor('writes going on after the failover', async () => w.acked.length >= before + 100, 60_000);
  await w.stop();
  t.diagnostic(`failover: ${w.failures} failed writes, longest outage ${w.longestOutageMs} ms, ${w.acked.length} acknowledged`);

  const check = await client(moved!);
  const stored = new Set((await check.query('SELECT n FROM writes')).rows.map((r) => r.n as number));
  await check.end();
  assert.deepEqual(w.acked.filter((n) => !stored.has(n)), [], 'every acknowledged row is on the new primary');
  // About 1.3 s (the promotion, and a connect sent while the address had nowhere to go waiting out
  // its 1 s timeout); 12-16 s when kumo's reconcile loop kept this process's timers from running.
  assert.ok(w.longestOutageMs < 5_000, `the outage lasted ${w.longestOutageMs} ms`);
  const events = ((await rds.send(new DescribeEventsCommand({ SourceType: 'db-instance', SourceIdentifier: ID }))).Events ?? []).map((e) => e.Message);
  assert.ok(events.includes('Multi-AZ instance failover started.') && events.includes('Multi-AZ instance failover completed'), `events: ${events}`);

  const again = await standbyReady();
  assert.equal(again!.SecondaryAvailabilityZone, multi!.AvailabilityZone, 'the old primary\'s zone holds the new standby');
});

test('a snapshot of the Multi-AZ primary restores as a Single-AZ instance that takes writes', { skip, timeout: 10 * 60_000 }, async () => {
  await standbyReady();
  await rds.send(new CreateDBSnapshotCommand({ DBInstanceIdentifier: ID, DBSnapshotIdentifier: 'orders-snap' }));
  await waitFor('the snapshot available', async () => (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: 'orders-snap' }))).DBSnapshots![0]!.Status === 'available', 120_000);
  await rds.send(new RestoreDBInstanceFromDBSnapshotCommand({ DBInstanceIdentifier: 'orders-copy', DBSnapshotIdentifier: 'orders-snap', PubliclyAccessible: true, VpcSecurityGroupIds: [sg] }));
  const copy = await status('available', 'orders-copy');
  assert.equal(copy!.MultiAZ, false);
  const c = await client(copy!);
  const before = Number((await c.query('SELECT count(*) AS n FROM writes')).rows[0].n);
  assert.ok(before > 100, `the snapshot's rows are there (${before})`);
  await c.query('INSERT INTO writes (n) VALUES (-1)');
  await c.end();
});
