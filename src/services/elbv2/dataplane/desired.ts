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
import { renderConfig, type BackendSpec, type ListenerSpec } from './haproxy-config.js';

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

/** What the proxies of a classic load balancer run: its listeners to its in-service instances (per zone unless cross-zone). */
function classicListeners(lb: LoadBalancerRecord, statuses: TargetStatus[], zone: string): ListenerSpec[] {
  const c = lb.Classic!;
  const live = statuses.filter((s) => s.inService && s.address && (c.CrossZone || s.zone === zone));
  return [...c.Listeners]
    .sort((x, y) => x.LoadBalancerPort - y.LoadBalancerPort)
    .map((l) => ({
      port: l.LoadBalancerPort,
      mode: l.Protocol === 'TCP' ? ('tcp' as const) : ('http' as const),
      traceId: false,
      rules: [{
        conditions: [],
        action: { Type: 'forward' },
        backend: { servers: live.map((s) => ({ address: s.address!, port: l.InstancePort, groupWeight: 1, groupSize: live.length })), leastOutstanding: false },
      }],
    }));
}

export function planLoadBalancer(
  store: Elbv2Store,
  network: NetworkStore,
  directory: TargetDirectory,
  root: string,
  scope: Scope,
  lb: LoadBalancerRecord,
  now: Date,
): LoadBalancerPlan {
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
      for (const s of live) servers.push({ address: s.address!, port: s.target.Port, groupWeight: weights.get(arn) ?? 1, groupSize: live.length });
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
      .map((l) => ({
        port: l.Port,
        mode: l.Protocol === 'TCP' ? ('tcp' as const) : ('http' as const),
        rules: [
          ...store.rulesOf(scope, l.ListenerArn).map((r) => ({ conditions: r.Conditions, action: r.Actions[0]!, backend: backendOf(r.Actions[0]!, zone) })),
          { conditions: [], action: l.DefaultActions[0]!, backend: backendOf(l.DefaultActions[0]!, zone) },
        ],
      }));
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
      listeners: lb.Classic ? classicListeners(lb, classicStatuses, n.ZoneName) : zoned ? listenersOf(n.ZoneName) : listeners,
      probes: i === 0 ? tunnels : [],
    };
    const generation = createHash('sha256').update(renderConfig({ ...body, generation: '' })).digest('hex').slice(0, 16);
    return { eniId: n.NetworkInterfaceId, dir, generation, config: renderConfig({ ...body, generation }) };
  });
  const servers = (lb.Classic && lb.Nodes[0] ? classicListeners(lb, classicStatuses, lb.Nodes[0].ZoneName) : listeners)
    .flatMap((l) => l.rules.map((r, i) => (r.backend ? `${l.port}/${i}: ${r.backend.servers.map((x) => `${x.address}:${x.port}`).join(' ') || 'none'}` : '')))
    .filter(Boolean)
    .join(', ');
  return { nodes, probes, stale, servers };
}
