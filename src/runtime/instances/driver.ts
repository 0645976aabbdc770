/**
 * The one interface EC2 talks to, whatever runs an instance (DESIGN.md, "Data plane"): the native
 * driver (systemd-nspawn containers booting systemd, native.ts) where the host allows it, a
 * process driver elsewhere. The EC2 provider records desired state; a supervisor calls these to
 * make the host match it and reads `status` back, so every call is idempotent in effect and
 * `status` reports what is observed on the host, not what was last asked for.
 */

/** Where an instance plugs into the network: a veth whose peer lives in a namespace the caller owns. */
export interface NetworkAttachment {
  /** Namespace (under /run/netns) that gets the peer end, e.g. a VPC's router namespace. */
  routerNs: string;
  /** The instance's address with prefix, on its eth0, e.g. 10.0.1.5/24. */
  address: string;
  /** Address with prefix given to the peer end in routerNs and used as default route, e.g. 10.0.1.1/24. */
  gateway: string;
}

export interface LaunchSpec {
  /** EC2 instance id (i-…); names the instance's dirs and namespace. */
  id: string;
  /** Read-only root filesystem of the image (runtime/images). */
  imageRootfs: string;
  hostname?: string;
  /** /etc/resolv.conf's servers (the VPC's base+2); none means lookups fail fast on loopback. */
  nameservers?: string[];
  /** Run once as root at first boot, as cloud-init does: `#!` script, `#cloud-config`, MIME multipart, gzip. */
  userData?: string | Buffer;
  /** The image's login user (ec2-user, admin, ubuntu), created with passwordless sudo; default admin. */
  defaultUser?: string;
  /** OpenSSH public key lines for the default user's authorized_keys (the launch key pair). */
  publicKeys?: string[];
  network?: NetworkAttachment;
}

/** Observed on the host: running = the container's init is alive. */
export type InstanceStatus = 'running' | 'stopped' | 'terminated';

export interface InstanceDriver {
  readonly kind: 'native' | 'process';
  /** Creates the instance's root volume and boots it. */
  launch(spec: LaunchSpec): Promise<void>;
  /** Clean shutdown within the deadline, then a hard kill; the root volume is kept. */
  stop(id: string, deadlineMs?: number): Promise<void>;
  /** Boots a stopped instance from its existing root volume. */
  start(id: string): Promise<void>;
  /** Stops it and deletes its root volume; nothing of it stays on the host. */
  terminate(id: string, deadlineMs?: number): Promise<void>;
  status(id: string): InstanceStatus;
  /** Everything the instance printed on its console since launch (boot log, user data output). */
  consoleOutput(id: string): string;
}
