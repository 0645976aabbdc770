/**
 * CreateDBInstance: every check RDS makes before it says `creating`, then the row, the node's
 * network interface (a requester-managed ENI in the chosen subnet, as RDS makes one, so the VPC
 * and subnet show it and cannot be deleted under it) and its public address when publicly
 * accessible. The database supervisor (../dataplane/) boots the node from there.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RdsOperations } from '../../../models/generated/rds.js';
import type { NetworkStore, SubnetRecord } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { TagStore } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { RdsErrors } from '../errors.js';
import type { DbInstanceRecord, DbSubnetGroupRecord, RdsStore } from '../store.js';
import { DB_CLASSES, engineOf, STORAGE, versionOf, type Engine } from './engines.js';
import { allocateNode } from './nodes.js';
import { toView } from './view.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

/** 1–63 letters, digits or hyphens; a letter first; no trailing hyphen nor two in a row. */
const IDENTIFIER = /^[a-z](?:[a-z0-9]|-(?!-)){0,62}$/;
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
/** Printable ASCII but '/', '"', '@' and space, as RDS documents for master passwords. */
const PASSWORD = /^[\x21-\x7e]+$/;
const PASSWORD_FORBIDDEN = /[/"@ ]/;

export interface CreateDeps {
  store: RdsStore;
  network: NetworkStore;
  tags: TagStore;
  /** Whether this host can run databases (the native runtime). */
  canRun: boolean;
  changed(): void;
}

export function checkIdentifier(id: string | undefined, param = 'DBInstanceIdentifier'): string {
  const lower = (id ?? '').toLowerCase();
  if (!IDENTIFIER.test(lower) || lower.endsWith('-')) {
    throw RdsErrors.invalidParameter(`The parameter ${param} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`);
  }
  return lower;
}

function checkMaster(engine: Engine, user: string | undefined, password: string | undefined): void {
  if (!user) throw RdsErrors.invalidParameter('The parameter MasterUsername must be provided and must not be blank.');
  if (!NAME.test(user) || user.length > engine.maxUsernameLength) {
    throw RdsErrors.invalidParameter(`The parameter MasterUsername is not a valid identifier: it must be 1 to ${engine.maxUsernameLength} letters, digits or underscores, starting with a letter.`);
  }
  if (engine.reservedUsers.includes(user.toLowerCase())) throw RdsErrors.invalidParameter(`MasterUsername ${user} cannot be used as it is a reserved word used by the engine`);
  if (!password) throw RdsErrors.invalidParameter('The parameter MasterUserPassword must be provided and must not be blank.');
  if (password.length < 8) throw RdsErrors.invalidParameter('The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.');
  if (password.length > engine.maxPasswordLength) throw RdsErrors.invalidParameter(`The parameter MasterUserPassword is not a valid password because it is longer than ${engine.maxPasswordLength} characters.`);
  if (!PASSWORD.test(password) || PASSWORD_FORBIDDEN.test(password)) {
    throw RdsErrors.invalidParameter("The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used.");
  }
}

function checkStorage(type: string, size: number | undefined, iops: number | undefined): number {
  const range = STORAGE[type];
  if (!range) throw RdsErrors.invalidParameter(`Invalid storage type: ${type}`);
  if (size === undefined) throw RdsErrors.invalidParameter('The parameter AllocatedStorage must be provided.');
  if (!Number.isInteger(size) || size < range.min || size > range.max) {
    throw RdsErrors.invalidParameter(`Invalid storage size for engine name and storage type ${type}: ${size}. Valid sizes are ${range.min} to ${range.max} GiB.`);
  }
  if (type.startsWith('io') && iops === undefined) throw RdsErrors.invalidCombination(`Provisioned IOPS are required for storage type ${type}.`);
  if (iops !== undefined && !type.startsWith('io') && type !== 'gp3') throw RdsErrors.invalidCombination(`Provisioned IOPS cannot be specified for storage type ${type}.`);
  return size;
}

/** The subnet group to use: the one named, or the default VPC's (`default`), made of its subnets. */
function subnetGroupOf(store: RdsStore, network: NetworkStore, scope: Scope, name: string | undefined): DbSubnetGroupRecord {
  if (name) {
    const group = store.subnetGroups.get(scope, name.toLowerCase());
    if (!group) throw RdsErrors.subnetGroupNotFound(name);
    return group;
  }
  const vpc = network.vpcs.list(scope).find((v) => v.IsDefault);
  if (!vpc) throw RdsErrors.vpcState('There is no default VPC in this region: name a DB subnet group (DBSubnetGroupName).');
  const subnets = network.subnets.list(scope).filter((s) => s.VpcId === vpc.VpcId);
  return {
    DBSubnetGroupName: 'default',
    DBSubnetGroupDescription: 'default',
    VpcId: vpc.VpcId,
    SubnetGroupStatus: 'Complete',
    Subnets: subnets.map((s) => ({ SubnetIdentifier: s.SubnetId, SubnetAvailabilityZone: { Name: s.AvailabilityZone }, SubnetOutpost: {}, SubnetStatus: 'Active' })),
    DBSubnetGroupArn: `arn:aws:rds:${scope.region}:${scope.account}:subgrp:default`,
    SupportedNetworkTypes: ['IPV4'],
  };
}

/** The random part of every endpoint of one account in one region (AWS keeps it per account+region). */
export function endpointSuffix(scope: Scope): string {
  const hash = createHash('sha256').update(`kumo/rds/${scope.account}/${scope.region}`).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(hash.subarray(0, 12), (b) => alphabet[b % alphabet.length]).join('');
}

const dbiResourceId = () => `db-${Array.from(randomBytes(26), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('')}`;

export function createHandler(deps: CreateDeps): Op<'CreateDBInstance'> {
  const { store, network } = deps;
  return (ctx: RequestContext, input) => {
    const scope = scopeOf(ctx);
    const id = checkIdentifier(input.DBInstanceIdentifier);
    if (store.instances.get(scope, id)) throw RdsErrors.instanceExists();
    const engine = engineOf(input.Engine);
    const version = versionOf(engine, input.EngineVersion);
    checkClass(input.DBInstanceClass);
    checkMaster(engine, input.MasterUsername, input.MasterUserPassword);
    if (input.DBName !== undefined && (!NAME.test(input.DBName) || input.DBName.length > 64)) {
      throw RdsErrors.invalidParameter(`Invalid database name ${input.DBName}: it must begin with a letter and contain only letters, digits or underscores (64 at most).`);
    }
    const storageType = input.StorageType ?? (input.Iops ? 'io1' : 'gp2');
    const size = checkStorage(storageType, input.AllocatedStorage, input.Iops);
    const port = checkPort(input.Port ?? engine.port);
    if (input.DBClusterIdentifier) throw RdsErrors.invalidCombination('kumo has no Aurora clusters.');
    if (input.StorageEncrypted || input.KmsKeyId) throw RdsErrors.invalidCombination('kumo does not encrypt DB storage.');
    if (input.ManageMasterUserPassword) throw RdsErrors.invalidCombination('kumo has no Secrets Manager: give MasterUserPassword.');
    const retention = input.BackupRetentionPeriod ?? 1;
    checkRetention(retention);
    const parameterGroup = checkParameterGroup(input.DBParameterGroupName, version.family);
    const place = placementOf(store, network, scope, input);
    if (!deps.canRun) throw RdsErrors.needsNativeRuntime('run databases');
    return newInstance(deps, ctx, place, input.Tags, {
      DBInstanceIdentifier: id,
      Engine: engine.name,
      EngineVersion: version.version,
      DBInstanceClass: input.DBInstanceClass,
      AllocatedStorage: size,
      StorageType: storageType,
      Iops: input.Iops,
      MasterUsername: input.MasterUsername!,
      MasterUserPassword: input.MasterUserPassword!,
      DBName: input.DBName,
      Port: port,
      BackupRetentionPeriod: retention,
      PreferredBackupWindow: input.PreferredBackupWindow ?? '18:00-18:30',
      PreferredMaintenanceWindow: input.PreferredMaintenanceWindow ?? 'sun:19:00-sun:19:30',
      DBParameterGroupName: parameterGroup,
      DeletionProtection: input.DeletionProtection ?? false,
      AutoMinorVersionUpgrade: input.AutoMinorVersionUpgrade ?? true,
      CopyTagsToSnapshot: input.CopyTagsToSnapshot ?? false,
    });
  };
}

export function checkClass(dbClass: string | undefined): void {
  if (!DB_CLASSES[dbClass ?? '']) throw RdsErrors.invalidParameter(`Invalid DB Instance class: ${dbClass}`);
}

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1150 || port > 65535) throw RdsErrors.invalidParameter(`Invalid port ${port}: it must be between 1150 and 65535.`);
  return port;
}

export function checkRetention(retention: number): void {
  if (!Number.isInteger(retention) || retention < 0 || retention > 35) throw RdsErrors.invalidParameter(`Invalid backup retention period ${retention}: it must be between 0 and 35 days.`);
}

/** Only the engine family's default parameter group exists in kumo. */
export function checkParameterGroup(name: string | undefined, family: string): string {
  const parameterGroup = name ?? `default.${family}`;
  if (parameterGroup !== `default.${family}`) throw RdsErrors.parameterGroupNotFound(parameterGroup);
  return parameterGroup;
}

/** Where a new DB instance goes: its subnet group's VPC, a zone and subnet, its security groups. */
export interface Placement {
  group: DbSubnetGroupRecord;
  subnet: SubnetRecord;
  vpcGroups: string[];
  publiclyAccessible: boolean;
  multiAZ: boolean;
}

export interface PlacementInput {
  DBSubnetGroupName?: string;
  AvailabilityZone?: string;
  VpcSecurityGroupIds?: string[];
  PubliclyAccessible?: boolean;
  MultiAZ?: boolean;
}

export function placementOf(store: RdsStore, network: NetworkStore, scope: Scope, input: PlacementInput): Placement {
  if (input.MultiAZ && input.AvailabilityZone) throw RdsErrors.invalidCombination('Requesting a specific availability zone is not valid for Multi-AZ instances.');
  const group = subnetGroupOf(store, network, scope, input.DBSubnetGroupName);
  const zones = [...new Set(group.Subnets.map((s) => s.SubnetAvailabilityZone.Name))];
  if (input.AvailabilityZone && !zones.includes(input.AvailabilityZone)) {
    throw RdsErrors.invalidParameter(`Cannot create a DB instance in ${input.AvailabilityZone}: the DB subnet group has no subnet there.`);
  }
  const zone = input.AvailabilityZone ?? zones[0];
  const subnet = network.subnets.get(scope, group.Subnets.find((s) => s.SubnetAvailabilityZone.Name === zone)?.SubnetIdentifier ?? '');
  if (!subnet) throw RdsErrors.vpcState(`The DB subnet group ${group.DBSubnetGroupName} has no usable subnet.`);
  const vpcGroups = input.VpcSecurityGroupIds?.length
    ? input.VpcSecurityGroupIds
    : network.securityGroups.list(scope).filter((g) => g.VpcId === group.VpcId && g.GroupName === 'default').map((g) => g.GroupId);
  for (const g of vpcGroups) {
    const found = network.securityGroups.get(scope, g);
    if (!found || found.VpcId !== group.VpcId) throw RdsErrors.securityGroupNotFound(g);
  }
  return { group, subnet, vpcGroups, publiclyAccessible: input.PubliclyAccessible ?? false, multiAZ: input.MultiAZ ?? false };
}

/** What the caller decides of a new instance; the rest (place, node, ids) newInstance fills in. */
export type InstanceFields = Pick<
  DbInstanceRecord,
  | 'DBInstanceIdentifier' | 'Engine' | 'EngineVersion' | 'DBInstanceClass' | 'AllocatedStorage' | 'StorageType' | 'Iops'
  | 'MasterUsername' | 'MasterUserPassword' | 'DBName' | 'Port' | 'BackupRetentionPeriod' | 'PreferredBackupWindow'
  | 'PreferredMaintenanceWindow' | 'DBParameterGroupName' | 'DeletionProtection' | 'AutoMinorVersionUpgrade' | 'CopyTagsToSnapshot' | 'RestoredFrom'
>;

/**
 * The row of a new instance (`creating`), its node's interface and address, its public address
 * and tags, in one transaction; the supervisor boots it from there.
 */
export function newInstance(deps: CreateDeps, ctx: RequestContext, place: Placement, tagsIn: { Key?: string; Value?: string }[] | undefined, fields: InstanceFields) {
  const { store, network, tags } = deps;
  const scope = scopeOf(ctx);
  const tagList = (tagsIn ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
  const record = store.transaction(() => {
    const resourceIdValue = dbiResourceId();
    const internalGroup = `kumo-rds-${resourceIdValue.slice(3, 20).toLowerCase()}`;
    const node = allocateNode(network, scope, place.subnet, place.vpcGroups, internalGroup);
    const id = fields.DBInstanceIdentifier;
    const r: DbInstanceRecord = {
      ...fields,
      DbiResourceId: resourceIdValue,
      DBInstanceArn: `arn:aws:rds:${ctx.region}:${ctx.account}:db:${id}`,
      PubliclyAccessible: place.publiclyAccessible,
      VpcSecurityGroupIds: place.vpcGroups,
      DBSubnetGroupName: place.group.DBSubnetGroupName,
      VpcId: place.group.VpcId,
      ...node,
      PublicIpAddress: place.publiclyAccessible ? network.publicIps.allocate(scope, node.NetworkInterfaceId) : undefined,
      MultiAZ: false,
      // Multi-AZ from the start: the standby is built once the primary is up, still `creating`.
      Applying: place.multiAZ ? { MultiAZ: true } : undefined,
      DBInstanceStatus: 'creating',
      CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      ReplicationPassword: randomBytes(18).toString('base64url'),
      InternalGroup: internalGroup,
    };
    if (place.publiclyAccessible && !r.PublicIpAddress) throw RdsErrors.vpcState('No public address is free for a publicly accessible DB instance (KUMO_EIP_POOL is exhausted).');
    store.instances.insert(scope, id, r);
    tags.put(scope, r.DBInstanceArn, 'db', tagList);
    return r;
  });
  deps.changed();
  return { DBInstance: toView(record, tagList) };
}
