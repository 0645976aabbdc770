// kumo's target health state machine (dataplane/health.ts) with scripted check results: AWS's
// thresholds, reasons, and a transition recorded only when the state changes.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { migrate, openDatabase } from '../../src/state/db.js';
import { Elbv2Store, elbv2Migrations, healthKey, type TargetGroupRecord } from '../../src/services/elbv2/store.js';
import { HealthChecker, type ProbeResult } from '../../src/services/elbv2/dataplane/health.js';

const dir = mkdtempSync(join(tmpdir(), 'kumo-health-'));
const db = openDatabase(dir);
migrate(db, 'elbv2', elbv2Migrations);
const store = new Elbv2Store(db);
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const scope = { account: '000000000000', region: 'ap-northeast-1' };
const tg: TargetGroupRecord = {
  TargetGroupArn: 'arn:aws:elasticloadbalancing:ap-northeast-1:000000000000:targetgroup/t/0123456789abcdef',
  TargetGroupName: 't', Protocol: 'HTTP', Port: 80, VpcId: 'vpc-1', HealthCheckProtocol: 'HTTP', HealthCheckPort: 'traffic-port',
  HealthCheckEnabled: true,
  // 0: every run() is a new round, so the test sets the pace.
  HealthCheckIntervalSeconds: 0, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 3, UnhealthyThresholdCount: 2,
  HealthCheckPath: '/', Matcher: { HttpCode: '200' }, LoadBalancerArns: [], TargetType: 'instance', Targets: [{ Id: 'i-1', Port: 80 }],
};
store.targetGroups.insert(scope, tg.TargetGroupArn, tg);

const OK: ProbeResult = { ok: true };
const MISMATCH: ProbeResult = { ok: false, reason: 'Target.ResponseCodeMismatch', description: 'Health checks failed with these codes: [500]' };
const TIMEOUT: ProbeResult = { ok: false, reason: 'Target.Timeout', description: 'Request timed out' };

test('initial → healthy after the healthy threshold; → unhealthy after the unhealthy threshold, with the reason; back', async () => {
  let next: ProbeResult = OK;
  let changes = 0;
  const checker = new HealthChecker(store, (s, arn) => store.targetGroups.get(s, arn), () => changes++, () => {}, async () => next);
  const round = async (r: ProbeResult) => {
    next = r;
    checker.run([{ scope, tg, id: 'i-1', port: 80, address: '10.0.0.5', healthPort: 80, socket: '/nonexistent' }]);
    await new Promise((res) => setImmediate(res));
  };
  const state = () => store.health.get(scope, healthKey(tg.TargetGroupArn, 'i-1', 80));

  await round(OK);
  await round(OK);
  assert.equal(state(), undefined, 'still initial after 2 of 3');
  await round(OK);
  assert.deepEqual(state(), { State: 'healthy' });
  await round(TIMEOUT);
  assert.equal(state()!.State, 'healthy', 'one failure is not enough');
  await round(OK);
  await round(TIMEOUT);
  assert.equal(state()!.State, 'healthy', 'failures must come in a row');
  await round(MISMATCH);
  assert.deepEqual(state(), { State: 'unhealthy', Reason: 'Target.ResponseCodeMismatch', Description: 'Health checks failed with these codes: [500]' });
  await round(TIMEOUT);
  assert.equal(state()!.Reason, 'Target.Timeout', 'the reason follows the latest failure');
  await round(OK);
  await round(OK);
  assert.equal(state()!.State, 'unhealthy');
  await round(OK);
  assert.deepEqual(state(), { State: 'healthy' });
  assert.equal(changes, 4, 'healthy, unhealthy, its new reason, healthy');
});
