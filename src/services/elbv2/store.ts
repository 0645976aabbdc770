/**
 * ELBv2's tables, keyed by ARN: target groups (with their registered targets), load balancers
 * (with their nodes: one network interface per subnet), listeners, rules, and the last health
 * state of each target (written on transitions only, so a restarted kumo resumes where it was
 * instead of starting every target over at `initial`). Thin queries only.
 */
import type { Db, Migration } from '../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../state/resources.js';
import type { Scope } from '../../state/scope.js';

export interface RegisteredTarget {
  Id: string;
  Port: number;
  AvailabilityZone?: string;
  /** Set by DeregisterTargets: the target drains until then, and is removed after. */
  DrainingUntil?: string;
}

export interface TargetGroupRecord {
  TargetGroupArn: string;
  TargetGroupName: string;
  Protocol?: string;
  ProtocolVersion?: string;
  Port?: number;
  VpcId?: string;
  HealthCheckProtocol?: string;
  HealthCheckPort?: string;
  HealthCheckEnabled: boolean;
  HealthCheckIntervalSeconds: number;
  HealthCheckTimeoutSeconds: number;
  HealthyThresholdCount: number;
  UnhealthyThresholdCount: number;
  HealthCheckPath?: string;
  Matcher?: { HttpCode?: string; GrpcCode?: string };
  /** Derived from listeners and rules when answered; stored empty. */
  LoadBalancerArns: string[];
  TargetType: string;
  IpAddressType?: string;
  /** Kept apart from what Describe answers (the serializer walks the model's shape only). */
  Targets?: RegisteredTarget[];
  Attributes?: Record<string, string>;
}

/** One node of a load balancer: its interface in one subnet of one zone. */
export interface LoadBalancerNode {
  SubnetId: string;
  ZoneName: string;
  NetworkInterfaceId: string;
  PrivateIp: string;
  /** Internet-facing only: a loopback address of the host, as public IPs are in kumo. */
  PublicIp?: string;
}

/** A classic load balancer's listener (2012-06-01 API). */
export interface ClassicListener {
  Protocol: string;
  LoadBalancerPort: number;
  InstanceProtocol: string;
  InstancePort: number;
  /** HTTPS and SSL listeners: an ACM certificate's ARN. */
  SSLCertificateId?: string;
}

/** What a classic load balancer has of its own: listeners, one health check, instances. */
export interface ClassicConfig {
  Listeners: ClassicListener[];
  HealthCheck: { Target: string; Interval: number; Timeout: number; UnhealthyThreshold: number; HealthyThreshold: number };
  Instances: string[];
  CrossZone: boolean;
  ConnectionDraining: { Enabled: boolean; Timeout: number };
  IdleTimeout: number;
}

export interface LoadBalancerRecord {
  LoadBalancerArn: string;
  LoadBalancerName: string;
  DNSName: string;
  CanonicalHostedZoneId: string;
  CreatedTime: string;
  Scheme: string;
  VpcId: string;
  /** provisioning → active (nodes up); `deleting` rows are hidden and removed once the host let go. */
  State: { Code: string; Reason?: string };
  Type: string;
  IpAddressType: string;
  SecurityGroups: string[];
  Nodes: LoadBalancerNode[];
  /** Nodes of subnets taken away (SetSubnets) or of a deleted load balancer: released once unplugged. */
  Retired?: LoadBalancerNode[];
  Attributes: Record<string, string>;
  /** Classic load balancers (Type `classic`) only; the ELBv2 API never shows them. */
  Classic?: ClassicConfig;
}

export type Action = {
  Type: string;
  TargetGroupArn?: string;
  Order?: number;
  RedirectConfig?: { Protocol?: string; Port?: string; Host?: string; Path?: string; Query?: string; StatusCode: string };
  FixedResponseConfig?: { MessageBody?: string; StatusCode: string; ContentType?: string };
  ForwardConfig?: {
    TargetGroups?: { TargetGroupArn?: string; Weight?: number }[];
    TargetGroupStickinessConfig?: { Enabled?: boolean; DurationSeconds?: number };
  };
};

export interface ListenerRecord {
  ListenerArn: string;
  LoadBalancerArn: string;
  Port: number;
  Protocol: string;
  DefaultActions: Action[];
  SslPolicy?: string;
  /** The default certificate (HTTPS and TLS listeners): DescribeListeners shows this one only. */
  Certificates?: { CertificateArn?: string }[];
  /** The others it serves by SNI (AddListenerCertificates). */
  ExtraCertificates?: string[];
  /** TLS listeners: what the node offers in ALPN. */
  AlpnPolicy?: string[];
}

export type Condition = {
  Field?: string;
  Values?: string[];
  HostHeaderConfig?: { Values?: string[] };
  PathPatternConfig?: { Values?: string[] };
  HttpHeaderConfig?: { HttpHeaderName?: string; Values?: string[] };
  QueryStringConfig?: { Values?: { Key?: string; Value?: string }[] };
  HttpRequestMethodConfig?: { Values?: string[] };
  SourceIpConfig?: { Values?: string[] };
};

export interface RuleRecord {
  RuleArn: string;
  ListenerArn: string;
  Priority: number;
  Conditions: Condition[];
  Actions: Action[];
}

export interface TargetHealthRecord {
  State: 'initial' | 'healthy' | 'unhealthy';
  Reason?: string;
  Description?: string;
}

export const elbv2Migrations: Migration[] = [
  { version: 1, up: resourceTableSql('elbv2_target_groups') },
  {
    version: 2,
    up: [
      resourceTableSql('elbv2_load_balancers'),
      resourceTableSql('elbv2_listeners'),
      resourceTableSql('elbv2_rules'),
      resourceTableSql('elbv2_target_health'),
    ].join('\n'),
  },
];

export class Elbv2Store {
  readonly targetGroups: ResourceTable<TargetGroupRecord>;
  readonly loadBalancers: ResourceTable<LoadBalancerRecord>;
  readonly listeners: ResourceTable<ListenerRecord>;
  readonly rules: ResourceTable<RuleRecord>;
  /** Keyed by `<target group ARN> <id> <port>`. */
  readonly health: ResourceTable<TargetHealthRecord>;
  private readonly allLbs;

  constructor(readonly db: Db) {
    this.targetGroups = new ResourceTable<TargetGroupRecord>(db, 'elbv2_target_groups');
    this.loadBalancers = new ResourceTable<LoadBalancerRecord>(db, 'elbv2_load_balancers');
    this.listeners = new ResourceTable<ListenerRecord>(db, 'elbv2_listeners');
    this.rules = new ResourceTable<RuleRecord>(db, 'elbv2_rules');
    this.health = new ResourceTable<TargetHealthRecord>(db, 'elbv2_target_health');
    this.allLbs = db.prepare('SELECT account, region, data FROM elbv2_load_balancers ORDER BY seq');
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Every load balancer of every account and region (the supervisor's rows). */
  everywhere(): { scope: Scope; lb: LoadBalancerRecord }[] {
    return (this.allLbs.all() as { account: string; region: string; data: string }[]).map((r) => ({
      scope: { account: r.account, region: r.region },
      lb: JSON.parse(r.data) as LoadBalancerRecord,
    }));
  }

  listenersOf(scope: Scope, lbArn: string): ListenerRecord[] {
    return this.listeners.list(scope).filter((l) => l.LoadBalancerArn === lbArn);
  }

  rulesOf(scope: Scope, listenerArn: string): RuleRecord[] {
    return this.rules.list(scope).filter((r) => r.ListenerArn === listenerArn).sort((a, b) => a.Priority - b.Priority);
  }

  /** Target groups a load balancer's listeners and rules forward to. */
  targetGroupsOf(scope: Scope, lbArn: string): Set<string> {
    const out = new Set<string>();
    for (const l of this.listenersOf(scope, lbArn)) {
      for (const a of [...l.DefaultActions, ...this.rulesOf(scope, l.ListenerArn).flatMap((r) => r.Actions)]) for (const t of forwardTargets(a)) out.add(t);
    }
    return out;
  }

  /** Load balancers whose listeners or rules forward to a target group. */
  loadBalancersOf(scope: Scope, tgArn: string): string[] {
    return this.loadBalancers
      .list(scope)
      .filter((lb) => lb.State.Code !== 'deleting' && this.targetGroupsOf(scope, lb.LoadBalancerArn).has(tgArn))
      .map((lb) => lb.LoadBalancerArn);
  }
}

/** The target groups an action forwards to (TargetGroupArn or ForwardConfig's list). */
export function forwardTargets(a: Action): string[] {
  if (a.Type !== 'forward') return [];
  const list = a.ForwardConfig?.TargetGroups?.map((t) => t.TargetGroupArn!).filter(Boolean) ?? [];
  return a.TargetGroupArn && !list.includes(a.TargetGroupArn) ? [a.TargetGroupArn, ...list] : list;
}

export const healthKey = (tgArn: string, id: string, port: number) => `${tgArn} ${id} ${port}`;
