// Rules engine, field class `group`: group credentials of the thread that made the call.
import type { FieldDef } from '../types.ts';
import { field } from './define.ts';
import { getter } from './util.ts';

export const groupFields: FieldDef[] = [
  field('group.gid', 'int', 'group id', () => getter('group.gid')),
  field('group.name', 'string', 'group name', () => getter('group.name')),
];
