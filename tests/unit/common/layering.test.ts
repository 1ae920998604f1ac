// src/common is the bottom layer: its files import node built-ins, npm packages and each other,
// never another part of src/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const COMMON = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/common');

test('src/common imports nothing else from src/', () => {
  const files = readdirSync(COMMON).filter((f) => f.endsWith('.ts'));
  assert.ok(files.includes('errors.ts') && files.includes('cidr.ts'));
  const bad: string[] = [];
  for (const f of files) {
    const text = readFileSync(path.join(COMMON, f), 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith('.')) continue;
      const target = path.resolve(COMMON, spec);
      if (path.dirname(target) !== COMMON) bad.push(`${f}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});
