/**
 * AWS Certificate Manager (json wire family): certificates for load balancers' HTTPS and TLS
 * listeners, imported or issued by kumo's own certificate authority.
 *
 *   certificates.ts  Import, Request, Describe, List, Get, Delete
 *   tags.ts          tags of certificates
 *   store.ts         the certificates table, with their PEM material
 *
 * Other services meet ACM through `certificate()` (the material of an issued certificate, for
 * ELB's proxies) and tell it who uses a certificate (`inUseBy`, wired by the composition root).
 *
 * Differences from AWS:
 * - RequestCertificate issues at once, from kumo's certificate authority (one per data dir; its
 *   certificate is at GET /_kumo/ca.pem): the certificate is ISSUED when the call returns, with
 *   its DNS or email validation shown as SUCCESS, and nothing is ever checked or sent. Clients
 *   trust it only if they trust kumo's CA. No private CAs (CertificateAuthorityArn is refused),
 *   no renewals (RenewalEligibility INELIGIBLE), no exports, no account configuration.
 * - An imported certificate's KeyUsages are not read (empty); its extended key usages are.
 * - The chain of an imported certificate is not checked against the certificate.
 * - Error messages are kumo's own words; codes and statuses are AWS's.
 */
import { loadModel } from '../../models/loader.js';
import type { AcmOperations } from '../../models/generated/acm.js';
import { JsonCodec } from '../../protocol/json.js';
import type { CertificateAuthority } from '../../runtime/certificate-authority.js';
import { migrate, type Db } from '../../state/db.js';
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, Service } from '../service.js';
import { certificateHandlers, type CertificateUsers } from './certificates.js';
import { acmAuthErrors } from './errors.js';
import { AcmStore, acmMigrations } from './store.js';
import { tagHandlers } from './tags.js';

export interface AcmDeps {
  db: Db;
  tags: TagStore;
  ca: CertificateAuthority;
  /** The load balancers that use a certificate (ELB's to say). */
  inUseBy: CertificateUsers;
}

/** What a proxy needs of a certificate to serve it. */
export interface ServedCertificate {
  status: string;
  /** The names it is good for (SANs, or its CN). */
  names: string[];
  certificatePem: string;
  chainPem?: string;
  privateKeyPem: string;
}

export function createAcmService(deps: AcmDeps): Service & { certificate(scope: Scope, arn: string): ServedCertificate | undefined } {
  migrate(deps.db, 'acm', acmMigrations);
  const store = new AcmStore(deps.db);
  const handlers: { [K in keyof AcmOperations]: Handler } = {
    ...certificateHandlers(store, deps.tags, deps.ca, deps.inUseBy),
    ...tagHandlers(store, deps.tags),
  };
  return {
    name: 'acm',
    signingName: 'acm',
    codec: new JsonCodec(loadModel('acm-2015-12-08')),
    handlers,
    authErrors: acmAuthErrors,
    certificate(scope, arn) {
      const c = store.certificates.get(scope, arn);
      if (!c) return undefined;
      const expired = new Date(c.NotAfter) <= new Date();
      return {
        status: expired && c.Status === 'ISSUED' ? 'EXPIRED' : c.Status,
        names: c.SubjectAlternativeNames,
        certificatePem: c.Material.certificate,
        chainPem: c.Material.chain,
        privateKeyPem: c.Material.privateKey,
      };
    },
  };
}
