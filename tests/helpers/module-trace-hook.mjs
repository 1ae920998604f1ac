// Test helper: a module resolve hook that records every module URL a Node process resolves, one
// per line, in the file named by VIGIL_MODULE_TRACE (nothing is recorded without it). Load it with
// `node --import ./tests/helpers/module-trace-hook.mjs ...`: imported on the main thread it
// registers itself as the hook module. Plain JavaScript, so it runs with or without tsx.
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.VIGIL_MODULE_TRACE;

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (out) appendFileSync(out, `${r.url}\n`);
  return r;
}

if (isMainThread && out) {
  const { register } = await import('node:module');
  register(import.meta.url);
}
