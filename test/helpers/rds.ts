/**
 * RDS test fixture: a kumo, an RDS client, a security group `db-sg` open to everyone on the
 * engine's port (so the host reaches publicly accessible databases), and a resolver asking
 * kumo's host DNS, where endpoint names answer.
 */
import { Resolver } from 'node:dns/promises';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { clientConfig, startKumoForTest, type TestKumo } from './kumo.js';

export interface RdsFixture {
  kumo: TestKumo;
  rds: RDSClient;
  /** `db-sg`: the port, and every port up to `toPort`, open to 0.0.0.0/0. */
  sg: string;
  hostDns: Resolver;
}

export async function rdsFixture(port: number, toPort = port): Promise<RdsFixture> {
  const kumo = await startKumoForTest();
  const rds = new RDSClient(clientConfig(kumo.url));
  const ec2 = new EC2Client(clientConfig(kumo.url));
  const sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'db-sg', Description: 'db' }))).GroupId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: port, ToPort: toPort, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  ec2.destroy();
  const hostDns = new Resolver();
  hostDns.setServers([((await (await fetch(`${kumo.url}/_kumo/health`)).json()) as { dns: string }).dns]);
  return { kumo, rds, sg, hostDns };
}

/** How a writer talks to its engine: a connection by the endpoint name, row n written on it, and dropped. */
export interface WriterClient<C> {
  connect(): Promise<C>;
  insert(conn: C, n: number): Promise<unknown>;
  close(conn: C): Promise<void> | void;
}

/**
 * A client as an application runs one: writes rows 1, 2, 3… every 10 ms, reconnects by the
 * endpoint name when cut off, and counts what was acknowledged. The outage is measured from the
 * last write that went through to the next one, so a write left hanging counts too.
 */
export function endpointWriter<C>(client: WriterClient<C>) {
  const acked: number[] = [];
  let failures = 0;
  let lastSuccess = Date.now();
  let failing = false;
  let longestOutageMs = 0;
  let running = true;
  const done = (async () => {
    let conn: C | undefined;
    for (let n = 1; running; n++) {
      try {
        conn ??= await client.connect();
        await client.insert(conn, n);
        acked.push(n);
        if (failing) longestOutageMs = Math.max(longestOutageMs, Date.now() - lastSuccess);
        failing = false;
        lastSuccess = Date.now();
      } catch {
        failures++;
        failing = true;
        if (conn !== undefined) await Promise.resolve(client.close(conn)).catch(() => {});
        conn = undefined;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    if (conn !== undefined) await Promise.resolve(client.close(conn)).catch(() => {});
  })();
  return {
    acked,
    get failures() { return failures; },
    get longestOutageMs() { return longestOutageMs; },
    stop: async () => { running = false; await done; },
  };
}
