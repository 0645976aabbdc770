/**
 * RDS databases that really run, through the API with real clients: a MySQL instance (served by
 * MariaDB) reached by its endpoint name from the host (publicly accessible, its group open on
 * 3306) and from an EC2 instance inside the VPC, with a table and rows, a mysqldump restored into
 * it, a reboot that keeps the data; a private PostgreSQL instance whose group admits members of
 * web-sg only; stop/start; deletion that leaves nothing on the host. Needs root (skips
 * otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateDBInstanceCommand, DeleteDBInstanceCommand, DescribeDBInstancesCommand, RDSClient, RebootDBInstanceCommand, StartDBInstanceCommand,
  StopDBInstanceCommand, type DBInstance,
} from '@aws-sdk/client-rds';
import { clientConfig, waitFor } from '../helpers/kumo.js';
import { debianImageId, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { inNetns, inside } from './instance-access.js';
import { nativeSkipReason } from './support.js';

const exec = promisify(execFile);
const skip = nativeSkipReason();
const PASSWORD = "Pa'ss\\w0rd!";
let f: Ec2Fixture;
let ec2: EC2Client;
let rds: RDSClient;
let hostDns: Resolver;
const instances: string[] = [];

before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
  rds = new RDSClient(clientConfig(f.kumo.url));
  const health = (await (await fetch(`${f.kumo.url}/_kumo/health`)).json()) as { dns: string };
  hostDns = new Resolver();
  hostDns.setServers([health.dns]);
});

after(async () => {
  if (skip) return;
  if (instances.length) await ec2.send(new TerminateInstancesCommand({ InstanceIds: instances }));
  for (const id of instances) await waitForState(ec2, id, 'terminated', 120_000);
  const left = (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [];
  for (const d of left) if (d.DBInstanceStatus !== 'deleting') await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: d.DBInstanceIdentifier, SkipFinalSnapshot: true })).catch(() => {});
  await waitFor('every DB instance deleted', async () => ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).length === 0, 120_000);
  rds.destroy();
  await f.stop();
});

const db = async (id: string): Promise<DBInstance> => (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
const status = (id: string, want: string, ms = 180_000) => waitFor(`${id} ${want}`, async () => {
  const d = await db(id);
  if (d.DBInstanceStatus === 'failed') throw new Error(`${id} failed`);
  return d.DBInstanceStatus === want ? d : undefined;
}, ms);

async function group(name: string, rule: { port: number; cidr?: string; from?: string }): Promise<string> {
  const id = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: name }))).GroupId!;
  if (rule.port) {
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({
      GroupId: id,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: rule.port, ToPort: rule.port, IpRanges: rule.cidr ? [{ CidrIp: rule.cidr }] : undefined, UserIdGroupPairs: rule.from ? [{ GroupId: rule.from }] : undefined }],
    }));
  }
  return id;
}

const mysql = (host: string, sql: string, database = 'wordpress') =>
  exec('mysql', ['-h', host, '-u', 'admin', `-p${PASSWORD}`, '--connect-timeout=5', '-N', '-B', database, '-e', sql], { timeout: 30_000 }).then((r) => r.stdout);

let webSg = '';
let web = '';
let stranger = '';
let mysqlAddress = '';

test('MySQL: created, reached by its endpoint name from the host and from an instance in the VPC, data kept across a reboot', { skip, timeout: 10 * 60_000 }, async () => {
  const dbSg = await group('db-sg', { port: 3306, cidr: '0.0.0.0/0' });
  webSg = await group('web-sg', { port: 0 });
  const otherSg = await group('other-sg', { port: 0 });
  const created = await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'test-rds-1', Engine: 'mysql', EngineVersion: '8.0', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20,
    MasterUsername: 'admin', MasterUserPassword: PASSWORD, DBName: 'wordpress', PubliclyAccessible: true, VpcSecurityGroupIds: [dbSg],
    AvailabilityZone: 'ap-northeast-1a', BackupRetentionPeriod: 0, Tags: [{ Key: 'Name', Value: 'test-rds-1' }],
  }));
  assert.equal(created.DBInstance!.DBInstanceStatus, 'creating');
  assert.equal(created.DBInstance!.EngineVersion, '8.0.40', 'the newest 8.0 version');
  // The instances the next test needs boot meanwhile.
  const ami = await debianImageId(ec2);
  for (const sg of [webSg, otherSg]) {
    const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SecurityGroupIds: [sg] }));
    instances.push(r.Instances![0]!.InstanceId!);
  }
  [web, stranger] = instances as [string, string];

  const up = await status('test-rds-1', 'available');
  const address = up!.Endpoint!.Address!;
  assert.match(address, /^test-rds-1\.[a-z0-9]{12}\.ap-northeast-1\.rds\.amazonaws\.com$/);
  assert.deepEqual([up!.Endpoint!.Port, up!.AvailabilityZone, up!.MultiAZ, up!.DBName], [3306, 'ap-northeast-1a', false, 'wordpress']);
  const [publicIp] = await hostDns.resolve4(address);
  assert.match(publicIp!, /^127\./, 'from the host, a publicly accessible endpoint is its public (loopback) address');
  mysqlAddress = address;

  await mysql(publicIp!, 'CREATE TABLE posts (id INT PRIMARY KEY AUTO_INCREMENT, title VARCHAR(100)); INSERT INTO posts (title) VALUES ("hello"), ("world");');
  assert.equal(await mysql(publicIp!, 'SELECT GROUP_CONCAT(title ORDER BY id) FROM posts'), 'hello,world\n');
  assert.match(await mysql(publicIp!, 'SELECT VERSION()'), /MariaDB/, 'what really runs says so');
  assert.match(await mysql(publicIp!, 'SHOW GRANTS').catch((e) => String(e)), /CREATE USER/);
  await assert.rejects(mysql(publicIp!, 'SELECT 1 INTO OUTFILE "/tmp/x"'), 'the master user has no FILE privilege, as on RDS');

  // A dump of another database restored into this one (seed 003).
  const { stdout: dump } = await exec('mysqldump', ['-h', publicIp!, '-u', 'admin', `-p${PASSWORD}`, 'wordpress', 'posts'], { timeout: 30_000 });
  await mysql(publicIp!, 'CREATE DATABASE restored');
  await new Promise<void>((resolve, reject) => {
    const c = execFile('mysql', ['-h', publicIp!, '-u', 'admin', `-p${PASSWORD}`, 'restored'], (err) => (err ? reject(err) : resolve()));
    c.stdin!.end(dump);
  });
  assert.equal(await mysql(publicIp!, 'SELECT COUNT(*) FROM posts', 'restored'), '2\n');

  // From inside the VPC, by name, with the client installed as user data would.
  await waitForState(ec2, web, 'running');
  await inside(web, 'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 install -y -q mariadb-client > /dev/null');
  assert.equal(
    (await inside(web, `mysql -h ${address} -u admin -p'${PASSWORD.replace(/'/g, `'\\''`)}' -N -B wordpress -e 'SELECT COUNT(*) FROM posts'`)).trim(),
    '2',
    'the endpoint name resolves to its private address inside the VPC',
  );

  await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'test-rds-1' }));
  assert.equal((await db('test-rds-1')).DBInstanceStatus, 'rebooting');
  await status('test-rds-1', 'available', 120_000);
  assert.equal(await mysql(publicIp!, 'SELECT COUNT(*) FROM posts'), '2\n', 'a reboot keeps the data');
});

test('PostgreSQL, private: its group admits members of web-sg and nobody else', { skip, timeout: 10 * 60_000 }, async () => {
  const pgSg = await group('pg-sg', { port: 5432, from: webSg });
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'app-pg', Engine: 'postgres', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20,
    MasterUsername: 'appmaster', MasterUserPassword: PASSWORD, DBName: 'app', VpcSecurityGroupIds: [pgSg],
  }));
  const up = await status('app-pg', 'available');
  assert.deepEqual([up!.Engine, up!.EngineVersion?.split('.')[0], up!.Endpoint!.Port, up!.PubliclyAccessible], ['postgres', '15', 5432, false]);
  const [privateIp] = await hostDns.resolve4(up!.Endpoint!.Address!);
  assert.match(privateIp!, /^172\.31\./, 'a private endpoint resolves to its private address');
  assert.equal((await inside(web, `getent hosts ${up!.Endpoint!.Address}`)).split(/\s+/)[0], privateIp, 'and so it does inside the VPC');

  await waitForState(ec2, stranger, 'running');
  const psql = (id: string, sql: string) =>
    inNetns(id, ['env', `PGPASSWORD=${PASSWORD}`, 'PGCONNECT_TIMEOUT=3', 'psql', '-h', privateIp!, '-U', 'appmaster', '-d', 'app', '-tAc', sql]);
  await psql(web, 'CREATE TABLE t (v text); INSERT INTO t VALUES ($$from web$$);');
  assert.equal((await psql(web, 'SELECT v FROM t')).trim(), 'from web');
  assert.equal((await psql(web, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).trim(), 'f', 'the master user is not the superuser');
  await assert.rejects(psql(stranger, 'SELECT 1'), 'a member of another group cannot connect');

  await rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: 'app-pg' }));
  await status('app-pg', 'stopped', 120_000);
  await assert.rejects(psql(web, 'SELECT 1'), 'a stopped database answers nothing');
  await rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: 'app-pg' }));
  await status('app-pg', 'available', 120_000);
  assert.equal((await psql(web, 'SELECT v FROM t')).trim(), 'from web', 'its data is there after a stop and start');
});

test('deleting a database leaves nothing of it on the host', { skip, timeout: 5 * 60_000 }, async () => {
  const nodes = () => readdirSync('/run/netns').filter((n) => n.includes('-db-'));
  assert.equal(nodes().length, 2);
  for (const id of ['test-rds-1', 'app-pg']) await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true }));
  assert.equal((await db('app-pg')).DBInstanceStatus, 'deleting');
  await waitFor('both gone', async () => ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).length === 0, 120_000);
  assert.deepEqual(nodes(), [], 'no namespace of a node is left');
  assert.deepEqual(await hostDns.resolve4(mysqlAddress).catch((e: NodeJS.ErrnoException) => e.code), 'ENOTFOUND', 'its name is gone');
});
