/**
 * Running the scripts of examples/scalable-website as a user does: bash, the aws CLI (pointed at
 * kumo by KUMO_URL, no profile of the machine's), their --timed mode; the output is kept whole so
 * a test can look for the checks the script printed.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { nativeSkipReason } from '../runtime/support.js';
import { startKumoForTest, TEST_PUBLIC_IP_POOL, type TestKumo } from './kumo.js';
import { missing } from './tools.js';

export const EXAMPLES = join(import.meta.dirname, '../../examples/scalable-website');

/**
 * One fresh kumo for a test file that runs a script, started before its tests and stopped after;
 * `skip` says why the machine cannot run the scripts (no root, no nspawn, no aws CLI, curl or ssh).
 */
export function exampleKumo(): { skip: string | false; kumo: () => TestKumo } {
  const skip = nativeSkipReason() || missing('aws', 'curl', 'ssh-keygen');
  let kumo: TestKumo | undefined;
  before(async () => {
    if (!skip) kumo = await startKumoForTest({ elasticIpPool: TEST_PUBLIC_IP_POOL });
  });
  after(async () => {
    await kumo?.stop();
  });
  return { skip, kumo: () => kumo! };
}

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
