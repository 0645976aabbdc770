/**
 * The database image: what RDS's DB instances boot (services/rds/dataplane). Debian 12 with
 * MariaDB 10.11 (serving the `mysql` engine) and PostgreSQL 15 (the `postgres` engine), both
 * installed and neither configured: a node's first boot configures and starts the one engine it
 * serves (services/rds/dataplane/engine-setup.ts), so no default database, user or cluster exists
 * before kumo makes it with the instance's settings.
 */
import { MASKED_UNITS } from './recipe.js';

export const DB_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'iproute2', 'ca-certificates', 'procps', 'python3',
  'mariadb-server', 'mariadb-client', 'postgresql-15', 'postgresql-client-15',
];

export const DB_CUSTOMIZE_SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
echo "customize: engines stay off until a node's first boot configures one"
for u in mariadb.service postgresql.service; do systemctl disable $u 2>/dev/null || true; done
pg_dropcluster 15 main 2>/dev/null || true
rm -rf /var/lib/mysql/* /var/lib/postgresql/15/main
for u in ${MASKED_UNITS.join(' ')}; do ln -sf /dev/null /etc/systemd/system/$u; done
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\\nStorage=volatile\\nRuntimeMaxUse=8M\\n' > /etc/systemd/journald.conf.d/kumo.conf
apt-get clean
rm -rf /var/lib/apt/lists/*
`;
