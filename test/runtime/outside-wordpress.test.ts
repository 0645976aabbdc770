/**
 * How Debian's WordPress packages become wordpress.org's layout (runtime/outside/wordpress.ts),
 * on a small tree shaped like the unpacked packages: links into other packages become files,
 * links to the system's CA bundle stay links, Debian's own config is left out, and a localized
 * build keeps only its language. The real packages are unpacked by test/runtime/outside.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { assembleWordPress } from '../../src/runtime/outside/wordpress.js';

function tree(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    const p = join(root, path);
    mkdirSync(dirname(p), { recursive: true });
    if (content.startsWith('-> ')) symlinkSync(content.slice(3), p);
    else writeFileSync(p, content);
  }
}

test('Debian\'s packages laid out as latest-ja.tar.gz unpacks', () => {
  const work = mkdtempSync(join(tmpdir(), 'kumo-wp-'));
  try {
    const root = join(work, 'root');
    tree(root, {
      'usr/share/wordpress/index.php': '<?php require "wp-blog-header.php";',
      'usr/share/wordpress/wp-config.php': '<?php /* Debian: reads /etc/wordpress/config-<host>.php */',
      'usr/share/wordpress/wp-config-sample.php': '<?php define("DB_NAME", "database_name_here");',
      'usr/share/wordpress/.htaccess': '-> /etc/wordpress/htaccess',
      'usr/share/wordpress/wp-includes/version.php': "<?php\n$wp_version = '6.1.9';\n",
      'usr/share/wordpress/wp-includes/js/underscore.js': '-> ../../../javascript/underscore/underscore.js',
      'usr/share/wordpress/wp-includes/js/crop/cropper.js': '-> ../../../../javascript/cropper/cropper.js',
      'usr/share/wordpress/wp-includes/ID3': '-> ../../php/getid3',
      'usr/share/wordpress/wp-includes/certificates/ca-bundle.crt': '-> /etc/ssl/certs/ca-certificates.crt',
      'usr/share/wordpress/wp-content/languages/ja.mo': 'ja',
      'usr/share/wordpress/wp-content/languages/admin-ja.mo': 'admin ja',
      'usr/share/wordpress/wp-content/languages/continents-cities-ja.mo': 'cities ja',
      'usr/share/wordpress/wp-content/languages/de_DE.mo': 'de',
      'usr/share/wordpress/wp-content/languages/jv_ID.mo': 'jv',
      'usr/share/wordpress/wp-content/themes/twentytwentythree/style.css': '/* theme */',
      'usr/share/wordpress/wp-content/plugins/akismet/akismet.php': '<?php',
      'usr/share/javascript/underscore/underscore.js': 'underscore',
      'usr/share/javascript/cropper/cropper.js': '-> cropper.min.js',
      'usr/share/javascript/cropper/cropper.min.js': 'cropper',
      'usr/share/php/getid3/getid3.php': '<?php // getid3',
    });
    const wp = join(work, 'wordpress');
    assembleWordPress(root, wp, 'ja');
    assert.ok(!existsSync(join(wp, 'wp-config.php')), 'no Debian config: the installer writes wp-config.php');
    assert.ok(existsSync(join(wp, 'wp-config-sample.php')));
    assert.ok(!existsSync(join(wp, '.htaccess')) && !lstatSync(join(wp, 'index.php')).isSymbolicLink());
    assert.equal(readFileSync(join(wp, 'wp-includes/js/underscore.js'), 'utf8'), 'underscore', 'a link into another package is its file');
    assert.equal(readFileSync(join(wp, 'wp-includes/js/crop/cropper.js'), 'utf8'), 'cropper', 'through links of links');
    assert.equal(readFileSync(join(wp, 'wp-includes/ID3/getid3.php'), 'utf8'), '<?php // getid3', 'a linked directory is copied');
    assert.equal(readlinkSync(join(wp, 'wp-includes/certificates/ca-bundle.crt')), '/etc/ssl/certs/ca-certificates.crt', 'the system CA bundle stays a link');
    assert.deepEqual(readdirSync(join(wp, 'wp-content/languages')).sort(), ['admin-ja.mo', 'continents-cities-ja.mo', 'ja.mo']);
    assert.match(readFileSync(join(wp, 'wp-includes/version.php'), 'utf8'), /\$wp_local_package = 'ja';\n$/, 'the installer speaks Japanese');
    for (const d of ['wp-content', 'wp-content/themes', 'wp-content/plugins']) assert.ok(existsSync(join(wp, d, 'index.php')), `${d}/index.php`);

    const en = join(work, 'wordpress-en');
    assembleWordPress(root, en);
    assert.ok(!existsSync(join(en, 'wp-content/languages')), 'latest.tar.gz has no translations');
    assert.doesNotMatch(readFileSync(join(en, 'wp-includes/version.php'), 'utf8'), /wp_local_package/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
