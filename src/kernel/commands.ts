// The loader's control commands, one typed function each (native/loader.c reads them on stdin as
// text lines; the reply is matched by id in loader.ts). Nothing else in Vigil builds a command
// string: map writes take typed values (encoded by encode.ts), attach commands return the link id
// the loader assigned. The path-filter and port sets are written in an order that never lets the
// kernel consult a configuration whose entries are missing.
import { VigilError } from '../common/errors.ts';
import { kindCfgValue, netScopeWithGeneration, pfCfgValue, pfxKey, portKey, sfxKey, sfxTail, u32le, u64le, type KindCfgValue } from './encode.ts';

/** Where commands go: the loader client (or anything that speaks its protocol). */
export interface LoaderPort {
  command(line: string, body?: Buffer | string): Promise<string>;
}

const hex = (b: Buffer) => b.toString('hex');

function mapUpdate(port: LoaderPort, map: string, key: Buffer, value: Buffer): Promise<string> {
  return port.command(`map-update ${map} ${hex(key)} ${hex(value)}`);
}

function mapDelete(port: LoaderPort, map: string, key: Buffer): Promise<string> {
  return port.command(`map-delete ${map} ${hex(key)}`);
}

function linkId(reply: string, what: string): number {
  const t = reply.trim();
  if (!/^\d+$/.test(t)) throw new VigilError('VIGIL_E_PROTOCOL', `loader reply to ${what}: expected a link id, got ${JSON.stringify(reply)}`);
  return Number(t);
}

// ---- per-kind filter and capture configuration ----

/** kind_cfg[kind] = cfg */
export async function setKindConfig(port: LoaderPort, kind: number, cfg: KindCfgValue): Promise<void> {
  await mapUpdate(port, 'kind_cfg', u32le(kind), kindCfgValue(cfg));
}

/** sys_kind[nr] = kind: which kind a syscall number's exit program reports (0: none) */
export async function setSyscallKind(port: LoaderPort, nr: number, kind: number): Promise<void> {
  await mapUpdate(port, 'sys_kind', u32le(nr), u32le(kind));
}

/** The path_pfx / path_sfx keys written for one kind (hex), to diff the next setPathFilter against. */
export interface PathFilterKeys {
  pfx: Set<string>;
  sfx: Set<string>;
}

/**
 * Makes the path filter of `kind` equal the given prefixes and suffixes: new entries first, then
 * the per-kind pf_cfg, then removals of the entries in `prev` no longer wanted. Returns the keys
 * now written. Throws (before writing anything) when the suffixes cannot be represented.
 */
export async function setPathFilter(
  port: LoaderPort,
  kind: number,
  prefixes: readonly string[],
  suffixes: readonly string[],
  prev?: PathFilterKeys,
): Promise<PathFilterKeys> {
  let cfg: Buffer;
  try {
    cfg = pfCfgValue(prefixes, suffixes);
  } catch (e) {
    throw new VigilError('VIGIL_E_INTERNAL', `kind ${kind}: ${(e as Error).message}`, { cause: e });
  }
  const want: PathFilterKeys = { pfx: new Set(), sfx: new Set() };
  for (const p of prefixes) want.pfx.add(hex(pfxKey(kind, p)));
  for (const x of suffixes) if (sfxTail(x).length) want.sfx.add(hex(sfxKey(kind, x)));
  const have = prev ?? { pfx: new Set<string>(), sfx: new Set<string>() };
  const one = Buffer.from([1]);
  for (const k of want.pfx) if (!have.pfx.has(k)) await mapUpdate(port, 'path_pfx', Buffer.from(k, 'hex'), one);
  for (const k of want.sfx) if (!have.sfx.has(k)) await mapUpdate(port, 'path_sfx', Buffer.from(k, 'hex'), one);
  await mapUpdate(port, 'pf_cfg', u32le(kind), cfg);
  for (const k of have.pfx) if (!want.pfx.has(k)) await mapDelete(port, 'path_pfx', Buffer.from(k, 'hex')).catch(() => {});
  for (const k of have.sfx) if (!want.sfx.has(k)) await mapDelete(port, 'path_sfx', Buffer.from(k, 'hex')).catch(() => {});
  return want;
}

/** Makes the net_ports entries of `kind` equal `ports` (adds, then removes what `prev` had). Returns the keys now written. */
export async function setPorts(port: LoaderPort, kind: number, ports: readonly number[], prev?: ReadonlySet<string>): Promise<Set<string>> {
  const want = new Set(ports.map((p) => hex(portKey(kind, p))));
  const have = prev ?? new Set<string>();
  const one = Buffer.from([1]);
  for (const k of want) if (!have.has(k)) await mapUpdate(port, 'net_ports', Buffer.from(k, 'hex'), one);
  for (const k of have) if (!want.has(k)) await mapDelete(port, 'net_ports', Buffer.from(k, 'hex')).catch(() => {});
  return want;
}

// ---- attachments ----

/** attach-tp: a BPF program on a tracepoint (`syscalls`, `sys_exit_openat`); returns the link id. */
export async function attachTracepoint(port: LoaderPort, prog: string, category: string, name: string): Promise<number> {
  return linkId(await port.command(`attach-tp ${prog} ${category} ${name}`), `attach-tp ${prog}`);
}

/** attach-btf: a tp_btf/raw_tp program at its BTF-named attach point; returns the link id. */
export async function attachBtf(port: LoaderPort, prog: string): Promise<number> {
  return linkId(await port.command(`attach-btf ${prog}`), `attach-btf ${prog}`);
}

/** attach-cgroup: a cgroup BPF program on a cgroup v2 directory; returns the link id. */
export async function attachCgroup(port: LoaderPort, prog: string, dir: string): Promise<number> {
  if (/\s/.test(dir)) throw new VigilError('VIGIL_E_CONFIG', `cgroup directory ${JSON.stringify(dir)} contains white space; the loader cannot take it`);
  return linkId(await port.command(`attach-cgroup ${prog} ${dir}`), `attach-cgroup ${prog}`);
}

/** detach: destroys a link made by one of the attach functions. */
export async function detach(port: LoaderPort, link: number): Promise<void> {
  await port.command(`detach ${link}`);
}

// ---- network enforcement ----

/** vnet_scopes[cgroupId] = value (an encoded struct vnet_scope) stamped with the table generation. */
export async function putNetScope(port: LoaderPort, cgroupId: string | bigint, value: Buffer, gen: number): Promise<void> {
  await mapUpdate(port, 'vnet_scopes', u64le(cgroupId), netScopeWithGeneration(value, gen));
}

export async function deleteNetScope(port: LoaderPort, cgroupId: string | bigint): Promise<void> {
  await mapDelete(port, 'vnet_scopes', u64le(cgroupId));
}

// ---- fanotify enforcer ----

/** fanx-table: replaces the fanotify enforcer's table (text format of native/fanotify_enforcer.h). */
export async function loadFanotifyTable(port: LoaderPort, text: string): Promise<void> {
  await port.command(`fanx-table ${Buffer.byteLength(text)}`, text);
}

/** fanx-stats: the fanotify enforcer's counters (key=value pairs). */
export async function fanotifyStats(port: LoaderPort): Promise<Record<string, number>> {
  const text = await port.command('fanx-stats');
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/(\w+)=(-?\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}

// ---- records on request ----

/** stats: the loader sends a VGL_K_STATS record (it also does every second). */
export async function requestStats(port: LoaderPort): Promise<void> {
  await port.command('stats');
}

/** caps: the loader sends the capability aggregation as a VGL_K_CAPS record. */
export async function requestCaps(port: LoaderPort): Promise<void> {
  await port.command('caps');
}
