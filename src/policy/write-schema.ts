// Writes the published JSON Schema of policy documents to deploy/crds/vigilpolicy.schema.json
// (run: node --import tsx src/policy/write-schema.ts). tests/policy/schema.test.ts fails when the
// committed file differs from what src/policy/schema.ts generates.
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { publishedSchema } from './schema.ts';

export const SCHEMA_FILE = path.resolve(import.meta.dirname, '..', '..', 'deploy', 'crds', 'vigilpolicy.schema.json');

export function schemaText(): string {
  return `${JSON.stringify(publishedSchema(), null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  mkdirSync(path.dirname(SCHEMA_FILE), { recursive: true });
  writeFileSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
