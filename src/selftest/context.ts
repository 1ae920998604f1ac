// Selftest: the context a scenario acts through. Every host process a scenario starts goes through
// ctx.spawn (its pid is recorded) and every container through ctx.container (its id is recorded);
// the runner attributes an alert to the scenario only when the event came from a recorded process,
// a descendant of one, or a recorded container, so alerts from the rest of the machine never count.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Stream } from 'node:stream';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { VigilError } from '../common/errors.ts';
import { runContainer, type Container, type ContainerSpec } from './container.ts';

export interface ProcResult {
  pid: number;
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** extra fds for the child as fds 3, 4, ... */
  fds?: (number | Stream)[];
  /** discard stdout (e.g. the content of a sensitive file) */
  quiet?: boolean;
}

/** Which events belong to a scenario phase. */
export interface Attribution {
  pids: Set<number>;
  containers: Set<string>;
}

export class ScenarioContext {
  /** unique per phase: appears in paths and arguments of the scenario's processes */
  readonly tag: string;
  /** private scratch directory (removed afterwards) */
  readonly dir: string;
  readonly owned: Attribution = { pids: new Set(), containers: new Set() };
  /** values a run discovers (ports, fds, container ids) for the expected output fields */
  readonly vars: Record<string, string | number> = {};
  readonly containers: Container[] = [];
  private cleanups: (() => void)[] = [];

  constructor(tag: string) {
    this.tag = tag;
    this.dir = path.join(os.tmpdir(), `vigil-selftest-${tag}`);
    mkdirSync(this.dir, { recursive: true });
  }

  /** Runs a host command to completion (never throws on a non-zero exit); records its pid. */
  spawn(cmd: string, args: string[], o: SpawnOptions = {}): Promise<ProcResult> {
    return new Promise((resolve) => {
      const stdio: StdioOptions = ['ignore', o.quiet ? 'ignore' : 'pipe', 'pipe', ...(o.fds ?? [])];
      const child: ChildProcess = spawn(cmd, args, {
        cwd: o.cwd ?? this.dir,
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C', ...o.env },
        stdio,
      });
      if (child.pid !== undefined) this.owned.pids.add(child.pid);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 20_000);
      child.on('error', (e) => {
        clearTimeout(t);
        resolve({ pid: child.pid ?? -1, code: 127, stdout, stderr: stderr + e.message });
      });
      child.on('close', (code, sig) => {
        clearTimeout(t);
        resolve({ pid: child.pid ?? -1, code: code ?? (sig ? 128 : 1), stdout, stderr });
      });
    });
  }

  /** Like spawn, but throws (with stderr) unless the command exits 0. */
  async must(cmd: string, args: string[], o: SpawnOptions = {}): Promise<ProcResult> {
    const r = await this.spawn(cmd, args, o);
    if (r.code !== 0) throw new VigilError('VIGIL_E_SELFTEST', `${cmd} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r;
  }

  /** Starts a container for this phase; its processes are attributed to the scenario. */
  async container(spec: Omit<ContainerSpec, 'pod' | 'namespace'> & { pod?: string; namespace?: string }): Promise<Container> {
    const c = await runContainer({ pod: `selftest-${this.tag}`, namespace: 'vigil-selftest', ...spec });
    this.owned.containers.add(c.id);
    this.containers.push(c);
    this.vars['container.id'] = c.id;
    return c;
  }

  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  cleanup(): void {
    for (const c of this.containers) c.remove();
    for (const f of this.cleanups.reverse()) {
      try {
        f();
      } catch {
        /* best effort */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The system python (not a pyenv shim, whose bash wrapper would add ancestors). */
export function python(): string {
  return ['/usr/bin/python3', '/usr/local/bin/python3'].find((p) => existsSync(p)) ?? 'python3';
}
