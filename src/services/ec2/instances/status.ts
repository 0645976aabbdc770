/**
 * What an instance says about its health: DescribeInstanceStatus (system and instance status
 * checks, from what the supervisor observes on the host, never assumed) and GetConsoleOutput
 * (the container's console: the boot log and the user data's output).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../../state/filters.js';
import { paginate } from '../../../state/pagination.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { instancesByIds, visible, type InstanceDeps } from './instances.js';
import type { InstanceRecord } from './store.js';
import type { Tag } from '../../../state/tags.js';
import { stateOf } from './view.js';
import type { CheckStatus } from '../dataplane/supervisor.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

/** What the handlers need of the supervisor. */
export interface InstanceObserver {
  statusChecks(i: InstanceRecord): Promise<{ system: CheckStatus; instance: CheckStatus }>;
  consoleOutput(id: string): string;
}

// AWS returns the most recent 64 KB of console output.
const CONSOLE_LIMIT = 64 * 1024;

type Row = InstanceRecord & { Tags?: Tag[]; checks: { system: CheckStatus; instance: CheckStatus } };

const statusFilters: Accessors<Row> = {
  'availability-zone': (r) => r.AvailabilityZone,
  'instance-state-name': (r) => r.State,
  'instance-state-code': (r) => String(stateOf(r).Code),
  'instance-status.status': (r) => r.checks.instance,
  'instance-status.reachability': (r) => r.checks.instance,
  'system-status.status': (r) => r.checks.system,
  'system-status.reachability': (r) => r.checks.system,
};

function check(status: CheckStatus, since: string) {
  return {
    Status: status,
    Details:
      status === 'not-applicable'
        ? undefined
        : [{ Name: 'reachability', Status: status === 'ok' ? 'passed' : status === 'impaired' ? 'failed' : 'initializing', ImpairedSince: status === 'impaired' ? since : undefined }],
  };
}

export function instanceStatusHandlers(deps: InstanceDeps, observer: InstanceObserver) {
  const { instances } = deps;

  const DescribeInstanceStatus: Op<'DescribeInstanceStatus'> = async (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const now = ctx.now();
    let rows = input.InstanceIds?.length ? instancesByIds(instances, scope, input.InstanceIds, now) : instances.list(scope).filter((i) => visible(i, now));
    // Without IncludeAllInstances only running instances are listed, as on AWS.
    if (!input.IncludeAllInstances) rows = rows.filter((i) => i.State === 'running');
    const withChecks: Row[] = await Promise.all(rows.map(async (i) => ({ ...i, checks: await observer.statusChecks(i) })));
    const filtered = applyFilters(withChecks, input.Filters, statusFilters);
    const page = paginate(filtered, (r) => r.InstanceId, { maxResults: input.MaxResults, nextToken: input.NextToken, min: 5, max: 1000 });
    const since = now.toISOString();
    return {
      InstanceStatuses: page.items.map((r) => ({
        AvailabilityZone: r.AvailabilityZone,
        InstanceId: r.InstanceId,
        InstanceState: stateOf(r),
        InstanceStatus: check(r.checks.instance, since),
        SystemStatus: check(r.checks.system, since),
        AttachedEbsStatus: r.State === 'running' ? { Status: 'ok', Details: [{ Name: 'reachability', Status: 'passed' }] } : { Status: 'not-applicable' },
        Events: [],
      })),
      NextToken: page.nextToken,
    };
  };

  const GetConsoleOutput: Op<'GetConsoleOutput'> = (ctx, input) => {
    const [i] = instancesByIds(instances, scopeOf(ctx), [input.InstanceId], ctx.now());
    checkDryRun(input);
    const text = Buffer.from(observer.consoleOutput(i!.InstanceId));
    return {
      InstanceId: i!.InstanceId,
      Output: text.subarray(Math.max(0, text.length - CONSOLE_LIMIT)).toString('base64'),
      Timestamp: ctx.now().toISOString(),
    };
  };

  return { DescribeInstanceStatus, GetConsoleOutput };
}
