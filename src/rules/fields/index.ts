// Rules engine, field registry: every Falco field the engine knows, by class (one file per class
// in this folder), and name resolution for the parser/compiler and the output formatter
// (proc.aname[2], evt.arg.flags, evt.arg[0], k8s.pod.label[app]...).
import type { FieldDef } from '../types.ts';
import { evtFields } from './evt.ts';
import { procFields } from './proc.ts';
import { threadFields } from './thread.ts';
import { userFields } from './user.ts';
import { groupFields } from './group.ts';
import { fdFields } from './fd.ts';
import { containerFields } from './container.ts';
import { k8sFields } from './k8s.ts';
import { fsFields } from './fs.ts';

export const FIELD_CLASSES: Record<string, FieldDef[]> = {
  evt: evtFields,
  proc: procFields,
  thread: threadFields,
  user: userFields,
  group: groupFields,
  fd: fdFields,
  container: containerFields,
  k8s: k8sFields,
  fs: fsFields,
};

export const FIELDS: ReadonlyMap<string, FieldDef> = new Map(
  Object.values(FIELD_CLASSES)
    .flat()
    .map((f) => [f.name, f]),
);

const KEYED = [...FIELDS.values()].filter((f) => f.arg === 'key');

export type FieldLookup = { def: FieldDef; arg: string | undefined } | { error: string };

/** Resolves a field name as written in a condition or output (bracket argument separately). */
export function lookupField(name: string, bracketArg: string | undefined): FieldLookup {
  const def = FIELDS.get(name);
  if (def) {
    if (bracketArg === undefined) {
      if (def.arg === 'index' || def.arg === 'key') return { error: `field '${name}' requires an argument` };
      return { def, arg: undefined };
    }
    if (def.arg === 'none') return { error: `field '${name}' does not take an argument` };
    if (def.arg === 'index' || def.arg === 'optindex') {
      if (!/^\d+$/.test(bracketArg)) return { error: `field '${name}' requires a numeric index, got '${bracketArg}'` };
    }
    return { def, arg: bracketArg };
  }
  for (const k of KEYED) {
    if (name.startsWith(k.name + '.') && name.length > k.name.length + 1) {
      if (bracketArg !== undefined) return { error: `field '${name}' does not take a bracket argument` };
      return { def: k, arg: name.slice(k.name.length + 1) };
    }
  }
  return { error: `unknown field '${name}'` };
}
