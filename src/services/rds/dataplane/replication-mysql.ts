/**
 * Multi-AZ for the `mysql` engine (MariaDB): a standby in another zone, a replica kept in step
 * with semi-synchronous replication in AFTER_SYNC mode, so a commit is acknowledged to its client
 * only once the standby has it. Built from a consistent dump of the primary (with its GTID
 * position) and promoted on failover.
 *
 *   replicationUser the user the standby replicates as, on the primary
 *   standbySetup    the standby's first-boot user data: engine up read-only, the primary's dump
 *                   loaded, replication started; READY_MARK once its I/O and SQL threads run
 *   semiSyncOn/Off  the primary waits for its standby's acknowledgement (once it is ready), or not
 *   promote         on failover: the relay log applied, replication dropped, writable
 *
 * Secrets go to the engine through stdin and quoted heredocs, never a command line.
 */
import type { DbInstanceRecord, DbNode } from '../store.js';
import { mariadbStarted, READY_MARK } from './engine-setup.js';
import { REPLICATION_USER, serverIdOf, type Replication } from './replication.js';

/** How long a commit waits for the standby's acknowledgement before the primary goes on alone. */
const SEMI_SYNC_TIMEOUT_MS = 10_000;

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const SEMI_SYNC_PRIMARY = `rpl_semi_sync_master_enabled = ON
rpl_semi_sync_master_wait_point = AFTER_SYNC
rpl_semi_sync_master_timeout = ${SEMI_SYNC_TIMEOUT_MS}`;

/** Run inside the primary before a standby is built: the user the standby replicates as. */
function replicationUser(db: DbInstanceRecord): [string, string] {
  return [
    'mariadb --protocol=socket',
    `CREATE USER IF NOT EXISTS '${REPLICATION_USER}'@'%' IDENTIFIED BY ${sqlString(db.ReplicationPassword!)};
ALTER USER '${REPLICATION_USER}'@'%' IDENTIFIED BY ${sqlString(db.ReplicationPassword!)};
GRANT REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR, SELECT, RELOAD, SHOW VIEW, EVENT, TRIGGER, LOCK TABLES ON *.* TO '${REPLICATION_USER}'@'%';
`,
  ];
}

/**
 * Run inside the primary once its standby is ready: from now on a commit waits for the
 * standby's acknowledgement (and stays so across restarts, through its config).
 */
function semiSyncOn(): [string, string] {
  return [
    `cat > /etc/mysql/mariadb.conf.d/91-kumo-primary.cnf <<'KUMO_CNF'
[mysqld]
${SEMI_SYNC_PRIMARY}
KUMO_CNF
mariadb --protocol=socket`,
    `SET GLOBAL rpl_semi_sync_master_wait_point = 'AFTER_SYNC';
SET GLOBAL rpl_semi_sync_master_timeout = ${SEMI_SYNC_TIMEOUT_MS};
SET GLOBAL rpl_semi_sync_master_enabled = ON;
`,
  ];
}

/** Run inside the primary when it has no standby any more (Multi-AZ off, or a failover in progress). */
function semiSyncOff(): [string, string] {
  return ['rm -f /etc/mysql/mariadb.conf.d/91-kumo-primary.cnf; mariadb --protocol=socket', 'SET GLOBAL rpl_semi_sync_master_enabled = OFF;\n'];
}

/** The standby's first-boot user data: a replica of `primary`, read-only, semi-sync. */
function standbySetup(db: DbInstanceRecord, standby: DbNode, primaryIp: string): string {
  const password = sqlString(db.ReplicationPassword!);
  return `#!/bin/bash
set -euo pipefail
${mariadbStarted(db, serverIdOf(standby), 'read_only = ON\nrpl_semi_sync_slave_enabled = ON\n')}cat > /root/.kumo-primary.cnf <<'KUMO_CNF'
[client]
host = ${primaryIp}
port = ${db.Port}
user = ${REPLICATION_USER}
password = ${db.ReplicationPassword}
KUMO_CNF
chmod 600 /root/.kumo-primary.cnf
mariadb-dump --defaults-extra-file=/root/.kumo-primary.cnf --all-databases --single-transaction --master-data=1 --gtid --routines --events --triggers > /root/seed.sql
mariadb --protocol=socket < /root/seed.sql
rm -f /root/seed.sql
mariadb --protocol=socket <<'KUMO_SQL'
FLUSH PRIVILEGES;
CHANGE MASTER TO MASTER_HOST='${primaryIp}', MASTER_PORT=${db.Port}, MASTER_USER='${REPLICATION_USER}', MASTER_PASSWORD=${password}, MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
START SLAVE;
KUMO_SQL
for i in $(seq 1 120); do
  running=$(mariadb --protocol=socket -e 'SHOW SLAVE STATUS\\G' | grep -cE '^ *Slave_(IO|SQL)_Running: Yes$' || true)
  [ "$running" = 2 ] && { echo ${READY_MARK}; exit 0; }
  sleep 0.5
done
echo "replication did not start" >&2
exit 1
`;
}

/**
 * Run inside the standby on failover: every transaction it received applied, replication
 * dropped, writable. Semi-sync stays off until its own new standby is ready (semiSyncOn), so no
 * commit waits for a standby that does not exist yet.
 */
function promote(): [string, string] {
  return [
    `mariadb --protocol=socket -e 'STOP SLAVE IO_THREAD'
io=$(mariadb --protocol=socket -e 'SHOW SLAVE STATUS\\G' | sed -n 's/^ *Gtid_IO_Pos: //p')
mariadb --protocol=socket -N -B -e "SELECT MASTER_GTID_WAIT('$io', 30)" > /dev/null
rm -f /etc/mysql/mariadb.conf.d/91-kumo-primary.cnf
sed -i -e '/^read_only/d' -e '/^rpl_semi_sync_slave_enabled/d' /etc/mysql/mariadb.conf.d/90-kumo.cnf
mariadb --protocol=socket`,
    `STOP SLAVE;
RESET SLAVE ALL;
SET GLOBAL read_only = OFF;
SET GLOBAL rpl_semi_sync_slave_enabled = OFF;
SET GLOBAL rpl_semi_sync_master_enabled = OFF;
`,
  ];
}

export const mysqlReplication: Replication = { user: replicationUser, standbySetup, syncOn: semiSyncOn, syncOff: semiSyncOff, promote };
