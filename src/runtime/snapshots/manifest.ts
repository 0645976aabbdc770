/**
 * A snapshot's manifest: which chunk holds each non-zero 1 MiB of the disk. Text, one header line
 * of JSON and then one `<chunk index> <sha256>` line per stored chunk, in index order; chunks not
 * listed are zeros. info() reads only the header line, so describing a snapshot of a large disk
 * does not parse its whole chunk list.
 *
 * The header carries the body's SHA-256 and line count: a manifest is written atomically
 * (layout.ts), so these catch only a disk that changed it afterwards, and restore() refuses such a
 * manifest rather than writing data to the wrong offsets.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

export const MANIFEST_FORMAT = 1;

export interface ChunkRef {
  index: number;
  hash: string;
}

export interface ManifestHeader {
  format: number;
  id: string;
  /** The disk file's size. */
  sizeBytes: number;
  chunkSize: number;
  createdAt: string;
  /** Bytes of chunks this snapshot wrote (not already stored) when it was made; 0 for a copy. */
  storedBytes: number;
  /** Bytes of all the chunks it lists: its data, zeros excluded. */
  referencedBytes: number;
  chunkCount: number;
  bodySha256: string;
}

export interface Manifest extends ManifestHeader {
  chunks: ChunkRef[];
}

const LINE = /^(\d+) ([0-9a-f]{64})$/;

function body(chunks: ChunkRef[]): string {
  return chunks.map((c) => `${c.index} ${c.hash}\n`).join('');
}

/** The manifest's text; `chunks` must be sorted by index. */
export function serializeManifest(header: Omit<ManifestHeader, 'format' | 'chunkCount' | 'bodySha256'>, chunks: ChunkRef[]): string {
  const text = body(chunks);
  const full: ManifestHeader = {
    format: MANIFEST_FORMAT,
    ...header,
    chunkCount: chunks.length,
    bodySha256: createHash('sha256').update(text).digest('hex'),
  };
  return `${JSON.stringify(full)}\n${text}`;
}

/** The same chunk list under a new header (CopySnapshot): the body and its hash are unchanged. */
export function rewriteHeader(text: string, change: Partial<ManifestHeader>): string {
  const nl = text.indexOf('\n');
  const header = { ...(JSON.parse(text.slice(0, nl)) as ManifestHeader), ...change };
  return `${JSON.stringify(header)}${text.slice(nl)}`;
}

function checkHeader(h: ManifestHeader, path: string): ManifestHeader {
  if (h.format !== MANIFEST_FORMAT || typeof h.sizeBytes !== 'number' || typeof h.chunkSize !== 'number') {
    throw new Error(`${path}: not a snapshot manifest of format ${MANIFEST_FORMAT}`);
  }
  return h;
}

/** `read()`, or undefined when the file does not exist (the snapshot does not). */
function unlessMissing<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The header line alone, or undefined when there is no such manifest. */
export function readHeader(path: string): ManifestHeader | undefined {
  const fd = unlessMissing(() => openSync(path, 'r'));
  if (fd === undefined) return undefined;
  try {
    // The header is a few hundred bytes; read until its newline.
    let text = '';
    const buf = Buffer.alloc(4096);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      text += buf.toString('utf8', 0, n);
      const nl = text.indexOf('\n');
      if (nl >= 0) return checkHeader(JSON.parse(text.slice(0, nl)) as ManifestHeader, path);
      if (n === 0) throw new Error(`${path}: truncated manifest`);
    }
  } finally {
    closeSync(fd);
  }
}

/** The whole manifest, its body checked against the header; throws when it does not match. */
export function readManifest(path: string): Manifest | undefined {
  const text = unlessMissing(() => readFileSync(path, 'utf8'));
  if (text === undefined) return undefined;
  const nl = text.indexOf('\n');
  const header = checkHeader(JSON.parse(text.slice(0, nl)) as ManifestHeader, path);
  const rest = text.slice(nl + 1);
  if (createHash('sha256').update(rest).digest('hex') !== header.bodySha256) {
    throw new Error(`${path}: manifest is corrupt (its chunk list does not match its header's hash)`);
  }
  const chunks: ChunkRef[] = [];
  for (const line of rest.split('\n')) {
    if (!line) continue;
    const m = LINE.exec(line);
    if (!m) throw new Error(`${path}: manifest is corrupt (bad line ${JSON.stringify(line.slice(0, 80))})`);
    chunks.push({ index: Number(m[1]), hash: m[2] });
  }
  if (chunks.length !== header.chunkCount) throw new Error(`${path}: manifest is corrupt (${chunks.length} chunks, header says ${header.chunkCount})`);
  return { ...header, chunks };
}

/**
 * Every chunk hash a manifest names, for garbage collection. Deliberately lenient (no header or
 * body check): a chunk named anywhere in a damaged manifest is still kept.
 */
export function manifestHashes(path: string, into: Set<string>): void {
  const text = readFileSync(path, 'utf8');
  for (const m of text.matchAll(/^\d+ ([0-9a-f]{64})$/gm)) into.add(m[1]);
}
