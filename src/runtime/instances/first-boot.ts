/**
 * First-boot user data, the way cloud-init runs it on EC2: once, as root, late in the first boot,
 * with its output on the console (so GetConsoleOutput shows it). Written into the instance's
 * upper layer before its first boot: the script, a wrapper, and a oneshot unit enabled for
 * multi-user.target. The wrapper drops `user-data.started` before running the script and the unit
 * is conditioned on its absence, so a reboot never runs user data again, even after a failure or
 * a crash mid-script; `user-data.done` holds the exit status once it finished.
 */
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const USER_DATA_DIR = 'var/lib/cloud';
export const STARTED_MARKER = `${USER_DATA_DIR}/user-data.started`;
export const DONE_MARKER = `${USER_DATA_DIR}/user-data.done`;
const UNIT = 'kumo-user-data.service';

const WRAPPER = `#!/bin/sh
# kumo: runs /var/lib/cloud/user-data once, at first boot (see ${UNIT}).
touch /${STARTED_MARKER}
/${USER_DATA_DIR}/user-data
rc=$?
echo "kumo: user data exited with status $rc"
echo $rc > /${DONE_MARKER}
# A failing script leaves the instance running, as on EC2; the console says why.
exit 0
`;

const UNIT_TEXT = `[Unit]
Description=kumo: run user data (first boot only)
After=network.target
ConditionPathExists=!/${STARTED_MARKER}

[Service]
Type=oneshot
ExecStart=/bin/sh /${USER_DATA_DIR}/run-user-data
RemainAfterExit=yes
TimeoutStartSec=0
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

/** `root` is the instance's mounted root (writes land in its upper layer). */
export function installUserData(root: string, userData: string | Buffer): void {
  const dir = join(root, USER_DATA_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, 'user-data'), userData, { mode: 0o700 });
  writeFileSync(join(dir, 'run-user-data'), WRAPPER, { mode: 0o700 });
  chmodSync(join(dir, 'user-data'), 0o700);
  const units = join(root, 'etc/systemd/system');
  writeFileSync(join(units, UNIT), UNIT_TEXT);
  mkdirSync(join(units, 'multi-user.target.wants'), { recursive: true });
  symlinkSync(`/etc/systemd/system/${UNIT}`, join(units, 'multi-user.target.wants', UNIT));
}
