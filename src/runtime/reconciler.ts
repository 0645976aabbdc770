/**
 * One reconcile loop for whatever a service supervises on the host (EC2's instances now; load
 * balancer and database nodes next): desired state comes in as rows, host state goes out.
 *
 *   start()  recover (adopt what still runs after a restart, reclaim what a kill -9 orphaned),
 *            then a first pass
 *   wake()   something changed: a pass runs (coalesced: wakes during a pass make one more pass)
 *   pass     for each row not already being worked on, plan(row) names the step it asks for; steps
 *            run concurrently across rows and one at a time per row, and a pass never waits on
 *            one (an image build may take minutes; a stop meanwhile must not queue behind it);
 *            afterPass() then does the work that concerns every row at once (network rules)
 *   step end → wake() again: the row has moved on, the next step may follow (each pass on a turn
 *            of the event loop of its own, so a step that ends at once cannot starve it)
 *   drain()  waits until no pass and no step is in flight (reset)
 *   close()  no new passes; waits for what is in flight (stop)
 *
 * A step's failure is logged, never thrown at the loop: the row stays as it is and the next
 * pass plans again.
 */

export interface ReconcileTarget<T> {
  /** For log lines. */
  name: string;
  /** Every row the loop looks at, freshly read. */
  desired(): T[];
  key(row: T): string;
  /** The step this row asks for now, or nothing to do. */
  plan(row: T): (() => Promise<void>) | undefined;
  /** Once per pass, after steps are started; `busy` are the rows mid-step. */
  afterPass?(rows: T[], busy: ReadonlySet<string>): Promise<void>;
  /** Once, at start, before the first pass. */
  recover?(): Promise<void>;
  log(line: string): void;
}

export class Reconciler<T> {
  private readonly steps = new Map<string, Promise<void>>();
  private passing: Promise<void> | undefined;
  private again = false;
  private closed = false;

  constructor(private readonly target: ReconcileTarget<T>) {}

  async start(): Promise<void> {
    await this.target.recover?.();
    this.wake();
  }

  wake(): void {
    if (this.closed) return;
    this.again = true;
    if (this.passing) return;
    // Passes start on a later tick: a step that wakes the loop from its first synchronous lines
    // must find this pass already under way, not start a second one beside it. And each pass on a
    // later turn of the event loop, never straight from the microtask queue: a step that ends at
    // once (a wait that finds nothing new, a check that throws) wakes the loop again, and passes
    // chained through promises alone would run back to back with no timer or socket served
    // meanwhile: kumo's API and anything else in the process would hang until some step did I/O.
    this.passing = (async () => {
      while (this.again && !this.closed) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.closed) break;
        this.again = false;
        try {
          await this.pass();
        } catch (err) {
          this.target.log(`${this.target.name}: ${(err as Error).stack ?? err}`);
        }
      }
      this.passing = undefined;
    })();
  }

  /** Whether a step for this row is in flight. */
  busy(key: string): boolean {
    return this.steps.has(key);
  }

  get idle(): boolean {
    return !this.passing && this.steps.size === 0;
  }

  /** Waits for the pass and every step in flight (new wakes may start more). */
  async drain(): Promise<void> {
    while (this.passing || this.steps.size) {
      await this.passing;
      await Promise.all([...this.steps.values()]);
    }
  }

  /** No more passes; what is in flight finishes. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }

  private async pass(): Promise<void> {
    const rows = this.target.desired();
    for (const row of rows) {
      const key = this.target.key(row);
      if (this.steps.has(key)) continue;
      const step = this.target.plan(row);
      if (step) this.run(key, step);
    }
    await this.target.afterPass?.(rows, new Set(this.steps.keys()));
  }

  private run(key: string, step: () => Promise<void>): void {
    // The step is in the map before any of its code runs, so no pass can plan it a second time.
    const p: Promise<void> = Promise.resolve()
      .then(step)
      .catch((err) => this.target.log(`${this.target.name} ${key}: ${(err as Error).stack ?? err}`))
      .finally(() => {
        if (this.steps.get(key) === p) this.steps.delete(key);
        this.wake();
      });
    this.steps.set(key, p);
  }
}
