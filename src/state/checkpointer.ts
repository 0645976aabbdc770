/**
 * Checkpoints of state.db off the event loop: a worker thread with its own connection copies the
 * WAL into the database (PRAGMA wal_checkpoint(PASSIVE): it never blocks a writer or a reader,
 * and flushes the WAL before and the database after), at most every CHECKPOINT_EVERY_MS while
 * there are new commits (./group-commit.ts nudges it after each flush; the worker starts at the
 * first, so a kumo that only reads never starts one). The WAL then restarts from its beginning at
 * the next write. Should the worker fail, the main connection checkpoints by
 * itself again (SQLite's automatic checkpoint), slower but as safe.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const CHECKPOINT_EVERY_MS = 250;

// Plain JavaScript run with eval, so it needs no file of its own next to the sources or dist/.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage('ok');
  } catch (e) {
    parentPort.postMessage(String(e && e.message || e));
  }
});
`;

export class Checkpointer {
  private worker?: Worker;
  /** The worker failed: the main connection checkpoints by itself. */
  private gone = false;
  private busy = false;
  private dirty = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
    private readonly fallback: () => void,
  ) {}

  /** There are new commits in the WAL. */
  nudge(): void {
    if (this.gone) return;
    this.worker ??= this.spawn();
    this.dirty = true;
    if (!this.busy) this.schedule();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    const worker = this.worker;
    this.worker = undefined;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Unreferenced while it runs (it must not keep kumo alive); its exit is now worth waiting for.
    worker.ref();
    worker.postMessage('close');
    await exited;
  }

  private spawn(): Worker {
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(WORKER, { eval: true, workerData: { file: this.file, sqlite }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
    worker.unref();
    worker.on('message', (m: string) => {
      this.busy = false;
      if (m !== 'ok') this.log(`state: checkpoint failed: ${m}`);
      if (this.dirty) this.schedule();
    });
    worker.on('error', (e) => this.lost(e));
    return worker;
  }

  private schedule(): void {
    if (this.timer || !this.worker) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.dirty || !this.worker) return;
      this.dirty = false;
      this.busy = true;
      this.worker.postMessage('checkpoint');
    }, CHECKPOINT_EVERY_MS);
    this.timer.unref();
  }

  private lost(e: Error): void {
    if (!this.worker) return;
    this.worker = undefined;
    this.gone = true;
    clearTimeout(this.timer);
    this.log(`state: the checkpoint worker failed (${e.message}); checkpointing on the main thread from now on`);
    this.fallback();
  }
}
