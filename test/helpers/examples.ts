/**
 * Running the scripts of examples/scalable-website as a user does: bash, the aws CLI (pointed at
 * kumo by KUMO_URL, no profile of the machine's), their --timed mode; the output is kept whole so
 * a test can look for the checks the script printed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const EXAMPLES = join(import.meta.dirname, '../../examples/scalable-website');

export function runExample(script: string, kumoUrl: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, KUMO_URL: kumoUrl, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
    const child = spawn('bash', [join(EXAMPLES, script), '--timed'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** The lines worth a diagnostic: steps, checks, failures and times. */
export const summary = (output: string) => output.split('\n').filter((l) => /^==|ok:|FAILED|total| s {2}/.test(l)).join('\n');
