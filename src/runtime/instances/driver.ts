/**
 * The one interface EC2 talks to, whatever runs an instance (DESIGN.md, "Data plane"): the native
 * driver (systemd-nspawn containers booting systemd, native.ts) where the host allows it, a
 * process driver elsewhere. The EC2 provider records desired state; a supervisor calls these to
 * make the host match it and reads `status` back, so every call is idempotent in effect and
 * `status` reports what is observed on the host, not what was last asked for.
 */

import type { Resources } from './cgroups.js';
import type { ListedDevice } from './devices.js';

export type { Resources } from './cgroups.js';

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
  /** A secret only root in the instance can read, proving a request to kumo comes from it (mounting a volume). */
  hostToken?: string;
  /** CA certificates (PEM) the instance trusts besides the image's (kumo's own: AWS's endpoints inside VPCs). */
  trustedCertificates?: string[];
  /**
   * Network namespace (a name under /run/netns) to run in, created and wired by the caller (the
   * VPC fabric). None: the driver gives the instance a namespace of its own with loopback only.
   */
  netns?: string;
  /** The instance type's memory and vCPUs, enforced on everything the instance runs. */
  resources?: Resources;
  /**
   * The root volume: a directory (runtime/volumes.ts) whose upper/ goes over the image. The
   * owner keeps it across terminate; without one the driver keeps it in the container's own dir.
   */
  volume?: string;
  /** Devices listed in the instance's /sys/block from its first moment (its root volume, for lsblk). */
  blockDevices?: ListedDevice[];
}

/** What `start` is told besides the instance's id (`launch` takes the same from its spec). */
export interface StartOptions {
  netns?: string;
  resources?: Resources;
  blockDevices?: ListedDevice[];
}

/** How a container ended when nobody asked it to: its OS powered off, rebooted, or it died. */
export type ExitKind = 'poweroff' | 'reboot' | 'crash';

/** Observed on the host: running = the container's init is alive. */
export type InstanceStatus = 'running' | 'stopped' | 'terminated';

export interface InstanceDriver {
  readonly kind: 'native' | 'process';
  /**
   * Creates the instance's root volume and boots it. `beforeStart`, if given, is awaited once the
   * root is ready and before anything of the instance runs (its owner lines up launches with it).
   */
  launch(spec: LaunchSpec, beforeStart?: () => Promise<void>): Promise<void>;
  /** Clean shutdown within the deadline, then a hard kill; the root volume is kept. */
  stop(id: string, deadlineMs?: number): Promise<void>;
  /** Boots a stopped instance from its existing root volume (in `netns`, as for launch). */
  start(id: string, opts?: StartOptions): Promise<void>;
  /** Stops it and deletes its directory (and its root volume, unless the owner gave one: that stays the owner's). */
  terminate(id: string, deadlineMs?: number): Promise<void>;
  status(id: string): InstanceStatus;
  /** Everything the instance printed on its console since launch (boot log, user data output). */
  consoleOutput(id: string): string;
  /** Instances with a root volume on this host (running or stopped). */
  list(): string[];
  /** Whether a running instance answers: `impaired` when its init is hung or gone, `initializing` until it has booted. */
  health?(id: string): Promise<'ok' | 'impaired' | 'initializing'>;
  /**
   * After kumo restarted: takes over the instances still running on this host (a crashed kumo's
   * containers keep running) and clears what those that died meanwhile left. Returns the running ones.
   */
  adopt?(): Promise<string[]>;
  /**
   * Makes a host block device (a volume's loop device) appear in the running instance as
   * /dev/<name> (xvdf, …), owned by the instance's root, who may format it; mounting it is
   * `mountDevice`'s job, since root in the instance's user namespace cannot mount a block device.
   */
  exposeDevice?(id: string, hostDevice: string, name: string): Promise<void>;
  /**
   * Runs a shell script as root inside the running container (all its namespaces), `input` on its
   * stdin (secrets go there, never on a command line); its stdout. For the owner's own
   * administration of what runs inside (a database node's engine), never for user requests.
   */
  runInside?(id: string, script: string, input?: string): Promise<string>;
  /** Unmounts whatever the instance mounted from /dev/<name> and removes the node (giving `hostDevice` back to the host). */
  hideDevice?(id: string, name: string, hostDevice?: string): Promise<void>;
  /** Mounts /dev/<name>'s filesystem at `target` inside the running instance (what its root's `mount` asks kumo for). */
  mountDevice?(id: string, hostDevice: string, name: string, type: string, options: string[], target: string): Promise<void>;
  /** Kills and unmounts whatever a crashed earlier run left of instances on this host. */
  reclaimLeftovers?(): Promise<void>;
  /** Every instance is stopped and kumo is leaving: remove what the driver shares between instances. */
  close?(): Promise<void>;
}
