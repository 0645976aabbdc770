/**
 * DB parameter groups: the default group of each engine family kumo runs
 * (DescribeDBParameterGroups), and the parameters kumo sets on its nodes (DescribeDBParameters),
 * with the values the engines really run with. Custom parameter groups are not made.
 */
import type { RdsOperations } from '../../models/generated/rds.js';
import { paginate } from '../../state/pagination.js';
import { scopeOf, type OpHandler } from '../service.js';
import { RdsErrors } from './errors.js';
import { ENGINES } from './instances/engines.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

interface Param {
  name: string;
  value: string;
  type: 'integer' | 'string' | 'boolean';
  modifiable: boolean;
  description: string;
  apply: 'dynamic' | 'static';
}

/** What ./dataplane/engine-setup.ts writes into each node's configuration. */
const PARAMETERS: Record<'mysql' | 'postgres', Param[]> = {
  mysql: [
    { name: 'binlog_format', value: 'ROW', type: 'string', modifiable: true, description: 'What form of binary logging the master will use.', apply: 'dynamic' },
    { name: 'character_set_server', value: 'utf8mb4', type: 'string', modifiable: true, description: 'The server default character set.', apply: 'dynamic' },
    { name: 'collation_server', value: 'utf8mb4_general_ci', type: 'string', modifiable: true, description: 'The server default collation.', apply: 'dynamic' },
    { name: 'max_connections', value: '150', type: 'integer', modifiable: true, description: 'The number of simultaneous client connections allowed.', apply: 'dynamic' },
    { name: 'skip_name_resolve', value: '1', type: 'boolean', modifiable: false, description: 'Do not resolve host names when checking client connections.', apply: 'static' },
  ],
  postgres: [
    { name: 'max_connections', value: '150', type: 'integer', modifiable: true, description: 'Sets the maximum number of concurrent connections.', apply: 'static' },
    { name: 'password_encryption', value: 'scram-sha-256', type: 'string', modifiable: true, description: 'Encrypt passwords.', apply: 'dynamic' },
    { name: 'wal_level', value: 'replica', type: 'string', modifiable: false, description: 'Sets the level of information written to the WAL.', apply: 'static' },
  ],
};

/** Every engine family kumo offers, with its engine. */
const FAMILIES = Object.values(ENGINES).flatMap((e) => [...new Set(e.versions.map((v) => v.family))].map((family) => ({ family, engine: e.name })));

export function parameterGroupHandlers() {
  const groupOf = (name: string | undefined) => {
    const found = FAMILIES.find((f) => `default.${f.family}` === name);
    if (!found) throw RdsErrors.parameterGroupNotFound(name ?? '');
    return found;
  };

  const DescribeDBParameterGroups: Op<'DescribeDBParameterGroups'> = (ctx, input) => {
    if (input.Filters?.length) throw RdsErrors.invalidParameter('Filters are not supported for DescribeDBParameterGroups.');
    const scope = scopeOf(ctx);
    const families = input.DBParameterGroupName !== undefined ? [groupOf(input.DBParameterGroupName)] : FAMILIES;
    const groups = families.map(({ family }) => ({
      DBParameterGroupName: `default.${family}`,
      DBParameterGroupFamily: family,
      Description: `Default parameter group for ${family}`,
      DBParameterGroupArn: `arn:aws:rds:${scope.region}:${scope.account}:pg:default.${family}`,
    }));
    const page = paginate(groups, (g) => g.DBParameterGroupName, { maxResults: input.MaxRecords, nextToken: input.Marker, min: 20, max: 100, defaultSize: 100, param: 'MaxRecords' });
    return { DBParameterGroups: page.items, Marker: page.nextToken };
  };

  const DescribeDBParameters: Op<'DescribeDBParameters'> = (_ctx, input) => {
    if (input.Filters?.length) throw RdsErrors.invalidParameter('Filters are not supported for DescribeDBParameters.');
    const { engine } = groupOf(input.DBParameterGroupName);
    if (input.Source !== undefined && !['user', 'system', 'engine-default'].includes(input.Source)) throw RdsErrors.invalidParameter(`Invalid source: ${input.Source}`);
    // A default group's values are all the system's; none is the user's.
    const params = input.Source === 'user' ? [] : PARAMETERS[engine];
    const page = paginate(params, (p) => p.name, { maxResults: input.MaxRecords, nextToken: input.Marker, min: 20, max: 100, defaultSize: 100, param: 'MaxRecords' });
    return {
      Parameters: page.items.map((p) => ({
        ParameterName: p.name,
        ParameterValue: p.value,
        Description: p.description,
        Source: 'system',
        ApplyType: p.apply,
        DataType: p.type,
        IsModifiable: p.modifiable,
        ApplyMethod: 'pending-reboot',
      })),
      Marker: page.nextToken,
    };
  };

  return { DescribeDBParameterGroups, DescribeDBParameters };
}
