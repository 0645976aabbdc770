/**
 * EC2's view of state: the shared network tables, the shared tag table, and a registry of
 * taggable resource types by ID prefix (so CreateTags can tell a missing VPC from a bad ID).
 * Queries only; rules live in the handlers.
 */
import type { Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { Scope } from '../../state/scope.js';
import type { Tag, TagStore } from '../../state/tags.js';

export interface TaggableType {
  /** EC2's resource-type name (`vpc`, `subnet`, …) as in DescribeTags and TagSpecifications. */
  type: string;
  exists(scope: Scope, id: string): boolean;
  notFound(id: string): Error;
}

// AWS's two ID lengths: the old 8-digit form and today's 17; anything else is InvalidID.
const ID_FORM = /^([a-z]+(?:-[a-z]+)*)-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

/** Is `id` a well-formed ID of the resource type with this prefix (well-formed, not necessarily existing)? */
export function wellFormed(id: string, prefix: string): boolean {
  const m = ID_FORM.exec(id);
  return m !== null && m[1] === prefix;
}

export class Ec2Store {
  private readonly taggable = new Map<string, TaggableType>();

  constructor(
    readonly db: Db,
    readonly network: NetworkStore,
    readonly tags: TagStore,
  ) {}

  registerTaggable(prefix: string, t: TaggableType): void {
    this.taggable.set(prefix, t);
  }

  /** Undefined for an ID that is not `<prefix>-` + 8 or 17 lower-case hex digits of a known type. */
  taggableFor(id: string): TaggableType | undefined {
    const m = ID_FORM.exec(id);
    return m ? this.taggable.get(m[1]) : undefined;
  }

  /**
   * Rows of one type with their tags attached, as Describe* returns them. `narrowed`: the rows are
   * a few picked out of many (by ID or filter), whose tags are read by ID rather than the type's.
   */
  withTags<T extends object>(scope: Scope, type: string, idOf: (r: T) => string, rows: T[], narrowed = false): (T & { Tags: Tag[] })[] {
    const tags = narrowed ? this.tags.ofResources(scope, rows.map(idOf)) : this.tags.byResource(scope, type);
    return rows.map((r) => ({ ...r, Tags: tags.get(idOf(r)) ?? [] }));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
