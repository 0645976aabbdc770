/**
 * EBS device names, as AWS takes them for Linux instances: `/dev/sd[b-z]`, `/dev/xvd[b-z]` and
 * `/dev/xvd[b-c][a-z]` (the recommended `/dev/sd[f-p]` among them), with or without `/dev/`.
 * Inside the instance a volume appears as AWS's Xen instances show it: `/dev/sdf` as `/dev/xvdf`.
 * So `/dev/sdf` and `/dev/xvdf` name the same place, and one attachment there excludes the other.
 */

const EBS_DEVICE = /^(?:\/dev\/)?(?:sd([b-z])|xvd([b-z]|[b-c][a-z]))$/;

/** The name the device has inside the instance (`xvdf`), or undefined for a name AWS refuses. */
export function insideName(device: string): string | undefined {
  const m = EBS_DEVICE.exec(device);
  if (!m) return undefined;
  return `xvd${m[1] ?? m[2]}`;
}

/** The root device's place inside (`/dev/xvda`, `/dev/sda1` → `xvda`). */
export function rootInsideName(device: string): string {
  const m = /^(?:\/dev\/)?(?:sd|xvd)([a-z]+)\d*$/.exec(device);
  return m ? `xvd${m[1]}` : device;
}
