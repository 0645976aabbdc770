// Every operation src/models/operations.ts lists, sent by the official SDK v3 client, reaches its
// handler; every other operation of the same API models (those the SDK also has a command for)
// answers NotImplemented (501).
//
// The command objects are the SDK's own `<Operation>Command` exports, looked up by name. Their
// input holds only the members AWS's model (aws-sdk v2's apis/*.min.json, the model kumo decodes
// with) marks required, filled with placeholders of the right type (a string 'kumo-probe', the
// number 1, a one-element list, ...; for S3 a bucket made beforehand). A listed operation then
// has to answer what a handler answers: success, or a 4xx AWS error the SDK decodes (a NotFound,
// a Malformed id, a refused value), never 501, never a 5xx, and never one of the refusals the
// edge makes before a handler runs (InvalidAction, UnknownParameter, ...). And kumo's access log,
// which names the operation a request was dispatched as (`ec2.-` when it was refused before),
// must name the one sent. RunInstances gets an AMI that does not exist, so nothing boots.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import * as ec2Sdk from '@aws-sdk/client-ec2';
import * as elbv2Sdk from '@aws-sdk/client-elastic-load-balancing-v2';
import * as rdsSdk from '@aws-sdk/client-rds';
import * as s3Sdk from '@aws-sdk/client-s3';
import * as stsSdk from '@aws-sdk/client-sts';
import { implemented } from '../../src/models/operations.js';
import { clientConfig, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';

type Service = keyof typeof implemented;
type Sdk = Record<string, unknown>;
interface Sendable {
  send(command: unknown): Promise<{ $metadata?: { httpStatusCode?: number; requestId?: string } }>;
  destroy(): void;
}

// Classic ELB (`elb`) has no SDK v3 client among kumo's dependencies (@aws-sdk/client-elastic-load-balancing):
// its operations are driven with the aws CLI in test/elbv2/classic.test.ts instead.
const SDKS: Partial<Record<Service, { sdk: Sdk; client: string; extra?: Record<string, unknown> }>> = {
  ec2: { sdk: ec2Sdk, client: 'EC2Client' },
  elbv2: { sdk: elbv2Sdk, client: 'ElasticLoadBalancingV2Client' },
  rds: { sdk: rdsSdk, client: 'RDSClient' },
  s3: { sdk: s3Sdk, client: 'S3Client', extra: { forcePathStyle: true } },
  sts: { sdk: stsSdk, client: 'STSClient' },
};

/** What an answer must not be for a listed operation: kumo refusing before any handler ran. */
const BEFORE_HANDLER = ['NotImplemented', 'InvalidAction', 'MissingAction', 'UnknownParameter', 'MalformedQueryString', 'NoSuchVersion', 'InternalError'];

// ---- inputs from AWS's model ----

interface Shape {
  shape?: string;
  type?: string;
  required?: string[];
  members?: Record<string, Shape>;
  member?: Shape;
  key?: Shape;
  value?: Shape;
  streaming?: boolean;
}
interface Model {
  operations: Record<string, { input?: Shape }>;
  shapes: Record<string, Shape>;
}

const require = createRequire(import.meta.url);
const model = (service: Service): Model => require(`aws-sdk/apis/${implemented[service].uid}.min.json`) as Model;

/** S3 operations act on a bucket that exists (made before the test), so their handlers get past the lookup. */
const bucket = uniqueName('probe');

/** Values chosen by member name where a placeholder would not do (see the header). */
const NAMED: Record<string, unknown> = {
  Bucket: bucket,
  Key: 'probe-key',
  CopySource: `${bucket}/probe-source`,
  ImageId: 'ami-00000000000000000',
};

function resolve(m: Model, s: Shape): Shape {
  return s.shape ? { ...resolve(m, m.shapes[s.shape]!), ...s, shape: undefined } : s;
}

function placeholder(m: Model, member: Shape, name: string, depth: number): unknown {
  if (name in NAMED) return NAMED[name];
  const s = resolve(m, member);
  switch (s.type ?? 'string') {
    case 'structure':
      return requiredOnly(m, s, depth + 1);
    case 'list':
      return depth > 6 ? [] : [placeholder(m, s.member ?? {}, '', depth + 1)];
    case 'map':
      return { k: placeholder(m, s.value ?? {}, '', depth + 1) };
    case 'integer':
    case 'long':
    case 'float':
    case 'double':
      return 1;
    case 'boolean':
      return false;
    case 'timestamp':
      return new Date(0);
    case 'blob':
      return s.streaming ? 'x' : new Uint8Array([120]);
    default:
      return 'kumo-probe';
  }
}

/**
 * The structure's required members. A nested structure none of whose members is required gets its
 * first one, or it would go on the wire as nothing at all and its list would look missing.
 */
function requiredOnly(m: Model, s: Shape, depth = 0): Record<string, unknown> {
  const names = s.required?.length ? s.required : depth > 0 ? Object.keys(s.members ?? {}).slice(0, 1) : [];
  const out: Record<string, unknown> = {};
  for (const name of names) out[name] = placeholder(m, s.members![name]!, name, depth);
  return out;
}

function inputFor(service: Service, op: string): Record<string, unknown> {
  const m = model(service);
  const input = m.operations[op]!.input;
  return input ? requiredOnly(m, resolve(m, input)) : {};
}

// ---- sending, and what came back ----

interface Answer {
  status: number | undefined;
  /** 'ok', the AWS error code, or what the client threw before a response. */
  code: string;
  requestId?: string;
}

let kumo: TestKumo;
const accessLog: string[] = [];
const clients = new Map<Service, Sendable>();

before(async () => {
  // The process driver: no nspawn, no VPC fabric on the host, whatever RunInstances were to do.
  kumo = await startKumoForTest({ accessLog: true, runtime: 'process' }, (line) => accessLog.push(line));
  for (const [service, { sdk, client, extra }] of Object.entries(SDKS) as [Service, NonNullable<(typeof SDKS)[Service]>][]) {
    const Client = sdk[client] as new (config: unknown) => Sendable;
    clients.set(service, new Client(clientConfig(kumo.url, { disableHostPrefix: true, maxAttempts: 1, ...extra })));
  }
  await clients.get('s3')!.send(new s3Sdk.CreateBucketCommand({ Bucket: bucket }));
});
after(async () => {
  for (const c of clients.values()) c.destroy();
  await kumo.stop();
});

async function call(service: Service, op: string): Promise<Answer> {
  const Command = SDKS[service]!.sdk[`${op}Command`] as new (input: unknown) => unknown;
  try {
    const out = await clients.get(service)!.send(new Command(inputFor(service, op)));
    return { status: out.$metadata?.httpStatusCode, code: 'ok', requestId: out.$metadata?.requestId };
  } catch (e) {
    const err = e as Error & { $metadata?: { httpStatusCode?: number; requestId?: string } };
    if (!err.$metadata?.httpStatusCode) return { status: undefined, code: `no response: ${err.name}: ${err.message}` };
    return { status: err.$metadata.httpStatusCode, code: err.name, requestId: err.$metadata.requestId };
  }
}

/** The `<service>.<Operation>` kumo's access log gives for a request id. */
function loggedAs(requestId: string | undefined): string | undefined {
  if (!requestId) return undefined;
  const line = accessLog.find((l) => l.endsWith(` ${requestId}`));
  return line?.split(' ')[1];
}

const commandsOf = (service: Service) =>
  Object.keys(SDKS[service]!.sdk)
    .filter((k) => k.endsWith('Command') && k !== 'Command' && typeof SDKS[service]!.sdk[k] === 'function')
    .map((k) => k.slice(0, -'Command'.length));

for (const service of (Object.keys(implemented) as Service[]).filter((s) => SDKS[s])) {
  const listed: readonly string[] = implemented[service].operations;
  const inModel = new Set(Object.keys(model(service).operations));
  const inSdk = new Set(commandsOf(service));

  describe(`${service}`, () => {
    test('every listed operation is in AWS\'s model and has an SDK command', () => {
      assert.deepEqual(listed.filter((op) => !inModel.has(op)), [], 'listed but not in the model');
      assert.deepEqual(listed.filter((op) => !inSdk.has(op)), [], 'listed but the SDK has no such command');
      assert.equal(new Set(listed).size, listed.length, 'listed twice');
    });

    test(`all ${listed.length} listed operations reach their handlers`, async (t) => {
      const wrong: string[] = [];
      const seen: Record<string, string[]> = {};
      // DeleteBucket last, so the other S3 operations find the bucket there.
      for (const op of [...listed].sort((a, b) => Number(a === 'DeleteBucket') - Number(b === 'DeleteBucket'))) {
        const a = await call(service, op);
        const answer = a.code === 'ok' ? `${a.status}` : `${a.status} ${a.code}`;
        (seen[answer.replace(/^\d+ /, '')] ??= []).push(op);
        const logged = loggedAs(a.requestId);
        if (a.status === undefined || a.status >= 500 || BEFORE_HANDLER.includes(a.code)) wrong.push(`${op}: ${answer}`);
        else if (logged !== `${service}.${op}`) wrong.push(`${op}: answered ${answer}, but kumo logged it as ${logged ?? 'nothing'}`);
      }
      t.diagnostic(Object.entries(seen).map(([answer, ops]) => `${answer}: ${ops.length}`).join(', '));
      assert.deepEqual(wrong, []);
    });

    const unlisted = [...inModel].filter((op) => inSdk.has(op) && !listed.includes(op)).sort();
    const notImplemented = async (ops: string[]) => {
      const wrong: string[] = [];
      for (const op of ops) {
        const a = await call(service, op);
        if (a.status !== 501 || a.code !== 'NotImplemented') wrong.push(`${op}: ${a.status} ${a.code}`);
      }
      assert.deepEqual(wrong, []);
    };
    test(`the other ${unlisted.length} operations of its model answer NotImplemented (501)`, () => notImplemented(unlisted));
  });
}
