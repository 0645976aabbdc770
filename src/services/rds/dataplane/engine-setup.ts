/**
 * A DB node's first boot: the user data that configures and starts its engine in the database
 * image (runtime/images/db-recipe.ts), creates the master user and the first database, and prints
 * READY_MARK on the console once the engine answers with them in place. The engine is enabled in
 * systemd, so every later boot starts it with its data as it was.
 *
 * The master user is what RDS gives: every privilege on the databases, creating users and
 * databases, but not the engine's superuser (MariaDB: no SUPER, FILE or SHUTDOWN; PostgreSQL: not
 * SUPERUSER), which stays with the node's own root over its local socket.
 *
 * Values from the API reach SQL only as escaped string literals or validated identifiers, inside
 * quoted heredocs, so nothing in them is ever shell or SQL syntax.
 */
import type { DbInstanceRecord } from '../store.js';
import { REPLICATION_USER, serverIdOf } from './replication.js';

export const READY_MARK = 'kumo-db-ready';

/** A SQL string literal, for MariaDB (backslashes escape) and PostgreSQL (standard strings). */
const mysqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const pgString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** The privileges RDS's master user has on MySQL: all but the server-wide administrative ones. */
const MYSQL_MASTER_PRIVILEGES = [
  'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'RELOAD', 'PROCESS', 'REFERENCES', 'INDEX', 'ALTER',
  'SHOW DATABASES', 'CREATE TEMPORARY TABLES', 'LOCK TABLES', 'EXECUTE', 'REPLICATION SLAVE', 'REPLICATION CLIENT',
  'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'CREATE USER', 'EVENT', 'TRIGGER',
].join(', ');

/**
 * MariaDB configured for a node and started empty: its settings (`extraConfig` for a standby's
 * read-only replication), no restart and no socket activation behind kumo's back (a dead engine is
 * the node failing: kumo restarts it or fails over), a fresh data directory.
 */
export function mariadbStarted(db: DbInstanceRecord, serverId: number, extraConfig = ''): string {
  return `cat > /etc/mysql/mariadb.conf.d/90-kumo.cnf <<'KUMO_CNF'
[mysqld]
bind-address = 0.0.0.0
port = ${db.Port}
skip-name-resolve
server-id = ${serverId}
log-bin = mysql-bin
binlog_format = ROW
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
max_connections = 150
${extraConfig}KUMO_CNF
mkdir -p /etc/systemd/system/mariadb.service.d
printf '[Service]\\nRestart=no\\n' > /etc/systemd/system/mariadb.service.d/kumo.conf
systemctl mask --now mariadb.socket mariadb-extra.socket > /dev/null 2>&1 || true
systemctl daemon-reload
mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db > /dev/null
systemctl enable --now mariadb.service
`;
}

function mysqlSetup(db: DbInstanceRecord, serverId: number): string {
  const user = `${mysqlString(db.MasterUsername)}@'%'`;
  return `#!/bin/bash
set -euo pipefail
${mariadbStarted(db, serverId)}mariadb --protocol=socket <<'KUMO_SQL'
CREATE USER ${user} IDENTIFIED BY ${mysqlString(db.MasterUserPassword)};
GRANT ${MYSQL_MASTER_PRIVILEGES} ON *.* TO ${user} WITH GRANT OPTION;
${db.DBName ? `CREATE DATABASE \`${db.DBName}\`;` : ''}
FLUSH PRIVILEGES;
KUMO_SQL
echo ${READY_MARK}
`;
}

/**
 * A PostgreSQL cluster configured for a node (its port, password authentication from the VPC,
 * streaming replication for kumo's replication user), not started: its data directory is the
 * fresh one pg_createcluster made, which a standby replaces with the primary's copy.
 */
export function postgresCluster(db: DbInstanceRecord): string {
  return `pg_createcluster 15 main --port ${db.Port} -- --auth-local=peer --auth-host=scram-sha-256 > /dev/null
cat > /etc/postgresql/15/main/conf.d/90-kumo.conf <<'KUMO_CONF'
listen_addresses = '*'
password_encryption = 'scram-sha-256'
max_connections = 150
wal_level = replica
max_wal_senders = 5
wal_keep_size = '512MB'
hot_standby = on
KUMO_CONF
cat >> /etc/postgresql/15/main/pg_hba.conf <<'KUMO_HBA'
host replication ${REPLICATION_USER} 0.0.0.0/0 scram-sha-256
host all all 0.0.0.0/0 scram-sha-256
KUMO_HBA
`;
}

function postgresSetup(db: DbInstanceRecord): string {
  const role = `"${db.MasterUsername}"`;
  return `#!/bin/bash
set -euo pipefail
${postgresCluster(db)}systemctl enable --now postgresql@15-main.service
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<'KUMO_SQL'
CREATE ROLE ${role} LOGIN CREATEDB CREATEROLE PASSWORD ${pgString(db.MasterUserPassword)};
GRANT pg_read_all_data, pg_write_all_data, pg_monitor, pg_signal_backend TO ${role};
${db.DBName ? `CREATE DATABASE "${db.DBName}" OWNER ${role};` : ''}
KUMO_SQL
echo ${READY_MARK}
`;
}

/**
 * The first boot of a node whose disk was restored from a DB snapshot: the engine as the
 * snapshot holds it (data, users, master password), moved to the new instance's port and
 * server id, with no trace of replication (the snapshot may be of a Multi-AZ primary); it
 * recovers like after a power cut, as the snapshot was taken live.
 */
export function restoredSetup(db: DbInstanceRecord): string {
  if (db.Engine === 'mysql') {
    return `#!/bin/bash
set -euo pipefail
systemctl stop mariadb.service
sed -i -e 's/^port = .*/port = ${db.Port}/' -e 's/^server-id = .*/server-id = ${serverIdOf(db)}/' -e '/^read_only/d' -e '/^rpl_semi_sync_slave_enabled/d' /etc/mysql/mariadb.conf.d/90-kumo.cnf
rm -f /etc/mysql/mariadb.conf.d/91-kumo-primary.cnf
systemctl start mariadb.service
mariadb --protocol=socket -e 'STOP SLAVE; RESET SLAVE ALL;' 2> /dev/null || true
mariadb --protocol=socket -e 'SET GLOBAL read_only = OFF;'
echo ${READY_MARK}
`;
  }
  return `#!/bin/bash
set -euo pipefail
systemctl stop postgresql@15-main.service
sed -i -e 's/^port = .*/port = ${db.Port}/' /etc/postgresql/15/main/postgresql.conf
rm -f /var/lib/postgresql/15/main/standby.signal
systemctl start postgresql@15-main.service
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<'KUMO_SQL'
ALTER SYSTEM RESET synchronous_standby_names;
ALTER SYSTEM RESET primary_conninfo;
SELECT pg_reload_conf();
KUMO_SQL
echo ${READY_MARK}
`;
}

/** The node's user data: its engine configured, started and given the master user and first database. */
export function engineSetup(db: DbInstanceRecord): string {
  return db.Engine === 'mysql' ? mysqlSetup(db, serverIdOf(db)) : postgresSetup(db);
}
