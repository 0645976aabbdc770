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
