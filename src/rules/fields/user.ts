// Rules engine, field classes `user` and `group`: credentials of the thread that made the call.
import type { FieldDef } from '../types.ts';
import { field } from './define.ts';
import { getter } from './util.ts';

export const userFields: FieldDef[] = [
  field('user.uid', 'int', 'user id', () => getter('user.uid')),
  field('user.name', 'string', 'user name', () => getter('user.name')),
  field('user.loginuid', 'int', 'audit login uid (-1 when unset)', () => getter('user.loginuid')),
  field('user.loginname', 'string', 'name of the audit login user', () => getter('user.loginname')),
  field('user.homedir', 'path', 'home directory of the user', () => getter('user.homedir')),
  field('user.shell', 'string', 'shell of the user', () => getter('user.shell')),
];
