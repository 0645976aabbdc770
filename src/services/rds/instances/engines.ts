/**
 * The engines kumo runs, their versions, instance classes and storage rules, and the calls that
 * list them (DescribeDBEngineVersions, DescribeOrderableDBInstanceOptions).
 *
 * What really runs: `mysql` is served by MariaDB 10.11 (Debian 12's), wire-compatible with MySQL
 * 8.0 clients and drivers for what WordPress-style applications use; `SELECT VERSION()` tells the
 * truth (10.11.x-MariaDB) while the API reports the MySQL version asked for. `postgres` is
 * PostgreSQL 15 (Debian 12's): only 15.x versions are offered, so what the API says runs is what
 * runs.
 */
import type { RdsOperations } from '../../../models/generated/rds.js';
import { paginate } from '../../../state/pagination.js';
import { zonesOf } from '../../../state/regions.js';
import type { OpHandler } from '../../service.js';
import { RdsErrors } from '../errors.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

export type EngineName = 'mysql' | 'postgres';

export interface Engine {
  name: EngineName;
  description: string;
  versions: { version: string; family: string }[];
  defaultVersion: string;
  port: number;
  /** Master user names the engine reserves. */
  reservedUsers: string[];
  maxUsernameLength: number;
  maxPasswordLength: number;
  /** What serves it in kumo (for DescribeDBEngineVersions' description). */
  servedBy: string;
}

export const ENGINES: Record<EngineName, Engine> = {
  mysql: {
    name: 'mysql',
    description: 'MySQL Community Edition',
    versions: [
      { version: '8.0.35', family: 'mysql8.0' },
      { version: '8.0.39', family: 'mysql8.0' },
      { version: '8.0.40', family: 'mysql8.0' },
      { version: '8.4.3', family: 'mysql8.4' },
    ],
    defaultVersion: '8.0.40',
    port: 3306,
    reservedUsers: ['rdsadmin', 'root', 'mysql.sys', 'mysql.session', 'mariadb.sys'],
    maxUsernameLength: 16,
    maxPasswordLength: 41,
    servedBy: 'MariaDB 10.11',
  },
  postgres: {
    name: 'postgres',
    description: 'PostgreSQL',
    versions: [
      { version: '15.8', family: 'postgres15' },
      { version: '15.10', family: 'postgres15' },
    ],
    defaultVersion: '15.10',
    port: 5432,
    reservedUsers: ['rdsadmin', 'postgres_fdw', 'pg_monitor'],
    maxUsernameLength: 63,
    maxPasswordLength: 128,
    servedBy: 'PostgreSQL 15',
  },
};

/** Instance classes: memory (MiB) and vCPUs the node is held to (cgroups), as for EC2 types. */
export const DB_CLASSES: Record<string, { memoryMiB: number; vcpus: number }> = {
  'db.t2.micro': { memoryMiB: 1024, vcpus: 1 },
  'db.t2.small': { memoryMiB: 2048, vcpus: 1 },
  'db.t2.medium': { memoryMiB: 4096, vcpus: 2 },
  'db.t3.micro': { memoryMiB: 1024, vcpus: 2 },
  'db.t3.small': { memoryMiB: 2048, vcpus: 2 },
  'db.t3.medium': { memoryMiB: 4096, vcpus: 2 },
  'db.t3.large': { memoryMiB: 8192, vcpus: 2 },
  'db.m5.large': { memoryMiB: 8192, vcpus: 2 },
  'db.m5.xlarge': { memoryMiB: 16384, vcpus: 4 },
  'db.m6i.large': { memoryMiB: 8192, vcpus: 2 },
  'db.r5.large': { memoryMiB: 16384, vcpus: 2 },
  'db.r6i.large': { memoryMiB: 16384, vcpus: 2 },
};

/** Allocated storage (GiB) per storage type, as RDS for MySQL and PostgreSQL allows it. */
export const STORAGE: Record<string, { min: number; max: number }> = {
  gp2: { min: 20, max: 65536 },
  gp3: { min: 20, max: 65536 },
  io1: { min: 100, max: 65536 },
  io2: { min: 100, max: 65536 },
  standard: { min: 5, max: 3072 },
};

export function engineOf(name: string | undefined): Engine {
  const engine = name ? ENGINES[name.toLowerCase() as EngineName] : undefined;
  if (!engine) throw RdsErrors.invalidParameter(`Invalid DB engine: ${name ?? ''}`);
  return engine;
}

/** The version asked for (a full one, or a major prefix such as `8.0` meaning its newest). */
export function versionOf(engine: Engine, asked: string | undefined): { version: string; family: string } {
  const wanted = asked ?? engine.defaultVersion;
  const exact = engine.versions.find((v) => v.version === wanted);
  if (exact) return exact;
  const newest = engine.versions.filter((v) => v.version.startsWith(`${wanted}.`)).at(-1);
  if (newest) return newest;
  throw RdsErrors.invalidCombination(`Cannot find version ${wanted} for ${engine.name}`);
}

export function engineHandlers() {
  const DescribeDBEngineVersions: Op<'DescribeDBEngineVersions'> = (_ctx, input) => {
    if (input.Filters?.length) throw RdsErrors.invalidParameter('Filters are not supported for DescribeDBEngineVersions.');
    const engines = input.Engine ? [ENGINES[input.Engine as EngineName]].filter(Boolean) : Object.values(ENGINES);
    const rows = engines.flatMap((e) =>
      e.versions
        .filter((v) => (!input.EngineVersion || v.version === input.EngineVersion || v.version.startsWith(`${input.EngineVersion}.`)))
        .filter((v) => !input.DBParameterGroupFamily || v.family === input.DBParameterGroupFamily)
        .filter((v) => !input.DefaultOnly || v.version === e.defaultVersion)
        .map((v) => ({
          Engine: e.name,
          EngineVersion: v.version,
          DBParameterGroupFamily: v.family,
          DBEngineDescription: e.description,
          DBEngineVersionDescription: `${e.description} ${v.version} (served by ${e.servedBy} in kumo)`,
          Status: 'available',
          SupportsReadReplica: false,
          SupportsLogExportsToCloudwatchLogs: false,
          ValidUpgradeTarget: [],
          SupportedEngineModes: ['provisioned'],
        })),
    );
    const page = paginate(rows, (r) => `${r.Engine}/${r.EngineVersion}`, { maxResults: input.MaxRecords, nextToken: input.Marker, min: 20, max: 100, defaultSize: 100, param: 'MaxRecords' });
    return { DBEngineVersions: page.items, Marker: page.nextToken };
  };

  const DescribeOrderableDBInstanceOptions: Op<'DescribeOrderableDBInstanceOptions'> = (ctx, input) => {
    const engine = engineOf(input.Engine);
    const versions = engine.versions.filter((v) => !input.EngineVersion || v.version === input.EngineVersion);
    const classes = Object.keys(DB_CLASSES).filter((c) => !input.DBInstanceClass || c === input.DBInstanceClass);
    const rows = versions.flatMap((v) =>
      classes.flatMap((c) =>
        Object.entries(STORAGE).map(([type, range]) => ({
          Engine: engine.name,
          EngineVersion: v.version,
          DBInstanceClass: c,
          LicenseModel: engine.name === 'mysql' ? 'general-public-license' : 'postgresql-license',
          AvailabilityZones: zonesOf(ctx.region).map((z) => ({ Name: z.zoneName })),
          MultiAZCapable: true,
          ReadReplicaCapable: false,
          Vpc: true,
          StorageType: type,
          MinStorageSize: range.min,
          MaxStorageSize: range.max,
          SupportsStorageEncryption: false,
          SupportsIops: type.startsWith('io') || type === 'gp3',
          SupportsEnhancedMonitoring: false,
          SupportsIAMDatabaseAuthentication: false,
          SupportsPerformanceInsights: false,
          SupportedEngineModes: ['provisioned'],
        })),
      ),
    );
    const page = paginate(rows, (r) => `${r.EngineVersion}/${r.DBInstanceClass}/${r.StorageType}`, {
      maxResults: input.MaxRecords, nextToken: input.Marker, min: 20, max: 1000, defaultSize: 100, param: 'MaxRecords',
    });
    return { OrderableDBInstanceOptions: page.items, Marker: page.nextToken };
  };

  return { DescribeDBEngineVersions, DescribeOrderableDBInstanceOptions };
}
