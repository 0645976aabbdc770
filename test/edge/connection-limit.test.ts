// kumo serves at most `maxConnections` connections at once (4 here, 1000 by default): past that a
// new connection is closed at once without an answer, kumo logs why, and once an old connection
// goes a new one is served again.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startKumoForTest, waitFor, type TestKumo } from '../helpers/kumo.js';

const LIMIT = 4;
let kumo: TestKumo;
const lines: string[] = [];

before(async () => {
  kumo = await startKumoForTest({ maxConnections: LIMIT }, (line) => lines.push(line));
});
after(() => kumo.stop());

interface Probe {
  sock: Socket;
  /** Everything kumo sent until the first answer ended, or the connection closed. */
  reply: Promise<string>;
}

/** Opens a connection and asks for /_kumo/health on it, keeping it open (or not) afterwards. */
function probe(keepAlive: boolean): Probe {
  const u = new URL(kumo.url);
  const sock = connect(Number(u.port), u.hostname);
  sock.on('error', () => undefined);
  sock.write(`GET /_kumo/health HTTP/1.1\r\nHost: ${u.host}\r\nConnection: ${keepAlive ? 'keep-alive' : 'close'}\r\n\r\n`);
  const reply = new Promise<string>((resolve) => {
    let got = '';
    sock.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.trimEnd().endsWith('}')) resolve(got);
    });
    sock.once('close', () => resolve(got));
  });
  return { sock, reply };
}

const answered = (reply: string) => /^HTTP\/1\.1 200 /.test(reply);

test('past the limit a new connection is closed unanswered, and served again once one goes', async () => {
  const held = Array.from({ length: LIMIT }, () => probe(true));
  for (const p of held) assert.ok(answered(await p.reply), 'each connection up to the limit is served');

  const refused = probe(false);
  assert.equal(await refused.reply, '', 'the connection past the limit is closed without an answer');
  assert.ok(lines.some((l) => /refusing new connections: 4 are open/.test(l)), lines.join('\n'));

  held.pop()!.sock.destroy();
  // kumo counts the connection gone once it has seen it close; until then new ones are still refused.
  await waitFor('a new connection to be served', async () => {
    const p = probe(false);
    return answered(await p.reply);
  });
  for (const p of held) p.sock.destroy();
});
