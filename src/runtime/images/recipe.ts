/**
 * What goes into the Debian base image beyond debootstrap: the shell script run once inside the
 * fresh rootfs (chroot) and the files it writes. Everything here is part of the image's recipe,
 * so builder.ts hashes it into the image's directory name: change a line and the next
 * ensureImage builds a new image instead of reusing a cache built from an older recipe.
 *
 * Packages: the image's apt sources are Debian's own (deb.debian.org: bookworm, -updates,
 * -security), reached through kumo's caching package proxy (runtime/outside: apt's
 * Acquire::http::Proxy is OUTSIDE_ADDRESS, which every VPC router leads to kumo), so any Debian
 * package installs and the second instance asking for one downloads nothing. The lists of those
 * sources are baked in at build time, so `apt-get install` works before any `apt-get update`.
 *
 * A local repository stays in front of them, /var/lib/kumo/apt: the web servers' .debs (with
 * every dependency the base lacks), downloaded at build time. It is a warm start, not the only
 * source: what user data installs most (apache2, php, nginx, the MariaDB client) comes from disk
 * without any request at all, and works where there is no network (the driver tests boot the
 * image with none). apt takes a package from there whenever it has the version Debian has.
 *
 * For Amazon Linux user data, small compatibility shims (they are not yum): yum/dnf map Amazon
 * Linux package names to Debian ones (YUM_NAMES) and call apt-get, amazon-linux-extras installs
 * what its topics name, chkconfig calls systemctl, httpd.service is bound to apache2, and the
 * apache user and group are www-data under another name.
 */
import { OUTSIDE_ADDRESS } from '../network/names.js';
import { IMAGE_ARCHIVES } from '../outside/apt-sources.js';

/** The Debian release the images run (and whose packages kumo's downloads are made of). */
export const DEBIAN_SUITE = 'bookworm';

/** Packages on top of minbase, installed by debootstrap. */
export const BASE_PACKAGES = [
  // systemd to boot, dbus for systemctl, iproute2 for the network
  'systemd', 'systemd-sysv', 'dbus', 'iproute2', 'ca-certificates',
  // what user data and logins expect
  'python3', 'python3-yaml', 'curl', 'wget', 'openssh-server', 'sudo', 'procps', 'less',
  // formatting EBS volumes as AWS's guides do (mkfs -t xfs /dev/xvdf); e2fsprogs is in the base
  'xfsprogs',
];

/**
 * Installed by apt after debootstrap (debootstrap's own resolver cannot configure them): the AWS
 * CLI (Debian's is v2, as Amazon Linux 2023 ships it), so `aws s3 sync` inside an instance reaches kumo's endpoints by
 * their real names (edge/vpc-endpoints.ts).
 */
export const INSTALLED_PACKAGES = ['awscli'];

/** Downloaded into the image's local apt repository (with their dependencies), not installed. */
export const REPO_PACKAGES = [
  'apache2', 'nginx', 'php', 'libapache2-mod-php', 'php-mysql', 'php-fpm', 'mariadb-client', 'unzip', 'git',
  // What WordPress guides install next to php (SCENARIO.md's user data: php-mbstring php-xml).
  'php-mbstring', 'php-xml', 'php-gd', 'php-curl', 'php-zip', 'php-intl',
];

export const LOCAL_REPO = '/var/lib/kumo/apt';

/** Debian's own sources (apt-sources.ts's IMAGE_ARCHIVES: kumo maps them to the host's mirror). */
const DEBIAN_SOURCES = `deb ${IMAGE_ARCHIVES.main} ${DEBIAN_SUITE} main
deb ${IMAGE_ARCHIVES.main} ${DEBIAN_SUITE}-updates main
deb ${IMAGE_ARCHIVES.security} ${DEBIAN_SUITE}-security main
`;

/** The image's apt sources: its own repository, then Debian's through kumo's proxy. */
const SOURCES_LIST = `# kumo: the image's own packages first (a warm start that needs no network), then Debian's,
# through kumo's package proxy (/etc/apt/apt.conf.d/90kumo-proxy).
deb [trusted=yes] file:${LOCAL_REPO} ./
${DEBIAN_SOURCES}`;

const APT_PROXY = `// kumo: instances reach Debian's archive through kumo's caching proxy at ${OUTSIDE_ADDRESS} (the
// VPC router takes it to kumo); it answers nothing but the package registry.
Acquire::http::Proxy "http://${OUTSIDE_ADDRESS}/";
`;

/** When yum's shim last refreshed apt's lists: older than an hour (or none), an install refreshes them first, as yum's metadata expiry does. */
const YUM_STAMP = '/var/lib/kumo/yum-refreshed';

/**
 * Amazon Linux names → Debian names for the shim (and for cloud-config `packages`). Names not
 * listed pass through unchanged; `-` drops a package Debian does not split out.
 */
export const YUM_NAMES: Record<string, string> = {
  // Amazon Linux PHP setups for WordPress get mysqli one way or another (amazon-linux-extras'
  // php topics install php-mysqlnd); Debian splits it out, so php brings it along here.
  php: 'php php-mysql',
  httpd: 'apache2', 'httpd-tools': 'apache2-utils', mod_ssl: '-', 'mod_php': 'libapache2-mod-php',
  'php-mysqlnd': 'php-mysql', 'php-mysqli': 'php-mysql', 'php-cli': 'php-cli', 'php-fpm': 'php-fpm',
  // Built into Debian's php8.2 (json) or of no use without a compiler (devel).
  'php-json': '-', 'php-devel': '-', 'php-pdo': '-',
  mysql: 'mariadb-client', mariadb: 'mariadb-client', mariadb105: 'mariadb-client', 'mariadb1011-client-utils': 'mariadb-client',
};

const YUM_SHIM = `#!/bin/sh
# kumo's yum/dnf compatibility shim -- NOT yum. kumo's Amazon Linux images are Debian underneath;
# this maps the usual Amazon Linux package names to Debian ones and runs apt-get (Debian's
# archive through kumo's package proxy), so user data written for Amazon Linux
# (yum -y install httpd) still works. 'update' refreshes the package lists (it does not upgrade
# the system). Subcommands it does not know succeed doing nothing.
export DEBIAN_FRONTEND=noninteractive
refresh() { apt-get update -q >/dev/null && touch ${YUM_STAMP}; }
map() {
  case "$1" in
${Object.entries(YUM_NAMES).map(([k, v]) => `    ${k}) [ "${v}" = - ] || echo ${v} ;;`).join('\n')}
    *) echo "$1" ;;
  esac
}
cmd=""; pkgs=""
for a in "$@"; do
  case "$a" in
    -*) ;;
    *) if [ -z "$cmd" ]; then cmd="$a"; else pkgs="$pkgs $(map "$a")"; fi ;;
  esac
done
case "$cmd" in
  install|groupinstall|reinstall) [ -n "$(find ${YUM_STAMP} -mmin -60 2>/dev/null)" ] || refresh || true ;;
esac
# Packages Amazon Linux has but Debian lacks are skipped with a warning rather than failing the
# whole install (real yum would fail: the gap is kumo's, not the user's).
available=""
for p in $pkgs; do
  if apt-cache show "$p" >/dev/null 2>&1; then available="$available $p"; else echo "kumo yum shim: no package $p in Debian; skipped" >&2; fi
done
case "$cmd" in
  install|groupinstall|reinstall)
    [ -n "$available" ] || exit 0
    # yum installs, it never starts: services start at the user's systemctl start, with every
    # module installed by then (Debian would start apache2 before php-mbstring arrives). A
    # policy-rc.d refusing starts does that for the length of this install.
    if [ -z "$KUMO_START_SERVICES" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
      trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y $available || exit $?
    # Amazon Linux's httpd starts with an empty document root; Debian's apache2 drops its own
    # index.html there, which would shadow an index.php copied in afterwards (WordPress).
    if cmp -s /var/www/html/index.html /usr/share/apache2/default-site/index.html; then rm -f /var/www/html/index.html; fi ;;
  remove|erase) apt-get remove -y $pkgs ;;
  update|upgrade) [ -n "$pkgs" ] && exit 0; refresh ;;
  makecache|clean) exit 0 ;;
  list|info) [ -n "$pkgs" ] && apt-cache policy $pkgs || apt list --installed 2>/dev/null ;;
  *) echo "kumo yum shim: '$cmd' ignored" >&2; exit 0 ;;
esac
`;

/** amazon-linux-extras (Amazon Linux 2) in the same spirit: `install -y php7.4` installs php. */
const EXTRAS_SHIM = `#!/bin/sh
# kumo compatibility shim for Amazon Linux 2's amazon-linux-extras (see /usr/local/bin/yum).
[ "$1" = install ] || exit 0
shift; pkgs=""
for a in "$@"; do case "$a" in -*) ;; php*) pkgs="$pkgs php php-mysql" ;; mariadb*|lamp-mariadb*) pkgs="$pkgs mariadb-client php-mysql" ;; nginx*) pkgs="$pkgs nginx" ;; *) ;; esac; done
[ -z "$pkgs" ] || exec /usr/local/bin/yum install -y $pkgs
`;

/**
 * `cloud-init status --wait`, which provisioning scripts (Terraform remote-exec, Ansible) run to
 * wait for user data; the rest of cloud-init's CLI is not there. kumo's runner: first-boot.ts.
 */
const CLOUD_INIT_SHIM = `#!/bin/sh
# kumo stand-in for cloud-init's CLI: only 'status [--wait] [--long]'. User data is run by
# kumo-user-data.service; /var/lib/cloud/user-data.done holds its exit status once it finished.
UNIT=/etc/systemd/system/multi-user.target.wants/kumo-user-data.service
DONE=/var/lib/cloud/user-data.done
[ "$1" = status ] || { echo "kumo: only 'cloud-init status' is available" >&2; exit 2; }
case " $* " in *" --wait "*|*" -w "*) while [ -e $UNIT ] && [ ! -e $DONE ]; do sleep 0.5; done ;; esac
if [ -e $UNIT ] && [ ! -e $DONE ]; then echo "status: running"; exit 0; fi
if [ -e $DONE ] && [ "$(cat $DONE)" != 0 ]; then echo "status: error"; exit 1; fi
echo "status: done"
`;

/** Where the instance's secret for asking kumo to act for it lives (root only): devices.ts, first boot. */
export const HOST_TOKEN_FILE = '/var/lib/kumo/host-token';

/**
 * mount(8)'s helper for the filesystems a volume may hold (/sbin/mount.<type>): root in an
 * instance's user namespace cannot mount a block device, so the helper asks kumo (through the
 * metadata address, proving it is root with the instance's token) to mount it from the host;
 * kumo mounts it and binds it where asked. mount(8) calls it as
 * `mount.<type> <device> <dir> [-sfnv] [-o options] [-t type]`.
 */
const MOUNT_HELPER = `#!/bin/sh
# kumo: mounts an attached EBS volume's filesystem for this instance (see README, "Volumes").
type=\${0##*/mount.}
dev=$1; dir=$2; shift 2; opts=
while [ $# -gt 0 ]; do
  case "$1" in
    -o) opts=$2; shift 2 ;;
    -t) type=\${2%%.*}; shift 2 ;;
    *) shift ;;
  esac
done
[ -r ${HOST_TOKEN_FILE} ] || { echo "mount: only root can mount \$dev here" >&2; exit 1; }
dir=$(cd "$dir" 2>/dev/null && pwd -P || echo "$dir")
out=$(curl -sS -m 60 -X POST -H "X-Kumo-Token: $(cat ${HOST_TOKEN_FILE})" \
  --data-urlencode "device=$(readlink -f "$dev")" --data-urlencode "target=$dir" \
  --data-urlencode "type=$type" --data-urlencode "options=$opts" \
  -w '\n%{http_code}' http://169.254.169.254/kumo/mount 2>&1)
code=\${out##*
}
[ "$code" = 200 ] && exit 0
echo "mount: \${out%
*}" >&2
exit 32
`;

/**
 * mkfs.xfs sets the device's block size (BLKBSZSET), which only the host's root may do: on a
 * device kumo attached, kumo makes the filesystem (POST /kumo/mkfs); anywhere else (a file, or
 * a caller who is not root) the real mkfs.xfs runs, diverted to mkfs.xfs.distrib.
 */
const MKFS_XFS_HELPER = `#!/bin/sh
# kumo: formats an attached EBS volume or instance-store disk as xfs (see README, "Volumes").
for dev; do :; done
if [ -b "$dev" ] && [ -r ${HOST_TOKEN_FILE} ]; then
  args=; n=$#; i=1
  for a; do [ $i -lt $n ] && args="$args$a
"; i=$((i + 1)); done
  out=$(curl -sS -m 300 -X POST -H "X-Kumo-Token: $(cat ${HOST_TOKEN_FILE})" \\
    --data-urlencode "device=$(readlink -f "$dev")" --data-urlencode "type=xfs" --data-urlencode "args=$args" \\
    -w '\n%{http_code}' http://169.254.169.254/kumo/mkfs 2>&1)
  code=\${out##*
}
  body=\${out%
*}
  [ "$code" = 200 ] && { [ -n "$body" ] && echo "$body"; exit 0; }
  echo "mkfs.xfs: $body" >&2
  exit 1
fi
exec /usr/sbin/mkfs.xfs.distrib "$@"
`;

/** chkconfig (Amazon Linux 1 and 2 guides: `chkconfig httpd on`) as systemctl enable/disable. */
const CHKCONFIG_SHIM = `#!/bin/sh
# kumo compatibility shim for chkconfig (see /usr/local/bin/yum): NAME on|off -> systemctl enable|disable.
case "$2" in
  on) exec systemctl enable "$1" ;;
  off) exec systemctl disable "$1" ;;
  *) exec systemctl list-unit-files --type=service ;;
esac
`;

/**
 * `systemctl start|enable|restart httpd` on Amazon Linux: a unit of its own (systemd refuses to
 * enable an alias that is a symlink to another package's unit) bound to apache2.
 */
const HTTPD_UNIT = `[Unit]
Description=httpd: kumo's Amazon Linux name for apache2
BindsTo=apache2.service
After=apache2.service
PropagatesReloadTo=apache2.service
PropagatesStopTo=apache2.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true

[Install]
WantedBy=multi-user.target
`;

/**
 * Host keys are per instance: generated at first boot. ed25519 and ECDSA take milliseconds and
 * come before sshd; RSA takes a third of a CPU second (20 instances booting at once on two cores
 * spent seconds on it), so it comes after, at idle priority, and sshd reloads to pick it up.
 */
const SSH_KEYGEN_UNIT = `[Unit]
Description=kumo: generate this instance's SSH host keys (ed25519, ECDSA)
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key
RemainAfterExit=yes
`;

const SSH_KEYGEN_RSA_UNIT = `[Unit]
Description=kumo: generate this instance's RSA SSH host key (idle priority)
After=ssh.service
# Not part of reaching multi-user.target (a target waits for the units it wants unless they opt out).
DefaultDependencies=no
Conflicts=shutdown.target
Before=shutdown.target
ConditionPathExists=!/etc/ssh/ssh_host_rsa_key

[Service]
Type=oneshot
Nice=19
CPUSchedulingPolicy=idle
ExecStart=/usr/bin/ssh-keygen -q -t rsa -b 3072 -N "" -f /etc/ssh/ssh_host_rsa_key
ExecStartPost=-/bin/systemctl reload ssh.service

[Install]
WantedBy=multi-user.target
`;

/**
 * Units with nothing to do in a container (no disks to scrub or trim, no hardware, no unattended
 * package upgrades: an instance changes when its user asks): masked, for boot time and idle memory.
 */
export const MASKED_UNITS = [
  'apt-daily.timer', 'apt-daily-upgrade.timer', 'dpkg-db-backup.timer', 'e2scrub_all.timer', 'e2scrub_reap.service',
  'fstrim.timer', 'systemd-pstore.service', 'getty@tty1.service', 'systemd-tmpfiles-clean.timer',
  // The console is read-only (GetConsoleOutput): a login prompt on it could never be used.
  'console-getty.service',
];

const heredoc = (path: string, text: string, mode = '644') =>
  `mkdir -p "$(dirname ${path})"\ncat > ${path} <<'KUMO_EOF'\n${text}KUMO_EOF\nchmod ${mode} ${path}\n`;

/**
 * Runs inside the new rootfs (chroot) with the build host's resolv.conf, so apt can download
 * (straight from Debian: the proxy is for instances). `--download-only` fetches exactly what the
 * base lacks, which is what an instance (the same base) needs to install those packages offline,
 * in the versions apt will want (updates and security included) while the lists baked in are
 * current.
 */
export const CUSTOMIZE_SCRIPT = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
echo 'Acquire::Languages "none";' > /etc/apt/apt.conf.d/99kumo-no-translations
${heredoc('/etc/apt/sources.list', DEBIAN_SOURCES)}
apt-get update -q
echo "customize: installing ${INSTALLED_PACKAGES.join(' ')}"
apt-get install -y -q --no-install-recommends ${INSTALLED_PACKAGES.join(' ')}
# Debian's awscli (v2) carries botocore's own CA bundle; it reads the system's instead, as Debian
# points certifi there, so the CAs an instance trusts (kumo's among them) are the CLI's too.
for b in /usr/lib/python3/dist-packages/awscli/botocore/cacert.pem; do [ -e "$b" ] && ln -sf /etc/ssl/certs/ca-certificates.crt "$b"; done
echo "customize: downloading ${REPO_PACKAGES.join(' ')} into ${LOCAL_REPO}"
mkdir -p ${LOCAL_REPO}/partial
apt-get install -y -q --download-only -o Dir::Cache::archives=${LOCAL_REPO} ${REPO_PACKAGES.join(' ')}
rm -rf ${LOCAL_REPO}/partial ${LOCAL_REPO}/lock
cd ${LOCAL_REPO}
echo "customize: indexing $(ls *.deb | wc -l) packages"
for f in *.deb; do
  dpkg-deb -f "$f"
  echo "Filename: ./$f"
  echo "Size: $(stat -c %s "$f")"
  echo "SHA256: $(sha256sum "$f" | cut -d' ' -f1)"
  echo
done > Packages
gzip -9k Packages
cd /
${heredoc('/etc/apt/sources.list', SOURCES_LIST)}
apt-get update -q
apt-get clean
${heredoc('/etc/apt/apt.conf.d/90kumo-proxy', APT_PROXY)}
echo "customize: users, ssh, shims, units"
# cloud-init's sudo rule for default users lives in sudoers.d; sudo must read it.
grep -q '^@includedir /etc/sudoers.d' /etc/sudoers || echo '@includedir /etc/sudoers.d' >> /etc/sudoers
# Amazon Linux's web server users, as aliases of Debian's www-data (same uid), so that
# \`chown -R apache:apache /var/www/html\` in user data does what it does there.
for u in apache nginx; do
  groupadd -o -g 33 $u
  useradd -o -u 33 -g 33 -M -d /var/www -s /usr/sbin/nologin -c "$u, alias of www-data (kumo)" $u
done
rm -f /etc/ssh/ssh_host_*
${heredoc('/etc/systemd/system/kumo-ssh-keygen.service', SSH_KEYGEN_UNIT)}
mkdir -p /etc/systemd/system/ssh.service.requires
ln -sf /etc/systemd/system/kumo-ssh-keygen.service /etc/systemd/system/ssh.service.requires/kumo-ssh-keygen.service
${heredoc('/etc/systemd/system/kumo-ssh-keygen-rsa.service', SSH_KEYGEN_RSA_UNIT)}
ln -sf /etc/systemd/system/kumo-ssh-keygen-rsa.service /etc/systemd/system/multi-user.target.wants/kumo-ssh-keygen-rsa.service
${heredoc('/usr/local/bin/yum', YUM_SHIM, '755')}
ln -sf yum /usr/local/bin/dnf
${heredoc('/usr/local/bin/amazon-linux-extras', EXTRAS_SHIM, '755')}
${heredoc('/usr/local/sbin/chkconfig', CHKCONFIG_SHIM, '755')}
${heredoc('/usr/local/bin/cloud-init', CLOUD_INIT_SHIM, '755')}
${heredoc('/usr/local/sbin/kumo-mount', MOUNT_HELPER, '755')}
for t in ext2 ext3 ext4 xfs btrfs; do ln -sf /usr/local/sbin/kumo-mount /sbin/mount.$t; done
dpkg-divert --local --rename --divert /usr/sbin/mkfs.xfs.distrib --add /usr/sbin/mkfs.xfs
${heredoc('/usr/sbin/mkfs.xfs', MKFS_XFS_HELPER, '755')}
${heredoc('/etc/systemd/system/httpd.service', HTTPD_UNIT)}
for u in ${MASKED_UNITS.join(' ')}; do ln -sf /dev/null /etc/systemd/system/$u; done
rm -f /etc/systemd/system/*.wants/e2scrub_reap.service /etc/systemd/system/getty.target.wants/getty@tty1.service
# Package installs in user data: no fsync per file (an instance's disk is a directory on the
# host; a crash mid-install is a broken instance either way).
echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/kumo-unsafe-io
# Journal in memory only: an instance's log is its console (GetConsoleOutput), and no disk writes.
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\\nStorage=volatile\\nRuntimeMaxUse=8M\\n' > /etc/systemd/journald.conf.d/kumo.conf
`;
