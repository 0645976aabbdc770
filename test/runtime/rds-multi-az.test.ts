/**
 * RDS Multi-AZ with a client writing all along (SCENARIO.md Part B, steps 8 and 10): a MySQL
 * instance made Multi-AZ by ModifyDBInstance (modifying → available, a standby in another zone);
 * a client (mysql2) inserting a row every 10 ms through the endpoint while RebootDBInstance
 * --force-failover moves the primary: the zones swap, the outage is a few seconds, and no
 * acknowledged row is lost; then `kill -9` of the primary's engine fails over on its own. Needs
 * root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, DescribeNetworkInterfacesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDBInstanceCommand, DeleteDBInstanceCommand, DescribeDBInstancesCommand, ModifyDBInstanceCommand, RDSClient, RebootDBInstanceCommand, type DBInstance } from '@aws-sdk/client-rds';
import mysql from 'mysql2/promise';
import { clientConfig, startKumoForTest, waitFor, type TestKumo } from '../helpers/kumo.js';
import { endpointWriter } from '../helpers/rds.js';
import { nativeSkipReason } from './support.js';

const exec = promisify(execFile);
const skip = nativeSkipReason();
const ID = 'test-rds-1';
const PASSWORD = 'Secret123!';
let kumo: TestKumo;
let rds: RDSClient;
let hostDns: Resolver;

before(async () => {
  if (skip) return;
  kumo = await startKumoForTest();
  rds = new RDSClient(clientConfig(kumo.url));
  const ec2 = new EC2Client(clientConfig(kumo.url));
  const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db-sg', Description: 'db' }))).GroupId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  ec2.destroy();
  hostDns = new Resolver();
  hostDns.setServers([((await (await fetch(`${kumo.url}/_kumo/health`)).json()) as { dns: string }).dns]);
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: ID, Engine: 'mysql', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'admin', MasterUserPassword: PASSWORD,
    DBName: 'app', PubliclyAccessible: true, VpcSecurityGroupIds: [sg], AvailabilityZone: 'ap-northeast-1a',
  }));
});

after(async () => {
  if (skip) return;
  await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: ID, SkipFinalSnapshot: true })).catch(() => {});
  await waitFor('the database deleted', async () => ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).length === 0, 120_000);
  rds.destroy();
  await kumo.stop();
});

const db = async (): Promise<DBInstance> => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: ID }))).DBInstances![0]!;
const status = (want: string, ms = 240_000) => waitFor(`${ID} ${want}`, async () => {
  const d = await db();
  if (d.DBInstanceStatus === 'failed') throw new Error(`${ID} failed`);
  return d.DBInstanceStatus === want ? d : undefined;
}, ms);
/**
 * The API shows Multi-AZ with a secondary zone from the moment a failover completes, while the
 * standby rebuilt in the old zone is still catching up: ready is when the primary waits for it
 * (semi-sync on, a replica attached).
 */
const standbyReady = () => waitFor('the standby ready', async () => {
  const d = await db();
  if (!(d.DBInstanceStatus === 'available' && d.MultiAZ && d.SecondaryAvailabilityZone)) return undefined;
  const [ip] = await hostDns.resolve4(d.Endpoint!.Address!);
  const c = await mysql.createConnection({ host: ip, user: 'admin', password: PASSWORD, connectTimeout: 1000 });
  try {
    const [rows] = (await c.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')")) as unknown as [{ Variable_name: string; Value: string }[]];
    const s = Object.fromEntries(rows.map((r) => [r.Variable_name, r.Value]));
    return s.Rpl_semi_sync_master_status === 'ON' && Number(s.Rpl_semi_sync_master_clients) >= 1 ? d : undefined;
  } finally {
    c.destroy();
  }
}, 240_000);

/** The MySQL side of endpointWriter: `app.writes` by the endpoint name, a query given up after 15 s. */
const writer = (address: string) => endpointWriter<mysql.Connection>({
  connect: async () => {
    const [ip] = await hostDns.resolve4(address);
    return mysql.createConnection({ host: ip, user: 'admin', password: PASSWORD, database: 'app', connectTimeout: 1000 });
  },
  insert: (conn, n) => conn.query({ sql: 'INSERT INTO writes (n) VALUES (?)', values: [n], timeout: 15_000 }),
  close: (conn) => conn.destroy(),
});

test('ModifyDBInstance makes it Multi-AZ; a forced failover with a writer running loses no acknowledged row', { skip, timeout: 15 * 60_000 }, async (t) => {
  const up = await status('available');
  const address = up!.Endpoint!.Address!;
  const [ip] = await hostDns.resolve4(address);
  const admin = await mysql.createConnection({ host: ip, user: 'admin', password: PASSWORD, database: 'app' });
  await admin.query('CREATE TABLE writes (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL)');
  admin.destroy();

  const modified = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: ID, MultiAZ: true, ApplyImmediately: true }));
  assert.equal(modified.DBInstance!.DBInstanceStatus, 'modifying');
  assert.equal(modified.DBInstance!.PendingModifiedValues?.MultiAZ, true);
  const multi = await standbyReady();
  assert.equal(multi!.AvailabilityZone, 'ap-northeast-1a');
  assert.notEqual(multi!.SecondaryAvailabilityZone, 'ap-northeast-1a', 'the standby is in another zone');

  const w = writer(address);
  await waitFor('the writer under way', async () => w.acked.length >= 50, 30_000);
  await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: ID, ForceFailover: true }));
  assert.equal((await db()).DBInstanceStatus, 'rebooting');
  const after = await status('available', 120_000);
  assert.equal(after!.AvailabilityZone, multi!.SecondaryAvailabilityZone, 'the zones swap');
  const before = w.acked.length;
  await waitFor('writes going on after the failover', async () => w.acked.length >= before + 100, 60_000);
  await w.stop();
  t.diagnostic(`failover: ${w.failures} failed writes, longest outage ${w.longestOutageMs} ms, ${w.acked.length} acknowledged`);

  const [newIp] = await hostDns.resolve4(address);
  const check = await mysql.createConnection({ host: newIp, user: 'admin', password: PASSWORD, database: 'app' });
  const [rows] = (await check.query('SELECT n FROM writes')) as unknown as [{ n: number }[]];
  check.destroy();
  const stored = new Set(rows.map((r) => r.n));
  const lost = w.acked.filter((n) => !stored.has(n));
  assert.deepEqual(lost, [], 'every acknowledged row is on the new primary');
  assert.ok(w.longestOutageMs < 30_000, `the outage lasted ${w.longestOutageMs} ms`);

  // The old primary's zone gets a new standby.
  const again = await standbyReady();
  assert.equal(again!.SecondaryAvailabilityZone, 'ap-northeast-1a');
});

test('the primary engine killed: kumo fails over on its own', { skip, timeout: 10 * 60_000 }, async () => {
  const before = await standbyReady();
  const primaryZone = before!.AvailabilityZone;
  // The primary's engine: the mariadbd in the namespace of the port holding the primary's address.
  const primaryIp = await primaryPrivateIp();
  let killed = false;
  for (const name of readdirSync('/run/netns').filter((n) => n.includes('-db-'))) {
    if (!(await exec('ip', ['netns', 'exec', name, 'ip', '-4', '-o', 'addr'])).stdout.includes(` ${primaryIp}/`)) continue;
    for (const pid of (await exec('ip', ['netns', 'pids', name])).stdout.split('\n').filter(Boolean)) {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'mariadbd') continue;
      process.kill(Number(pid), 'SIGKILL');
      killed = true;
    }
  }
  assert.ok(killed, 'the primary engine was found and killed');
  const after = await waitFor('the automatic failover', async () => {
    const d = await db();
    return d.DBInstanceStatus === 'available' && d.AvailabilityZone !== primaryZone ? d : undefined;
  }, 120_000);
  const [ip] = await hostDns.resolve4(after!.Endpoint!.Address!);
  const c = await mysql.createConnection({ host: ip, user: 'admin', password: PASSWORD, database: 'app' });
  await c.query('INSERT INTO writes (n) VALUES (-1)');
  c.destroy();
});

/** The primary's private address, as its network interface in the VPC says. */
async function primaryPrivateIp(): Promise<string> {
  const ec2 = new EC2Client(clientConfig(kumo.url));
  try {
    const d = await db();
    const enis = (await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['RDSNetworkInterface'] }] }))).NetworkInterfaces ?? [];
    const inZone = enis.find((e) => e.AvailabilityZone === d.AvailabilityZone);
    return inZone!.PrivateIpAddress!;
  } finally {
    ec2.destroy();
  }
}
