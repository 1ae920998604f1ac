// File insights post-processing: directories with many distinct children (per operation) are folded
// into one `dir/*` entry so that e.g. a cache directory with 10k files shows as one line.
import type { FileEntry } from './types.ts';

export function collapseFiles(entries: FileEntry[], maxChildren = 16): FileEntry[] {
  const byDir = new Map<string, FileEntry[]>();
  for (const e of entries) {
    const i = e.path.lastIndexOf('/');
    const dir = i > 0 ? e.path.slice(0, i) : '/';
    const key = `${e.operation}\u0000${dir}`;
    let l = byDir.get(key);
    if (!l) byDir.set(key, (l = []));
    l.push(e);
  }
  const out: FileEntry[] = [];
  for (const [key, list] of byDir) {
    if (list.length <= maxChildren) {
      out.push(...list);
      continue;
    }
    const [op, dir] = key.split('\u0000') as [string, string];
    const policies = new Set<string>();
    let count = 0,
      denied = 0,
      last = '';
    for (const e of list) {
      count += e.count;
      denied += e.denied;
      if (e.last_seen > last) last = e.last_seen;
      for (const p of e.policies) policies.add(p);
    }
    out.push({ path: `${dir === '/' ? '' : dir}/*`, operation: op, count, denied, last_seen: last, collapsed: list.length, policies: [...policies] });
  }
  out.sort((a, b) => (a.last_seen < b.last_seen ? 1 : a.last_seen > b.last_seen ? -1 : a.path.localeCompare(b.path)));
  return out;
}
