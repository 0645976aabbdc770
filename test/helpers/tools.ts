/**
 * The clients and host tools tests drive kumo with besides the JavaScript SDK. A test that needs
 * one it cannot find skips, saying which and how to install it; with KUMO_REQUIRE_CLIENTS=1 (set
 * by `.ci/run`, which installs them all) it fails instead, so CI never passes by skipping half a
 * test. Use it as a test's option, `test(name, { skip: missing('boto3') }, ...)`, or inside one,
 * `const why = missing('curl'); if (why) return t.skip(why);`.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const INSTALL = {
  aws: 'the aws CLI (apt-get install awscli)',
  boto3: 'a python3 with boto3 (apt-get install python3-boto3)',
  curl: 'curl (apt-get install curl)',
  'ssh-keygen': 'ssh-keygen (apt-get install openssh-client)',
  python3: 'python3 (apt-get install python3)',
  setpriv: 'setpriv (apt-get install util-linux)',
} as const;

export type Tool = keyof typeof INSTALL;

/** Whether an executable of this name is on PATH. */
export function onPath(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      // not in this one
    }
  }
  return false;
}

let python: string | undefined;
/** A python3 that can import boto3 (pyenv's or Debian's), or undefined. */
export function pythonWithBoto3(): string | undefined {
  if (python !== undefined) return python || undefined;
  python = '';
  for (const candidate of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(candidate, ['-c', 'import boto3'], { stdio: 'ignore' });
      python = candidate;
      break;
    } catch {
      // try the next one
    }
  }
  return python || undefined;
}

let awsVersion: string | null | undefined;
/** `aws --version`'s first word (`aws-cli/1.45.11`), or null when there is no aws CLI. */
function awsCliVersion(): string | null {
  if (awsVersion !== undefined) return awsVersion;
  try {
    awsVersion = execFileSync('aws', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split(' ')[0]!;
  } catch {
    awsVersion = null;
  }
  return awsVersion;
}

/**
 * Whether the aws CLI points itself at AWS_ENDPOINT_URL, as kumo tells its users to do. Versions
 * before 1.29 / 2.13 ignore the variable (Debian 12's awscli package is 2.9): those are given
 * --endpoint-url on the command line instead.
 */
export function awsReadsEndpointEnv(): boolean {
  const m = /aws-cli\/(\d+)\.(\d+)/.exec(awsCliVersion() ?? '');
  const [major, minor] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  return (major === 1 && minor >= 29) || (major === 2 && minor >= 13) || major > 2;
}

function problem(tool: Tool): string | null {
  const here = tool === 'boto3' ? pythonWithBoto3() !== undefined : tool === 'aws' ? awsCliVersion() !== null : onPath(tool);
  return here ? null : `needs ${INSTALL[tool]}`;
}

/**
 * False when every tool is here; else why the test skips. Throws instead under
 * KUMO_REQUIRE_CLIENTS=1, where a missing client is a broken CI machine, not a reason to skip.
 */
export function missing(...tools: Tool[]): string | false {
  const problems = tools.map(problem).filter((p) => p !== null);
  if (problems.length === 0) return false;
  const reason = problems.join('; ');
  if (process.env.KUMO_REQUIRE_CLIENTS === '1') throw new Error(`KUMO_REQUIRE_CLIENTS=1 but this test ${reason}`);
  return reason;
}
