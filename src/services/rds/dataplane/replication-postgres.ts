/**
 * Multi-AZ for the `postgres` engine: a standby in another zone built with pg_basebackup (after an
 * immediate checkpoint: the default, spread one paces its writes to take most of
 * checkpoint_timeout, a minute or more for a young database) and
 * kept in step by streaming replication, named in the primary's synchronous_standby_names so
 * that (with synchronous_commit on, the default) a commit is acknowledged only once the standby
 * has flushed it. Promoted with pg_promote, which replays everything received first.
 *
 * The settings kumo changes on a running engine go through ALTER SYSTEM (postgresql.auto.conf,
 * in the data directory), so they last across restarts; a standby's copy of the primary's data
 * directory carries them too, which promote undoes.
 */
import type { DbInstanceRecord, DbNode } from '../store.js';
import { postgresCluster, READY_MARK } from './engine-setup.js';
import { REPLICATION_USER, type Replication } from './replication.js';

/** The standby's name as the primary sees it (its application_name). */
const STANDBY_NAME = 'kumo_standby';
const DATA_DIR = '/var/lib/postgresql/15/main';
const PASSFILE = '/var/lib/postgresql/.kumo-primary.pgpass';
const PSQL = 'runuser -u postgres -- psql -q -v ON_ERROR_STOP=1';

const pgString = (s: string) => `'${s.replace(/'/g, "''")}'`;
/** A .pgpass field: ':' and '\' escaped. */
const passField = (s: string) => s.replace(/[\\:]/g, (c) => `\\${c}`);

function user(db: DbInstanceRecord): [string, string] {
  return [
    PSQL,
    `DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${REPLICATION_USER}') THEN CREATE ROLE ${REPLICATION_USER}; END IF; END$$;
ALTER ROLE ${REPLICATION_USER} WITH REPLICATION LOGIN PASSWORD ${pgString(db.ReplicationPassword!)};
`,
  ];
}

function standbySetup(db: DbInstanceRecord, _standby: DbNode, primaryIp: string): string {
  return `#!/bin/bash
set -euo pipefail
${postgresCluster(db)}cat > ${PASSFILE} <<'KUMO_PASS'
${primaryIp}:${db.Port}:*:${REPLICATION_USER}:${passField(db.ReplicationPassword!)}
KUMO_PASS
chown postgres:postgres ${PASSFILE}
chmod 600 ${PASSFILE}
rm -rf ${DATA_DIR}
install -d -o postgres -g postgres -m 700 ${DATA_DIR}
runuser -u postgres -- pg_basebackup -h ${primaryIp} -p ${db.Port} -U ${REPLICATION_USER} -D ${DATA_DIR} -X stream -c fast -w -d 'passfile=${PASSFILE}'
cat >> ${DATA_DIR}/postgresql.auto.conf <<'KUMO_CONF'
primary_conninfo = 'host=${primaryIp} port=${db.Port} user=${REPLICATION_USER} passfile=${PASSFILE} application_name=${STANDBY_NAME}'
KUMO_CONF
runuser -u postgres -- touch ${DATA_DIR}/standby.signal
systemctl enable --now postgresql@15-main.service
for i in $(seq 1 120); do
  state=$(runuser -u postgres -- psql -tAc 'SELECT status FROM pg_stat_wal_receiver' 2> /dev/null || true)
  [ "$state" = streaming ] && { echo ${READY_MARK}; exit 0; }
  sleep 0.5
done
echo "streaming replication did not start" >&2
exit 1
`;
}

const syncOn = (): [string, string] => [PSQL, `ALTER SYSTEM SET synchronous_standby_names = '${STANDBY_NAME}';\nSELECT pg_reload_conf();\n`];

const syncOff = (): [string, string] => [PSQL, 'ALTER SYSTEM RESET synchronous_standby_names;\nSELECT pg_reload_conf();\n'];

function promote(): [string, string] {
  return [
    `out=$(${PSQL} -tA)
[ "$(printf '%s\\n' "$out" | tail -n 1)" = t ] || { echo "promotion did not finish: $out" >&2; exit 1; }`,
    `ALTER SYSTEM RESET synchronous_standby_names;
ALTER SYSTEM RESET primary_conninfo;
SELECT pg_reload_conf();
SELECT pg_promote(true, 30);
`,
  ];
}

export const postgresReplication: Replication = { user, standbySetup, syncOn, syncOff, promote };
