/**
 * The public AMIs kumo offers, as data. Their names, owners, aliases and default users are the
 * real publishers' (so `--owners amazon --filters Name=name,Values=al2023-ami-2023.*-x86_64` and
 * Terraform's `most_recent` lookups find them), but every one of them boots the same kumo image:
 * the Debian 12 rootfs of runtime/images (recipe.ts). Amazon Linux and Ubuntu here are Debian
 * underneath, with a `yum`/`dnf` compatibility shim and an `httpd` unit so Amazon-Linux-style
 * user data still works; only the login user differs, as it does on AWS.
 *
 * Each family lists a few dated releases so "newest by CreationDate" queries have something to
 * choose from; releases past their DeprecationTime are hidden unless IncludeDeprecated is set.
 */
import { DEBIAN_12, type ImageSpec } from '../../../runtime/images/builder.js';

export interface CatalogImage {
  name: string;
  description: string;
  ownerId: string;
  ownerAlias?: string;
  /** ISO timestamps, as AWS shows them. */
  creationDate: string;
  deprecationTime: string;
  defaultUser: string;
  rootDeviceName: string;
  /** 'uefi-preferred' on AL2023; AWS leaves it unset on older images. */
  bootMode?: string;
  imdsSupport?: string;
  volumeSize: number;
  kumoImage: ImageSpec;
}

export const OWNERS = {
  amazon: '137112412989',
  debian: '136693071363',
  canonical: '099720109477',
};

/** `YYYY-MM-DD` → creation at that day's build time and AWS's default deprecation two years on. */
function dated(day: string, time = '04:13:22'): Pick<CatalogImage, 'creationDate' | 'deprecationTime'> {
  const creation = new Date(`${day}T${time}.000Z`);
  const deprecation = new Date(creation);
  deprecation.setUTCFullYear(deprecation.getUTCFullYear() + 2);
  return { creationDate: creation.toISOString(), deprecationTime: deprecation.toISOString() };
}

const al2023 = (version: string, day: string): CatalogImage => ({
  name: `al2023-ami-2023.${version}-kernel-6.1-x86_64`,
  description: `Amazon Linux 2023 AMI 2023.${version} x86_64 HVM kernel-6.1`,
  ownerId: OWNERS.amazon, ownerAlias: 'amazon', ...dated(day), defaultUser: 'ec2-user',
  rootDeviceName: '/dev/xvda', bootMode: 'uefi-preferred', imdsSupport: 'v2.0', volumeSize: 8, kumoImage: DEBIAN_12,
});

const amzn2 = (version: string, day: string): CatalogImage => ({
  name: `amzn2-ami-hvm-2.0.${version}-x86_64-gp2`,
  description: `Amazon Linux 2 AMI 2.0.${version} x86_64 HVM gp2`,
  ownerId: OWNERS.amazon, ownerAlias: 'amazon', ...dated(day, '21:07:45'), defaultUser: 'ec2-user',
  rootDeviceName: '/dev/xvda', volumeSize: 8, kumoImage: DEBIAN_12,
});

const debian12 = (stamp: string, day: string): CatalogImage => ({
  name: `debian-12-amd64-${stamp}`,
  description: `Debian 12 (${stamp})`,
  ownerId: OWNERS.debian, ...dated(day, '23:41:09'), defaultUser: 'admin',
  rootDeviceName: '/dev/xvda', volumeSize: 8, kumoImage: DEBIAN_12,
});

const ubuntu = (codename: string, version: string, disk: string, stamp: string, day: string): CatalogImage => ({
  name: `ubuntu/images/${disk}/ubuntu-${codename}-${version}-amd64-server-${stamp}`,
  description: `Canonical, Ubuntu, ${version}, amd64 ${codename} image`,
  ownerId: OWNERS.canonical, ...dated(day, '07:55:31'), defaultUser: 'ubuntu',
  rootDeviceName: '/dev/sda1', volumeSize: 8, kumoImage: DEBIAN_12,
});

export const CATALOG: CatalogImage[] = [
  al2023('6.20260101.0', '2026-01-01'),
  al2023('6.20251201.1', '2025-12-01'),
  al2023('5.20240701.0', '2024-07-01'),
  amzn2('20260101.0', '2026-01-01'),
  amzn2('20251201.0', '2025-12-01'),
  // Released in 2023, deprecated in 2025: only IncludeDeprecated (or its ID) shows it.
  amzn2('20231101.0', '2023-11-01'),
  debian12('20260101-2340', '2026-01-01'),
  debian12('20251201-2310', '2025-12-01'),
  ubuntu('jammy', '22.04', 'hvm-ssd', '20260101', '2026-01-01'),
  ubuntu('jammy', '22.04', 'hvm-ssd', '20251201', '2025-12-01'),
  ubuntu('noble', '24.04', 'hvm-ssd-gp3', '20260101', '2026-01-01'),
];
