/**
 * What HTTPS and TLS listeners need: certificates (ACM's, through a CertificateDirectory the
 * composition root wires), the default one and the others a listener serves by SNI
 * (Add/Remove/DescribeListenerCertificates), and the security policies (DescribeSSLPolicies).
 * Also who uses a certificate, which ACM asks before it deletes one.
 */
import type { Scope } from '../../state/scope.js';
import { scopeOf } from '../service.js';
import { listenerOf, page, type Op } from './common.js';
import { Elbv2Errors } from './errors.js';
import { SSL_POLICIES } from './ssl-policies.js';
import type { Elbv2Store, ListenerRecord } from './store.js';

/** A certificate as a proxy serves it (ACM's). */
export interface ServableCertificate {
  status: string;
  names: string[];
  certificatePem: string;
  chainPem?: string;
  privateKeyPem: string;
}

export interface CertificateDirectory {
  get(scope: Scope, arn: string): ServableCertificate | undefined;
}

/** An ISSUED certificate of ACM by ARN; anything else (IAM server certificates among them) is CertificateNotFound. */
export function checkCertificate(certificates: CertificateDirectory | undefined, scope: Scope, arn: string | undefined): string {
  const c = arn ? certificates?.get(scope, arn) : undefined;
  if (!c || c.status !== 'ISSUED') throw Elbv2Errors.certificateNotFound(arn);
  return arn!;
}

/** Every certificate a listener serves: the default first. */
export const listenerCertificates = (l: ListenerRecord): string[] => [
  ...(l.Certificates ?? []).map((c) => c.CertificateArn!),
  ...(l.ExtraCertificates ?? []),
];

/** The load balancers whose listeners (ELBv2's, or a classic one's) use a certificate. */
export function certificateUsers(store: Elbv2Store, scope: Scope, arn: string): string[] {
  const out = new Set<string>();
  for (const l of store.listeners.list(scope)) if (listenerCertificates(l).includes(arn)) out.add(l.LoadBalancerArn);
  for (const lb of store.loadBalancers.list(scope)) {
    if (lb.State.Code !== 'deleting' && lb.Classic?.Listeners.some((l) => l.SSLCertificateId === arn)) out.add(lb.LoadBalancerArn);
  }
  return [...out];
}

export function listenerCertificateHandlers(store: Elbv2Store, certificates: CertificateDirectory | undefined, wake: () => void) {
  const secure = (l: ListenerRecord) => {
    if (l.Protocol !== 'HTTPS' && l.Protocol !== 'TLS') throw Elbv2Errors.validation(`Listener '${l.ListenerArn}' is not an HTTPS or TLS listener`);
    return l;
  };

  const AddListenerCertificates: Op<'AddListenerCertificates'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const l = secure(listenerOf(store, scope, input.ListenerArn));
    if (!input.Certificates.length) throw Elbv2Errors.validation('At least one certificate must be specified');
    const add = input.Certificates.map((c) => checkCertificate(certificates, scope, c.CertificateArn));
    const extra = [...new Set([...(l.ExtraCertificates ?? []), ...add.filter((a) => a !== l.Certificates?.[0]?.CertificateArn)])];
    if (extra.length > 25) throw Elbv2Errors.tooManyCertificates();
    store.listeners.update(scope, l.ListenerArn, { ...l, ExtraCertificates: extra });
    wake();
    return { Certificates: add.map((CertificateArn) => ({ CertificateArn, IsDefault: false })) };
  };

  const RemoveListenerCertificates: Op<'RemoveListenerCertificates'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const l = secure(listenerOf(store, scope, input.ListenerArn));
    const gone = input.Certificates.map((c) => c.CertificateArn ?? '');
    if (gone.includes(l.Certificates?.[0]?.CertificateArn ?? '')) throw Elbv2Errors.operationNotPermitted('The default certificate of a listener cannot be removed; change it with ModifyListener');
    store.listeners.update(scope, l.ListenerArn, { ...l, ExtraCertificates: (l.ExtraCertificates ?? []).filter((a) => !gone.includes(a)) });
    wake();
    return {};
  };

  const DescribeListenerCertificates: Op<'DescribeListenerCertificates'> = (ctx, input) => {
    const l = listenerOf(store, scopeOf(ctx), input.ListenerArn);
    const all = listenerCertificates(l).map((CertificateArn, i) => ({ CertificateArn, IsDefault: i === 0 }));
    const p = page(all, (c) => `${c.IsDefault ? 0 : 1} ${c.CertificateArn}`, input);
    return { Certificates: p.items, NextMarker: p.NextMarker };
  };

  const DescribeSSLPolicies: Op<'DescribeSSLPolicies'> = (_ctx, input) => {
    const types = input.LoadBalancerType ? [input.LoadBalancerType] : ['application', 'network'];
    if (types.some((t) => !['application', 'network', 'gateway'].includes(t))) throw Elbv2Errors.validation(`Load balancer type '${input.LoadBalancerType}' is not valid`);
    const missing = (input.Names ?? []).filter((n) => !SSL_POLICIES.some((p) => p.Name === n));
    if (missing.length) throw Elbv2Errors.sslPolicyNotFound(missing[0]!);
    const wanted = input.Names?.length ? SSL_POLICIES.filter((p) => input.Names!.includes(p.Name)) : types.includes('gateway') ? [] : SSL_POLICIES;
    const p = page(wanted, (x) => x.Name, input);
    return {
      SslPolicies: p.items.map((x) => ({
        Name: x.Name,
        SslProtocols: x.SslProtocols,
        Ciphers: x.Ciphers.map((Name, i) => ({ Name, Priority: i + 1 })),
        SupportedLoadBalancerTypes: ['application', 'network'],
      })),
      NextMarker: p.NextMarker,
    };
  };

  return { AddListenerCertificates, RemoveListenerCertificates, DescribeListenerCertificates, DescribeSSLPolicies };
}
