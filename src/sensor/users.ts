// User and group names: from the host's /etc/passwd and /etc/group, and for container processes
// from the container's own root filesystem (read through /proc/<pid>/root while the process
// lives, or the runtime's rootfs path). Tables are cached per root and re-read when the file's
// mtime changes, checked at most once a second. At most `maxTables` files are kept (one pair
// per container root): the least recently used goes first, counted in `evicted`.
import { readFileSync, statSync } from 'node:fs';

interface Table {
  byId: Map<number, string>;
  home: Map<number, string>;
  shell: Map<number, string>;
  mtimeMs: number;
  checkedAt: number;
}

function parse(content: string, withHome: boolean): Pick<Table, 'byId' | 'home' | 'shell'> {
  const byId = new Map<number, string>();
  const home = new Map<number, string>();
  const shell = new Map<number, string>();
  for (const line of content.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const f = line.split(':');
    if (f.length < 3) continue;
    const id = Number(f[2]);
    if (!Number.isInteger(id)) continue;
    if (!byId.has(id)) byId.set(id, f[0]!);
    if (withHome) {
      if (f[5] !== undefined) home.set(id, f[5]);
      if (f[6] !== undefined) shell.set(id, f[6]);
    }
  }
  return { byId, home, shell };
}

/** passwd/group files cached at most (a host and 63 container roots) */
export const DEFAULT_MAX_USER_TABLES = 128;

export class UserDb {
  private tables = new Map<string, Table | null>();
  /** tables dropped at the limit (least recently used first) */
  evicted = 0;

  constructor(readonly maxTables = DEFAULT_MAX_USER_TABLES) {}

  get size(): number {
    return this.tables.size;
  }

  private table(file: string, withHome: boolean): Table | null {
    const now = Date.now();
    const t = this.tables.get(file);
    if (t && now - t.checkedAt < 1000) return t;
    if (t === undefined && this.tables.size >= this.maxTables) this.evictOne();
    if (t === null && this.tables.has(file)) {
      // missing file: retry at most once a second
      const miss = this.missAt.get(file) ?? 0;
      if (now - miss < 1000) return null;
    }
    try {
      const st = statSync(file);
      if (t && t.mtimeMs === st.mtimeMs) {
        t.checkedAt = now;
        return t;
      }
      const parsed = parse(readFileSync(file, 'utf8'), withHome);
      const nt: Table = { ...parsed, mtimeMs: st.mtimeMs, checkedAt: now };
      this.tables.delete(file); // re-inserted: the most recently read last
      this.tables.set(file, nt);
      return nt;
    } catch {
      this.tables.delete(file);
      this.tables.set(file, null);
      this.missAt.set(file, now);
      return null;
    }
  }
  private missAt = new Map<string, number>();

  /** Drops the table read least recently (insertion order: a re-read moves a table to the end). */
  private evictOne(): void {
    const first = this.tables.keys().next();
    if (first.done) return;
    this.tables.delete(first.value);
    this.missAt.delete(first.value);
    this.evicted++;
  }

  /** root: '' for the host, else a path such as /proc/123/root */
  userName(uid: number, root = ''): string | undefined {
    return this.table(`${root}/etc/passwd`, true)?.byId.get(uid);
  }

  userHome(uid: number, root = ''): string | undefined {
    return this.table(`${root}/etc/passwd`, true)?.home.get(uid);
  }

  userShell(uid: number, root = ''): string | undefined {
    return this.table(`${root}/etc/passwd`, true)?.shell.get(uid);
  }

  groupName(gid: number, root = ''): string | undefined {
    return this.table(`${root}/etc/group`, false)?.byId.get(gid);
  }
}
