/**
 * kumo's configuration, from flags and environment (flags win). Everything has a default that
 * works on a fresh machine: 127.0.0.1:4566, ~/.kumo, SigV4 on, the key pair test/test for
 * account 000000000000.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface Credential {
  accessKeyId: string;
  secretAccessKey: string;
  account: string;
}

export interface KumoConfig {
  host: string;
  port: number;
  dataDir: string;
  auth: boolean;
  credentials: Credential[];
  /** Region for requests that do not name one (unsigned requests). */
  defaultRegion: string;
  /**
   * S3 takes Signature Version 2 (header and presigned query string) for buckets in the regions
   * that launched before 2014, as AWS still does: `KUMO_S3_SIGV2=off` or `--no-s3-sigv2` refuses it
   * everywhere. Default on.
   */
  s3SigV2: boolean;
  /** Write one access-log line per request to stdout. */
  accessLog: boolean;
  /** Loopback CIDR block Elastic IPs are drawn from (`KUMO_EIP_POOL`, default 127.100.0.0/16). */
  elasticIpPool?: string;
  /**
   * Where base images are built and cached (`KUMO_IMAGE_DIR`). Shared by every data dir on the
   * machine, so a reset or a new data dir does not rebuild them.
   */
  imageDir: string;
  /**
   * Where the package cache instances install through, and the downloads kumo prepares from
   * packages, are kept (`KUMO_PACKAGE_CACHE`): shared by every kumo of the machine, like the
   * images. Default: `<imageDir>/package-cache`.
   */
  packageCache?: string;
  /**
   * Instances in public subnets (a route to an internet gateway) with a public IP reach the
   * host's networks through NAT (`--internet`, `KUMO_INTERNET=1`). Off by default: instances
   * then reach nothing beyond kumo and the package registry through kumo's cache.
   */
  internet: boolean;
  /** `KUMO_RUNTIME=process` forces the process driver where the native one could run. */
  runtime: 'auto' | 'process';
  /**
   * How long a connection may sit without a byte moving while kumo waits on the client (partial
   * headers, a stalled body, an unread response, keep-alive): `KUMO_IDLE_TIMEOUT`, in seconds.
   */
  idleTimeoutMs: number;
  /** Open connections at most; more are closed at once (`KUMO_MAX_CONNECTIONS`). */
  maxConnections: number;
  /** Where the host resolver for kumo's AWS names listens (`KUMO_DNS`: host:port, or `off`). */
  hostDns?: { host: string; port: number };
  /**
   * Tests only (no flag or variable sets it): the base of kumo's clock (./runtime/clock.ts),
   * which EC2's supervisor (it removes terminated instances an hour on) and S3 (its timestamps
   * and lifecycle) read, and `POST /_kumo/clock` advances. Requests (SigV4's time checks among
   * them) keep the system's clock. Default: the system's.
   */
  clock?: () => Date;
}

export function defaultImageDir(dataDir: string, env = process.env): string {
  if (env.KUMO_IMAGE_DIR) return resolve(env.KUMO_IMAGE_DIR);
  return process.getuid?.() === 0 ? '/var/lib/kumo/images' : join(dataDir, 'images');
}

export const packageCacheDir = (config: Pick<KumoConfig, 'packageCache' | 'imageDir'>) => config.packageCache ?? join(config.imageDir, 'package-cache');

/** S3 closes a connection idle for about 20 s (see edge/connections.ts). */
export const DEFAULT_IDLE_TIMEOUT_MS = 20_000;
/** Far more than any local client pool (the CLI and SDKs use 10 to 50), far fewer than file descriptors. */
export const DEFAULT_MAX_CONNECTIONS = 1000;

/**
 * The host resolver's default: port 53 on a loopback address of its own where kumo may bind it
 * (root; systemd-resolved keeps 127.0.0.53 and .54), else an unprivileged port on 127.0.0.1.
 */
export const defaultHostDns = () => (process.getuid?.() === 0 ? { host: '127.0.0.153', port: 53 } : { host: '127.0.0.1', port: 5300 });

/** `host:port` (IPv4), or `off`. */
export function parseHostDns(spec: string): { host: string; port: number } | undefined {
  if (spec === 'off') return undefined;
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(spec);
  if (!m || Number(m[2]) > 65535) throw new Error(`invalid DNS address '${spec}': expected IPv4:port (127.0.0.153:53), or off`);
  return { host: m[1]!, port: Number(m[2]) };
}

export const DEFAULT_CREDENTIAL: Credential = { accessKeyId: 'test', secretAccessKey: 'test', account: '000000000000' };

/** `AKID:SECRET[:ACCOUNT]`, several separated by commas. */
export function parseCredentials(spec: string): Credential[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const [accessKeyId, secretAccessKey, account = DEFAULT_CREDENTIAL.account] = s.split(':');
      if (!accessKeyId || !secretAccessKey || !/^[0-9]{12}$/.test(account)) {
        throw new Error(`invalid credential '${s}': expected ACCESS_KEY:SECRET[:12-digit-account]`);
      }
      return { accessKeyId, secretAccessKey, account };
    });
}

export function defaultDataDir(env = process.env): string {
  return resolve(env.KUMO_DATA_DIR ?? join(homedir(), '.kumo'));
}

export function configFromEnv(env = process.env): KumoConfig {
  const extra = env.KUMO_CREDENTIALS ? parseCredentials(env.KUMO_CREDENTIALS) : [];
  return {
    host: env.KUMO_HOST ?? '127.0.0.1',
    port: env.KUMO_PORT ? Number(env.KUMO_PORT) : 4566,
    dataDir: defaultDataDir(env),
    auth: env.KUMO_NO_AUTH ? !['1', 'true', 'yes'].includes(env.KUMO_NO_AUTH.toLowerCase()) : true,
    credentials: [DEFAULT_CREDENTIAL, ...extra],
    defaultRegion: env.KUMO_DEFAULT_REGION ?? 'us-east-1',
    s3SigV2: !['0', 'off', 'false', 'no'].includes((env.KUMO_S3_SIGV2 ?? 'on').toLowerCase()),
    accessLog: true,
    elasticIpPool: env.KUMO_EIP_POOL,
    imageDir: defaultImageDir(defaultDataDir(env), env),
    packageCache: env.KUMO_PACKAGE_CACHE ? resolve(env.KUMO_PACKAGE_CACHE) : undefined,
    internet: ['1', 'true', 'yes', 'on'].includes((env.KUMO_INTERNET ?? '').toLowerCase()),
    runtime: env.KUMO_RUNTIME === 'process' ? 'process' : 'auto',
    idleTimeoutMs: env.KUMO_IDLE_TIMEOUT ? Number(env.KUMO_IDLE_TIMEOUT) * 1000 : DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: env.KUMO_MAX_CONNECTIONS ? Number(env.KUMO_MAX_CONNECTIONS) : DEFAULT_MAX_CONNECTIONS,
    hostDns: env.KUMO_DNS !== undefined ? parseHostDns(env.KUMO_DNS) : defaultHostDns(),
  };
}
