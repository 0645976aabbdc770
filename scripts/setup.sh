#!/usr/bin/env bash
# Sets kumo up on a fresh Debian/Ubuntu machine: the build tools better-sqlite3 needs and what the
# native instance runtime needs (when run as root), the npm dependencies, and the compiled sources. Node.js 20 or newer must be present.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1; then
  echo "kumo needs Node.js 20 or newer (https://nodejs.org); install it and run this again" >&2
  exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "kumo needs Node.js 20 or newer; this machine has $(node --version)" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  command -v make >/dev/null 2>&1 || need+=(make)
  command -v g++ >/dev/null 2>&1 || need+=(g++)
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  # Instances that really run (the native runtime): containers, base images, VPC networking.
  command -v systemd-nspawn >/dev/null 2>&1 || need+=(systemd-container)
  command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
  command -v nft >/dev/null 2>&1 || need+=(nftables)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  # Load balancers: one HAProxy per load-balancer node, in the node's network namespace.
  command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
  # kumo's certificate authority (ACM certificates, HTTPS listeners) signs with the openssl tool.
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  # EBS volumes: kumo formats xfs for instances (root inside may not) and grows ext4.
  command -v mkfs.xfs >/dev/null 2>&1 || need+=(xfsprogs)
  command -v resize2fs >/dev/null 2>&1 || need+=(e2fsprogs)
  # Downloads kumo prepares for instances from Debian's packages (WordPress): checked as apt
  # checks them, then unpacked.
  command -v gpgv >/dev/null 2>&1 || need+=(gpgv)
  [ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || need+=(debian-archive-keyring)
  command -v xz >/dev/null 2>&1 || need+=(xz-utils)
  if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  fi
fi

# npm ci compiles better-sqlite3 from source when no prebuilt binary can be fetched (about two
# minutes) and runs `prepare`, which compiles kumo's TypeScript into dist/.
npm ci --no-audit --no-fund
echo "kumo is set up: start it with 'npx kumo start' (or 'node bin/kumo.js start')"
