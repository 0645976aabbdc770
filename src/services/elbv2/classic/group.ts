/**
 * A classic load balancer seen as what the shared data plane knows: its registered instances and
 * its one health check make a target group of its own (never stored, never listed by ELBv2), so
 * the same health checker, target states and proxies serve both APIs. Health records are keyed by
 * the load balancer's ARN as if it were the group's.
 */
import type { LoadBalancerRecord, TargetGroupRecord } from '../store.js';
import type { TargetHealthView } from '../target-health.js';

/** `HTTP:80/index.html`, `HTTPS:443/`, `TCP:80`, `SSL:443` → its parts; undefined when malformed. */
export function parseHealthTarget(target: string): { protocol: string; port: number; path?: string } | undefined {
  const m = /^(HTTP|HTTPS|TCP|SSL):(\d{1,5})(\/.*)?$/i.exec(target);
  if (!m) return undefined;
  const protocol = m[1]!.toUpperCase();
  const port = Number(m[2]);
  const http = protocol === 'HTTP' || protocol === 'HTTPS';
  if (port < 1 || port > 65535 || (http && !m[3]) || (!http && m[3])) return undefined;
  return { protocol, port, path: m[3] };
}

export function classicGroup(lb: LoadBalancerRecord): TargetGroupRecord {
  const c = lb.Classic!;
  const hc = parseHealthTarget(c.HealthCheck.Target)!;
  return {
    TargetGroupArn: lb.LoadBalancerArn,
    TargetGroupName: lb.LoadBalancerName,
    Protocol: 'HTTP',
    Port: hc.port,
    VpcId: lb.VpcId,
    HealthCheckProtocol: hc.protocol,
    HealthCheckPort: String(hc.port),
    HealthCheckEnabled: true,
    HealthCheckIntervalSeconds: c.HealthCheck.Interval,
    HealthCheckTimeoutSeconds: c.HealthCheck.Timeout,
    HealthyThresholdCount: c.HealthCheck.HealthyThreshold,
    UnhealthyThresholdCount: c.HealthCheck.UnhealthyThreshold,
    HealthCheckPath: hc.path,
    Matcher: { HttpCode: '200' },
    LoadBalancerArns: [lb.LoadBalancerArn],
    TargetType: 'instance',
    Targets: c.Instances.map((Id) => ({ Id, Port: hc.port })),
  };
}

/** ELBv2's target state → the classic API's InService/OutOfService with its reason. */
export function classicState(h: TargetHealthView): { State: string; ReasonCode: string; Description: string } {
  if (h.State === 'healthy') return { State: 'InService', ReasonCode: 'N/A', Description: 'N/A' };
  if (h.State === 'initial') return { State: 'OutOfService', ReasonCode: 'ELB', Description: 'Instance registration is still in progress.' };
  if (h.Reason === 'Target.InvalidState') return { State: 'OutOfService', ReasonCode: 'Instance', Description: `Instance is in ${h.Description?.replace('Target is in the ', '') ?? 'a stopped state.'}` };
  if (h.Reason === 'Target.NotInUse') {
    return { State: 'OutOfService', ReasonCode: 'ELB', Description: 'Instance is in an Availability Zone for which the load balancer is not configured to route traffic to.' };
  }
  return { State: 'OutOfService', ReasonCode: 'Instance', Description: 'Instance has failed at least the UnhealthyThreshold number of health checks consecutively.' };
}
