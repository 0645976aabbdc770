/**
 * RDS through the API (needs root and systemd-nspawn; otherwise it says why and reports nothing):
 * a kumo spawned as users start it; CreateDBInstance to `available` for mysql and postgres
 * (launched together); ModifyDBInstance to Multi-AZ until the standby is ready; and, with a client
 * writing a row every 10 ms through the endpoint, a forced failover: the longest write outage in
 * ms and the acknowledged rows lost (must be 0). The database image comes from the tests'
 * per-machine cache (KUMO_TEST_IMAGE_CACHE), built if missing (not timed: a warm-up launch).
 */
import { Resolver } from 'node:dns/promises';
import { performance } from 'node:perf_hooks';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDBInstanceCommand, DeleteDBInstanceCommand, DescribeDBInstancesCommand, ModifyDBInstanceCommand, RDSClient, RebootDBInstanceCommand, type DBInstance } from '@aws-sdk/client-rds';
import mysql from 'mysql2/promise';
import { detectRuntime } from '../src/runtime/detect.js';
import { clientConfig } from './lib/clients.js';
import { sleep, spawnKumo } from './lib/spawn.js';
import { until } from './lib/wait.js';
import type { Benchmark } from './lib/types.js';

const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';
const PASSWORD = 'Secret123!';


export const rds: Benchmark = {
  name: 'rds',
  description: 'CreateDBInstance to available (mysql, postgres), Multi-AZ conversion, write outage and lost rows in a forced failover',
  async run(progress) {
    const rt = detectRuntime();
    if (rt.mode !== 'native') return { text: `rds: skipped (${rt.reason})`, data: { skipped: true } };
    const kumo = await spawnKumo({ env: { KUMO_IMAGE_DIR: IMAGE_CACHE, KUMO_DNS: '127.0.0.1:0' } });
    const client = new RDSClient(clientConfig(kumo.url));
    const ec2 = new EC2Client(clientConfig(kumo.url));
    const ids: string[] = [];
    try {
      const health = (await (await fetch(`${kumo.url}/_kumo/health`)).json()) as { dns: string };
      const dns = new Resolver();
      dns.setServers([health.dns]);
      const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'bench-db', Description: 'bench' }))).GroupId!;
      await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
      const describe = async (id: string): Promise<DBInstance> => (await client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0]!;
      const create = async (id: string, engine: string) => {
        ids.push(id);
        const t0 = performance.now();
        await client.send(new CreateDBInstanceCommand({
          DBInstanceIdentifier: id, Engine: engine, DBInstanceClass: 'db.t3.micro', AllocatedStorage: 20, MasterUsername: 'admin', MasterUserPassword: PASSWORD,
          DBName: 'app', PubliclyAccessible: true, VpcSecurityGroupIds: [sg], AvailabilityZone: 'ap-northeast-1a',
        }));
        await until(`${id} available`, async () => ((await describe(id)).DBInstanceStatus === 'available' ? true : undefined));
        return performance.now() - t0;
      };
      progress('warming up (builds the database image if this machine has none)');
      await create('bench-warmup', 'mysql');
      progress('mysql and postgres launched together');
      const [mysqlMs, postgresMs] = await Promise.all([create('bench-mysql', 'mysql'), create('bench-pg', 'postgres')]);

      progress('Multi-AZ conversion');
      const t1 = performance.now();
      await client.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'bench-mysql', MultiAZ: true, ApplyImmediately: true }));
      const multi = await until('Multi-AZ', async () => {
        const d = await describe('bench-mysql');
        return d.DBInstanceStatus === 'available' && d.SecondaryAvailabilityZone ? d : undefined;
      });
      const multiAzMs = performance.now() - t1;

      progress('a forced failover under a 10 ms writer');
      const address = multi.Endpoint!.Address!;
      const setup = await mysql.createConnection({ host: (await dns.resolve4(address))[0], user: 'admin', password: PASSWORD, database: 'app' });
      await setup.query('CREATE TABLE writes (id INT AUTO_INCREMENT PRIMARY KEY, n INT NOT NULL)');
      setup.destroy();
      const acked: number[] = [];
      let outage = 0;
      let since = 0;
      let running = true;
      const writer = (async () => {
        let conn: mysql.Connection | undefined;
        for (let n = 1; running; n++) {
          try {
            conn ??= await mysql.createConnection({ host: (await dns.resolve4(address))[0], user: 'admin', password: PASSWORD, database: 'app', connectTimeout: 1000 });
            await conn.query('INSERT INTO writes (n) VALUES (?)', [n]);
            acked.push(n);
            if (since) outage = Math.max(outage, performance.now() - since);
            since = 0;
          } catch {
            since ||= performance.now();
            conn?.destroy();
            conn = undefined;
          }
          await sleep(10);
        }
        conn?.destroy();
      })();
      await until('writes', async () => (acked.length >= 100 ? true : undefined));
      await client.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: 'bench-mysql', ForceFailover: true }));
      await until('failover', async () => {
        const d = await describe('bench-mysql');
        return d.DBInstanceStatus === 'available' && d.AvailabilityZone !== multi.AvailabilityZone ? true : undefined;
      });
      const after = acked.length;
      await until('writes after failover', async () => (acked.length >= after + 100 ? true : undefined));
      running = false;
      await writer;
      const check = await mysql.createConnection({ host: (await dns.resolve4(address))[0], user: 'admin', password: PASSWORD, database: 'app' });
      const [rows] = (await check.query('SELECT n FROM writes')) as unknown as [{ n: number }[]];
      check.destroy();
      const stored = new Set(rows.map((r) => r.n));
      const lost = acked.filter((n) => !stored.has(n)).length;

      const text = [
        `CreateDBInstance to available (launched together): mysql ${mysqlMs.toFixed(0)} ms, postgres ${postgresMs.toFixed(0)} ms`,
        `ModifyDBInstance to Multi-AZ, until the standby is ready: ${multiAzMs.toFixed(0)} ms`,
        `forced failover under a 10 ms writer: longest write outage ${outage.toFixed(0)} ms, ${lost} of ${acked.length} acknowledged rows lost`,
      ].join('\n');
      return { text, data: { createMs: { mysql: mysqlMs, postgres: postgresMs }, multiAzMs, failover: { outageMs: outage, acknowledged: acked.length, lost } } };
    } finally {
      for (const id of ids) await client.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id, SkipFinalSnapshot: true })).catch(() => {});
      await until('databases deleted', async () => (((await client.send(new DescribeDBInstancesCommand({}))).DBInstances ?? []).length === 0 ? true : undefined), 120_000).catch(() => {});
      client.destroy();
      ec2.destroy();
      await kumo.stop();
    }
  },
};
