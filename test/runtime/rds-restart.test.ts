/**
 * A database outlives kumo: after `kill -9` of kumo the database node keeps running (clients stay
 * connected), and the next kumo on the same data dir takes it over with its data; after `kumo
 * stop` it is shut down cleanly and the next start brings it back. kumo as a child process;
 * needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDBInstanceCommand, DeleteDBInstanceCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import mysql from 'mysql2/promise';
import { clientConfig, waitFor } from '../helpers/kumo.js';
import { useKumoProcesses, type SpawnedKumo } from '../helpers/kumo-process.js';
import { nativeSkipReason } from './support.js';

const skip = nativeSkipReason();
const kumos = useKumoProcesses();
const PASSWORD = 'Secret123!';

async function clientsOf(kumo: SpawnedKumo) {
  const rds = new RDSClient(clientConfig(kumo.url));
  const dns = new Resolver();
  dns.setServers([((await (await fetch(`${kumo.url}/_kumo/health`)).json()) as { dns: string }).dns]);
  return { rds, dns };
}

test('kill -9 of kumo leaves the database serving; the next kumo takes it over; kumo stop and start bring it back', { skip, timeout: 10 * 60_000 }, async () => {
  const dataDir = kumos.dataDir('kumo-rds-restart-');
  let kumo = await kumos.start(dataDir, ['--quiet']);
  let { rds, dns } = await clientsOf(kumo);
  const ec2 = new EC2Client(clientConfig(kumo.url));
  const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db-sg', Description: 'db' }))).GroupId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  ec2.destroy();
  await rds.send(new CreateDBInstanceCommand({
    DBInstanceIdentifier: 'kept', Engine: 'mysql', DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'admin', MasterUserPassword: PASSWORD,
    DBName: 'app', PubliclyAccessible: true, VpcSecurityGroupIds: [sg],
  }));
  const status = (want: string) => waitFor(`kept ${want}`, async () => {
    const d = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'kept' }))).DBInstances![0]!;
    return d.DBInstanceStatus === want ? d : undefined;
  }, 180_000);
  const up = await status('available');
  const address = up!.Endpoint!.Address!;
  const [ip] = await dns.resolve4(address);
  const conn = await mysql.createConnection({ host: ip, user: 'admin', password: PASSWORD, database: 'app' });
  await conn.query('CREATE TABLE t (v VARCHAR(20))');
  await conn.query('INSERT INTO t VALUES ("before the crash")');

  await kumo.kill('SIGKILL');
  rds.destroy();
  // The node does not depend on kumo: the open connection still works.
  await conn.query('INSERT INTO t VALUES ("while kumo is down")');

  kumo = await kumos.start(dataDir, ['--quiet']);
  ({ rds, dns } = await clientsOf(kumo));
  assert.equal((await status('available'))!.Endpoint!.Address, address);
  await conn.query('INSERT INTO t VALUES ("after the restart")');
  const [rows] = (await conn.query('SELECT COUNT(*) AS n FROM t')) as unknown as [{ n: number }[]];
  assert.equal(rows[0]!.n, 3, 'the same server all along: no write was lost and the connection never dropped');
  conn.destroy();

  await kumo.kill('SIGTERM');
  rds.destroy();
  kumo = await kumos.start(dataDir, ['--quiet']);
  ({ rds, dns } = await clientsOf(kumo));
  await status('available');
  const fresh = await waitFor('the database answering after kumo stop and start', async () =>
    mysql.createConnection({ host: (await dns.resolve4(address))[0], user: 'admin', password: PASSWORD, database: 'app', connectTimeout: 1000 }).catch(() => undefined), 60_000);
  const [after] = (await fresh!.query('SELECT COUNT(*) AS n FROM t')) as unknown as [{ n: number }[]];
  assert.equal(after[0]!.n, 3, 'a clean stop and start keeps the data');
  fresh!.destroy();
  await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: 'kept', SkipFinalSnapshot: true }));
  await waitFor('the database deleted', async () => ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).length === 0, 120_000);
  rds.destroy();
  await kumo.kill('SIGTERM');
});
