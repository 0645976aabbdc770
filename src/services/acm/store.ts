/**
 * ACM's one table: certificates by ARN, with their PEM material (the private key too: state.db
 * is the data dir's, 0600, as key pairs' are). Thin queries only.
 */
import type { Db, Migration } from '../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../state/resources.js';

export interface DomainValidation {
  DomainName: string;
  ValidationDomain: string;
  ValidationStatus: string;
  ValidationMethod: string;
  ValidationEmails?: string[];
  ResourceRecord?: { Name: string; Type: string; Value: string };
}

export interface CertificateRecord {
  CertificateArn: string;
  DomainName: string;
  SubjectAlternativeNames: string[];
  Type: 'IMPORTED' | 'AMAZON_ISSUED';
  Status: string;
  Serial: string;
  Subject: string;
  Issuer: string;
  KeyAlgorithm: string;
  SignatureAlgorithm: string;
  NotBefore: string;
  NotAfter: string;
  CreatedAt: string;
  IssuedAt?: string;
  ImportedAt?: string;
  DomainValidationOptions?: DomainValidation[];
  ExtendedKeyUsages: { Name: string; OID: string }[];
  KeyUsages: { Name: string }[];
  Options: { CertificateTransparencyLoggingPreference: string };
  IdempotencyToken?: string;
  /** PEM: never answered by DescribeCertificate; GetCertificate gives the certificate and chain. */
  Material: { certificate: string; privateKey: string; chain?: string };
}

export const acmMigrations: Migration[] = [{ version: 1, up: resourceTableSql('acm_certificates') }];

export class AcmStore {
  readonly certificates: ResourceTable<CertificateRecord>;

  constructor(readonly db: Db) {
    this.certificates = new ResourceTable<CertificateRecord>(db, 'acm_certificates');
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
