// Store factory: `duckdb:PATH` (default: DATA_DIR/vigil.duckdb) or `postgres://...`/`postgresql://...`.
import path from 'node:path';
import { VigilError } from '../common/errors.ts';
import { DuckDbStore } from './duckdb.ts';
import { PostgresStore } from './postgres.ts';
import type { Store } from './types.ts';

export type { Store } from './types.ts';

export function storeFromUrl(url: string | undefined, dataDir: string): Store {
  if (!url || url === 'duckdb' || url === 'duckdb:') return new DuckDbStore(path.join(dataDir, 'vigil.duckdb'));
  if (url.startsWith('duckdb:')) {
    const p = url.slice('duckdb:'.length).replace(/^\/\/(?=\/)/, '');
    return new DuckDbStore(p === ':memory:' ? p : path.resolve(dataDir, p));
  }
  if (/^postgres(ql)?:\/\//.test(url)) return new PostgresStore(url);
  throw new VigilError('VIGIL_E_CONFIG', `unsupported --store ${JSON.stringify(url)} (use duckdb:PATH or postgres://...)`);
}

/** Opens and migrates a store. */
export async function openStore(url: string | undefined, dataDir: string): Promise<Store> {
  const s = storeFromUrl(url, dataDir);
  await s.init();
  return s;
}
