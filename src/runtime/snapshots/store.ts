/**
 * EBS snapshots on the host: a volume's disk file in, a snapshot out, and back. No AWS here (the
 * EC2 service gives ids and keeps the API's state); this is bytes and files.
 *
 *   create:  pending record → capture (create.ts: allocated chunks only, zeros skipped, chunks
 *            not yet stored written under their hash) → sync the chunks → manifest renamed into
 *            place (the commit) → pending record removed
 *   restore: manifest → chunks, each verified → a new sparse file (restore.ts)
 *   copy:    a second manifest naming the same chunks
 *   delete:  pending record → manifest removed (the commit) → chunks no other manifest names
 *            removed → pending record removed (both left to a restore of it under way)
 *   recover: (at start) pending records of dead processes: a create without its manifest is
 *            abandoned, a delete is finished (it was asked for, and its manifest may be gone
 *            already); then chunks no manifest names are collected
 *
 * Snapshots are incremental because chunks are content-addressed (layout.ts has the on-disk
 * layout and why chunks are 1 MiB): a second snapshot after a 1 MiB change stores ~1 MiB. Which
 * chunks are still needed is read from the manifests themselves, never from a count that could
 * drift: a chunk goes only when no manifest, and no create or restore under way here, names it.
 *
 * One process owns a store at a time (kumo holds its data directory's lock); within it, creates,
 * restores, copies and deletes may overlap: the chunks a create or a restore under way relies on
 * are pinned, and a delete leaves those to it. The sync calls (copy, delete, recover) block the
 * event loop for the length of their file operations.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ChunkFiles } from './chunks.js';
import { capture } from './create.js';
import { CHUNK_SIZE, checkId, Layout, removeDurably, writeDurably } from './layout.js';
import { manifestHashes, readHeader, readManifest, rewriteHeader, serializeManifest, type ManifestHeader } from './manifest.js';
import { beginPending, endPending, isLive, listPending, tmpOwner } from './pending.js';
import { writeSparse } from './restore.js';

export { CorruptChunk } from './chunks.js';
export { CHUNK_SIZE } from './layout.js';

export interface SnapshotInfo {
  id: string;
  /** The disk's size when it was taken. */
  sizeBytes: number;
  /** Bytes this snapshot added to the store when it was made (0 for a copy). */
  storedBytes: number;
  /** Bytes of data it holds (zeros are not stored), shared or not. */
  referencedBytes: number;
  createdAt: string;
}

export interface CreateOptions {
  /** Called with increasing fractions, the last one 1. */
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

export interface RestoreOptions {
  /** The new file's size when larger than the snapshot's: the rest reads as zeros. */
  sizeBytes?: number;
  onProgress?: (fraction: number) => void;
}

export interface RecoverResult {
  /** Snapshots whose create never finished, now removed. */
  abandoned: string[];
  /** Chunk files no snapshot needed, now removed. */
  removedChunks: number;
}

export class SnapshotStore {
  private readonly layout: Layout;
  private readonly chunks: ChunkFiles;
  /** Ids of the creates under way in this process. */
  private readonly creating = new Set<string>();
  /** Ids being restored in this process, and by how many restores. */
  private readonly restoring = new Map<string, number>();
  /** Chunks that operations under way rely on: each create's claimed chunks, each restore's. */
  private readonly pins = new Set<Set<string>>();

  constructor(readonly root: string) {
    this.layout = new Layout(root);
    this.layout.ensure();
    this.chunks = new ChunkFiles(this.layout);
  }

  /** A point-in-time copy of `diskFile`; the caller keeps the file quiet meanwhile. */
  async create(id: string, diskFile: string, opts: CreateOptions = {}): Promise<SnapshotInfo> {
    this.checkNew(id);
    const claimed = new Set<string>();
    this.creating.add(id);
    this.pins.add(claimed);
    try {
      beginPending(this.layout, 'create', id);
      const got = await capture(diskFile, this.chunks, { chunkSize: CHUNK_SIZE, claimed, onProgress: opts.onProgress, signal: opts.signal });
      await this.chunks.sync(claimed);
      const header = { id, sizeBytes: got.sizeBytes, chunkSize: CHUNK_SIZE, createdAt: new Date().toISOString(), storedBytes: got.storedBytes, referencedBytes: got.referencedBytes };
      writeDurably(this.layout.manifest(id), serializeManifest(header, got.chunks), this.layout.tmpFile(`manifest-${id}`));
      endPending(this.layout, 'create', id);
      return toInfo(header);
    } catch (e) {
      // Nothing committed: the chunks it wrote, and those it kept from a delete meanwhile, go
      // unless something else needs them.
      this.pins.delete(claimed);
      this.removeUnneeded(claimed);
      endPending(this.layout, 'create', id);
      throw e;
    } finally {
      this.creating.delete(id);
      this.pins.delete(claimed);
    }
  }

  /** A new sparse file at `diskFile` (which must not exist) holding the snapshot's data. */
  async restore(id: string, diskFile: string, opts: RestoreOptions = {}): Promise<void> {
    const manifest = readManifest(this.layout.manifest(id));
    if (!manifest) throw new Error(`snapshot ${id} does not exist`);
    const size = opts.sizeBytes ?? manifest.sizeBytes;
    if (size < manifest.sizeBytes) throw new Error(`cannot restore snapshot ${id} (${manifest.sizeBytes} bytes) into ${size} bytes`);
    if (existsSync(diskFile)) throw new Error(`${diskFile} already exists`);
    const pin = new Set(manifest.chunks.map((c) => c.hash));
    this.pins.add(pin);
    this.restoring.set(id, (this.restoring.get(id) ?? 0) + 1);
    try {
      await writeSparse(diskFile, size, manifest, this.chunks, opts.onProgress);
    } finally {
      this.pins.delete(pin);
      const left = this.restoring.get(id)! - 1;
      if (left > 0) this.restoring.set(id, left);
      else this.restoring.delete(id);
      // Deleted while being read: the delete left its chunks and its record to the last restore.
      if (left === 0 && existsSync(this.layout.pendingFile('delete', id)) && !existsSync(this.layout.manifest(id))) {
        this.removeUnneeded(pin);
        endPending(this.layout, 'delete', id);
      }
    }
  }

  /** CopySnapshot: a new manifest naming the same chunks; no data is copied. */
  copy(fromId: string, toId: string): SnapshotInfo {
    const path = this.layout.manifest(fromId);
    if (!existsSync(path)) throw new Error(`snapshot ${fromId} does not exist`);
    this.checkNew(toId);
    const text = rewriteHeader(readFileSync(path, 'utf8'), { id: toId, createdAt: new Date().toISOString(), storedBytes: 0 });
    writeDurably(this.layout.manifest(toId), text, this.layout.tmpFile(`manifest-${toId}`));
    return this.info(toId)!;
  }

  /**
   * Removes the snapshot and the chunks no other snapshot needs. Deleting a missing one does
   * nothing. A snapshot being restored goes at once, its chunks once the restore is done.
   */
  delete(id: string): void {
    const path = this.layout.manifest(id);
    if (!existsSync(path)) return;
    const mine = new Set<string>();
    manifestHashes(path, mine);
    // Read what the others need before changing anything: a read error leaves the store as it was.
    const needed = this.neededHashes(id);
    beginPending(this.layout, 'delete', id);
    try {
      removeDurably(path);
    } catch (e) {
      // Not deleted after all: recover() must not finish it.
      if (existsSync(path)) endPending(this.layout, 'delete', id);
      throw e;
    }
    for (const h of mine) if (!needed.has(h)) this.chunks.remove(h);
    // Until a restore of it ends, the record stays: after a crash, recover() collects the chunks.
    if (!this.restoring.has(id)) endPending(this.layout, 'delete', id);
  }

  info(id: string): SnapshotInfo | undefined {
    const h = readHeader(this.layout.manifest(id));
    return h && toInfo(h);
  }

  list(): string[] {
    return readdirSync(this.layout.snapshots)
      .filter((f) => f.endsWith('.manifest'))
      .map((f) => f.slice(0, -'.manifest'.length))
      .sort();
  }

  /**
   * Run at start, before any create: finishes or undoes what a killed process left (see the
   * header) and removes its temp files. Chunks are swept only when something was interrupted,
   * so a clean start costs a directory listing.
   */
  recover(): RecoverResult {
    const abandoned: string[] = [];
    let interrupted = false;
    let othersWorking = false;
    const livePids = new Set<number>([process.pid]);
    for (const r of listPending(this.layout)) {
      if (isLive(r) && r.pid !== process.pid) {
        othersWorking = true;
        livePids.add(r.pid);
        continue;
      }
      // Ours and still under way: a create, or a delete waiting for a restore to end.
      if (r.pid === process.pid && (r.op === 'create' ? this.creating : this.restoring).has(r.id)) continue;
      interrupted = true;
      if (r.op === 'create') {
        if (!existsSync(this.layout.manifest(r.id))) abandoned.push(r.id);
      } else {
        removeDurably(this.layout.manifest(r.id));
      }
      endPending(this.layout, r.op, r.id);
    }
    for (const name of readdirSync(this.layout.tmp)) {
      if (livePids.has(tmpOwner(name))) continue;
      interrupted = true;
      rmSync(join(this.layout.tmp, name), { force: true });
    }
    // Another live process still creating: its chunks are named by no manifest yet, so no sweep.
    const removedChunks = interrupted && !othersWorking ? this.collectGarbage() : 0;
    return { abandoned: abandoned.sort(), removedChunks };
  }

  /** Removes every chunk no snapshot (nor an operation under way here) needs; returns how many went. */
  collectGarbage(): number {
    const needed = this.neededHashes();
    let removed = 0;
    for (const h of this.chunks.list()) {
      if (needed.has(h)) continue;
      this.chunks.remove(h);
      removed++;
    }
    return removed;
  }

  /** A new snapshot's id must be free, and not that of one whose delete is still to finish. */
  private checkNew(id: string): void {
    checkId(id);
    if (this.creating.has(id) || existsSync(this.layout.manifest(id))) throw new Error(`snapshot ${id} already exists`);
    if (existsSync(this.layout.pendingFile('delete', id))) throw new Error(`snapshot ${id} is still being deleted`);
  }

  /** Hashes named by every manifest (but `except`) and pinned by the operations under way here. */
  private neededHashes(except?: string): Set<string> {
    const needed = new Set<string>();
    for (const id of this.list()) if (id !== except) manifestHashes(this.layout.manifest(id), needed);
    for (const pin of this.pins) for (const h of pin) needed.add(h);
    return needed;
  }

  private removeUnneeded(hashes: Set<string>): void {
    if (hashes.size === 0) return;
    const needed = this.neededHashes();
    for (const h of hashes) if (!needed.has(h)) this.chunks.remove(h);
  }
}

function toInfo(h: Omit<ManifestHeader, 'format' | 'chunkCount' | 'bodySha256'>): SnapshotInfo {
  return { id: h.id, sizeBytes: h.sizeBytes, storedBytes: h.storedBytes, referencedBytes: h.referencedBytes, createdAt: h.createdAt };
}
