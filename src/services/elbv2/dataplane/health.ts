/**
 * kumo's health checker for targets: AWS's state machine, kept by kumo, with HTTP checks made
 * from inside the VPC through a node's health-check tunnel (a unix socket HAProxy forwards to the
 * target, haproxy-config.ts).
 *
 *   every interval: GET <path> on <target>:<health-check port>, within the timeout
 *     status matches the matcher → success;  other status → Target.ResponseCodeMismatch
 *     no answer in time → Target.Timeout;     refused/reset → Target.FailedHealthChecks
 *   initial → healthy after HealthyThresholdCount successes in a row, → unhealthy after
 *   UnhealthyThresholdCount failures in a row; healthy ⇄ unhealthy likewise
 *
 * A transition is written to the store (so a restarted kumo resumes it) and reported, so the
 * supervisor rewrites the proxies' server lists.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Scope } from '../../../state/scope.js';
import { healthKey, type Elbv2Store, type TargetGroupRecord, type TargetHealthRecord } from '../store.js';
import { INITIAL } from '../target-health.js';

export type ProbeResult = { ok: true } | { ok: false; reason: string; description: string };

/** "200", "200,202", "200-299" (AWS's matcher syntax). */
export function matches(matcher: string, status: number): boolean {
  return matcher.split(',').some((part) => {
    const [lo, hi] = part.split('-').map(Number);
    return hi === undefined ? status === lo : status >= lo! && status <= hi;
  });
}

/**
 * A TCP check through a tunnel whose HAProxy gives up connecting after the check's timeout: the
 * tunnel closing first is the target refusing (or, at the timeout, not answering); still open a
 * moment after the timeout, HAProxy got through.
 */
function tcpProbe(socketPath: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = netConnect(socketPath);
    const finish = (r: ProbeResult) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: true }), timeoutMs + 500);
    const failed = () =>
      finish(Date.now() - started >= timeoutMs
        ? { ok: false, reason: 'Target.Timeout', description: 'Request timed out' }
        : { ok: false, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' });
    sock.on('close', failed);
    sock.on('error', failed);
    sock.resume();
  });
}

/** One health check through a tunnel socket: HTTP(S) as the group says, or a TCP connect. */
export function probe(socketPath: string, tg: TargetGroupRecord, address: string, port: number): Promise<ProbeResult> {
  const timeoutMs = tg.HealthCheckTimeoutSeconds * 1000;
  if (tg.HealthCheckProtocol === 'TCP' || tg.HealthCheckProtocol === 'SSL') return tcpProbe(socketPath, timeoutMs);
  const matcher = tg.Matcher?.HttpCode ?? '200';
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const options = {
      method: 'GET',
      path: tg.HealthCheckPath ?? '/',
      headers: { Host: `${address}:${port}`, 'User-Agent': 'ELB-HealthChecker/2.0', 'Accept-Encoding': 'gzip', Connection: 'close' },
      agent: false as const,
    };
    const onResponse = (res: IncomingMessage) => {
      res.resume();
      const code = res.statusCode ?? 0;
      if (matches(matcher, code)) finish({ ok: true });
      else finish({ ok: false, reason: 'Target.ResponseCodeMismatch', description: `Health checks failed with these codes: [${code}]` });
    };
    const req =
      tg.HealthCheckProtocol === 'HTTPS'
        ? httpsRequest({ ...options, createConnection: () => tlsConnect({ socket: netConnect(socketPath), rejectUnauthorized: false }) }, onResponse)
        : httpRequest({ ...options, socketPath }, onResponse);
    req.on('error', () => finish({ ok: false, reason: 'Target.FailedHealthChecks', description: 'Health checks failed' }));
    const timer = setTimeout(() => finish({ ok: false, reason: 'Target.Timeout', description: 'Request timed out' }), timeoutMs);
    req.end();
  });
}

export interface CheckRequest {
  scope: Scope;
  tg: TargetGroupRecord;
  id: string;
  port: number;
  address: string;
  healthPort: number;
  socket: string;
}

export class HealthChecker {
  private readonly runs = new Map<string, { ok: number; fail: number; last: number; busy: boolean }>();

  constructor(
    private readonly store: Elbv2Store,
    /** A target group by ARN, or a classic load balancer's own (classic/group.ts). */
    private readonly groupOf: (scope: Scope, arn: string) => TargetGroupRecord | undefined,
    private readonly changed: () => void,
    private readonly log: (line: string) => void,
    private readonly probeFn: typeof probe = probe,
  ) {}

  /** Starts the checks that are due (one at a time per target); results arrive later. `checks` is every check there is now. */
  run(checks: CheckRequest[]): void {
    const now = Date.now();
    const live = new Set<string>();
    for (const c of checks) {
      const key = healthKey(c.tg.TargetGroupArn, c.id, c.port);
      live.add(key);
      let r = this.runs.get(key);
      if (!r) this.runs.set(key, (r = { ok: 0, fail: 0, last: 0, busy: false }));
      if (r.busy || now - r.last < c.tg.HealthCheckIntervalSeconds * 1000) continue;
      r.busy = true;
      r.last = now;
      void this.probeFn(c.socket, c.tg, c.address, c.healthPort)
        .then((result) => this.record(c, key, result))
        .catch((err: Error) => this.log(`health check of ${c.id}: ${err.message}`))
        .finally(() => {
          r.busy = false;
        });
    }
    // Targets no longer checked (deregistered, stopped, moved out of the zones) start over.
    for (const key of this.runs.keys()) if (!live.has(key) && !this.runs.get(key)!.busy) this.runs.delete(key);
  }

  forget(): void {
    this.runs.clear();
  }

  private record(c: CheckRequest, key: string, result: ProbeResult): void {
    const r = this.runs.get(key);
    if (!r) return;
    if (result.ok) {
      r.ok++;
      r.fail = 0;
    } else {
      r.fail++;
      r.ok = 0;
    }
    // The group may have changed or gone meanwhile: thresholds are read fresh.
    const tg = this.groupOf(c.scope, c.tg.TargetGroupArn);
    if (!tg || !(tg.Targets ?? []).some((t) => t.Id === c.id && t.Port === c.port)) return;
    const current: TargetHealthRecord = this.store.health.get(c.scope, key) ?? (INITIAL as TargetHealthRecord);
    let next: TargetHealthRecord | undefined;
    if (result.ok && current.State !== 'healthy' && r.ok >= tg.HealthyThresholdCount) next = { State: 'healthy' };
    if (!result.ok) {
      if (current.State === 'unhealthy' && current.Reason !== result.reason) next = { State: 'unhealthy', Reason: result.reason, Description: result.description };
      else if (current.State !== 'unhealthy' && r.fail >= tg.UnhealthyThresholdCount) next = { State: 'unhealthy', Reason: result.reason, Description: result.description };
    }
    if (!next) return;
    if (this.store.health.get(c.scope, key)) this.store.health.update(c.scope, key, next);
    else this.store.health.insert(c.scope, key, next);
    this.log(`target ${c.id}:${c.port} of ${tg.TargetGroupName}: ${next.State}${next.Reason ? ` (${next.Reason})` : ''}`);
    this.changed();
  }
}
