// PolicyManager: the active policy set inside the sensor. It applies policy files atomically
// (a file with any invalid document changes nothing), recompiles the decision tables whenever the
// set or the workloads change, and hands them to the enforcers through injected callbacks (the
// sensor wires pushFanotifyTable to the loader's `fanx-table` command and pushNetRules to its
// `map-update`/`map-delete vnet_scopes` commands). If an enforcer refuses a table, the previous
// set is restored and pushed again, so what is enforced always equals what `list` shows.
import { VigilError } from '../common/errors.ts';
import { compile, policyId, type CompiledTables, type NetRuleSet } from './compile.ts';
import { parsePolicyText, formatIssue, issuesError, type PolicyIssue } from './validate.ts';
import type { CompileOptions, NormPolicy, Workload } from './model.ts';

export interface PolicyManagerDeps {
  pushFanotifyTable: (text: string) => Promise<void> | void;
  /** `tables` is the whole compilation `rules` belongs to (the decision decoder names rules from it). */
  pushNetRules: (rules: NetRuleSet, tables: CompiledTables) => Promise<void> | void;
  options?: CompileOptions;
  /** Called after every successful push (for logs/metrics). */
  onApplied?: (t: CompiledTables) => void;
}

export interface PolicySummary {
  name: string;
  namespace?: string;
  kind: string;
  action: string;
  file: string;
  workloads: string[];
}

export interface ApplyResult {
  ok: boolean;
  applied: string[];
  errors: string[];
  warnings: string[];
}

export class PolicyManager {
  #policies = new Map<string, NormPolicy>();
  #workloads = new Map<string, Workload>();
  #tables: CompiledTables | undefined;
  #deps: PolicyManagerDeps;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(deps: PolicyManagerDeps) {
    this.#deps = deps;
  }

  /** Serializes every mutation: tables are pushed in the order the changes happened. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  get tables(): CompiledTables | undefined {
    return this.#tables;
  }

  list(): PolicySummary[] {
    return [...this.#policies.values()]
      .sort((a, b) => policyId(a).localeCompare(policyId(b)))
      .map((p) => ({
        name: p.name,
        namespace: p.namespace,
        kind: p.kind,
        action: p.action,
        file: p.source.file,
        workloads: this.#tables?.scopes.filter((s) => s.policies.includes(policyId(p))).map((s) => s.workload) ?? [],
      }));
  }

  /** Validates `yaml` (one file, any number of documents) and adds/replaces its policies, all or nothing. */
  apply(yaml: string, file = '<input>'): Promise<ApplyResult> {
    return this.#serial(async () => {
      const r = parsePolicyText(yaml, file);
      if (r.errors.length) return { ok: false, applied: [], errors: r.errors.map(formatIssue), warnings: [] };
      const next = new Map(this.#policies);
      for (const p of r.policies) next.set(policyId(p), p);
      const warnings = await this.#commit(next);
      return { ok: true, applied: r.policies.map(policyId), errors: [], warnings };
    });
  }

  /** Like apply, but throws VIGIL_E_POLICY (with file:line:col) instead of returning errors. */
  async applyOrThrow(yaml: string, file = '<input>'): Promise<ApplyResult> {
    const r = parsePolicyText(yaml, file);
    if (r.errors.length) throw issuesError(r.errors as PolicyIssue[]);
    return this.apply(yaml, file);
  }

  /** Removes a policy by name ("ns/name" or a name that is unique). */
  delete(name: string): Promise<{ ok: boolean; deleted: string[]; errors: string[] }> {
    return this.#serial(async () => {
      const ids = [...this.#policies.keys()].filter((id) => id === name || id.endsWith(`/${name}`) || this.#policies.get(id)!.name === name);
      if (ids.length === 0) return { ok: false, deleted: [], errors: [`no policy named ${name}`] };
      if (ids.length > 1) return { ok: false, deleted: [], errors: [`${name} is ambiguous: ${ids.join(', ')}; use namespace/name`] };
      const next = new Map(this.#policies);
      next.delete(ids[0]!);
      await this.#commit(next);
      return { ok: true, deleted: ids, errors: [] };
    });
  }

  /** Replaces the workload list (the sensor calls this when containers start or stop). */
  setWorkloads(ws: Workload[]): Promise<string[]> {
    return this.#serial(async () => {
      const prev = this.#workloads;
      this.#workloads = new Map(ws.map((w) => [w.id, w]));
      try {
        return await this.#commit(this.#policies);
      } catch (e) {
        this.#workloads = prev;
        throw e;
      }
    });
  }

  upsertWorkload(w: Workload): Promise<string[]> {
    return this.setWorkloads([...[...this.#workloads.values()].filter((x) => x.id !== w.id), w]);
  }

  removeWorkload(id: string): Promise<string[]> {
    return this.setWorkloads([...this.#workloads.values()].filter((x) => x.id !== id));
  }

  /** Compiles and pushes `next`; on any failure restores (and re-pushes) the previous set. */
  async #commit(next: Map<string, NormPolicy>): Promise<string[]> {
    const opts = this.#deps.options ?? {};
    const tables = compile([...next.values()], [...this.#workloads.values()], opts); // throws before anything changes
    try {
      await this.#deps.pushFanotifyTable(tables.fanotify);
      await this.#deps.pushNetRules(tables.net, tables);
    } catch (e) {
      if (this.#tables) {
        try {
          await this.#deps.pushFanotifyTable(this.#tables.fanotify);
          await this.#deps.pushNetRules(this.#tables.net, this.#tables);
        } catch {
          /* the enforcers kept their old tables (both swap atomically) */
        }
      }
      throw new VigilError('VIGIL_E_POLICY', `enforcer refused the new tables: ${(e as Error).message}`, { cause: e });
    }
    this.#policies = next;
    this.#tables = tables;
    this.#deps.onApplied?.(tables);
    return tables.warnings;
  }

  /**
   * Handles one control-socket request ({op:"policy.apply"|"policy.delete"|"policy.list", ...});
   * the sensor's control server forwards `policy.*` ops here and writes the reply back as one line.
   */
  async handle(req: { op: string; yaml?: string; file?: string; name?: string }): Promise<Record<string, unknown>> {
    try {
      switch (req.op) {
        case 'policy.apply':
          if (typeof req.yaml !== 'string') return { ok: false, errors: ['policy.apply needs "yaml"'] };
          return { ...(await this.apply(req.yaml, req.file ?? '<input>')) };
        case 'policy.delete':
          if (typeof req.name !== 'string') return { ok: false, errors: ['policy.delete needs "name"'] };
          return { ...(await this.delete(req.name)) };
        case 'policy.list':
          return { ok: true, policies: this.list() };
        default:
          return { ok: false, errors: [`unknown op ${req.op}`] };
      }
    } catch (e) {
      return { ok: false, errors: [(e as Error).message] };
    }
  }
}
