/**
 * Overlapping calls share one run: a caller waits for a run that began after it called, and every
 * caller that arrives while one is on shares the next. Made for flushes (fdatasync of a WAL, fsync
 * of a directory), so n concurrent writers cost about two flushes, not n.
 */
export function shared(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const p: Promise<void> = run().finally(() => {
      if (running === p) running = undefined;
    });
    running = p;
    return p;
  };
  return () => {
    if (queued) return queued;
    if (!running) return start();
    queued = running
      .catch(() => {})
      .then(() => {
        queued = undefined;
        return start();
      });
    return queued;
  };
}
