/**
 * Certificates: ImportCertificate (yours, checked as ACM checks them: one PEM certificate, its
 * unencrypted private key, an optional chain), RequestCertificate (issued at once by kumo's
 * certificate authority, runtime/certificate-authority.ts), Describe, List, Get and Delete (refused
 * while a load balancer's listener uses it: who uses what is ELB's to say, through `inUseBy`).
 */
import { createHash, createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import type { AcmOperations } from '../../models/generated/acm.js';
import { KEY_ALGORITHMS, inspect, keyMatches, pemBlocks, type CertificateAuthority, type KeyAlgorithm } from '../../runtime/certificate-authority.js';
import { paginate } from '../../state/pagination.js';
import type { Scope } from '../../state/scope.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../service.js';
import { AcmErrors } from './errors.js';
import type { AcmStore, CertificateRecord, DomainValidation } from './store.js';
import { checkTags } from './tags.js';

type Op<K extends keyof AcmOperations> = OpHandler<AcmOperations, K>;

/** Who uses a certificate (load balancers' ARNs), asked of ELB. */
export type CertificateUsers = (scope: Scope, certificateArn: string) => string[];

const ARN_PATTERN = /^arn:[\w+=/,.@-]+:acm:[\w+=/,.@-]*:[0-9]+:[\w+=,.@-]+(\/[\w+=,.@-]+)*$/;
const DOMAIN = /^(\*\.)?(((?!-)[A-Za-z0-9-]{0,62}[A-Za-z0-9])\.)+((?!-)[A-Za-z0-9-]{1,62}[A-Za-z0-9])$/;
/** What ACM's RequestCertificate offers (imports take any of KEY_ALGORITHMS, and RSA_1024). */
const REQUEST_ALGORITHMS = ['RSA_2048', 'EC_prime256v1', 'EC_secp384r1'];
const EKU: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'TLS_WEB_SERVER_AUTHENTICATION',
  '1.3.6.1.5.5.7.3.2': 'TLS_WEB_CLIENT_AUTHENTICATION',
  '1.3.6.1.5.5.7.3.3': 'CODE_SIGNING',
  '1.3.6.1.5.5.7.3.4': 'EMAIL_PROTECTION',
  '1.3.6.1.5.5.7.3.8': 'TIME_STAMPING',
  '1.3.6.1.5.5.7.3.9': 'OCSP_SIGNING',
};

export function certificateOf(store: AcmStore, scope: Scope, arn: string): CertificateRecord {
  if (!ARN_PATTERN.test(arn)) {
    throw AcmErrors.validation(`1 validation error detected: Value '${arn}' at 'certificateArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[\\w+=/,.@-]+:acm:[\\w+=/,.@-]*:[0-9]+:[\\w+=,.@-]+(/[\\w+=,.@-]+)*`);
  }
  if (!/^arn:aws:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/.test(arn)) throw AcmErrors.invalidArn(arn);
  const c = store.certificates.get(scope, arn);
  if (!c) throw AcmErrors.notFound(arn);
  return c;
}

/** A certificate past its NotAfter is EXPIRED, whatever it was. */
const statusOf = (c: CertificateRecord, now: Date) => (c.Status === 'ISSUED' && new Date(c.NotAfter) <= now ? 'EXPIRED' : c.Status);

function extendedKeyUsages(pem: string): { Name: string; OID: string }[] {
  // Node names a certificate's extended key usages `keyUsage`: their OIDs.
  const oids = new X509Certificate(pem).keyUsage as string[] | undefined;
  return (oids ?? []).map((OID) => ({ Name: EKU[OID] ?? 'CUSTOM', OID }));
}

/** The certificate's facts, as Describe and List answer them. */
function facts(pem: string) {
  const f = inspect(pem);
  return {
    DomainName: f.commonName ?? f.names[0] ?? '',
    SubjectAlternativeNames: f.names,
    Serial: f.serial,
    Subject: f.subject,
    // ACM names the issuer by its organization (`Amazon` for its own), else its common name.
    Issuer: attribute(f.issuer, 'O') ?? attribute(f.issuer, 'CN') ?? f.issuer,
    KeyAlgorithm: f.keyAlgorithm,
    SignatureAlgorithm: f.signatureAlgorithm,
    NotBefore: f.notBefore.toISOString(),
    NotAfter: f.notAfter.toISOString(),
  };
}

const attribute = (dn: string, key: string) => dn.split(',').find((p) => p.startsWith(`${key}=`))?.slice(key.length + 1);

/** What ACM would have asked to validate each name (kumo issues without asking: SUCCESS). */
function validations(names: string[], method: string, options: { DomainName: string; ValidationDomain: string }[] | undefined): DomainValidation[] {
  return names.map((name) => {
    const ValidationDomain = options?.find((o) => o.DomainName === name)?.ValidationDomain ?? name.replace(/^\*\./, '');
    if (method === 'DNS') {
      const token = createHash('sha256').update(name).digest('hex');
      return {
        DomainName: name,
        ValidationDomain,
        ValidationStatus: 'SUCCESS',
        ValidationMethod: 'DNS',
        ResourceRecord: { Name: `_${token.slice(0, 32)}.${name.replace(/^\*\./, '')}.`, Type: 'CNAME', Value: `_${token.slice(32)}.acm-validations.aws.` },
      };
    }
    const emails = ['admin', 'administrator', 'hostmaster', 'postmaster', 'webmaster'].map((u) => `${u}@${ValidationDomain}`);
    return { DomainName: name, ValidationDomain, ValidationStatus: 'SUCCESS', ValidationMethod: 'EMAIL', ValidationEmails: emails };
  });
}

export function certificateHandlers(store: AcmStore, tags: TagStore, ca: CertificateAuthority, inUseBy: CertificateUsers) {
  const arnFor = (ctx: RequestContext) => `arn:aws:acm:${ctx.region}:${ctx.account}:certificate/${randomUUID()}`;

  const ImportCertificate: Op<'ImportCertificate'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const previous = input.CertificateArn ? certificateOf(store, scope, input.CertificateArn) : undefined;
    if (previous && previous.Type !== 'IMPORTED') throw AcmErrors.validation(`Certificate ${previous.CertificateArn} was not imported: only imported certificates can be re-imported.`);
    if (previous && input.Tags?.length) throw AcmErrors.invalidParameter('Tags cannot be specified when re-importing a certificate.');
    const newTags = checkTags(input.Tags ?? []);
    const certText = input.Certificate.toString('utf8');
    const certs = pemBlocks(certText);
    if (certs.length !== 1) throw AcmErrors.validation(certs.length ? 'The certificate field contains more than one certificate. You can specify only one certificate in this field.' : 'Unable to parse certificate. Please ensure the certificate is in PEM format.');
    let f: ReturnType<typeof facts>;
    try {
      f = facts(certs[0]!);
    } catch {
      throw AcmErrors.validation('Unable to parse certificate. Please ensure the certificate is in PEM format.');
    }
    const keyText = input.PrivateKey.toString('utf8');
    try {
      createPrivateKey(keyText);
    } catch {
      throw AcmErrors.validation('The private key is not supported: it must be an unencrypted PEM private key.');
    }
    if (!keyMatches(certs[0]!, keyText)) throw AcmErrors.validation('The private key does not match the public key in the certificate.');
    if (![...KEY_ALGORITHMS, 'RSA_1024'].includes(f.KeyAlgorithm)) throw AcmErrors.validation(`The certificate's key algorithm ${f.KeyAlgorithm} is not supported.`);
    if (new Date(f.NotAfter) <= ctx.now()) throw AcmErrors.validation('The certificate is expired.');
    let chain: string | undefined;
    if (input.CertificateChain?.length) {
      const blocks = pemBlocks(input.CertificateChain.toString('utf8'));
      if (!blocks.length) throw AcmErrors.validation('Unable to parse the certificate chain. Please ensure the chain is in PEM format.');
      try {
        blocks.forEach((b) => inspect(b));
      } catch {
        throw AcmErrors.validation('Unable to parse the certificate chain. Please ensure the chain is in PEM format.');
      }
      chain = blocks.join('');
    }
    const now = ctx.now().toISOString();
    const c: CertificateRecord = {
      CertificateArn: previous?.CertificateArn ?? arnFor(ctx),
      ...f,
      Type: 'IMPORTED',
      Status: 'ISSUED',
      CreatedAt: previous?.CreatedAt ?? now,
      ImportedAt: now,
      ExtendedKeyUsages: extendedKeyUsages(certs[0]!),
      KeyUsages: [],
      Options: { CertificateTransparencyLoggingPreference: 'DISABLED' },
      Material: { certificate: certs[0]!, privateKey: keyText.trim() + '\n', chain },
    };
    store.transaction(() => {
      if (previous) store.certificates.update(scope, c.CertificateArn, c);
      else {
        store.certificates.insert(scope, c.CertificateArn, c);
        tags.put(scope, c.CertificateArn, 'certificate', newTags);
      }
    });
    return { CertificateArn: c.CertificateArn };
  };

  const RequestCertificate: Op<'RequestCertificate'> = async (ctx, input) => {
    const scope = scopeOf(ctx);
    if (input.CertificateAuthorityArn) throw AcmErrors.validation('kumo has no private certificate authorities (ACM PCA): request a certificate without CertificateAuthorityArn.');
    const names = [input.DomainName, ...(input.SubjectAlternativeNames ?? []).filter((n) => n !== input.DomainName)];
    for (const n of names) {
      if (n.length > 253 || !DOMAIN.test(n)) throw AcmErrors.validation(`1 validation error detected: Value '${n}' at 'domainName' failed to satisfy constraint: Member must satisfy regular expression pattern: ${DOMAIN.source}`);
    }
    if ((input.SubjectAlternativeNames ?? []).length > 100) throw AcmErrors.validation('1 validation error detected: Value at \'subjectAlternativeNames\' failed to satisfy constraint: Member must have length less than or equal to 100');
    const method = input.ValidationMethod ?? 'EMAIL';
    if (!['EMAIL', 'DNS', 'HTTP'].includes(method)) throw AcmErrors.validation(`1 validation error detected: Value '${method}' at 'validationMethod' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, EMAIL, DNS]`);
    for (const o of input.DomainValidationOptions ?? []) {
      if (!names.includes(o.DomainName)) throw AcmErrors.invalidDomainValidationOptions(`The domain ${o.DomainName} is not in the certificate's names.`);
    }
    const algorithm = input.KeyAlgorithm ?? 'RSA_2048';
    if (!REQUEST_ALGORITHMS.includes(algorithm)) throw AcmErrors.validation(`Key algorithm ${algorithm} is not supported for requested certificates; use one of ${REQUEST_ALGORITHMS.join(', ')}.`);
    const newTags = checkTags(input.Tags ?? []);
    // The same token for the same names within an hour is the same request, as on AWS.
    if (input.IdempotencyToken) {
      const hourAgo = ctx.now().getTime() - 3_600_000;
      const same = store.certificates.list(scope).find((c) => c.IdempotencyToken === input.IdempotencyToken && c.DomainName === input.DomainName && new Date(c.CreatedAt).getTime() > hourAgo);
      if (same) return { CertificateArn: same.CertificateArn };
    }
    const issued = await ca.issue(names, algorithm as KeyAlgorithm);
    const now = ctx.now().toISOString();
    const c: CertificateRecord = {
      CertificateArn: arnFor(ctx),
      ...facts(issued.certificatePem),
      DomainName: input.DomainName,
      SubjectAlternativeNames: names,
      Type: 'AMAZON_ISSUED',
      Status: 'ISSUED',
      CreatedAt: now,
      IssuedAt: now,
      DomainValidationOptions: validations(names, method, input.DomainValidationOptions),
      ExtendedKeyUsages: extendedKeyUsages(issued.certificatePem),
      KeyUsages: [{ Name: 'DIGITAL_SIGNATURE' }, ...(algorithm.startsWith('RSA') ? [{ Name: 'KEY_ENCIPHERMENT' }] : [])],
      Options: { CertificateTransparencyLoggingPreference: input.Options?.CertificateTransparencyLoggingPreference ?? 'ENABLED' },
      IdempotencyToken: input.IdempotencyToken,
      Material: { certificate: issued.certificatePem, privateKey: issued.privateKeyPem, chain: await ca.certificate() },
    };
    store.transaction(() => {
      store.certificates.insert(scope, c.CertificateArn, c);
      tags.put(scope, c.CertificateArn, 'certificate', newTags);
    });
    return { CertificateArn: c.CertificateArn };
  };

  const DescribeCertificate: Op<'DescribeCertificate'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const c = certificateOf(store, scope, input.CertificateArn);
    // The serializer answers what the output shape names: the material and token stay in.
    return {
      Certificate: {
        ...c,
        Status: statusOf(c, ctx.now()),
        // DescribeCertificate spells key algorithms with a hyphen (RSA-2048), where ListCertificates and requests use RSA_2048.
        KeyAlgorithm: c.KeyAlgorithm.replace('_', '-'),
        InUseBy: inUseBy(scope, c.CertificateArn),
        RenewalEligibility: 'INELIGIBLE',
      },
    };
  };

  const ListCertificates: Op<'ListCertificates'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const now = ctx.now();
    // AWS's default: RSA_1024 and RSA_2048 certificates only, unless Includes.keyTypes says more.
    const keyTypes = input.Includes?.keyTypes?.length ? input.Includes.keyTypes : ['RSA_1024', 'RSA_2048'];
    const ekus = input.Includes?.extendedKeyUsage ?? [];
    const all = store.certificates
      .list(scope)
      .filter((c) => !input.CertificateStatuses?.length || input.CertificateStatuses.includes(statusOf(c, now)))
      .filter((c) => keyTypes.includes(c.KeyAlgorithm))
      .filter((c) => !ekus.length || ekus.some((e) => e === 'ANY' || c.ExtendedKeyUsages.some((u) => u.Name === e)));
    const p = paginate(all, (c) => `${c.CreatedAt} ${c.CertificateArn}`, { maxResults: input.MaxItems, nextToken: input.NextToken, min: 1, max: 1000, param: 'MaxItems', errorCode: 'InvalidArgsException' });
    return {
      CertificateSummaryList: p.items.map((c) => ({
        CertificateArn: c.CertificateArn,
        DomainName: c.DomainName,
        SubjectAlternativeNameSummaries: c.SubjectAlternativeNames.slice(0, 100),
        HasAdditionalSubjectAlternativeNames: c.SubjectAlternativeNames.length > 100,
        Status: statusOf(c, now),
        Type: c.Type,
        KeyAlgorithm: c.KeyAlgorithm,
        KeyUsages: c.KeyUsages.map((k) => k.Name),
        ExtendedKeyUsages: c.ExtendedKeyUsages.map((k) => k.Name),
        InUse: inUseBy(scope, c.CertificateArn).length > 0,
        Exported: false,
        RenewalEligibility: 'INELIGIBLE',
        NotBefore: c.NotBefore,
        NotAfter: c.NotAfter,
        CreatedAt: c.CreatedAt,
        IssuedAt: c.IssuedAt,
        ImportedAt: c.ImportedAt,
      })),
      NextToken: p.nextToken,
    };
  };

  const GetCertificate: Op<'GetCertificate'> = (ctx, input) => {
    const c = certificateOf(store, scopeOf(ctx), input.CertificateArn);
    if (c.Status !== 'ISSUED') throw AcmErrors.requestInProgress(c.CertificateArn);
    return { Certificate: c.Material.certificate, CertificateChain: c.Material.chain };
  };

  const DeleteCertificate: Op<'DeleteCertificate'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const c = certificateOf(store, scope, input.CertificateArn);
    if (inUseBy(scope, c.CertificateArn).length) throw AcmErrors.inUse(c.CertificateArn);
    store.transaction(() => {
      store.certificates.delete(scope, c.CertificateArn);
      tags.removeAll(scope, c.CertificateArn);
    });
    return {};
  };

  return { ImportCertificate, RequestCertificate, DescribeCertificate, ListCertificates, GetCertificate, DeleteCertificate };
}
