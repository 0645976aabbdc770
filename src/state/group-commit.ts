/**
 * Group commit for state.db: what returned 200 survives kill -9 and power loss, and the event loop
 * never waits for the disk.
 *
 * The connection runs WAL with synchronous=NORMAL, so a commit appends its frames to the WAL file
 * (they are in the page cache: a kill -9 cannot lose them) without flushing it. The flush that
 * makes them survive power loss too is one fdatasync of the WAL file, made on libuv's thread pool
 * and shared: a request that changed state waits, before it is answered, for a flush that began
 * after its changes (`durable`); while one flush runs, the commits made meanwhile gather for the
 * next (../lib/shared-run.ts), so sixteen concurrent writes cost about two flushes, not sixteen.
 * The WAL is appended in commit order, so a flush covers every commit before it.
 *
 * Checkpoints (copying the WAL into state.db, with their own flushes) run on a worker thread with
 * a connection of its own (./checkpointer.ts), never on the loop.
 *
 * A concurrent read may see a commit whose flush has not ended yet (its writer is not answered
 * until it has); a power loss in that window takes that commit back.
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import { shared } from '../lib/shared-run.js';
import { Checkpointer } from './checkpointer.js';
import type { Db } from './db.js';

const datasync = promisify(fdatasync);

/** What the edge and the stores need of it. */
export interface Commits {
  /** How far the database has been changed so far: a mark to wait on. */
  mark(): number;
  /** Resolves once every change up to `mark` (default: now) is on disk. */
  durable(mark?: number): Promise<void>;
}

const DONE = Promise.resolve();

export class GroupCommit implements Commits {
  private readonly changes;
  private readonly walFd: number;
  private flushedUpTo: number;
  private failed?: Error;
  private readonly checkpointer: Checkpointer;
  private readonly flush: () => Promise<void>;
  private gathering?: Promise<void>;

  constructor(db: Db, file: string, log: (line: string) => void) {
    // total_changes(): rows changed by this connection since it opened; it only grows.
    this.changes = db.prepare('SELECT total_changes()').pluck();
    // Taking the flush over: commits stop flushing on the loop, and stop checkpointing there.
    db.pragma('synchronous = NORMAL');
    db.pragma('wal_autocheckpoint = 0');
    // A WAL that grew under a burst is cut back once it restarts from the beginning.
    db.pragma('journal_size_limit = 67108864');
    // SQLite keeps the WAL file (same inode) until the last connection closes, which is after us.
    this.walFd = openSync(`${file}-wal`, 'a', 0o600);
    fdatasyncSync(this.walFd);
    this.flushedUpTo = this.mark();
    this.checkpointer = new Checkpointer(file, log, () => db.pragma('wal_autocheckpoint = 1000'));
    this.flush = shared(async () => {
      const upTo = this.mark();
      try {
        await datasync(this.walFd);
      } catch (e) {
        // After a failed flush the kernel may have dropped the dirty pages: nothing written
        // since can be promised durable any more.
        this.failed = new Error(`state.db could not be flushed to disk: ${(e as Error).message}`);
        log(`state: ${this.failed.message}; writes fail from now on`);
        throw this.failed;
      }
      this.flushedUpTo = Math.max(this.flushedUpTo, upTo);
      this.checkpointer.nudge();
    });
  }

  mark(): number {
    return this.changes.get() as number;
  }

  durable(mark = this.mark()): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (mark <= this.flushedUpTo) return DONE;
    // Asked for on the next turn of the loop, so every commit of this one rides along.
    this.gathering ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.gathering = undefined;
      return this.flush();
    });
    return this.gathering;
  }

  /** Flushes what is left, then stops the checkpointer (before the database closes). */
  async close(): Promise<void> {
    if (!this.failed) fdatasyncSync(this.walFd);
    closeSync(this.walFd);
    await this.checkpointer.close();
  }
}

/** For an edge with no database behind it (tests of the edge alone). */
export const NO_COMMITS: Commits = { mark: () => 0, durable: () => DONE };
