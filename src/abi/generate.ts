// Generator of everything derived from the event-kind table (src/abi/kinds-table.ts): the C header
// the BPF programs and the loader use (bpf/vigil_kinds.h: enum vgl_kind, VGL_A_<SYM>_<SLOT> slot
// indices, VGL_NR_<SYM> syscall numbers of the architecture being compiled) and the TypeScript
// mirror (src/abi/kinds.gen.ts: K, A, NR, EVENT_TYPES). Pure: returns the files' text, so the
// unit test can check that the committed files are fresh; scripts/gen-abi.ts writes them.
// The table is validated first: a bad row is an error naming the row and what was expected.
import { VigilError } from '../common/errors.ts';
import { KIND_CONSTS, KIND_TABLE, ENUMS, type KindRow } from './kinds-table.ts';

/** vgl_event.args length and the slots the in-kernel fd description uses (bpf/vigil_abi.h:
 * VGL_NARGS, VGL_FD_A_*; the layout test checks both against the header). */
export const GEN_NARGS = 12;
export const GEN_FD_DESC_SLOTS = [6, 7, 8, 9, 10, 11];

export const GENERATED_FILES = { cHeader: 'bpf/vigil_kinds.h', ts: 'src/abi/kinds.gen.ts' } as const;

const ARCHES = ['x86_64', 'arm64'] as const;

/** A malformed table row; `sym` names the row (scripts/gen-abi.ts turns it into a line number). */
export class KindTableError extends VigilError {
  readonly sym: string | undefined;
  constructor(row: KindRow | undefined, msg: string) {
    super('VIGIL_E_INTERNAL', `src/abi/kinds-table.ts${row ? `: kind ${row.id} (${row.sym})` : ''}: ${msg}`, { where: { file: 'src/abi/kinds-table.ts' } });
    this.name = 'KindTableError';
    this.sym = row?.sym;
  }
}

/** Checks the table's invariants; throws KindTableError on the first violation. */
export function validateTable(rows: KindRow[] = KIND_TABLE): void {
  const ids = new Map<number, KindRow>();
  const syms = new Set<string>(KIND_CONSTS.map((c) => c.sym));
  const max = KIND_CONSTS.find((c) => c.sym === 'MAX')!.id;
  for (const r of rows) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(r.sym)) throw new KindTableError(r, `sym must be upper-case C identifier, got "${r.sym}"`);
    if (!Number.isInteger(r.id) || r.id <= 0 || r.id >= max) throw new KindTableError(r, `id must be an integer in 1..${max - 1}`);
    if (ids.has(r.id)) throw new KindTableError(r, `id ${r.id} already used by ${ids.get(r.id)!.sym}`);
    ids.set(r.id, r);
    if (syms.has(r.sym)) throw new KindTableError(r, `sym ${r.sym} used twice`);
    syms.add(r.sym);
    if (!/^[a-z][a-z0-9_]*$/.test(r.name)) throw new KindTableError(r, `name must be a Falco event name, got "${r.name}"`);
    if (r.source === 'syscall' && !r.nr) throw new KindTableError(r, 'a syscall kind needs nr: { x86_64, arm64 }');
    if (r.source === 'sched' && !r.reserved && (!r.sched || !r.prog)) throw new KindTableError(r, 'a sched kind needs sched (the tp_btf tracepoint) and prog');
    if (r.source !== 'sched' && r.sched) throw new KindTableError(r, 'only sched kinds have a sched tracepoint');
    if (r.nr) {
      for (const a of ARCHES) {
        const n = r.nr[a];
        if (n !== null && (!Number.isInteger(n) || n < 0)) throw new KindTableError(r, `nr.${a} must be a syscall number or null`);
      }
      if (r.nr.x86_64 === null) throw new KindTableError(r, 'nr.x86_64 must be set');
    }
    if (r.layout && Object.keys(r.slots).length) throw new KindTableError(r, `a kind with layout "${r.layout}" has no own slots`);
    const byIndex = new Map<number, string>();
    for (const [name, s] of Object.entries(r.slots)) {
      if (!/^[a-z][a-z0-9_]*$/.test(name)) throw new KindTableError(r, `slot name "${name}" must be lower-case`);
      if (!Number.isInteger(s.at) || s.at < 0 || s.at >= GEN_NARGS) throw new KindTableError(r, `slot ${name}: at must be in 0..${GEN_NARGS - 1}, got ${s.at}`);
      if (r.fdDesc && GEN_FD_DESC_SLOTS.includes(s.at)) throw new KindTableError(r, `slot ${name}: index ${s.at} is the fd description's (fdDesc)`);
      const other = byIndex.get(s.at);
      if (s.union !== undefined) {
        if (r.slots[s.union]?.at !== s.at || r.slots[s.union]?.union !== undefined)
          throw new KindTableError(r, `slot ${name}: union "${s.union}" must name a plain slot at index ${s.at}`);
      } else if (other !== undefined) {
        throw new KindTableError(r, `slots ${other} and ${name} both at index ${s.at} (declare one as a union)`);
      } else byIndex.set(s.at, name);
      if (s.enum !== undefined && !ENUMS[s.enum]) throw new KindTableError(r, `slot ${name}: unknown enum "${s.enum}"`);
    }
    const strs = new Set(r.strs);
    if (strs.size !== r.strs.length) throw new KindTableError(r, 'string names must be distinct');
    for (const n of r.strs) if (r.slots[n]) throw new KindTableError(r, `"${n}" is both a slot and a string`);
    for (const p of r.params ?? []) {
      if (p !== 'res' && !r.slots[p] && !strs.has(p)) throw new KindTableError(r, `param "${p}" is neither res, a slot nor a string`);
    }
    // the enricher's columns: what they read must be there
    const pathPairAt = (i: number) => r.strs[i + 1] === `${r.strs[i]}_base`;
    if (r.fd === 'open' && !pathPairAt(0))
      throw new KindTableError(r, 'fd "open" needs a path and its base directory as strs[0] and strs[1] (name, name_base)');
    if ((r.fd === 'open' || r.fd === 'dup' || r.fd === 'socket') && !r.fdDesc)
      throw new KindTableError(r, `fd "${r.fd}" needs the in-kernel fd description (fdDesc: true)`);
    if (r.fdOnFailure && r.fd !== 'socket') throw new KindTableError(r, 'fdOnFailure applies to fd "socket" kinds only');
    if (r.tuple && r.fd !== 'socket') throw new KindTableError(r, 'tuple applies to fd "socket" kinds only');
    if (r.fsPath === 'one' && !pathPairAt(0)) throw new KindTableError(r, 'fsPath "one" needs a path and its base directory as strs[0] and strs[1]');
    if ((r.fsPath === 'two' || r.fsPath === 'symlink') && !(pathPairAt(0) && pathPairAt(2)))
      throw new KindTableError(r, `fsPath "${r.fsPath}" needs two paths with their base directories as strs[0..3]`);
    if (r.fd && r.fsPath) throw new KindTableError(r, 'a kind has either an fd effect or fs paths, not both');
  }
}

const hex = (n: number) => (n >= 0x8000 ? `0x${n.toString(16)}` : String(n));

function cHeader(rows: KindRow[]): string {
  const L: string[] = [];
  L.push('/* SPDX-License-Identifier: (GPL-2.0-only OR Apache-2.0) */');
  L.push('/*');
  L.push(' * vigil_kinds.h: GENERATED from src/abi/kinds-table.ts by scripts/gen-abi.ts (make gen). Do not edit:');
  L.push(' * change the table and regenerate (tests/unit/abi/generated.test.ts fails when this file is stale).');
  L.push(' * Event kinds, the index of every named arg slot (VGL_A_<KIND>_<SLOT>, into vgl_event.args), and the');
  L.push(' * syscall numbers of the architecture being compiled (VGL_NR_<KIND>).');
  L.push(' */');
  L.push('#ifndef VIGIL_KINDS_H');
  L.push('#define VIGIL_KINDS_H');
  L.push('');
  L.push('enum vgl_kind {');
  const consts = new Map(KIND_CONSTS.map((c) => [c.sym, c]));
  L.push(`\tVGL_K_NONE = 0,`);
  for (const r of rows) L.push(`\tVGL_K_${r.sym} = ${r.id}, /* ${r.name}: ${r.family}${r.reserved ? ', reserved' : ''} */`);
  for (const c of KIND_CONSTS) if (c.sym !== 'NONE') L.push(`\tVGL_K_${c.sym} = ${hex(c.id)}, /* ${consts.get(c.sym)!.doc} */`);
  L.push('};');
  L.push('');
  L.push('/* Arg slots (indices into vgl_event.args) */');
  for (const r of rows) {
    for (const [name, s] of Object.entries(r.slots)) {
      L.push(`#define VGL_A_${r.sym}_${name.toUpperCase()} ${s.at} /* ${s.type}${s.union ? `, union with ${s.union}` : ''} */`);
    }
  }
  L.push('');
  L.push('/* Syscall numbers of the target architecture (absent: no such syscall there) */');
  L.push('#if defined(__TARGET_ARCH_arm64) || (!defined(__TARGET_ARCH_x86) && defined(__aarch64__))');
  for (const r of rows) if (r.nr && r.nr.arm64 !== null) L.push(`#define VGL_NR_${r.sym} ${r.nr.arm64}`);
  L.push('#elif defined(__TARGET_ARCH_x86) || defined(__x86_64__)');
  for (const r of rows) if (r.nr) L.push(`#define VGL_NR_${r.sym} ${r.nr.x86_64}`);
  L.push('#else');
  L.push('#error "vigil_kinds.h: syscall numbers only for x86_64 and arm64"');
  L.push('#endif');
  L.push('');
  L.push('#endif /* VIGIL_KINDS_H */');
  return L.join('\n') + '\n';
}

function tsMirror(rows: KindRow[]): string {
  const L: string[] = [];
  L.push('// GENERATED from src/abi/kinds-table.ts by scripts/gen-abi.ts (make gen). Do not edit: change the');
  L.push('// table and regenerate (tests/unit/abi/generated.test.ts fails when this file is stale).');
  L.push('// The TypeScript mirror of bpf/vigil_kinds.h: kind ids (K), arg slot indices by kind (A), string');
  L.push('// indices by kind (STR), syscall numbers per architecture (NR), and the evt.type values the sensor');
  L.push("// can emit (EVENT_TYPES, the rules engine's universe).");
  L.push('');
  L.push('/** enum vgl_kind */');
  L.push('export const K = {');
  L.push('  NONE: 0,');
  for (const r of rows) L.push(`  ${r.sym}: ${r.id},`);
  for (const c of KIND_CONSTS) if (c.sym !== 'NONE') L.push(`  ${c.sym}: ${hex(c.id)},`);
  L.push('} as const;');
  L.push('');
  L.push('/** Arg slots: A.<KIND>.<slot> is the index into vgl_event.args (VGL_A_<KIND>_<SLOT>) */');
  L.push('export const A = {');
  for (const r of rows) {
    const e = Object.entries(r.slots);
    if (!e.length) continue;
    L.push(`  ${r.sym}: { ${e.map(([n, s]) => `${n}: ${s.at}`).join(', ')} },`);
  }
  L.push('} as const;');
  L.push('');
  L.push('/** Strings: STR.<KIND>.<name> is the index of the string in the record */');
  L.push('export const STR = {');
  for (const r of rows) {
    if (!r.strs.length) continue;
    L.push(`  ${r.sym}: { ${r.strs.map((n, i) => `${n}: ${i}`).join(', ')} },`);
  }
  L.push('} as const;');
  L.push('');
  L.push('/** Syscall numbers per architecture (VGL_NR_<KIND>); a kind absent from an arch has no syscall there */');
  L.push('export const NR = {');
  for (const a of ARCHES) {
    L.push(`  ${a}: {`);
    for (const r of rows) if (r.nr && r.nr[a] !== null) L.push(`    ${r.sym}: ${r.nr[a]},`);
    L.push('  },');
  }
  L.push('} as const;');
  L.push('');
  const types = [...new Set(rows.filter((r) => r.ruleType !== false).map((r) => r.name))];
  L.push('/** The event types the sensor can emit (evt.type values a rule can select) */');
  L.push('export const EVENT_TYPES: readonly string[] = [');
  for (let i = 0; i < types.length; i += 8)
    L.push(
      `  ${types
        .slice(i, i + 8)
        .map((t) => `'${t}'`)
        .join(', ')},`,
    );
  L.push('];');
  return L.join('\n') + '\n';
}

/** The generated files' text, keyed by repository-relative path. */
export function generate(rows: KindRow[] = KIND_TABLE): Record<string, string> {
  validateTable(rows);
  return { [GENERATED_FILES.cHeader]: cHeader(rows), [GENERATED_FILES.ts]: tsMirror(rows) };
}
