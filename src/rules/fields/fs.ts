// Rules engine, field class `fs`: the path(s) a filesystem event is about, uniform across event
// types (fs.path.name for open/mkdir/unlink/chmod..., source/target for rename/link/symlink).
import type { Ev, Extractor, FieldDef } from '../types.ts';
import { field } from './define.ts';
import { absPath, firstOf, getter } from './util.ts';

const evType = getter('evt.type');
const cwd = getter('proc.cwd');
const fdName = getter('fd.name');

const NAME_ARGS = firstOf(getter('evt.arg.name'), getter('evt.arg.path'), getter('evt.arg.filename'), getter('evt.arg.pathname'));
const SRC_TYPES = new Set(['rename', 'renameat', 'renameat2', 'link', 'linkat', 'symlink', 'symlinkat']);

const oldpath = getter('evt.arg.oldpath');
const newpath = getter('evt.arg.newpath');
const linkTarget = getter('evt.arg.target');
const linkpath = getter('evt.arg.linkpath');

const source: Extractor = (ev) => {
  const t = evType(ev);
  if (typeof t !== 'string' || !SRC_TYPES.has(t)) return undefined;
  return t.startsWith('rename') ? oldpath(ev) : linkTarget(ev);
};
const target: Extractor = (ev) => {
  const t = evType(ev);
  if (typeof t !== 'string' || !SRC_TYPES.has(t)) return undefined;
  return t.startsWith('rename') ? newpath(ev) : linkpath(ev);
};
const nameRaw: Extractor = (ev) => {
  const t = evType(ev);
  if (typeof t === 'string' && SRC_TYPES.has(t)) return undefined;
  return NAME_ARGS(ev);
};

function abs(get: Extractor): Extractor {
  return (ev: Ev) => {
    const v = get(ev);
    if (typeof v !== 'string') return v;
    const c = cwd(ev);
    return absPath(v, typeof c === 'string' ? c : undefined);
  };
}

export const fsFields: FieldDef[] = [
  field('fs.path.name', 'path', 'absolute path of the file the event is about', () =>
    firstOf(abs(nameRaw), (ev) => {
      const t = evType(ev);
      return typeof t === 'string' && SRC_TYPES.has(t) ? undefined : fdName(ev);
    }),
  ),
  field('fs.path.nameraw', 'path', 'path of the file as passed to the syscall', () => nameRaw),
  field('fs.path.source', 'path', 'absolute source path (rename, link, symlink)', () => abs(source)),
  field('fs.path.sourceraw', 'path', 'source path as passed to the syscall', () => source),
  field('fs.path.target', 'path', 'absolute target path (rename, link, symlink)', () => abs(target)),
  field('fs.path.targetraw', 'path', 'target path as passed to the syscall', () => target),
];
