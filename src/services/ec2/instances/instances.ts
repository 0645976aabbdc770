/**
 * The instance lifecycle calls: Run (./launch.ts), Describe, Stop, Start, Reboot,
 * Terminate. Each records the transition AWS reports at once (`stopping`, `pending`,
 * `shutting-down`, a reboot request) and wakes the supervisor, which does the work on the host and
 * moves the instance on (`stopped`, `running`, `terminated`). Every ID is checked before anything
 * changes, so one bad ID leaves every instance as it was.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import type { Scope } from '../../../state/scope.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { describe } from '../describe.js';
import { autoPublicIp } from './public-ip.js';
import { InstanceErrors } from './errors.js';
import { runInstancesHandler, type ImageLookup } from './launch.js';
import type { InstanceRecord, InstanceStore } from './store.js';
import { instanceFilters, presentInstance, stateOf, type ShownInstance } from './view.js';
import { wellFormed, type Ec2Store } from '../store.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

/** Terminated instances stay visible this long, as on AWS. */
export const TERMINATED_VISIBLE_MS = 60 * 60 * 1000;

export interface InstanceDeps {
  store: Ec2Store;
  instances: InstanceStore;
  images: ImageLookup;
  /** Wakes the supervisor after a committed change. */
  changed: () => void;
}

export function userReason(now: Date, what = 'User initiated'): string {
  return `${what} (${now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' GMT')})`;
}

export function visible(i: InstanceRecord, now: Date): boolean {
  return !(i.State === 'terminated' && i.TerminatedAt && now.getTime() - Date.parse(i.TerminatedAt) > TERMINATED_VISIBLE_MS);
}

/** All of `ids`, or the AWS error naming the malformed or missing ones. */
export function instancesByIds(instances: InstanceStore, scope: Scope, ids: string[] | undefined, now: Date): InstanceRecord[] {
  if (!ids?.length) throw InstanceErrors.notFound('');
  for (const id of ids) if (!wellFormed(id, 'i')) throw InstanceErrors.malformed(id);
  const found = [...new Set(ids)].map((id) => instances.get(scope, id));
  const missing = [...new Set(ids)].filter((_, k) => !found[k] || !visible(found[k]!, now));
  if (missing.length === 1) throw InstanceErrors.notFound(missing[0]!);
  if (missing.length > 1) throw InstanceErrors.notFoundMany(missing);
  return found as InstanceRecord[];
}

export function instanceHandlers(deps: InstanceDeps) {
  const { store, instances } = deps;
  store.registerTaggable('i', {
    type: 'instance',
    exists: (scope, id) => instances.get(scope, id) !== undefined,
    notFound: InstanceErrors.notFound,
  });

  const shown = (ctx: RequestContext, rows: InstanceRecord[]): ShownInstance[] => {
    const tags = store.tags.byResource(scopeOf(ctx), 'instance');
    return rows.map((r) => ({ ...r, Tags: tags.get(r.InstanceId) ?? [] }));
  };
  const reservation = (ctx: RequestContext, rows: ShownInstance[]) => ({
    ReservationId: rows[0]!.ReservationId,
    OwnerId: rows[0]!.OwnerId,
    Groups: [],
    Instances: rows.map((r) => presentInstance(store, ctx, r)),
  });

  const RunInstances = runInstancesHandler({
    ...deps,
    present: (ctx, launched) => reservation(ctx, shown(ctx, launched)),
  });

  const DescribeInstances: Op<'DescribeInstances'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const now = ctx.now();
    const rows = instances.list(scope).filter((i) => visible(i, now));
    const page = describe(store, scope, 'instance', rows, (i) => i.InstanceId, instanceFilters(store, scope, ctx.region), {
      ids: input.InstanceIds,
      idsParam: 'instanceIds',
      prefix: 'i',
      malformed: InstanceErrors.malformed,
      notFound: InstanceErrors.notFound,
      filters: input.Filters,
      maxResults: input.MaxResults,
      nextToken: input.NextToken,
    });
    // A page holds instances; AWS groups them by reservation in launch order.
    const groups = new Map<string, ShownInstance[]>();
    for (const i of page.items) groups.set(i.ReservationId, [...(groups.get(i.ReservationId) ?? []), i]);
    return { Reservations: [...groups.values()].map((g) => reservation(ctx, g)), NextToken: page.nextToken };
  };

  /** Applies `step` to each instance in one transaction; answers AWS's {InstanceId, CurrentState, PreviousState} list. */
  const transition = (ctx: RequestContext, ids: string[] | undefined, dryRun: { DryRun?: boolean }, check: (i: InstanceRecord) => void, step: (i: InstanceRecord) => InstanceRecord | undefined) => {
    const scope = scopeOf(ctx);
    const found = instancesByIds(instances, scope, ids, ctx.now());
    for (const i of found) check(i);
    checkDryRun(dryRun);
    const out = store.transaction(() =>
      found.map((i) => {
        const next = step(i);
        if (next) instances.put(scope, next);
        return { InstanceId: i.InstanceId, CurrentState: stateOf(next ?? i), PreviousState: stateOf(i) };
      }),
    );
    deps.changed();
    return out;
  };

  const StopInstances: Op<'StopInstances'> = (ctx, input) => {
    if (input.Hibernate) throw InstanceErrors.incorrectStateFor(input.InstanceIds?.[0] ?? '', 'running: hibernation is not configured');
    const now = ctx.now();
    return {
      StoppingInstances: transition(
        ctx,
        input.InstanceIds,
        input,
        (i) => {
          if (i.State === 'terminated' || i.State === 'shutting-down') throw InstanceErrors.incorrectState(i.InstanceId, i.State, 'stopped');
          if (i.DisableApiStop && (i.State === 'running' || i.State === 'pending')) throw InstanceErrors.stopProtected(i.InstanceId);
        },
        (i) =>
          i.State === 'running' || i.State === 'pending'
            ? {
                ...i,
                State: 'stopping',
                ForceStop: input.Force === true,
                StateTransitionReason: userReason(now),
                StateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
              }
            : undefined,
      ),
    };
  };

  // A stopped instance gave its auto-assigned public IP back; it gets a new one as it starts.
  const StartInstances: Op<'StartInstances'> = (ctx, input) => ({
    StartingInstances: transition(
      ctx,
      input.InstanceIds,
      input,
      (i) => {
        if (i.State === 'stopping' || i.State === 'shutting-down' || i.State === 'terminated') throw InstanceErrors.incorrectState(i.InstanceId, i.State, 'started');
      },
      (i) =>
        i.State === 'stopped'
          ? { ...i, State: 'pending', StateTransitionReason: '', StateReason: { Code: 'pending', Message: 'pending' }, PublicIpAddress: autoPublicIp(store, scopeOf(ctx), i) }
          : undefined,
    ),
  });

  const TerminateInstances: Op<'TerminateInstances'> = (ctx, input) => {
    const now = ctx.now();
    return {
      TerminatingInstances: transition(
        ctx,
        input.InstanceIds,
        input,
        (i) => {
          if (i.DisableApiTermination && i.State !== 'terminated') throw InstanceErrors.terminationProtected(i.InstanceId);
          // Stop protection guards against termination through the API too (AWS's "Enable stop protection").
          if (i.DisableApiStop && i.State !== 'terminated') throw InstanceErrors.terminationProtected(i.InstanceId, 'disableApiStop');
        },
        (i) =>
          i.State === 'terminated' || i.State === 'shutting-down'
            ? undefined
            : {
                ...i,
                State: 'shutting-down',
                StateTransitionReason: userReason(now),
                StateReason: { Code: 'Client.UserInitiatedShutdown', Message: 'Client.UserInitiatedShutdown: User initiated shutdown' },
              },
      ),
    };
  };

  const RebootInstances: Op<'RebootInstances'> = (ctx, input) => {
    transition(
      ctx,
      input.InstanceIds,
      input,
      (i) => {
        if (i.State !== 'running' && i.State !== 'pending') throw InstanceErrors.incorrectStateFor(i.InstanceId, i.State);
      },
      (i) => ({ ...i, RebootRequested: true }),
    );
    return {};
  };

  return { RunInstances, DescribeInstances, StopInstances, StartInstances, TerminateInstances, RebootInstances };
}
