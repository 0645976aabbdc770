/**
 * Process liveness, for lock files and pid files that must tell a live holder from a dead one
 * whose pid was handed to some other process since.
 */
import { readFileSync } from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), undefined once
 * it is gone or where there is no /proc: a pid plus its start time names one process, never a
 * later one that got the pid.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    // The command name (field 2) may contain spaces, so count from its closing paren.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
