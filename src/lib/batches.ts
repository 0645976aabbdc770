/**
 * Calls that arrive while earlier work is under way, gathered into one batch: the first call of a
 * batch asks `schedule` for a turn, and whatever arrives before that turn comes rides along; the
 * batch's work settles each call. For work whose fixed cost dwarfs its cost per call (rewriting
 * a whole firewall table, say), twenty calls at once then cost about one.
 */
export interface Waiting<A, R> {
  arg: A;
  resolve(r: R): void;
  reject(e: unknown): void;
}

export class Batches<A, R> {
  private waiting: Waiting<A, R>[] = [];

  /**
   * `schedule(turn)` runs `turn` when the batch's turn comes (rejecting if it never will);
   * `work` settles every call of the batch.
   */
  constructor(
    private readonly schedule: (turn: () => Promise<void>) => Promise<void>,
    private readonly work: (batch: Waiting<A, R>[]) => Promise<void>,
  ) {}

  call(arg: A): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ arg, resolve, reject });
      if (this.waiting.length > 1) return;
      const mine = this.waiting;
      this.schedule(async () => {
        this.waiting = [];
        try {
          await this.work(mine);
        } catch (e) {
          // Whatever the work left unsettled fails with it (settling twice changes nothing).
          for (const w of mine) w.reject(e);
        }
      }).catch((e) => {
        // The turn never came: nothing of the batch was done.
        if (this.waiting === mine) this.waiting = [];
        for (const w of mine) w.reject(e);
      });
    });
  }
}
