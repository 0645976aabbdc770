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

  taggableFor(id: string): TaggableType | undefined {
    const dash = id.lastIndexOf('-');
    return dash > 0 ? this.taggable.get(id.slice(0, dash)) : undefined;
  }

  /** Rows of one type with their tags attached, as Describe* returns them. */
  withTags<T extends object>(scope: Scope, type: string, idOf: (r: T) => string, rows: T[]): (T & { Tags: Tag[] })[] {
    const tags = this.tags.byResource(scope, type);
    return rows.map((r) => ({ ...r, Tags: tags.get(idOf(r)) ?? [] }));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
