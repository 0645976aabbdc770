/**
 * Instance attributes: DescribeInstanceAttribute, ModifyInstanceAttribute (one attribute per call,
 * in either the typed form or the old Attribute+Value form) and ModifyInstanceMetadataOptions.
 * Type and user data change only while the instance is stopped, as on AWS; security groups are
 * its primary interface's and take effect on the running instance at once.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { lookup } from '../resource-kind.js';
import { SECURITY_GROUPS } from '../vpc/security-groups.js';
import { InstanceErrors } from './errors.js';
import { instancesByIds, type InstanceDeps } from './instances.js';
import type { InstanceRecord } from './store.js';
import { INSTANCE_TYPE_BY_NAME } from '../catalog/instance-types-data.js';
import { groupsOf } from './view.js';
import { blockDeviceMappings, setDeleteOnTermination } from '../ebs/instance-volumes.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const archOf = (type: string) => (INSTANCE_TYPE_BY_NAME.get(type)?.ProcessorInfo.SupportedArchitectures as string[] | undefined) ?? [];

export function instanceAttributeHandlers(deps: InstanceDeps) {
  const { store, instances } = deps;
  const n = store.network;

  const DescribeInstanceAttribute: Op<'DescribeInstanceAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const [i] = instancesByIds(instances, scope, [input.InstanceId], ctx.now()) as [InstanceRecord];
    checkDryRun(input);
    const base = { InstanceId: i.InstanceId };
    switch (input.Attribute) {
      case 'instanceType': return { ...base, InstanceType: { Value: i.InstanceType } };
      case 'kernel': return { ...base, KernelId: {} };
      case 'ramdisk': return { ...base, RamdiskId: {} };
      case 'userData': return { ...base, UserData: i.UserData ? { Value: i.UserData } : {} };
      case 'disableApiTermination': return { ...base, DisableApiTermination: { Value: i.DisableApiTermination } };
      case 'disableApiStop': return { ...base, DisableApiStop: { Value: i.DisableApiStop } };
      case 'instanceInitiatedShutdownBehavior': return { ...base, InstanceInitiatedShutdownBehavior: { Value: i.InstanceInitiatedShutdownBehavior } };
      case 'rootDeviceName': return { ...base, RootDeviceName: { Value: i.RootDeviceName } };
      case 'blockDeviceMapping':
        return {
          ...base,
          BlockDeviceMappings: i.State === 'terminated' ? [] : blockDeviceMappings(store, scope, i),
        };
      case 'productCodes': return { ...base, ProductCodes: [] };
      case 'sourceDestCheck': return { ...base, SourceDestCheck: { Value: i.SourceDestCheck } };
      case 'groupSet': return { ...base, Groups: groupsOf(store, scope, i) };
      case 'ebsOptimized': return { ...base, EbsOptimized: { Value: i.EbsOptimized } };
      case 'sriovNetSupport': return { ...base, SriovNetSupport: {} };
      case 'enaSupport': return { ...base, EnaSupport: { Value: true } };
      case 'enclaveOptions': return { ...base, EnclaveOptions: { Enabled: false } };
      default: throw InstanceErrors.attributeInvalid(input.Attribute);
    }
  };

  const ModifyInstanceAttribute: Op<'ModifyInstanceAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const [i] = instancesByIds(instances, scope, [input.InstanceId], ctx.now()) as [InstanceRecord];
    // The old form names the attribute and gives its value as a string.
    const attr = input.Attribute;
    const val = input.Value;
    const bool = (v: string | undefined) => v === 'true';
    const typed = {
      instanceType: input.InstanceType?.Value ?? (attr === 'instanceType' ? val : undefined),
      userData: input.UserData?.Value ?? (attr === 'userData' && val !== undefined ? Buffer.from(val, 'base64') : undefined),
      disableApiTermination: input.DisableApiTermination?.Value ?? (attr === 'disableApiTermination' ? bool(val) : undefined),
      disableApiStop: input.DisableApiStop?.Value ?? (attr === 'disableApiStop' ? bool(val) : undefined),
      shutdown: input.InstanceInitiatedShutdownBehavior?.Value ?? (attr === 'instanceInitiatedShutdownBehavior' ? val : undefined),
      sourceDestCheck: input.SourceDestCheck?.Value ?? (attr === 'sourceDestCheck' ? bool(val) : undefined),
      ebsOptimized: input.EbsOptimized?.Value ?? (attr === 'ebsOptimized' ? bool(val) : undefined),
      groups: input.Groups?.length ? input.Groups : attr === 'groupSet' && val ? [val] : undefined,
      blockDevices: input.BlockDeviceMappings?.length ? input.BlockDeviceMappings : undefined,
    };
    const given = Object.entries(typed).filter(([, v]) => v !== undefined);
    if (attr && !(attr in typed) && attr !== 'blockDeviceMapping') throw InstanceErrors.attributeInvalid(attr);
    if (given.length === 0) throw Ec2Errors.missingParameter('Attribute');
    if (given.length > 1) throw Ec2Errors.invalidCombination('Fields for multiple attribute types specified: ' + given.map(([k]) => k).join(', '));
    if (i.State === 'terminated') throw InstanceErrors.incorrectStateFor(i.InstanceId, i.State);
    const next: InstanceRecord = { ...i };
    let groups: string[] | undefined;
    if (typed.instanceType !== undefined) {
      if (i.State !== 'stopped') throw InstanceErrors.mustBeStopped(i.InstanceId);
      const t = INSTANCE_TYPE_BY_NAME.get(typed.instanceType);
      if (!t) throw InstanceErrors.invalidType(typed.instanceType);
      if (!archOf(typed.instanceType).includes(i.Architecture)) throw InstanceErrors.architectureMismatch(archOf(typed.instanceType)[0]!, i.Architecture);
      next.InstanceType = typed.instanceType;
    }
    if (typed.userData !== undefined) {
      if (i.State !== 'stopped') throw InstanceErrors.mustBeStopped(i.InstanceId);
      if (typed.userData.length > 16 * 1024) throw InstanceErrors.userDataTooLarge();
      next.UserData = typed.userData.length ? typed.userData.toString('base64') : undefined;
    }
    if (typed.disableApiTermination !== undefined) next.DisableApiTermination = typed.disableApiTermination;
    if (typed.disableApiStop !== undefined) next.DisableApiStop = typed.disableApiStop;
    if (typed.shutdown !== undefined) {
      if (typed.shutdown !== 'stop' && typed.shutdown !== 'terminate') throw Ec2Errors.invalidParameter(`Value (${typed.shutdown}) for parameter instanceInitiatedShutdownBehavior is invalid.`);
      next.InstanceInitiatedShutdownBehavior = typed.shutdown;
    }
    if (typed.sourceDestCheck !== undefined) next.SourceDestCheck = typed.sourceDestCheck;
    if (typed.ebsOptimized !== undefined) next.EbsOptimized = typed.ebsOptimized;
    const attached = new Set(blockDeviceMappings(store, scope, i).map((b) => b.DeviceName));
    for (const b of typed.blockDevices ?? []) {
      if (!b.DeviceName || !attached.has(b.DeviceName)) throw Ec2Errors.invalidParameter(`The device '${b.DeviceName}' is not attached to instance ${i.InstanceId}.`);
      if (b.DeviceName === i.RootDeviceName && b.Ebs?.DeleteOnTermination !== undefined) next.RootDeleteOnTermination = b.Ebs.DeleteOnTermination;
    }
    if (typed.groups) {
      groups = [...new Set(typed.groups)].map((id) => {
        const g = lookup(store, scope, SECURITY_GROUPS, id);
        if (g.VpcId !== i.VpcId) throw Ec2Errors.differentNetworks();
        return g.GroupId;
      });
    }
    checkDryRun(input);
    store.transaction(() => {
      instances.put(scope, next);
      // The volume rows keep DeleteOnTermination too (the root's as well as the instance row).
      for (const b of typed.blockDevices ?? []) {
        if (b.Ebs?.DeleteOnTermination !== undefined) setDeleteOnTermination(store, scope, i.InstanceId, b.DeviceName!, b.Ebs.DeleteOnTermination);
      }
      if (groups) {
        const eni = n.networkInterfaces.get(scope, i.NetworkInterfaceId)!;
        n.networkInterfaces.update(scope, eni.NetworkInterfaceId, { ...eni, GroupIds: groups });
      }
    });
    deps.changed();
    return {};
  };

  const ModifyInstanceMetadataOptions: Op<'ModifyInstanceMetadataOptions'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const [i] = instancesByIds(instances, scope, [input.InstanceId], ctx.now()) as [InstanceRecord];
    if (i.State === 'terminated' || i.State === 'shutting-down') throw InstanceErrors.incorrectStateFor(i.InstanceId, i.State);
    const o = { ...i.MetadataOptions };
    if (input.HttpTokens !== undefined) {
      if (input.HttpTokens !== 'optional' && input.HttpTokens !== 'required') throw Ec2Errors.invalidParameter(`Value (${input.HttpTokens}) for parameter httpTokens is invalid.`);
      o.HttpTokens = input.HttpTokens;
    }
    if (input.HttpPutResponseHopLimit !== undefined) {
      const h = input.HttpPutResponseHopLimit;
      if (!Number.isInteger(h) || h < 1 || h > 64) throw Ec2Errors.invalidParameter(`Value (${h}) for parameter httpPutResponseHopLimit is invalid. Expected an integer from 1 to 64.`);
      o.HttpPutResponseHopLimit = h;
    }
    if (input.HttpEndpoint !== undefined) {
      if (input.HttpEndpoint !== 'enabled' && input.HttpEndpoint !== 'disabled') throw Ec2Errors.invalidParameter(`Value (${input.HttpEndpoint}) for parameter httpEndpoint is invalid.`);
      o.HttpEndpoint = input.HttpEndpoint;
    }
    if (input.InstanceMetadataTags !== undefined) {
      if (input.InstanceMetadataTags !== 'enabled' && input.InstanceMetadataTags !== 'disabled') throw Ec2Errors.invalidParameter(`Value (${input.InstanceMetadataTags}) for parameter instanceMetadataTags is invalid.`);
      o.InstanceMetadataTags = input.InstanceMetadataTags;
    }
    if (input.HttpProtocolIpv6 === 'enabled') throw Ec2Errors.unsupported('IMDS over IPv6');
    checkDryRun(input);
    instances.put(scope, { ...i, MetadataOptions: o });
    deps.changed();
    return { InstanceId: i.InstanceId, InstanceMetadataOptions: { State: 'pending', ...o } };
  };

  return { DescribeInstanceAttribute, ModifyInstanceAttribute, ModifyInstanceMetadataOptions };
}
