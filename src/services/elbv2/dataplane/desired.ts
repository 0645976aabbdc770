/**
 * Rows → what a load balancer's nodes should run: each node's HAProxy configuration (with the
 * generation that names it) and the health checks its first node carries. Pure over the store.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { NetworkStore } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import { forwardTargets, healthKey, type Action, type Elbv2Store, type LoadBalancerRecord, type TargetGroupRecord } from '../store.js';
import { DEFAULT_TG_ATTRIBUTES } from '../target-groups.js';
import { targetStatuses, type TargetDirectory, type TargetStatus } from '../target-health.js';
import { classicGroup } from '../classic/group.js';
import { renderConfig, type BackendSpec, type ListenerSpec, type ListenerTls } from './haproxy-config.js';
import { listenerCertificates, type CertificateDirectory } from '../listener-certificates.js';
import { DEFAULT_SSL_POLICY, sslPolicy, tlsSettings } from '../ssl-policies.js';

export interface Probe {
  tg: TargetGroupRecord;
  status: TargetStatus;
  healthPort: number;
  socket: string;
}

export interface NodePlan {
  eniId: string;
  dir: string;
  config: string;
  generation: string;
  /** Files the configuration names (certificates): name in the node's directory → content. */
  files: Record<string, string>;
}

export interface LoadBalancerPlan {
  nodes: NodePlan[];
  /** Health checks, through the first node's tunnels. */
  probes: Probe[];
  /**
   * Health records of targets that are not checked now (stopped, out of the zones, draining):
   * they start over at `initial` when they come back, as on AWS.
   */
  stale: string[];
  /** For the log: the servers in service per rule. */
  servers: string;
}

/** The directory of a load balancer's nodes: its id (ELBv2), `classic-<name>` (classic). */
export const lbDirName = (lb: LoadBalancerRecord) => (lb.Classic ? `classic-${lb.LoadBalancerName}` : lb.LoadBalancerArn.split('/').at(-1)!);

/** Listener protocols that carry bytes as they are (HAProxy's TCP mode); the others are HTTP. */
const modeOf = (protocol: string) => (['TCP', 'TLS', 'SSL'].includes(protocol) ? ('tcp' as const) : ('http' as const));
/** Protocols whose traffic to the target is TLS. */
const tlsTo = (protocol: string | undefined) => ['HTTPS', 'TLS', 'SSL'].includes(protocol ?? '');

/** TLS listeners' certificates as files: named by their content, so a changed certificate is a new configuration. */
class CertificateFiles {
  readonly files: Record<string, string> = {};

  constructor(private readonly certificates: CertificateDirectory | undefined, private readonly scope: Scope) {}

  /** The listener's TLS settings; undefined when it is not TLS or none of its certificates can be had. */
  tls(arns: string[], policyName: string | undefined, alpn: string | undefined): ListenerTls | undefined {
    const names: string[] = [];
    for (const arn of arns) {
      const c = this.certificates?.get(this.scope, arn);
      if (!c) continue;
      const content = [c.certificatePem, c.chainPem ?? '', c.privateKeyPem].map((p) => p.trim()).filter(Boolean).join('\n') + '\n';
      const name = `cert-${createHash('sha256').update(arn).update(content).digest('hex').slice(0, 16)}.pem`;
      this.files[name] = content;
      names.push(name);
    }
    if (!names.length) return undefined;
    return { certificates: names, ...tlsSettings(sslPolicy(policyName ?? DEFAULT_SSL_POLICY) ?? sslPolicy(DEFAULT_SSL_POLICY)!), alpn };
  }
}

/** AWS's ALPN policies of TLS listeners, as HAProxy's alpn lists. An ALB's HTTPS listener offers h2 and HTTP/1.1. */
const ALPN: Record<string, string | undefined> = { None: undefined, HTTP1Only: 'http/1.1', HTTP2Only: 'h2', HTTP2Optional: 'http/1.1,h2', HTTP2Preferred: 'h2,http/1.1' };
const alpnOf = (protocol: string, policy: string[] | undefined) => (protocol === 'HTTPS' ? 'h2,http/1.1' : ALPN[policy?.[0] ?? 'None']);

/** What the proxies of a classic load balancer run: its listeners to its in-service instances (per zone unless cross-zone). */
function classicListeners(lb: LoadBalancerRecord, statuses: TargetStatus[], zone: string, certs: CertificateFiles): ListenerSpec[] {
  const c = lb.Classic!;
  const live = statuses.filter((s) => s.inService && s.address && (c.CrossZone || s.zone === zone));
  return [...c.Listeners]
    .sort((x, y) => x.LoadBalancerPort - y.LoadBalancerPort)
    .flatMap((l) => {
      const tls = l.SSLCertificateId ? certs.tls([l.SSLCertificateId], DEFAULT_SSL_POLICY, l.Protocol === 'HTTPS' ? 'http/1.1' : undefined) : undefined;
      // A TLS listener whose certificate is gone serves nothing rather than plain text.
      if (l.SSLCertificateId && !tls) return [];
      const servers = live.map((s) => ({ address: s.address!, port: l.InstancePort, groupWeight: 1, groupSize: live.length, tls: tlsTo(l.InstanceProtocol) }));
      return [{
        port: l.LoadBalancerPort,
        mode: modeOf(l.Protocol),
        traceId: false,
        tls,
        rules: [{ conditions: [], action: { Type: 'forward' }, backend: { servers, leastOutstanding: false } }],
      }];
    });
}

export function planLoadBalancer(
  store: Elbv2Store,
  network: NetworkStore,
  directory: TargetDirectory,
  root: string,
  scope: Scope,
  lb: LoadBalancerRecord,
  now: Date,
  certificates?: CertificateDirectory,
): LoadBalancerPlan {
  const certs = new CertificateFiles(certificates, scope);
  const groups = new Map<string, { tg: TargetGroupRecord; statuses: TargetStatus[] }>();
  if (lb.Classic) {
    const tg = classicGroup(lb);
    groups.set(tg.TargetGroupArn, { tg, statuses: targetStatuses(store, network, directory, scope, tg, now, [lb]) });
  }
  const groupOf = (arn: string) => {
    let g = groups.get(arn);
    if (!g) {
      const tg = store.targetGroups.get(scope, arn);
      if (!tg) return undefined;
      g = { tg, statuses: targetStatuses(store, network, directory, scope, tg, now) };
      groups.set(arn, g);
    }
    return g;
  };
  const attr = (tg: TargetGroupRecord, key: string) => tg.Attributes?.[key] ?? DEFAULT_TG_ATTRIBUTES[key]!;

  /** `zone`: only targets of that zone (a network load balancer's node without cross-zone). */
  const backendOf = (a: Action, zone?: string): BackendSpec | undefined => {
    if (a.Type !== 'forward') return undefined;
    const weights = new Map((a.ForwardConfig?.TargetGroups ?? []).map((t) => [t.TargetGroupArn!, t.Weight ?? 1]));
    const servers: BackendSpec['servers'] = [];
    let first: TargetGroupRecord | undefined;
    for (const arn of forwardTargets(a)) {
      const g = groupOf(arn);
      if (!g) continue;
      first ??= g.tg;
      const live = g.statuses.filter((s) => s.inService && s.address && (!zone || s.zone === zone || s.zone === 'all'));
      for (const s of live) servers.push({ address: s.address!, port: s.target.Port, groupWeight: weights.get(arn) ?? 1, groupSize: live.length, tls: tlsTo(g.tg.Protocol) });
    }
    const actionSticky = a.ForwardConfig?.TargetGroupStickinessConfig;
    const groupSticky = first && forwardTargets(a).length === 1 && attr(first, 'stickiness.enabled') === 'true' && attr(first, 'stickiness.type') === 'lb_cookie';
    return {
      servers,
      leastOutstanding: first !== undefined && attr(first, 'load_balancing.algorithm.type') === 'least_outstanding_requests',
      stickySeconds: actionSticky?.Enabled ? actionSticky.DurationSeconds : groupSticky ? Number(attr(first!, 'stickiness.lb_cookie.duration_seconds')) : undefined,
    };
  };

  const listenersOf = (zone?: string): ListenerSpec[] =>
    store
      .listenersOf(scope, lb.LoadBalancerArn)
      .sort((x, y) => x.Port - y.Port)
      .flatMap((l) => {
        const secure = l.Protocol === 'HTTPS' || l.Protocol === 'TLS';
        const tls = secure ? certs.tls(listenerCertificates(l), l.SslPolicy, alpnOf(l.Protocol, l.AlpnPolicy)) : undefined;
        // A TLS listener whose certificates are gone serves nothing rather than plain text.
        if (secure && !tls) return [];
        return [{
          port: l.Port,
          mode: modeOf(l.Protocol),
          tls,
          rules: [
            ...store.rulesOf(scope, l.ListenerArn).map((r) => ({ conditions: r.Conditions, action: r.Actions[0]!, backend: backendOf(r.Actions[0]!, zone) })),
            { conditions: [], action: l.DefaultActions[0]!, backend: backendOf(l.DefaultActions[0]!, zone) },
          ],
        }];
      });
  const listeners = lb.Classic ? [] : listenersOf();
  // A network load balancer's node sends only to its own zone's targets unless cross-zone is on.
  const zoned = lb.Type === 'network' && lb.Attributes['load_balancing.cross_zone.enabled'] !== 'true';

  // One tunnel per distinct target address and health-check port.
  const probes: Probe[] = [];
  const stale: string[] = [];
  const sockets = new Map<string, string>();
  for (const { tg, statuses } of [...groups.values()].sort((x, y) => x.tg.TargetGroupArn.localeCompare(y.tg.TargetGroupArn))) {
    for (const status of statuses) {
      if (!status.checked && tg.HealthCheckEnabled) stale.push(healthKey(tg.TargetGroupArn, status.target.Id, status.target.Port));
      if (!status.checked || !status.address) continue;
      const healthPort = tg.HealthCheckPort && tg.HealthCheckPort !== 'traffic-port' ? Number(tg.HealthCheckPort) : status.target.Port;
      // A TCP check's tunnel fails the connection after the check's timeout (health.ts).
      const tcp = tg.HealthCheckProtocol === 'TCP' || tg.HealthCheckProtocol === 'SSL';
      const key = `${status.address}:${healthPort}${tcp ? `:${tg.HealthCheckTimeoutSeconds}` : ''}`;
      if (!sockets.has(key)) sockets.set(key, `h${sockets.size}.sock`);
      probes.push({ tg, status, healthPort, socket: sockets.get(key)! });
    }
  }
  const tunnels = [...sockets].map(([key, socket]) => {
    const [address, port, connect] = key.split(':');
    return { socket, address: address!, port: Number(port), connectTimeoutSeconds: connect ? Number(connect) : undefined };
  });
  const drainSeconds = lb.Classic
    ? lb.Classic.ConnectionDraining.Enabled ? lb.Classic.ConnectionDraining.Timeout : 1
    : Math.max(0, ...[...groups.values()].map((g) => Number(attr(g.tg, 'deregistration_delay.timeout_seconds'))));
  const a = lb.Classic ? { 'idle_timeout.timeout_seconds': String(lb.Classic.IdleTimeout) } : lb.Attributes;
  const classicStatuses = lb.Classic ? [...groups.values()][0]!.statuses : [];
  const nodes = lb.Nodes.map((n, i) => {
    const dir = join(root, lbDirName(lb), n.NetworkInterfaceId);
    const body = {
      dir,
      idleTimeoutSeconds: Number(a['idle_timeout.timeout_seconds'] ?? 60),
      xffMode: (a['routing.http.xff_header_processing.mode'] ?? 'append') as 'append' | 'preserve' | 'remove',
      xffClientPort: a['routing.http.xff_client_port.enabled'] === 'true',
      drainSeconds: drainSeconds || 1,
      listeners: lb.Classic ? classicListeners(lb, classicStatuses, n.ZoneName, certs) : zoned ? listenersOf(n.ZoneName) : listeners,
      probes: i === 0 ? tunnels : [],
    };
    const generation = createHash('sha256').update(renderConfig({ ...body, generation: '' })).digest('hex').slice(0, 16);
    return { eniId: n.NetworkInterfaceId, dir, generation, config: renderConfig({ ...body, generation }), files: certs.files };
  });
  const servers = (lb.Classic && lb.Nodes[0] ? classicListeners(lb, classicStatuses, lb.Nodes[0].ZoneName, certs) : listeners)
    .flatMap((l) => l.rules.map((r, i) => (r.backend ? `${l.port}/${i}: ${r.backend.servers.map((x) => `${x.address}:${x.port}`).join(' ') || 'none'}` : '')))
    .filter(Boolean)
    .join(', ');
  return { nodes, probes, stale, servers };
}
