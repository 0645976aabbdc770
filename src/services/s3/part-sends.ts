/**
 * Which send of a part wins. A client that re-sends a part (a timeout, a retry) while its first
 * send is still streaming expects the later send to be the part, as on S3, even when the earlier
 * one finishes last. Each send takes a ticket when it begins; at commit, a send whose ticket is
 * older than the last committed one for that part is dropped (its bytes discarded, its answer
 * still 200: it was received whole). Sends in flight do not survive a restart, so the tickets
 * live in memory and go once no send of that part is in flight.
 */
export interface PartTicket {
  /** True when a send that began after this one has already been committed. */
  superseded(): boolean;
  /** Records this send as the part's committed one (call inside the commit's transaction). */
  committed(): void;
  /** This send is over, committed or not. */
  end(): void;
}

interface PartState {
  inFlight: number;
  lastCommitted: number;
}

export class PartSends {
  private counter = 0;
  private readonly parts = new Map<string, PartState>();

  begin(uploadId: string, partNumber: number): PartTicket {
    const id = `${uploadId}\0${partNumber}`;
    let state = this.parts.get(id);
    if (!state) {
      state = { inFlight: 0, lastCommitted: 0 };
      this.parts.set(id, state);
    }
    const s = state;
    s.inFlight++;
    const ticket = ++this.counter;
    let ended = false;
    return {
      superseded: () => s.lastCommitted > ticket,
      committed: () => {
        s.lastCommitted = Math.max(s.lastCommitted, ticket);
      },
      end: () => {
        if (ended) return;
        ended = true;
        if (--s.inFlight === 0) this.parts.delete(id);
      },
    };
  }
}
