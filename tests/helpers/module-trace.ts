// Test helper: which modules a CLI call loads. Runs `vigil ARGS` from the sources (src/cli/main.ts
// through tsx) with the resolve hook of tests/helpers/module-trace-hook.mjs and returns the URLs it
// recorded in order, the exit status and the output, plus two views of the URLs: the npm packages
// and the repository files (relative to the repo root), each sorted and unique.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const HOOK = path.join(import.meta.dirname, 'module-trace-hook.mjs');

export interface ModuleTrace {
  status: number | null;
  stdout: string;
  stderr: string;
  urls: string[];
  /** npm packages loaded (scoped ones as @scope/name) */
  packages: string[];
  /** repository files loaded (e.g. src/cli/program.ts), node_modules excluded */
  files: string[];
}

export function traceModules(args: string[]): ModuleTrace {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-module-trace-'));
  const file = path.join(dir, 'urls');
  try {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', HOOK, path.join(repoRoot, 'src/cli/main.ts'), ...args], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, VIGIL_MODULE_TRACE: file },
    });
    let urls: string[] = [];
    try {
      urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      // nothing recorded (the process did not start)
    }
    const local = urls.filter((u) => u.startsWith('file:')).map((u) => fileURLToPath(u));
    const packages = new Set<string>();
    const files = new Set<string>();
    for (const p of local) {
      const i = p.lastIndexOf('/node_modules/');
      if (i >= 0) {
        const parts = p.slice(i + '/node_modules/'.length).split('/');
        packages.add(parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!);
      } else if (p.startsWith(`${repoRoot}/`)) files.add(path.relative(repoRoot, p));
    }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, urls, packages: [...packages].sort(), files: [...files].sort() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
