/**
 * AWS SDK v3 clients in processes of their own, so that what an SDK user's program spends on
 * each call (about a millisecond of CPU for a 4 KiB PutObject) runs on its own event loops and
 * cores, as it would in a user's processes, instead of one bench event loop capping the figure.
 * They share the machine with kumo all the same: on 2 cores the clients' CPU and kumo's add up.
 *
 * `open` starts `processes` clients (./sdk-worker.ts), each with `inflight` calls at a time;
 * `run` splits the keys among them, starts them together and times the whole: ops/s over the
 * wall time, and every call's milliseconds.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, track } from './spawn.js';

type Reply = { ready: true } | { ms: number[] } | { error: string };

export interface SdkClients {
  /** The client processes, for their CPU time. */
  pids: number[];
  run(op: 'put' | 'get', keys: string[]): Promise<{ ops: number; ms: number[] }>;
  close(): Promise<void>;
}

export async function openSdkClients(url: string, bucket: string, processes: number, inflight: number): Promise<SdkClients> {
  const children: ChildProcess[] = [];
  const next = (c: ChildProcess) =>
    new Promise<Reply>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`SDK client process exited (code ${code})`));
      c.once('exit', onExit);
      c.once('message', (m: Reply) => {
        c.off('exit', onExit);
        if ('error' in m) reject(new Error(`SDK client: ${m.error}`));
        else resolve(m);
      });
    });
  const close = async () => {
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.disconnect();
    })));
  };
  try {
    for (let i = 0; i < processes; i++) {
      const c = fork(join(ROOT, 'bench', 'lib', 'sdk-worker.ts'), [url, bucket, String(inflight)], { execArgv: ['--import', 'tsx', '--no-warnings'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], cwd: ROOT });
      track(c);
      children.push(c);
    }
    await Promise.all(children.map(next));
  } catch (e) {
    await close();
    throw e;
  }
  return {
    pids: children.map((c) => c.pid!),
    async run(op, keys) {
      const t = performance.now();
      const replies = await Promise.all(children.map((c, i) => {
        const reply = next(c);
        c.send({ op, keys: keys.filter((_, k) => k % children.length === i) });
        return reply;
      }));
      const wall = performance.now() - t;
      return { ops: keys.length / (wall / 1000), ms: replies.flatMap((r) => ('ms' in r ? r.ms : [])) };
    },
    close,
  };
}
