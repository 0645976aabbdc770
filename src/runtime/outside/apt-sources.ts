/**
 * Which package registry instances may reach: the Debian archives of the host's own apt sources
 * (/etc/apt/sources.list, one-line `.list` files and deb822 `.sources` files in sources.list.d).
 * Only those: the package proxy (package-proxy.ts) answers nothing else.
 *
 * kumo's images name Debian by its canonical addresses (IMAGE_ARCHIVES, what debootstrap and
 * Debian's cloud images use), so an image does not depend on the host it was built on; the
 * routes below send those to the host's own mirror of the same archive (the main archive, or the
 * security one). A request naming one of the host's mirrors directly goes there as it is. A host
 * with no Debian source at all (an Ubuntu host, say) gets deb.debian.org's.
 *
 *   instance asks http://deb.debian.org/debian/pool/…  →  route  →  <host's Debian mirror>/pool/…
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface AptSource {
  /** As written: `http://deb.debian.org/debian` (no trailing slash). */
  uri: string;
  suites: string[];
  components: string[];
}

/** What the images' sources.list names (images/recipe.ts). */
export const IMAGE_ARCHIVES = { main: 'http://deb.debian.org/debian', security: 'http://deb.debian.org/debian-security' };

/** A prefix an instance may ask for (`host/path/`), and where kumo fetches it (`scheme://host/path/`). */
export interface Route {
  from: string;
  to: string;
}

const DEBIAN_SUITE = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)(-updates|-security|-backports|-proposed-updates|\/updates)?$/;
const DEBIAN_COMPONENTS = new Set(['main', 'contrib', 'non-free', 'non-free-firmware']);

/** Every `deb` entry of the host's apt configuration under `root` (tests pass a directory of their own). */
export function readHostSources(root = '/'): AptSource[] {
  const dir = join(root, 'etc/apt/sources.list.d');
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return '';
    }
  };
  const out = parseOneLine(read(join(root, 'etc/apt/sources.list')));
  let names: string[] = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    // no sources.list.d
  }
  // apt reads only these two suffixes (a `.list.disabled` file is not a source).
  for (const n of names) {
    if (n.endsWith('.list')) out.push(...parseOneLine(read(join(dir, n))));
    else if (n.endsWith('.sources')) out.push(...parseDeb822(read(join(dir, n))));
  }
  return out;
}

/** `deb [options] uri suite [component…]` lines; deb-src and comments skipped. */
export function parseOneLine(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)((?:\s+\S+)*)$/.exec(line);
    if (!m) continue;
    out.push({ uri: m[1]!.replace(/\/+$/, ''), suites: [m[2]!], components: m[3]!.trim().split(/\s+/).filter(Boolean) });
  }
  return out;
}

/** deb822 stanzas (`Types:`, `URIs:`, `Suites:`, `Components:`, `Enabled:`), one source per URI. */
export function parseDeb822(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || !line.trim()) continue;
      if (/^\s/.test(line) && last) fields.set(last, `${fields.get(last)} ${line.trim()}`);
      else {
        const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
        if (!m) continue;
        last = m[1]!.toLowerCase();
        fields.set(last, m[2]!);
      }
    }
    const list = (k: string) => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (!list('types').includes('deb') || (fields.get('enabled') ?? 'yes').trim().toLowerCase() === 'no') continue;
    for (const uri of list('uris')) out.push({ uri: uri.replace(/\/+$/, ''), suites: list('suites'), components: list('components') });
  }
  return out;
}

const isDebian = (s: AptSource) =>
  /^https?:\/\//.test(s.uri) && s.suites.length > 0 && s.suites.every((x) => DEBIAN_SUITE.test(x)) && s.components.every((c) => DEBIAN_COMPONENTS.has(c));
const isSecurity = (s: AptSource) => s.suites.some((x) => /(-security|\/updates)$/.test(x));
const hostPath = (uri: string) => `${uri.replace(/^https?:\/\//, '').toLowerCase()}/`;

/** The host's Debian archives as routes, plus the images' canonical names mapped onto them. */
export function packageRoutes(sources: AptSource[]): Route[] {
  const debian = sources.filter(isDebian);
  const routes = new Map<string, string>();
  for (const s of debian) routes.set(hostPath(s.uri), `${s.uri}/`);
  const main = debian.find((s) => !isSecurity(s))?.uri ?? IMAGE_ARCHIVES.main;
  const security = debian.find(isSecurity)?.uri ?? IMAGE_ARCHIVES.security;
  routes.set(hostPath(IMAGE_ARCHIVES.main), `${main}/`);
  routes.set(hostPath(IMAGE_ARCHIVES.security), `${security}/`);
  return [...routes].map(([from, to]) => ({ from, to }));
}

/**
 * Where a request for `url` (as an instance's apt sends it to its proxy) is fetched from, or
 * undefined: another host, or a path that is not the registry's (only `dists/` and `pool/`). The
 * longest matching prefix wins; `immutable` paths (packages, indexes by hash) never change.
 */
export function routeOf(routes: Route[], url: URL): { upstream: URL; immutable: boolean } | undefined {
  if (url.protocol !== 'http:' || url.search || url.username || url.password) return undefined;
  const key = `${url.host.toLowerCase()}${url.pathname}`;
  let best: Route | undefined;
  for (const r of routes) if (key.startsWith(r.from) && r.from.length > (best?.from.length ?? 0)) best = r;
  if (!best) return undefined;
  const rest = key.slice(best.from.length);
  // Percent-encoded bytes stay as they are (pool names carry %3a for epochs); no way up or around.
  if (!/^(dists|pool)\/[A-Za-z0-9._~+%:@=/-]+$/.test(rest) || rest.split('/').some((s) => /^(\.|%2e){0,2}$/i.test(s))) return undefined;
  return { upstream: new URL(best.to + rest), immutable: rest.startsWith('pool/') || rest.includes('/by-hash/') };
}
