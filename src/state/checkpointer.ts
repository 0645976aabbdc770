/**
 * Checkpoints of state.db off the event loop: a worker thread with its own connection copies the
 * WAL into the database (PRAGMA wal_checkpoint(PASSIVE): it never blocks a writer or a reader,
 * and flushes the WAL before and the database after), at most every CHECKPOINT_EVERY_MS while
 * there are new commits (./group-commit.ts nudges it after each flush). The worker starts at the
 * first nudge and goes after RETIRE_AFTER_MS without one, so an idle kumo keeps no thread for it.
 * The WAL restarts from its beginning at the first write after a checkpoint that caught up with it
 * (under writes that never pause it does not catch up, and the WAL grows until they do). Should the worker fail, the main connection checkpoints by
 * itself again (SQLite's automatic checkpoint), slower but as safe.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { afterNewIsolate } from '../lib/heap-size.js';
import { CACHE_KIB } from './db.js';

const CHECKPOINT_EVERY_MS = 250;
/** A worker with nothing to do for this long goes (the next commit starts another). */
const RETIRE_AFTER_MS = 5_000;

// Plain JavaScript run with eval, so it needs no file of its own next to the sources or dist/.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -' + workerData.cacheKiB);
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
  private idle?: NodeJS.Timeout;

  constructor(
    private readonly file: string,
    private readonly log: (line: string) => void,
    private readonly fallback: () => void,
  ) {}

  /** There are new commits in the WAL. */
  nudge(): void {
    if (this.gone) return;
    clearTimeout(this.idle);
    this.worker ??= this.spawn();
    this.dirty = true;
    if (!this.busy) this.schedule();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    clearTimeout(this.idle);
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
    const worker = new Worker(WORKER, { eval: true, workerData: { file: this.file, sqlite, cacheKiB: CACHE_KIB }, resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 2 } });
    worker.unref();
    worker.once('online', afterNewIsolate);
    worker.on('message', (m: string) => {
      this.busy = false;
      if (m !== 'ok') this.log(`state: checkpoint failed: ${m}`);
      if (this.dirty) this.schedule();
      else this.retireWhenIdle();
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

  /** A worker is a thread with a heap of its own (about 10 MiB): none is kept while nothing is written. */
  private retireWhenIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      const worker = this.worker;
      if (!worker || this.busy || this.dirty) return;
      this.worker = undefined;
      worker.postMessage('close');
    }, RETIRE_AFTER_MS);
    this.idle.unref();
  }

  private lost(e: Error): void {
    if (!this.worker) return;
    this.worker = undefined;
    this.gone = true;
    clearTimeout(this.timer);
    clearTimeout(this.idle);
    this.log(`state: the checkpoint worker failed (${e.message}); checkpointing on the main thread from now on`);
    this.fallback();
  }
}
