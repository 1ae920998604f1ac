// Rules engine, loader messages: the located error/warning record every stage of rules loading
// reports (reader, collector, compiler: see loader.ts), the exception a stage throws for one item
// (ItemError), and their two renderings (a `file:line:col: message` line, a VigilError).
import { VigilError } from '../common/errors.ts';
import type { Loc } from './types.ts';

export type ItemKind = 'rule' | 'macro' | 'list' | 'required_engine_version' | 'required_plugin_versions' | 'file';

export interface LoadMessage {
  file: string;
  line: number;
  col: number;
  message: string;
  kind?: ItemKind;
  item?: string;
  code: 'VIGIL_E_RULE' | 'VIGIL_E_YAML';
}

export function formatMessage(m: LoadMessage): string {
  const what = m.item !== undefined && m.kind && m.kind !== 'file' ? ` (${m.kind} ${m.item})` : '';
  return `${m.file}:${m.line}:${m.col}: ${m.message}${what}`;
}

export function toVigilError(m: LoadMessage): VigilError {
  const what = m.item !== undefined && m.kind && m.kind !== 'file' ? ` (${m.kind} ${m.item})` : '';
  return new VigilError(m.code, m.message + what, { where: { file: m.file, line: m.line, col: m.col } });
}

/**
 * What is wrong with one item of a rules file, at a location. `kind`/`item` name the list, macro
 * or rule it belongs to once its name is known (set by the stage that handles the item).
 */
export class ItemError extends Error {
  kind: ItemKind | undefined;
  item: string | undefined;
  constructor(
    message: string,
    readonly loc: Loc,
    readonly code: LoadMessage['code'] = 'VIGIL_E_RULE',
  ) {
    super(message);
  }
}

/** The message of an item error (`kind` and `item` always present as keys, as before the split). */
export function itemErrorMessage(e: ItemError): LoadMessage {
  return { ...e.loc, message: e.message, kind: e.kind, item: e.item, code: e.code };
}

/** A warning about an item (always a VIGIL_E_RULE one). */
export function warningAt(loc: Loc, message: string, kind?: ItemKind, item?: string): LoadMessage {
  return { ...loc, message, kind, item, code: 'VIGIL_E_RULE' };
}
