/**
 * A snapshot's attributes: createVolumePermission (which accounts may see it and make volumes
 * from it; the group `all` makes it public) and productCodes (always none). Only the owner reads
 * or changes them. Permissions come either as CreateVolumePermission.Add/Remove, or in the older
 * form (Attribute, OperationType, UserIds, GroupNames).
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { ownSnapshot, type EbsDeps } from './common.js';
import { EbsErrors } from './errors.js';
import type { CreateVolumePermission } from './store.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const ATTRIBUTES = ['createVolumePermission', 'productCodes'];

function checkAttribute(name: string | undefined): string {
  if (!name) throw Ec2Errors.missingParameter('Attribute');
  if (!ATTRIBUTES.includes(name)) throw Ec2Errors.invalidParameter(`Value (${name}) for parameter attribute is invalid. Valid values are ${ATTRIBUTES.join(' and ')}.`);
  return name;
}

function checkPermission(p: { UserId?: string; Group?: string }): CreateVolumePermission {
  if (p.Group !== undefined) {
    if (p.Group !== 'all') throw Ec2Errors.invalidParameter(`Value (${p.Group}) for parameter group is invalid. Only 'all' is supported.`);
    return { Group: 'all' };
  }
  if (!p.UserId || !/^\d{12}$/.test(p.UserId)) throw EbsErrors.invalidUser(p.UserId ?? '');
  return { UserId: p.UserId };
}

const same = (a: CreateVolumePermission, b: CreateVolumePermission) => a.Group === b.Group && a.UserId === b.UserId;

export function snapshotAttributeHandlers(deps: EbsDeps) {
  const { ebs } = deps;

  const ModifySnapshotAttribute: Op<'ModifySnapshotAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const s = ownSnapshot(ebs, scope, input.SnapshotId);
    if (input.Attribute !== undefined && checkAttribute(input.Attribute) !== 'createVolumePermission') {
      throw Ec2Errors.invalidParameter('The productCodes attribute cannot be modified.');
    }
    let add = (input.CreateVolumePermission?.Add ?? []).map(checkPermission);
    let remove = (input.CreateVolumePermission?.Remove ?? []).map(checkPermission);
    const legacy = [...(input.UserIds ?? []).map((UserId) => ({ UserId })), ...(input.GroupNames ?? []).map((Group) => ({ Group }))].map(checkPermission);
    if (legacy.length) {
      if (input.OperationType === 'add') add = [...add, ...legacy];
      else if (input.OperationType === 'remove') remove = [...remove, ...legacy];
      else throw Ec2Errors.missingParameter('OperationType');
    }
    if (add.length === 0 && remove.length === 0) throw Ec2Errors.missingParameter('CreateVolumePermission');
    checkDryRun(input);
    const kept = s.CreateVolumePermissions.filter((p) => !remove.some((r) => same(p, r)));
    for (const p of add) if (!kept.some((k) => same(k, p))) kept.push(p);
    ebs.putSnapshot(scope, { ...s, CreateVolumePermissions: kept });
    return {};
  };

  const DescribeSnapshotAttribute: Op<'DescribeSnapshotAttribute'> = (ctx, input) => {
    const s = ownSnapshot(ebs, scopeOf(ctx), input.SnapshotId);
    const attribute = checkAttribute(input.Attribute);
    checkDryRun(input);
    return attribute === 'createVolumePermission'
      ? { SnapshotId: s.SnapshotId, CreateVolumePermissions: s.CreateVolumePermissions }
      : { SnapshotId: s.SnapshotId, ProductCodes: [] };
  };

  const ResetSnapshotAttribute: Op<'ResetSnapshotAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const s = ownSnapshot(ebs, scope, input.SnapshotId);
    if (checkAttribute(input.Attribute) !== 'createVolumePermission') throw Ec2Errors.invalidParameter('The productCodes attribute cannot be reset.');
    checkDryRun(input);
    ebs.putSnapshot(scope, { ...s, CreateVolumePermissions: [] });
    return {};
  };

  return { ModifySnapshotAttribute, DescribeSnapshotAttribute, ResetSnapshotAttribute };
}
