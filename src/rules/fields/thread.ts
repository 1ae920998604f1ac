// Rules engine, field class `thread`: thread id and capability sets (Falco renders capability
// sets as names joined by spaces, e.g. "CAP_CHOWN CAP_KILL").
import type { FieldDef } from '../types.ts';
import { field } from './define.ts';
import { firstOf, getter } from './util.ts';

const tid = firstOf(getter('thread.tid'), getter('proc.tid'));

export const threadFields: FieldDef[] = [
  field('thread.tid', 'int', 'thread id', () => tid),
  field('thread.vtid', 'int', 'thread id as seen from its pid namespace', () => getter('thread.vtid')),
  field('thread.ismain', 'bool', 'true if the thread is the main thread of its process', () => {
    const pid = getter('proc.pid');
    return (ev) => {
      const t = tid(ev);
      const p = pid(ev);
      return t === undefined || p === undefined ? undefined : Number(t) === Number(p);
    };
  }),
  field('thread.cap_effective', 'string', 'effective capabilities, names joined by spaces', () => getter('thread.cap_effective')),
  field('thread.cap_permitted', 'string', 'permitted capabilities, names joined by spaces', () => getter('thread.cap_permitted')),
  field('thread.cap_inheritable', 'string', 'inheritable capabilities, names joined by spaces', () => getter('thread.cap_inheritable')),
];
