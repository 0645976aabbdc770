/**
 * A NetworkStore on a fresh SQLite database of its own, for state tests that need EC2's network
 * rows without a kumo: opened before the file's tests, closed and removed after them.
 */
import { rmSync } from 'node:fs';
import { after, before } from 'node:test';
import { migrate, openDatabase, type Db } from '../../src/state/db.js';
import { NetworkStore, networkMigrations } from '../../src/state/network.js';
import { tempDir } from './kumo.js';

export const TEST_SCOPE = { account: '000000000000', region: 'ap-northeast-1' };

/** `use` gets the store once it is open (node:test runs a file's before hooks before its tests). */
export function useNetworkStore(use: (net: NetworkStore) => void): void {
  let dir = '';
  let db: Db | undefined;
  before(() => {
    dir = tempDir();
    db = openDatabase(dir);
    migrate(db, 'network', networkMigrations);
    use(new NetworkStore(db));
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });
}
