/**
 * Runs the aws CLI and boto3 scripts against a kumo, with the environment a user would set.
 * Either throws, saying why, when this machine lacks it (./tools.ts decides which one serves).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CREDENTIALS, REGION } from './kumo.js';
import { awsReadsEndpointEnv, missing, pythonWithBoto3 } from './tools.js';

const run = promisify(execFile);

export function awsEnv(url: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: REGION,
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    ...extra,
  };
}

/** The aws CLI's arguments: as given, after --endpoint-url for a CLI too old to read AWS_ENDPOINT_URL. */
export function awsArgs(url: string, args: string[]): string[] {
  return awsReadsEndpointEnv() ? args : ['--endpoint-url', url, ...args];
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function aws(url: string, args: string[], opts: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const why = missing('aws');
  if (why) throw new Error(`aws ${args.join(' ')}: this test ${why}`);
  try {
    const p = run('aws', awsArgs(url, args), { env: awsEnv(url, opts.env), maxBuffer: 64 * 1024 * 1024 });
    if (opts.input !== undefined) p.child.stdin!.end(opts.input);
    const { stdout, stderr } = await p;
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

export async function awsJson<T = Record<string, unknown>>(url: string, args: string[]): Promise<T> {
  const r = await aws(url, [...args, '--output', 'json']);
  if (r.code !== 0) throw new Error(`aws ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return (r.stdout.trim() ? JSON.parse(r.stdout) : {}) as T;
}

/** Runs a boto3 script; it gets the endpoint in KUMO_URL and prints JSON on its last line. */
export async function boto3<T = unknown>(url: string, script: string): Promise<T> {
  const py = pythonWithBoto3();
  if (!py) throw new Error('no python3 with boto3 on this machine (apt-get install python3-boto3)');
  const { stdout } = await run(py, ['-c', script], { env: { ...awsEnv(url), KUMO_URL: url }, maxBuffer: 64 * 1024 * 1024 });
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as T;
}
