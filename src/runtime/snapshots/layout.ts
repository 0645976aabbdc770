/**
 * Where a snapshot store keeps things, and the durable-write steps every part of it shares.
 *
 *   <root>/                      0700, root's alone
 *     snapshots/<id>.manifest    one per committed snapshot; renaming it into place is the commit
 *     chunks/<hh>/<sha256>       chunk bytes, named by their SHA-256, never changed once there
 *     pending/<op>-<id>          a create or delete under way and who runs it (pid, start time):
 *                                what recover() reads after a kill -9
 *     tmp/<name>.<pid>.<rand>    chunks and manifests being written, renamed out when complete
 *
 * Chunks are 1 MiB (CHUNK_SIZE): the unit of sharing between snapshots, so a change costs its
 * size rounded out to whole MiB. Smaller chunks would save little on real filesystems (ext4 writes
 * journal, inode tables and data in clusters, so a change rarely touches one lone 4 KiB block) and
 * cost one file, one rename and one manifest line (~75 bytes) per chunk: 1 MiB is 1,024 files and
 * 75 KiB of manifest per GiB of data, and 1 MiB reads and writes run at sequential disk speed.
 * (EBS's own snapshot blocks, as its direct APIs show them, are 512 KiB: the same order.)
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const CHUNK_SIZE = 1 << 20;

/** Ids become file names: letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function checkId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) throw new Error(`bad snapshot id ${JSON.stringify(id)}`);
  return id;
}

export type PendingOp = 'create' | 'delete';

export class Layout {
  readonly snapshots: string;
  readonly chunks: string;
  readonly pending: string;
  readonly tmp: string;

  constructor(readonly root: string) {
    this.snapshots = join(root, 'snapshots');
    this.chunks = join(root, 'chunks');
    this.pending = join(root, 'pending');
    this.tmp = join(root, 'tmp');
  }

  /** Creates the tree (0700: snapshots hold whole disks' data). */
  ensure(): void {
    for (const d of [this.root, this.snapshots, this.chunks, this.pending, this.tmp]) mkdirSync(d, { recursive: true, mode: 0o700 });
  }

  manifest(id: string): string {
    return join(this.snapshots, `${checkId(id)}.manifest`);
  }

  chunk(hash: string): string {
    return join(this.chunks, hash.slice(0, 2), hash);
  }

  pendingFile(op: PendingOp, id: string): string {
    return join(this.pending, `${op}-${checkId(id)}`);
  }

  /** A fresh temp path; the pid in its name tells recover() whose it is. */
  tmpFile(label: string): string {
    return join(this.tmp, `${label}.${process.pid}.${randomBytes(6).toString('hex')}`);
  }
}

export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * `data` at `path`, all or nothing, surviving a power cut once this returns: written to a temp
 * file, fsynced, renamed over `path`, and the directory fsynced so the rename itself is durable.
 */
export function writeDurably(path: string, data: string | Buffer, tmp: string): void {
  try {
    writeFileSync(tmp, data, { mode: 0o600, flag: 'wx' });
    fsyncPath(tmp);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  fsyncPath(dirname(path));
}

/** Removes `path` and makes the removal durable. */
export function removeDurably(path: string): void {
  rmSync(path, { force: true });
  fsyncPath(dirname(path));
}
