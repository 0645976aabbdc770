/**
 * AWS's predefined security policies for HTTPS and TLS listeners (protocols and ciphers, in AWS's
 * order and spelling, which is OpenSSL's), and what HAProxy's `bind … ssl` makes of one.
 */

export interface SslPolicy {
  Name: string;
  SslProtocols: string[];
  /** TLS 1.3 suites (TLS_…) and TLS 1.2-and-below ciphers (OpenSSL names), in priority order. */
  Ciphers: string[];
}

/** The API's default for a listener that names none. */
export const DEFAULT_SSL_POLICY = 'ELBSecurityPolicy-2016-08';

const TLS13 = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];
const FS_GCM = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'];
const FS_12 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384',
];
const TLS_12_2017 = [...FS_12, 'AES128-GCM-SHA256', 'AES128-SHA256', 'AES256-GCM-SHA384', 'AES256-SHA256'];
const CLASSIC_2016 = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES128-SHA256', 'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES128-SHA', 'ECDHE-RSA-AES128-SHA', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA384', 'ECDHE-RSA-AES256-SHA', 'ECDHE-ECDSA-AES256-SHA',
  'AES128-GCM-SHA256', 'AES128-SHA256', 'AES128-SHA', 'AES256-GCM-SHA384', 'AES256-SHA256', 'AES256-SHA',
];

export const SSL_POLICIES: SslPolicy[] = [
  { Name: 'ELBSecurityPolicy-TLS13-1-2-2021-06', SslProtocols: ['TLSv1.2', 'TLSv1.3'], Ciphers: [...TLS13, ...FS_12] },
  { Name: 'ELBSecurityPolicy-TLS13-1-2-Res-2021-06', SslProtocols: ['TLSv1.2', 'TLSv1.3'], Ciphers: [...TLS13, ...FS_GCM] },
  { Name: 'ELBSecurityPolicy-TLS13-1-3-2021-06', SslProtocols: ['TLSv1.3'], Ciphers: TLS13 },
  { Name: 'ELBSecurityPolicy-2016-08', SslProtocols: ['TLSv1', 'TLSv1.1', 'TLSv1.2'], Ciphers: CLASSIC_2016 },
  { Name: 'ELBSecurityPolicy-TLS-1-1-2017-01', SslProtocols: ['TLSv1.1', 'TLSv1.2'], Ciphers: CLASSIC_2016 },
  { Name: 'ELBSecurityPolicy-TLS-1-2-2017-01', SslProtocols: ['TLSv1.2'], Ciphers: TLS_12_2017 },
  { Name: 'ELBSecurityPolicy-TLS-1-2-Ext-2018-06', SslProtocols: ['TLSv1.2'], Ciphers: CLASSIC_2016 },
  { Name: 'ELBSecurityPolicy-FS-1-2-Res-2020-10', SslProtocols: ['TLSv1.2'], Ciphers: FS_GCM },
];

export const sslPolicy = (name: string) => SSL_POLICIES.find((p) => p.Name === name);

/** What a node's HAProxy needs of a policy: versions (HAProxy's names) and cipher lists. */
export interface TlsSettings {
  minVersion: string;
  maxVersion: string;
  ciphers: string[];
  ciphersuites: string[];
}

const HAPROXY_VERSION: Record<string, string> = { TLSv1: 'TLSv1.0', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' };

export function tlsSettings(policy: SslPolicy): TlsSettings {
  return {
    minVersion: HAPROXY_VERSION[policy.SslProtocols[0]!]!,
    maxVersion: HAPROXY_VERSION[policy.SslProtocols.at(-1)!]!,
    ciphers: policy.Ciphers.filter((c) => !c.startsWith('TLS_')),
    ciphersuites: policy.Ciphers.filter((c) => c.startsWith('TLS_')),
  };
}
