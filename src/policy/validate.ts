// Policy file validation: YAML (several documents per file) -> schema check (ajv over the TypeBox
// schemas, compiled once at module load) -> semantic checks (CIDRs, ports, what this host can
// enforce) -> normalized NormPolicy objects. Every problem is reported as file:line:col with what
// was expected; a file with any invalid document yields no policies at all (never half applied).
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, isPair, type Document, type Node as YNode } from 'yaml';
import { VigilError } from '../common/errors.ts';
import { parseCidr } from '../common/cidr.ts';
export { parseCidr }; // the one CIDR parser (src/common/cidr.ts), re-exported for policy callers
import { KINDS, kindSchemas, type PolicyKind } from './schema.ts';
import type { Action, AddrEntry, NormPolicy, PathEntry, ProtoClass, ProtoEntry } from './model.ts';

export interface PolicyIssue {
  file: string;
  line: number;
  col: number;
  message: string;
}

export interface ParseResult {
  policies: NormPolicy[];
  errors: PolicyIssue[];
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
const validators = Object.fromEntries(Object.entries(kindSchemas).map(([k, s]) => [k, ajv.compile(s)])) as Record<PolicyKind, ValidateFunction<RawPolicyDoc>>;

type Seg = string | number;

/** Finds the YAML node at `path`; returns the deepest node found and whether the whole path resolved. */
function nodeAt(doc: Document, path: Seg[], wantKey = false): { node: YNode | null; complete: boolean } {
  let node = doc.contents as YNode | null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return { node, complete: false };
      if (wantKey && i === path.length - 1) return { node: pair.key as YNode, complete: true };
      node = (pair.value as YNode | null) ?? (pair.key as YNode);
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as YNode | undefined;
      if (!item) return { node, complete: false };
      node = item;
    } else {
      return { node, complete: false };
    }
  }
  return { node, complete: true };
}

function pointerToPath(ptr: string): Seg[] {
  if (!ptr) return [];
  return ptr
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function ajvMessage(e: ErrorObject): string {
  const ps = e.parentSchema as { description?: string; properties?: Record<string, unknown>; anyOf?: Array<{ const?: unknown }> } | undefined;
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const allowed = ps?.properties ? Object.keys(ps.properties).join(', ') : '';
      return `unknown key '${String(p.additionalProperty)}' (expected one of: ${allowed})`;
    }
    case 'required':
      return `missing required key '${String(p.missingProperty)}'`;
    case 'pattern':
      return ps?.description ? `expected ${ps.description}, got ${describe(e.data)}` : `does not match ${String(p.pattern)}`;
    case 'type':
      return `expected ${String(p.type)}, got ${describe(e.data)}`;
    case 'const':
      return `expected '${String(p.allowedValue)}', got ${describe(e.data)}`;
    case 'anyOf':
      return `expected ${ps?.description ?? 'one of the allowed forms'}, got ${describe(e.data)}`;
    case 'minimum':
    case 'maximum':
      return `expected a value ${e.keyword === 'minimum' ? '>=' : '<='} ${String(p.limit)}, got ${describe(e.data)}`;
    case 'minItems':
      return `expected at least ${String(p.limit)} item(s)`;
    case 'minLength':
      return `expected a non-empty string`;
    case 'maxLength':
      return `expected at most ${String(p.limit)} characters`;
    default:
      return e.message ?? e.keyword;
  }
}

/** Keeps one error per location: an anyOf error replaces the errors of its branches. */
function pruneAjvErrors(errs: ErrorObject[]): ErrorObject[] {
  const anyOfs = errs.filter((e) => e.keyword === 'anyOf');
  return errs.filter((e) => {
    if (e.keyword === 'anyOf') return true;
    return !anyOfs.some((a) => a.instancePath === e.instancePath && e.schemaPath.startsWith(a.schemaPath.replace(/\/anyOf$/, '/anyOf/')));
  });
}

const CAPS = new Set(
  'chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read perfmon bpf checkpoint_restore'.split(
    ' ',
  ),
);

function normAction(a: unknown): Action | undefined {
  if (typeof a !== 'string') return undefined;
  const l = a.toLowerCase();
  return l === 'allow' ? 'Allow' : l === 'audit' ? 'Audit' : l === 'block' ? 'Block' : undefined;
}

interface Ctx {
  file: string;
  doc: Document;
  lc: LineCounter;
  errors: PolicyIssue[];
}

function issueAt(ctx: Ctx, path: Seg[], message: string, atKey = false): void {
  const { node } = nodeAt(ctx.doc, path, atKey);
  const off = node?.range?.[0] ?? 0;
  const pos = ctx.lc.linePos(off);
  ctx.errors.push({ file: ctx.file, line: pos.line, col: pos.col, message });
}

// A policy document as the kind's schema (./schema.ts) admits it, once ajv has validated it: what
// normalizeDoc reads. Fields one kind lacks (selector.host, nodeSelector, network egress/bind) are
// optional here; every value is checked by the schema before normalizeDoc sees it.
interface RawCommon {
  action?: string;
  severity?: number;
  message?: string;
}
interface RawEntry extends RawCommon {
  fromSource?: Array<{ path: string }>;
  ownerOnly?: boolean;
  readOnly?: boolean;
  recursive?: boolean;
}
interface RawSection extends RawCommon {
  matchPaths?: Array<RawEntry & { path: string }>;
  matchDirectories?: Array<RawEntry & { dir: string }>;
  matchPatterns?: Array<RawEntry & { pattern: string }>;
}
interface RawAddrEntry extends RawEntry {
  cidr?: string;
  ports?: Array<number | string>;
  protocol?: string;
}
interface RawNetwork extends RawCommon {
  matchEgress?: RawAddrEntry[];
  matchBind?: RawAddrEntry[];
  matchProtocols?: Array<RawEntry & { protocol: string }>;
}
interface RawCapabilities extends RawCommon {
  matchCapabilities?: Array<RawEntry & { capability: string }>;
}
interface RawPolicyDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: RawCommon & {
    tags?: string[];
    selector?: { host?: boolean; matchLabels?: Record<string, string> };
    nodeSelector?: { matchLabels?: Record<string, string> };
    process?: RawSection;
    file?: RawSection;
    network?: RawNetwork;
    capabilities?: RawCapabilities;
  };
}

/** A `//`, `.` or `..` segment: the kernel reports paths without them, so no access would match. */
function unnormalized(p: string): boolean {
  return /\/\.\.?(\/|$)/.test(p) || /\/\//.test(p);
}

/** Longest matchPatterns pattern: the fanotify enforcer's FX_GLOB_MAX tokens (a token is at least a byte). */
const GLOB_MAX_BYTES = 255;

/**
 * What is wrong with a matchPatterns pattern, if anything. KubeArmor enforces patterns as AppArmor
 * globs; Vigil's fanotify enforcer matches the subset people write ('*' within a segment, '**'
 * across, '?'), and names anything else.
 */
function globProblem(g: string): string | undefined {
  if (!g.startsWith('/')) return `expected an absolute pattern (starting with '/'), got ${JSON.stringify(g)}`;
  if (unnormalized(g)) return `expected a normalized pattern (no //, . or .. segments), got ${JSON.stringify(g)}`;
  const other = /[[\]{}\\^$|+()]/.exec(g);
  if (other)
    return `unsupported character ${JSON.stringify(other[0])} in pattern ${JSON.stringify(g)}: only the wildcards '*' (within a path segment), '**' (across segments) and '?' are supported`;
  if (Buffer.byteLength(g) > GLOB_MAX_BYTES) return `a pattern may be at most ${GLOB_MAX_BYTES} bytes long, got ${Buffer.byteLength(g)}`;
  return undefined;
}

function normalizeDoc(ctx: Ctx, kind: PolicyKind, d: RawPolicyDoc): NormPolicy | undefined {
  const before = ctx.errors.length;
  const spec = d.spec;
  const pAction = normAction(spec.action) ?? 'Block';
  const pSeverity: number = spec.severity ?? 1;
  const pMessage: string = spec.message ?? '';
  const host = kind === 'KubeArmorHostPolicy' || spec.selector?.host === true;
  const matchLabels: Record<string, string> = (kind === 'KubeArmorHostPolicy' ? spec.nodeSelector?.matchLabels : spec.selector?.matchLabels) ?? {};
  if (kind === 'VigilPolicy' && spec.selector?.host === true && Object.keys(spec.selector?.matchLabels ?? {}).length > 0) {
    issueAt(ctx, ['spec', 'selector', 'host'], 'selector.host: true selects the host; it cannot be combined with matchLabels');
  }
  const entryMeta = (section: RawCommon, e: RawEntry, label: string) => ({
    action: normAction(e.action) ?? normAction(section.action) ?? pAction,
    severity: e.severity ?? section.severity ?? pSeverity,
    message: e.message ?? section.message ?? pMessage,
    label,
    fromSource: ((e.fromSource ?? []) as Array<{ path: string }>).map((f) => f.path),
  });
  const checkPath = (path: Seg[], p: string, isDir: boolean) => {
    if (unnormalized(p)) issueAt(ctx, path, `expected a normalized absolute path (no //, . or .. segments), got ${JSON.stringify(p)}`);
    else if (!isDir && p.length > 1 && p.endsWith('/')) issueAt(ctx, path, `a path must not end with '/' (use matchDirectories for ${JSON.stringify(p)})`);
  };
  const pathEntries = (sectionName: 'process' | 'file'): PathEntry[] => {
    const section = spec[sectionName];
    if (!section) return [];
    const out: PathEntry[] = [];
    (section.matchPaths ?? []).forEach((e, i) => {
      const base = ['spec', sectionName, 'matchPaths', i];
      checkPath([...base, 'path'], e.path, false);
      if (e.ownerOnly === true) issueAt(ctx, [...base, 'ownerOnly'], 'ownerOnly is not enforced by Vigil (fanotify enforcer); remove it', true);
      (e.fromSource ?? []).forEach((f, j) => {
        checkPath([...base, 'fromSource', j, 'path'], f.path, false);
      });
      out.push({ ...entryMeta(section, e, `${sectionName}.matchPaths[${i}]`), match: 'path', target: e.path, recursive: false, readOnly: e.readOnly === true });
    });
    (section.matchDirectories ?? []).forEach((e, i) => {
      const base = ['spec', sectionName, 'matchDirectories', i];
      checkPath([...base, 'dir'], e.dir, true);
      if (e.ownerOnly === true) issueAt(ctx, [...base, 'ownerOnly'], 'ownerOnly is not enforced by Vigil (fanotify enforcer); remove it', true);
      (e.fromSource ?? []).forEach((f, j) => {
        checkPath([...base, 'fromSource', j, 'path'], f.path, false);
      });
      const dir = e.dir.endsWith('/') ? e.dir : `${e.dir}/`;
      out.push({
        ...entryMeta(section, e, `${sectionName}.matchDirectories[${i}]`),
        match: 'dir',
        target: dir,
        recursive: e.recursive === true,
        readOnly: e.readOnly === true,
      });
    });
    (section.matchPatterns ?? []).forEach((e, i) => {
      const base = ['spec', sectionName, 'matchPatterns', i];
      const bad = globProblem(e.pattern);
      if (bad) issueAt(ctx, [...base, 'pattern'], bad);
      if (e.ownerOnly === true) issueAt(ctx, [...base, 'ownerOnly'], 'ownerOnly is not enforced by Vigil (fanotify enforcer); remove it', true);
      out.push({
        ...entryMeta(section, e, `${sectionName}.matchPatterns[${i}]`),
        match: 'glob',
        target: e.pattern,
        recursive: false,
        readOnly: e.readOnly === true,
      });
    });
    return out;
  };
  const process = pathEntries('process');
  const file = pathEntries('file');

  const net: RawNetwork = spec.network ?? {};
  const addrEntries = (key: 'matchEgress' | 'matchBind'): AddrEntry[] =>
    (net[key] ?? []).map((e, i) => {
      const base = ['spec', 'network', key, i];
      let cidr: string | undefined;
      if (e.cidr !== undefined) {
        const c = parseCidr(e.cidr);
        if (!c) issueAt(ctx, [...base, 'cidr'], `expected a CIDR like 10.0.0.0/8 or fd00::/8, got ${JSON.stringify(e.cidr)}`);
        else cidr = c.cidr;
      }
      const ports: Array<[number, number]> = [];
      ((e.ports ?? []) as Array<number | string>).forEach((p, j) => {
        if (typeof p === 'number') ports.push([p, p]);
        else {
          const [a, b] = p.split('-').map(Number) as [number, number];
          if (!(a >= 1 && b <= 65535 && a <= b))
            issueAt(ctx, [...base, 'ports', j], `expected a port range a-b with 1 <= a <= b <= 65535, got ${JSON.stringify(p)}`);
          else ports.push([a, b]);
        }
      });
      const protocol = e.protocol ? (String(e.protocol).toLowerCase() as 'tcp' | 'udp') : undefined;
      return { ...entryMeta(net, e, `network.${key}[${i}]`), cidr, ports, protocol };
    });
  const egress = addrEntries('matchEgress');
  const bind = addrEntries('matchBind');
  const protocols: ProtoEntry[] = (net.matchProtocols ?? []).map((e, i) => {
    if (e.fromSource)
      issueAt(
        ctx,
        ['spec', 'network', 'matchProtocols', i, 'fromSource'],
        'network fromSource cannot be enforced by the cgroup BPF hooks (they do not see the executable); remove it',
        true,
      );
    return { ...entryMeta(net, e, `network.matchProtocols[${i}]`), protocol: String(e.protocol).toLowerCase() as ProtoClass };
  });
  const caps: RawCapabilities = spec.capabilities ?? {};
  (caps.matchCapabilities ?? []).forEach((e, i) => {
    const base = ['spec', 'capabilities', 'matchCapabilities', i];
    const name = String(e.capability).toLowerCase().replace(/^cap_/, '');
    const meta = entryMeta(caps, e, `capabilities.matchCapabilities[${i}]`);
    if (!CAPS.has(name)) {
      issueAt(
        ctx,
        [...base, 'capability'],
        `unknown capability ${JSON.stringify(e.capability)} (expected a Linux capability name such as net_raw or sys_admin)`,
      );
    } else if (name !== 'net_raw') {
      issueAt(
        ctx,
        [...base, 'capability'],
        `capability '${name}' cannot be enforced on this host: it needs the BPF LSM hook lsm/capable and 'bpf' is not in the active LSM list (only net_raw is enforced, via cgroup/sock_create)`,
      );
    } else if (meta.action === 'Allow') {
      issueAt(
        ctx,
        [...base, 'capability'],
        'an Allow-list of capabilities cannot be enforced on this host (it needs lsm/capable); use Block or Audit for net_raw',
      );
    } else if (e.fromSource) {
      issueAt(ctx, [...base, 'fromSource'], 'capability fromSource cannot be enforced by the cgroup BPF hooks; remove it', true);
    } else {
      protocols.push({ ...meta, protocol: 'raw', capability: 'net_raw' });
    }
  });
  if (kind === 'KubeArmorHostPolicy') {
    for (const [sec, list] of [
      ['process', process],
      ['file', file],
    ] as const) {
      list.forEach((e) => {
        if (e.action === 'Allow' && e.fromSource.length === 0) {
          const m = /^(\w+)\.(\w+)\[(\d+)\]$/.exec(e.label)!;
          issueAt(
            ctx,
            ['spec', sec, m[2]!, Number(m[3])],
            'KubeArmorHostPolicy: an Allow entry needs fromSource (KubeArmor ignores it otherwise; Vigil rejects it)',
          );
        }
      });
    }
  }
  if (process.length + file.length + egress.length + bind.length + protocols.length === 0 && ctx.errors.length === before) {
    issueAt(ctx, ['spec'], 'policy has no rules: expected at least one of process, file, network or capabilities entries');
  }
  if (ctx.errors.length !== before) return undefined;
  const { node } = nodeAt(ctx.doc, []);
  const pos = ctx.lc.linePos(node?.range?.[0] ?? 0);
  return {
    name: d.metadata.name,
    namespace: d.metadata.namespace,
    kind,
    apiVersion: d.apiVersion,
    severity: pSeverity,
    message: pMessage,
    tags: spec.tags ?? [],
    action: pAction,
    selector: { matchLabels, host },
    process,
    file,
    egress,
    bind,
    protocols,
    source: { file: ctx.file, line: pos.line, col: pos.col },
  };
}

/** Validates the text of one policy file. `policies` is empty whenever `errors` is not. */
export function parsePolicyText(text: string, file: string): ParseResult {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const errors: PolicyIssue[] = [];
  const policies: NormPolicy[] = [];
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    // an EmptyStream: nothing but comments
    errors.push({ file, line: 1, col: 1, message: 'no policy documents in file' });
    return { policies: [], errors };
  }
  const seen = new Map<string, SourceLike>();
  for (const doc of list) {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const lp = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        errors.push({ file, line: lp.line, col: lp.col, message: `malformed YAML: ${e.message.split('\n')[0]}` });
      }
      continue;
    }
    if (doc.contents === null) continue; // empty document (e.g. a trailing ---)
    const ctx: Ctx = { file, doc, lc, errors };
    const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
    if (!data || typeof data !== 'object' || Array.isArray(data)) {
      issueAt(ctx, [], `expected a policy document (a map with apiVersion, kind, metadata, spec), got ${describe(data)}`);
      continue;
    }
    const d = data as Record<string, unknown>;
    const kind = d.kind;
    if (!(typeof kind === 'string' && kind in KINDS)) {
      const has = nodeAt(doc, ['kind']).complete;
      issueAt(
        ctx,
        has ? ['kind'] : [],
        `${has ? `unknown kind ${describe(kind)}` : "missing required key 'kind'"} (expected VigilPolicy, KubeArmorPolicy or KubeArmorHostPolicy)`,
      );
      continue;
    }
    const k = kind as PolicyKind;
    if (d.apiVersion !== KINDS[k]) {
      const has = nodeAt(doc, ['apiVersion']).complete;
      issueAt(ctx, has ? ['apiVersion'] : [], `expected apiVersion '${KINDS[k]}' for kind ${k}, got ${describe(d.apiVersion)}`);
      continue;
    }
    const validate = validators[k];
    if (!validate(d)) {
      for (const e of pruneAjvErrors(validate.errors ?? [])) {
        const path = pointerToPath(e.instancePath);
        if (e.keyword === 'additionalProperties')
          issueAt(ctx, [...path, String((e.params as Record<string, unknown>).additionalProperty)], ajvMessage(e), true);
        else issueAt(ctx, path, ajvMessage(e));
      }
      continue;
    }
    const p = normalizeDoc(ctx, k, d);
    if (!p) continue;
    const id = `${p.namespace ?? ''}/${p.name}`;
    const prev = seen.get(id);
    if (prev) {
      issueAt(ctx, ['metadata', 'name'], `duplicate policy ${p.namespace ? `${p.namespace}/` : ''}${p.name} (first defined at line ${prev.line})`);
      continue;
    }
    seen.set(id, { line: p.source.line });
    policies.push(p);
  }
  errors.sort((a, b) => a.line - b.line || a.col - b.col);
  return errors.length ? { policies: [], errors } : { policies, errors };
}

interface SourceLike {
  line: number;
}

export function parsePolicyFile(path: string): ParseResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { policies: [], errors: [{ file: path, line: 1, col: 1, message: `cannot read file: ${(e as Error).message}` }] };
  }
  return parsePolicyText(text, path);
}

export function formatIssue(i: PolicyIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.message}`;
}

/** One VigilError (VIGIL_E_POLICY) for a list of issues: where = the first, message = all lines. */
export function issuesError(errors: PolicyIssue[]): VigilError {
  const first = errors[0];
  const rest = errors.slice(1).map(formatIssue);
  const msg = [first ? first.message : 'invalid policy', ...rest].join('\n');
  return new VigilError('VIGIL_E_POLICY', msg, { where: first ? { file: first.file, line: first.line, col: first.col } : undefined });
}
