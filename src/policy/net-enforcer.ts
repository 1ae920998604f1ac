// Network enforcer driver: applies a compiled NetRuleSet to the loader's cgroup BPF enforcer
// (bpf/enforce_net.bpf.c). Writes/deletes the `vnet_scopes` map entries (key: cgroup v2 id as
// u64 little-endian) and attaches the seven vnet_* programs once to each scoped container's
// cgroup v2 directory, detaching them when the container leaves every scope. When the host
// pseudo-scope (key 0) is present the programs are attached once at the unified root instead
// (host tasks live there; a root attachment also covers every container, so per-container links
// would evaluate twice). New links are attached before the map changes and old ones detached
// after, so a change never opens a window without enforcement. Every push writes each scope
// stamped with the push's table generation, which the kernel copies into every decision it reports
// (the decision decoder names the matched rule from the tables of that generation).
import { attachCgroup, deleteNetScope, detach, putNetScope, type LoaderPort } from '../kernel/commands.ts';
import type { NetRuleSet } from './compile.ts';

export const NET_PROGS = ['vnet_connect4', 'vnet_connect6', 'vnet_sendmsg4', 'vnet_sendmsg6', 'vnet_bind4', 'vnet_bind6', 'vnet_sock_create'] as const;

interface Attachment {
  dir: string;
  links: number[];
}

export class NetEnforcer {
  /** keys currently in vnet_scopes (decimal cgroup ids) */
  #keys = new Set<string>();
  /** attach point ("root" or a cgroup id) -> links */
  #att = new Map<string, Attachment>();
  pushes = 0;

  constructor(
    private readonly port: LoaderPort,
    /** absolute cgroup v2 directory of a scoped container, by cgroup id */
    private readonly dirOf: (cgroupId: string) => string | undefined,
    private readonly unifiedRoot: string,
  ) {}

  attachments(): Array<{ at: string; dir: string; links: number }> {
    return [...this.#att].map(([at, a]) => ({ at, dir: a.dir, links: a.links.length }));
  }

  get scopeKeys(): string[] {
    return [...this.#keys];
  }

  async #attach(key: string, dir: string): Promise<void> {
    const links: number[] = [];
    try {
      for (const p of NET_PROGS) links.push(await attachCgroup(this.port, p, dir));
    } catch (e) {
      for (const l of links) await detach(this.port, l).catch(() => undefined);
      throw e;
    }
    this.#att.set(key, { dir, links });
  }

  async #detach(key: string): Promise<void> {
    const a = this.#att.get(key);
    if (!a) return;
    this.#att.delete(key);
    for (const l of a.links) await detach(this.port, l).catch(() => undefined);
  }

  /**
   * Makes the kernel state equal `net`, every scope stamped with generation `gen`; throws (leaving
   * a consistent superset) when the loader refuses.
   */
  async push(net: NetRuleSet, gen: number): Promise<void> {
    this.pushes++;
    const want = new Map<string, string>();
    if (net.scopes.some((s) => s.cgroupId === '0')) want.set('root', this.unifiedRoot);
    else {
      for (const s of net.scopes) {
        const dir = this.dirOf(s.cgroupId);
        if (!dir) throw new Error(`no cgroup v2 directory known for ${s.workload} (cgroup id ${s.cgroupId})`);
        want.set(s.cgroupId, dir);
      }
    }
    const added: string[] = [];
    try {
      for (const [k, dir] of want) {
        if (this.#att.has(k)) continue;
        await this.#attach(k, dir);
        added.push(k);
      }
    } catch (e) {
      for (const k of added) await this.#detach(k);
      throw e;
    }
    const next = new Set<string>();
    for (const s of net.scopes) {
      await putNetScope(this.port, s.cgroupId, Buffer.from(s.valueHex, 'hex'), gen);
      this.#keys.add(s.cgroupId);
      next.add(s.cgroupId);
    }
    for (const k of [...this.#keys]) {
      if (next.has(k)) continue;
      await deleteNetScope(this.port, k).catch(() => undefined); // already gone is fine
      this.#keys.delete(k);
    }
    for (const k of [...this.#att.keys()]) if (!want.has(k)) await this.#detach(k);
  }
}
