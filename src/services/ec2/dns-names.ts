/**
 * EC2's DNS names for instances, as AWS spells them, and the way back from a name to the address
 * it stands for. Pure functions: the DNS server, the IMDS and the EC2 provider all need the same
 * spelling, and an instance's names are derived from its addresses, never stored.
 *
 *   private (IP name)        ip-10-0-1-5.ec2.internal                  us-east-1
 *                            ip-10-0-1-5.ap-northeast-1.compute.internal  elsewhere
 *   private (resource name)  i-0123456789abcdef0.ec2.internal          (hostname type "resource-name")
 *   public                   ec2-127-100-0-5.compute-1.amazonaws.com   us-east-1
 *                            ec2-127-100-0-5.ap-northeast-1.compute.amazonaws.com
 *
 * us-east-1 keeps its historic names (ec2.internal, compute-1), as on AWS.
 */

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

const dashed = (ip: string) => {
  if (!IPV4.test(ip)) throw new Error(`not an IPv4 address: ${JSON.stringify(ip)}`);
  return ip.replaceAll('.', '-');
};

/** Domain of private names in a region: `ec2.internal` or `<region>.compute.internal`. */
export const privateDomain = (region: string) => (region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`);

/** Domain of public names in a region: `compute-1.amazonaws.com` or `<region>.compute.amazonaws.com`. */
export const publicDomain = (region: string) => (region === 'us-east-1' ? 'compute-1.amazonaws.com' : `${region}.compute.amazonaws.com`);

export const privateDnsName = (ip: string, region: string) => `ip-${dashed(ip)}.${privateDomain(region)}`;

export const publicDnsName = (ip: string, region: string) => `ec2-${dashed(ip)}.${publicDomain(region)}`;

/** The "resource name" hostname type: the instance id under the private domain. */
export const resourceDnsName = (instanceId: string, region: string) => `${instanceId}.${privateDomain(region)}`;

export type ParsedName =
  | { kind: 'private' | 'public'; ip: string; region: string }
  | { kind: 'resource'; instanceId: string; region: string };

/**
 * What an EC2 name stands for, or undefined when it is not one. Case and a trailing dot are
 * ignored, as DNS does; the address must be a valid IPv4 address.
 */
export function parseEc2Name(name: string): ParsedName | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  const dot = n.indexOf('.');
  if (dot < 0) return undefined;
  const [host, domain] = [n.slice(0, dot), n.slice(dot + 1)];
  const region = regionOf(domain, 'private');
  if (region) {
    if (/^i-[0-9a-f]{8,17}$/.test(host)) return { kind: 'resource', instanceId: host, region };
    const ip = ipOf(host, 'ip-');
    return ip ? { kind: 'private', ip, region } : undefined;
  }
  const pubRegion = regionOf(domain, 'public');
  const ip = pubRegion ? ipOf(host, 'ec2-') : undefined;
  return pubRegion && ip ? { kind: 'public', ip, region: pubRegion } : undefined;
}

function regionOf(domain: string, kind: 'private' | 'public'): string | undefined {
  if (kind === 'private') {
    if (domain === 'ec2.internal') return 'us-east-1';
    const m = /^([a-z0-9-]+)\.compute\.internal$/.exec(domain);
    return m && REGION.test(m[1]!) && m[1] !== 'us-east-1' ? m[1] : undefined;
  }
  if (domain === 'compute-1.amazonaws.com') return 'us-east-1';
  const m = /^([a-z0-9-]+)\.compute\.amazonaws\.com$/.exec(domain);
  return m && REGION.test(m[1]!) && m[1] !== 'us-east-1' ? m[1] : undefined;
}

function ipOf(host: string, prefix: string): string | undefined {
  if (!host.startsWith(prefix)) return undefined;
  const ip = host.slice(prefix.length).replaceAll('-', '.');
  return IPV4.test(ip) ? ip : undefined;
}

/** The reverse-lookup name of an address: 10.0.1.5 → 5.1.0.10.in-addr.arpa. */
export const reverseName = (ip: string) => `${dashed(ip).split('-').reverse().join('.')}.in-addr.arpa`;

/** The address a reverse-lookup name stands for, or undefined. */
export function parseReverseName(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(name);
  if (!m) return undefined;
  const ip = [m[4], m[3], m[2], m[1]].join('.');
  return IPV4.test(ip) ? ip : undefined;
}
