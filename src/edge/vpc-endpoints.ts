/**
 * AWS's API endpoints by their real names inside every VPC, as on AWS, where an instance calls
 * `https://s3.ap-northeast-1.amazonaws.com` with no endpoint setting:
 *
 *   DNS    the VPC resolver answers the endpoint names of the services kumo runs
 *          (`<prefix>.<region>.amazonaws.com`, the global `<prefix>.amazonaws.com`, and S3's
 *          virtual hosts `<bucket>.s3[.<region>].amazonaws.com`) with the service address; any
 *          other name under amazonaws.com that no service claims is NXDOMAIN
 *   HTTPS  a TLS server on the service address, port 443, hands requests to the same edge chain as
 *          kumo's own endpoint (signatures, routing, every service); its certificate comes from
 *          kumo's certificate authority, which every instance trusts (runtime/instances/provision.ts)
 *
 * The host resolver does not answer these names: on the host, kumo is at its own URL.
 */
import type { Server } from 'node:http';
import type { CertificateAuthority } from '../runtime/certificate-authority.js';
import type { ServiceEndpoint } from '../runtime/data-plane.js';
import type { DnsZone } from '../runtime/dns/zones.js';
import { REGIONS } from '../state/regions.js';
import type { Edge } from './chain.js';
import type { ConnectionLimits } from './connections.js';
import { tlsServer } from './server.js';

const HTTPS_PORT = 443;
const TTL = 60;
const REGION_NAMES = new Set(REGIONS.map((r) => r.name));

/**
 * Whether `name` is an endpoint of one of `prefixes` (endpointPrefix of the services' models):
 * `ec2.ap-northeast-1.amazonaws.com`, `sts.amazonaws.com`, `my-bucket.s3.amazonaws.com`…
 */
export function isServiceEndpoint(name: string, prefixes: ReadonlySet<string>): boolean {
  const labels = name.toLowerCase().split('.');
  if (labels.length < 3 || labels.at(-1) !== 'com' || labels.at(-2) !== 'amazonaws') return false;
  const rest = labels.slice(0, -2);
  if (rest.length >= 2 && REGION_NAMES.has(rest.at(-1)!)) rest.pop();
  // A bucket's virtual host: whatever comes before `s3` (bucket names may hold dots).
  if (rest.length >= 2 && rest.at(-1) === 's3') return prefixes.has('s3');
  return rest.length === 1 && prefixes.has(rest[0]!);
}

/** The names the HTTPS server's certificate covers (wildcards match one label). */
export function certificateNames(): string[] {
  return ['amazonaws.com', '*.amazonaws.com', '*.s3.amazonaws.com', ...REGIONS.flatMap((r) => [`*.${r.name}.amazonaws.com`, `*.s3.${r.name}.amazonaws.com`])];
}

export interface VpcEndpointsOptions {
  edge: Edge;
  ca: CertificateAuthority;
  limits: ConnectionLimits;
  /** The services' endpoint prefixes (ec2, s3, rds, elasticloadbalancing, sts, acm). */
  prefixes: string[];
}

export function awsEndpointsInVpcs(o: VpcEndpointsOptions): { zone: DnsZone; serve: ServiceEndpoint } {
  const prefixes = new Set(o.prefixes);
  const zone: DnsZone = {
    name: 'aws-endpoints',
    suffixes: ['amazonaws.com'],
    resolve: (q, asker) => {
      if (asker.kind !== 'vpc') return 'refused';
      if (!isServiceEndpoint(q.name, prefixes)) return 'nxdomain';
      return { answers: q.type === 'A' && address ? [{ type: 'A', data: address, ttl: TTL }] : [] };
    },
  };
  let address: string | undefined;
  const serve: ServiceEndpoint = async (at) => {
    const { certificatePem, privateKeyPem } = await o.ca.issue(certificateNames());
    const server: Server = tlsServer(o.edge, o.limits, { key: privateKeyPem, cert: certificatePem });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(HTTPS_PORT, at.address, () => resolve());
    });
    address = at.address;
    return async () => {
      address = undefined;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    };
  };
  return { zone, serve };
}
