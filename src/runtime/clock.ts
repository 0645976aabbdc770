/**
 * kumo's clock: the system's (or a test's, KumoConfig.clock) moved forward by however much
 * `POST /_kumo/clock` has advanced it. What runs on time (S3 lifecycle, EC2's removal of
 * terminated instances, the times handlers stamp) reads it, so a test can make days pass in a
 * second. Signatures are checked against the real time, since clients sign with theirs. The
 * advance is not stored: a restarted kumo is back on the system's time.
 */
export class Clock {
  private offsetMs = 0;
  private readonly watchers = new Set<() => void | Promise<void>>();

  constructor(private readonly base: () => Date = () => new Date()) {}

  readonly now = (): Date => new Date(this.base().getTime() + this.offsetMs);

  get offsetSeconds(): number {
    return this.offsetMs / 1000;
  }

  /** Moves the clock forward, then waits for whatever runs on time to catch up. */
  async advance(ms: number): Promise<void> {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('the clock only moves forward');
    this.offsetMs += ms;
    await Promise.all([...this.watchers].map((w) => w()));
  }

  /** `w` runs each time the clock is advanced (and is awaited by the advance); returns the unsubscribe. */
  onAdvance(w: () => void | Promise<void>): () => void {
    this.watchers.add(w);
    return () => this.watchers.delete(w);
  }
}
