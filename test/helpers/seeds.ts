/**
 * What the source documents (../shared/seeds, outside this repository) give verbatim, for tests
 * that must run it unchanged. The repository keeps seeds/002's user data once, where a user finds
 * it: examples/scalable-website/user-data.sh.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './kumo.js';

/** seeds/002's user data for Test-EC2#1 (Amazon Linux 2), byte for byte as the document prints it. */
export const SEED_002_USER_DATA = readFileSync(join(ROOT, 'examples/scalable-website/user-data.sh'), 'utf8');

/** The sha256 of those bytes in the document, so a test can tell they were not touched. */
export const SEED_002_SHA256 = '83c0b29f45f72eefbdf1d7cdd343662450c05fd15654ee692c97fe2c38fc29d8';
