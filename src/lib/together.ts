/**
 * A meeting point for work that began together: each one joins, later arrives (and waits there
 * until every one that joined has arrived or left) or leaves (it failed, or needs no wait). The
 * last to arrive or leave lets all waiting ones go. Whoever joins while others wait is waited for
 * too.
 *
 * The EC2 supervisor lines up instances launched together with it: a container that boots takes
 * the CPU the others still need to get ready (20 at once on 2 cores made each ready step several
 * times slower), so all get ready first, then all start.
 */
export interface Place {
  /** Here: wait for the others (at once if none is still on its way). */
  arrive(): Promise<void>;
  /** Gone without waiting (idempotent, and a no-op once arrived). */
  leave(): void;
}

export class Together {
  private coming = 0;
  private waiting: (() => void)[] = [];

  join(): Place {
    this.coming++;
    let done = false;
    const leave = () => {
      if (done) return;
      done = true;
      if (--this.coming === 0) for (const go of this.waiting.splice(0)) go();
    };
    return {
      leave,
      arrive: async () => {
        if (done) return;
        leave();
        if (this.coming > 0) await new Promise<void>((resolve) => this.waiting.push(resolve));
      },
    };
  }
}
