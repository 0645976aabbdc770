/**
 * Packages of the Debian archive, looked up and fetched the way apt does it, through the package
 * cache, for the files kumo prepares itself (downloads.ts: WordPress from Debian's packages):
 *
 *   dists/<suite>/InRelease ─ gpgv against Debian's archive keyring ─→ SHA256 of an index
 *   → that Packages index (by hash, as apt fetches it) ─ checked ─→ the packages' stanzas
 *   → each .deb (its Filename) ─ checked against the stanza's SHA256
 *
 * So what kumo serves as a download is what Debian signed, whichever mirror it came through.
 * Needs gpgv, xz and Debian's keyring on the host (scripts/setup.sh installs them).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { run } from '../instances/host.js';
import { sha256Of, type PackageCache } from './package-cache.js';

export const ARCHIVE_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface DebPackage {
  name: string;
  version: string;
  /** Relative to the archive's root: `pool/main/w/wordpress/wordpress_….deb`. */
  filename: string;
  sha256: string;
}

export class DebianArchive {
  /** `base`: the archive's root as the cache fetches it (ends with `/`). */
  constructor(
    private readonly cache: PackageCache,
    private readonly base: URL,
    private readonly suite: string,
    private readonly keyring = ARCHIVE_KEYRING,
  ) {}

  /** The stanzas of `names` in one Packages index of the suite (`main/binary-all`: what is the same on every architecture). */
  async find(names: string[], index = 'main/binary-all'): Promise<Map<string, DebPackage>> {
    const release = await this.release();
    const entry = hashOf(release, `${index}/Packages.xz`);
    if (!entry) throw new Error(`${this.suite}'s InRelease lists no ${index}/Packages.xz`);
    const byHash = /^Acquire-By-Hash: yes$/m.test(release);
    const path = byHash ? `dists/${this.suite}/${index}/by-hash/SHA256/${entry}` : `dists/${this.suite}/${index}/Packages.xz`;
    const file = await this.checked(new URL(path, this.base), entry, byHash);
    const found = await scanPackages(file, new Set(names));
    const missing = names.filter((n) => !found.has(n));
    if (missing.length) throw new Error(`not in Debian ${this.suite} ${index}: ${missing.join(', ')}`);
    return found;
  }

  /** The package's .deb in the cache, its checksum the one Debian signed. */
  fetch(p: DebPackage): Promise<string> {
    return this.checked(new URL(p.filename, this.base), p.sha256, true);
  }

  /** The suite's InRelease, its signature checked: the signed text. */
  private async release(): Promise<string> {
    if (!existsSync(this.keyring)) throw new Error(`Debian's archive keyring ${this.keyring} is missing (apt-get install debian-archive-keyring)`);
    const file = await this.cache.file(new URL(`dists/${this.suite}/InRelease`, this.base), false);
    try {
      return await run('gpgv', ['--quiet', '--keyring', this.keyring, '--output', '-', file]);
    } catch (err) {
      throw new Error(`Debian ${this.suite}'s InRelease does not verify: ${(err as Error).message}`);
    }
  }

  private async checked(url: URL, sha256: string, immutable: boolean): Promise<string> {
    const file = await this.cache.file(url, immutable);
    if ((await sha256Of(file)) !== sha256) {
      this.cache.discard(url);
      throw new Error(`${url.href}: its SHA256 is not the one Debian signed (removed from the cache; asking again downloads it anew)`);
    }
    return file;
  }
}

/** The SHA256 an InRelease gives for one of its files. */
export function hashOf(release: string, path: string): string | undefined {
  let inSha256 = false;
  for (const line of release.split('\n')) {
    if (/^\S/.test(line)) {
      inSha256 = line.startsWith('SHA256:');
      continue;
    }
    const [hash, , name] = line.trim().split(/\s+/);
    if (inSha256 && name === path) return hash;
  }
  return undefined;
}

/** Streams an xz'd Packages index, keeping the stanzas of `want` (the first of each name). */
async function scanPackages(file: string, want: Set<string>): Promise<Map<string, DebPackage>> {
  const xz = spawn('xz', ['-dc', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number>((resolve, reject) => xz.on('error', reject).on('close', (code) => resolve(code ?? 1)));
  const found = new Map<string, DebPackage>();
  let cur: Record<string, string> = {};
  const take = () => {
    if (cur.Package && want.has(cur.Package) && !found.has(cur.Package) && cur.Filename && cur.SHA256) {
      found.set(cur.Package, { name: cur.Package, version: cur.Version ?? '', filename: cur.Filename, sha256: cur.SHA256 });
    }
    cur = {};
  };
  for await (const line of createInterface({ input: xz.stdout, crlfDelay: Infinity })) {
    if (line === '') take();
    else {
      const m = /^(Package|Version|Filename|SHA256): (.*)$/.exec(line);
      if (m) cur[m[1]!] = m[2]!;
    }
  }
  take();
  if ((await exited) !== 0) throw new Error(`xz could not read ${file}`);
  return found;
}

