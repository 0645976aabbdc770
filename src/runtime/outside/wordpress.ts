/**
 * WordPress as wordpress.org's tarballs unpack (`wordpress/` with index.php, wp-admin/,
 * wp-includes/, wp-content/{themes,plugins}, wp-config-sample.php), made from Debian's packages
 * (debian-archive.ts): `wordpress`, its default theme, and the packages whose files Debian's
 * WordPress links to instead of bundling them (php-getid3, libjs-underscore, libjs-cropper),
 * copied in where the links were. A localized build (latest-ja.tar.gz) adds that locale's files of
 * `wordpress-l10n` under wp-content/languages/ and `$wp_local_package` in wp-includes/version.php,
 * as wordpress.org's localized packages do: the web installer then speaks the language.
 *
 * Left out, as Debian's and not WordPress's: its wp-config.php (it reads
 * /etc/wordpress/config-<host>.php) and links into /etc/wordpress (.htaccess). A link to the
 * system's CA bundle stays a link: every image has that file.
 */
import { appendFileSync, chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { run } from '../instances/host.js';
import type { DebianArchive } from './debian-archive.js';

const CORE = ['wordpress', 'wordpress-theme-twentytwentythree', 'php-getid3', 'libjs-underscore', 'libjs-cropper'];
const TRANSLATIONS = 'wordpress-l10n';
const TREE = 'usr/share/wordpress';

/** Builds the tarball at `out` (atomically: a temporary file renamed at the end); `locale` as wordpress.org names it (`ja`). */
export async function buildWordPress(archive: DebianArchive, out: string, locale?: string): Promise<void> {
  const names = locale ? [...CORE, TRANSLATIONS] : CORE;
  const packages = await archive.find(names);
  mkdirSync(dirname(out), { recursive: true });
  // Named for its builder, so that what a kumo that died mid-build left is known as such (downloads.ts).
  const work = mkdtempSync(join(dirname(out), `.build-${process.pid}-`));
  try {
    const root = join(work, 'root');
    for (const p of packages.values()) await run('dpkg-deb', ['-x', await archive.fetch(p), root]);
    const stage = join(work, 'stage');
    assembleWordPress(root, join(stage, 'wordpress'), locale);
    const tmp = join(work, 'out.tar.gz');
    await run('tar', ['-C', stage, '--owner=0', '--group=0', '--numeric-owner', '-czf', tmp, 'wordpress']);
    renameSync(tmp, out);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The tree of `root` (the packages unpacked) laid out as wordpress.org's `wordpress/` at `dst`. */
export function assembleWordPress(root: string, dst: string, locale?: string): void {
  const languages = `wp-content/languages`;
  const wanted = locale ? new RegExp(`(^|-)${locale.replace(/[^A-Za-z_]/g, '')}(\\.[a-z.]+|-[0-9a-f]{32}\\.json)$`) : undefined;
  copyTree(root, join(root, TREE), dst, '', (rel, name) => {
    if (rel === 'wp-config.php') return false;
    if (rel === languages || rel.startsWith(`${languages}/`)) {
      if (!wanted) return false;
      return rel === languages || !name.includes('.') || wanted.test(name);
    }
    return true;
  });
  // wordpress.org keeps these directories from being listed; Debian's package leaves them out.
  for (const d of ['wp-content', 'wp-content/themes', 'wp-content/plugins']) {
    const f = join(dst, d, 'index.php');
    if (existsSync(join(dst, d)) && !existsSync(f)) writeFileSync(f, '<?php\n// Silence is golden.\n');
  }
  if (locale) appendFileSync(join(dst, 'wp-includes/version.php'), `\n$wp_local_package = '${locale}';\n`);
}

/**
 * Copies `src` (under `root`) to `dst`, following links that stay inside `root` (possibly
 * through other links: cropper.js → cropper.min.js), keeping links to the system's files as
 * links, and dropping those into /etc/wordpress or to nothing.
 */
function copyTree(root: string, src: string, dst: string, rel: string, keep: (rel: string, name: string) => boolean): void {
  mkdirSync(dst, { recursive: true });
  for (const name of readdirSync(src).sort()) {
    const childRel = rel ? `${rel}/${name}` : name;
    if (!keep(childRel, name)) continue;
    const from = join(src, name);
    const to = join(dst, name);
    const target = lstatSync(from).isSymbolicLink() ? followInside(root, from) : { path: from };
    if ('system' in target) {
      if (!target.system.startsWith('/etc/wordpress')) symlinkSync(target.system, to);
      continue;
    }
    if (!target.path) continue;
    const st = lstatSync(target.path);
    if (st.isDirectory()) copyTree(root, target.path, to, childRel, keep);
    else if (st.isFile()) {
      copyFileSync(target.path, to);
      chmodSync(to, st.mode & 0o777);
    }
  }
}

/** Where a link in the unpacked tree leads: a path in it, a system path outside it (absolute, not shipped), or nowhere. */
function followInside(root: string, link: string): { path?: string } | { system: string } {
  let at = link;
  for (let hops = 0; hops < 16; hops++) {
    let st;
    try {
      st = lstatSync(at);
    } catch {
      return {};
    }
    if (!st.isSymbolicLink()) return { path: at };
    const t = readlinkSync(at);
    if (isAbsolute(t)) {
      const inside = join(root, t);
      if (!existsSync(inside)) return { system: t };
      at = inside;
    } else at = resolve(dirname(at), t);
    if (!at.startsWith(`${root}/`)) return {};
  }
  return {};
}
