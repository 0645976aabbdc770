/**
 * DescribeImageAttribute, ModifyImageAttribute, ResetImageAttribute.
 *
 * Catalog images answer their attributes but launchPermission (AuthFailure: only an image's owner
 * sees who may launch it, and no caller owns a catalog image) and cannot be changed. Own images:
 * description, launchPermission (accounts, or the group `all` for public) and imdsSupport (once,
 * to v2.0) can be changed; reset puts launchPermission back to the owner only.
 *
 * Differences from AWS: no organizations or organizational units in launch permissions, no
 * product codes; whether DescribeImageAttribute on a catalog image refuses every attribute (AWS's
 * documentation says the call needs ownership) is unverified, kumo refuses launchPermission only.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { EbsErrors } from '../ebs/errors.js';
import { Ec2Errors } from '../errors.js';
import { AMI_ID, catalogImage, ImageErrors, type Image } from './images.js';
import { findOwnImage, imageView, OwnImageErrors } from './own-images.js';
import type { ImageRecord, ImageStore, LaunchPermission } from './store.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;

const value = (v: string | undefined) => (v === undefined ? {} : { Value: v });

function attributesOf(image: Image, record: ImageRecord | undefined, mine: boolean): Record<string, () => object> {
  return {
    description: () => ({ Description: value(image.Description) }),
    kernel: () => ({ KernelId: {} }),
    ramdisk: () => ({ RamdiskId: {} }),
    launchPermission: () => {
      if (!record || !mine) throw new AwsError('AuthFailure', `Not authorized for image:${image.ImageId}`, 400);
      return { LaunchPermissions: record.LaunchPermissions };
    },
    productCodes: () => ({ ProductCodes: [] }),
    blockDeviceMapping: () => ({ BlockDeviceMappings: image.BlockDeviceMappings }),
    sriovNetSupport: () => ({ SriovNetSupport: value(image.SriovNetSupport) }),
    bootMode: () => ({ BootMode: value(image.BootMode) }),
    tpmSupport: () => ({ TpmSupport: {} }),
    uefiData: () => ({ UefiData: {} }),
    lastLaunchedTime: () => ({ LastLaunchedTime: {} }),
    imdsSupport: () => ({ ImdsSupport: value(image.ImdsSupport) }),
    deregistrationProtection: () => ({ DeregistrationProtection: { Value: 'disabled' } }),
  };
}

const unknownAttribute = (name: string | undefined) => Ec2Errors.invalidParameter(`Value (${name}) for parameter attribute is invalid. Unknown attribute.`);

function checkPermissions(list: LaunchPermission[] | undefined): LaunchPermission[] {
  for (const p of list ?? []) {
    if (p.Group !== undefined && p.Group !== 'all') throw Ec2Errors.invalidParameter(`Value (${p.Group}) for parameter userGroup is invalid.`);
    if (p.UserId !== undefined && !/^\d{12}$/.test(p.UserId)) throw EbsErrors.invalidUser(p.UserId);
    if ((p.Group === undefined) === (p.UserId === undefined)) throw Ec2Errors.invalidParameter('A launch permission names either a user ID or the group all.');
  }
  return (list ?? []).map((p) => (p.Group ? { Group: p.Group } : { UserId: p.UserId }));
}

const same = (a: LaunchPermission, b: LaunchPermission) => a.Group === b.Group && a.UserId === b.UserId;

export function imageAttributeHandlers(deps: { images: ImageStore; changed(): void; store: { transaction<T>(fn: () => T): T } }) {
  const { images } = deps;

  /** The image the caller asks about: a catalog one, or its own or one shared with it. */
  const lookup = (account: string, region: string, id: string): { image: Image; record?: ImageRecord; mine: boolean } => {
    if (!AMI_ID.test(id ?? '')) throw ImageErrors.malformed(id);
    const catalog = catalogImage(region, id);
    if (catalog) return { image: catalog, mine: false };
    const { scope, row } = findOwnImage(images, account, region, id);
    return { image: imageView(row, undefined), record: row, mine: scope.account === account };
  };

  const DescribeImageAttribute: Op<'DescribeImageAttribute'> = (ctx, input) => {
    const { image, record, mine } = lookup(ctx.account, ctx.region, input.ImageId);
    const attributes = attributesOf(image, record, mine);
    const answer = Object.prototype.hasOwnProperty.call(attributes, input.Attribute) ? attributes[input.Attribute] : undefined;
    if (!answer) throw unknownAttribute(input.Attribute);
    checkDryRun(input);
    return { ImageId: image.ImageId, ...answer() };
  };

  /** An image the caller owns (catalog images and others' are refused as AWS refuses them). */
  const ownRecord = (account: string, region: string, id: string): ImageRecord => {
    const { record, mine, image } = lookup(account, region, id);
    if (!record || !mine) throw OwnImageErrors.notOwner(image.ImageId!);
    return record;
  };

  const ModifyImageAttribute: Op<'ModifyImageAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const record = ownRecord(ctx.account, ctx.region, input.ImageId);
    const attribute = input.Attribute ?? (input.Description ? 'description' : input.ImdsSupport ? 'imdsSupport' : 'launchPermission');
    let next: ImageRecord;
    if (attribute === 'description') {
      const d = input.Description?.Value ?? input.Value;
      if (d === undefined) throw Ec2Errors.missingParameter('Description');
      if (d.length > 255) throw Ec2Errors.invalidParameter('Value for parameter description is invalid. Length exceeds maximum of 255 characters.');
      next = { ...record, Description: d };
    } else if (attribute === 'imdsSupport') {
      const v = input.ImdsSupport?.Value ?? input.Value;
      if (v !== 'v2.0') throw Ec2Errors.invalidParameter(`Value (${v}) for parameter ImdsSupport is invalid.`);
      next = { ...record, ImdsSupport: 'v2.0' };
    } else if (attribute === 'launchPermission') {
      if (input.OrganizationArns?.length || input.OrganizationalUnitArns?.length) throw Ec2Errors.unsupported('organizations in launch permissions');
      let add = checkPermissions(input.LaunchPermission?.Add);
      let remove = checkPermissions(input.LaunchPermission?.Remove);
      // The older form: OperationType add|remove with UserIds and UserGroups.
      const listed = checkPermissions([...(input.UserIds ?? []).map((UserId) => ({ UserId })), ...(input.UserGroups ?? []).map((Group) => ({ Group }))]);
      if (listed.length) {
        if (input.OperationType === 'add') add = [...add, ...listed];
        else if (input.OperationType === 'remove') remove = [...remove, ...listed];
        else throw Ec2Errors.missingParameter('OperationType');
      }
      if (!add.length && !remove.length) throw Ec2Errors.missingParameter('LaunchPermission');
      const kept = record.LaunchPermissions.filter((p) => !remove.some((r) => same(p, r)));
      next = { ...record, LaunchPermissions: [...kept, ...add.filter((a) => !kept.some((p) => same(p, a)))] };
    } else if (attribute === 'productCodes') {
      throw Ec2Errors.unsupported('product codes');
    } else {
      throw unknownAttribute(attribute);
    }
    checkDryRun(input);
    deps.store.transaction(() => images.put(scope, next));
    return {};
  };

  const ResetImageAttribute: Op<'ResetImageAttribute'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const record = ownRecord(ctx.account, ctx.region, input.ImageId);
    if (input.Attribute !== 'launchPermission') throw unknownAttribute(input.Attribute);
    checkDryRun(input);
    deps.store.transaction(() => images.put(scope, { ...record, LaunchPermissions: [] }));
    return {};
  };

  return { DescribeImageAttribute, ModifyImageAttribute, ResetImageAttribute };
}
