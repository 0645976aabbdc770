/**
 * What an instance sees under /latest/: its metadata as a tree of directories and text leaves,
 * built per request from one InstanceMetadata record (the caller's view of the instance, read from
 * EC2's state), so the IMDS never holds copies that could go stale. The HTTP side (imds.ts) only
 * walks this tree: a directory answers its listing (subdirectories end with '/'), a leaf its text.
 *
 * Categories follow AWS's "Instance metadata categories"; what kumo has no data for (events,
 * iam, identity-credentials, metrics, spot) is absent rather than invented, so a lookup answers
 * 404 as on an instance without that feature.
 */

export interface SecurityGroupRef {
  id: string;
  name: string;
}

/** One instance as the IMDS needs it; filled in by whoever owns EC2's state. */
export interface InstanceMetadata {
  instanceId: string;
  imageId: string;
  instanceType: string;
  /** Position in its launch request (0 for the first). */
  launchIndex: number;
  reservationId: string;
  accountId: string;
  region: string;
  availabilityZone: string;
  /** e.g. apne1-az4 */
  availabilityZoneId: string;
  privateIp: string;
  privateDnsName: string;
  publicIp?: string;
  publicDnsName?: string;
  /** Primary interface's MAC, lower case with colons. */
  mac: string;
  /** Primary interface's id (eni-…). */
  interfaceId: string;
  subnetId: string;
  subnetCidr: string;
  vpcId: string;
  /** The VPC's primary CIDR first, then any associated ones. */
  vpcCidrs: string[];
  securityGroups: SecurityGroupRef[];
  keyName?: string;
  /** OpenSSH public key line of keyName. */
  publicKey?: string;
  userData?: Buffer;
  httpTokens: 'optional' | 'required';
  httpEndpoint: 'enabled' | 'disabled';
  /** InstanceMetadataTags: tags/instance is served only when enabled. */
  instanceMetadataTags: 'enabled' | 'disabled';
  tags: Record<string, string>;
  /** When it last went to pending (the identity document's pendingTime). */
  launchTime: Date;
  /** x86_64 unless given (arm64 for Graviton types). */
  architecture?: 'x86_64' | 'arm64' | 'i386';
  /** Default /dev/xvda. */
  rootDeviceName?: string;
  /** Default on-demand. */
  lifecycle?: 'on-demand' | 'spot';
}

/** A directory: named children, and the listing text when it differs from their names (public-keys/). */
export interface Dir {
  children: Record<string, Node>;
  listing?: string;
}
export type Node = string | Dir;

const dir = (children: Record<string, Node | undefined>, listing?: string): Dir => {
  const present: Record<string, Node> = {};
  for (const [k, v] of Object.entries(children)) if (v !== undefined) present[k] = v;
  return listing === undefined ? { children: present } : { children: present, listing };
};

export const isDir = (n: Node): n is Dir => typeof n !== 'string';

/** Children in order, directories with a trailing slash, one per line (no trailing newline, as on AWS). */
export function listing(d: Dir): string {
  if (d.listing !== undefined) return d.listing;
  return Object.entries(d.children)
    .map(([name, n]) => (isDir(n) ? `${name}/` : name))
    .join('\n');
}

/** Tag keys AWS lets through to IMDS: no '/' (it would be a path) and no spaces. */
const imdsTagKey = (k: string) => !/[/\s]/.test(k) && k.length > 0;

export function metaDataTree(m: InstanceMetadata): Dir {
  const pub = m.publicIp;
  const sgNames = m.securityGroups.map((g) => g.name).join('\n');
  const iface = dir({
    'device-number': '0',
    'interface-id': m.interfaceId,
    // public IP → the private IP it maps to, present only with a public IP
    'ipv4-associations': pub ? dir({ [pub]: m.privateIp }) : undefined,
    'local-hostname': m.privateDnsName,
    'local-ipv4s': m.privateIp,
    mac: m.mac,
    'owner-id': m.accountId,
    'public-hostname': pub ? (m.publicDnsName ?? '') : undefined,
    'public-ipv4s': pub,
    'security-group-ids': m.securityGroups.map((g) => g.id).join('\n'),
    'security-groups': sgNames,
    'subnet-id': m.subnetId,
    'subnet-ipv4-cidr-block': m.subnetCidr,
    'vpc-id': m.vpcId,
    'vpc-ipv4-cidr-block': m.vpcCidrs[0] ?? '',
    'vpc-ipv4-cidr-blocks': m.vpcCidrs.join('\n'),
  });
  const root = m.rootDeviceName ?? '/dev/xvda';
  const tagKeys = Object.keys(m.tags).filter(imdsTagKey).sort();
  return dir({
    'ami-id': m.imageId,
    'ami-launch-index': String(m.launchIndex),
    'ami-manifest-path': '(unknown)',
    'block-device-mapping': dir({ ami: root, root }),
    hostname: m.privateDnsName,
    'instance-action': 'none',
    'instance-id': m.instanceId,
    'instance-life-cycle': m.lifecycle ?? 'on-demand',
    'instance-type': m.instanceType,
    'local-hostname': m.privateDnsName,
    'local-ipv4': m.privateIp,
    mac: m.mac,
    network: dir({ interfaces: dir({ macs: dir({ [m.mac]: iface }) }) }),
    placement: dir({
      'availability-zone': m.availabilityZone,
      'availability-zone-id': m.availabilityZoneId,
      region: m.region,
    }),
    'public-hostname': pub ? (m.publicDnsName ?? '') : undefined,
    'public-ipv4': pub,
    'public-keys':
      m.keyName !== undefined && m.publicKey !== undefined
        ? dir({ '0': dir({ 'openssh-key': m.publicKey }) }, `0=${m.keyName}`)
        : undefined,
    'reservation-id': m.reservationId,
    'security-groups': sgNames,
    services: dir({ domain: 'amazonaws.com', partition: 'aws' }),
    tags:
      m.instanceMetadataTags === 'enabled'
        ? dir({ instance: dir(Object.fromEntries(tagKeys.map((k) => [k, m.tags[k]!]))) })
        : undefined,
  });
}

/**
 * The identity document, laid out as AWS lays it out (two-space indent, " : " separators), since
 * some scripts grep it rather than parse it.
 */
export function identityDocument(m: InstanceMetadata): string {
  const doc: Record<string, string | number | null> = {
    accountId: m.accountId,
    architecture: m.architecture ?? 'x86_64',
    availabilityZone: m.availabilityZone,
    billingProducts: null,
    devpayProductCodes: null,
    marketplaceProductCodes: null,
    imageId: m.imageId,
    instanceId: m.instanceId,
    instanceType: m.instanceType,
    kernelId: null,
    pendingTime: m.launchTime.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    privateIp: m.privateIp,
    ramdiskId: null,
    region: m.region,
    version: '2017-09-30',
  };
  const lines = Object.entries(doc).map(([k, v]) => `  ${JSON.stringify(k)} : ${JSON.stringify(v)}`);
  return `{\n${lines.join(',\n')}\n}`;
}

/** The whole of /latest/ for one instance. */
export function latestTree(m: InstanceMetadata): Dir {
  return dir({
    dynamic: dir({ 'instance-identity': dir({ document: identityDocument(m) }) }),
    'meta-data': metaDataTree(m),
  });
}
