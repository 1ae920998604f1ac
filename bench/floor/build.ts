// Builds what the overhead benchmarks run, into build/bench/: the workload programs
// (bench/workloads/*.c, with rusage_run: a workload's CPU time), the floor (bench/floor/: counting-only
// eBPF programs and their loader) and bpf_stats_hold (keeps BPF run-time statistics on).
// Shared by bench/sensor-overhead.ts and bench/bpf-prog-cost.ts.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const WORKLOADS = ['open_loop', 'fork_exec', 'tcp_loop', 'rusage_run'] as const;

function sh(repo: string, cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: repo });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
  return r.stdout ?? '';
}

/** Compiles the workloads and the floor loader into `buildDir` (build/vmlinux.h is made first). */
export function buildBenchTools(repo: string, buildDir: string): void {
  mkdirSync(buildDir, { recursive: true });
  for (const w of WORKLOADS) sh(repo, 'cc', ['-O2', '-Wall', '-o', path.join(buildDir, w), path.join(repo, 'bench', 'workloads', `${w}.c`)]);
  sh(repo, 'make', ['-s', 'build/vmlinux.h']);
  const arch = os.arch() === 'arm64' ? 'arm64' : 'x86';
  const obj = path.join(buildDir, 'floor.bpf.o');
  sh(repo, 'clang', ['-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${arch}`, '-Ibuild', '-c', 'bench/floor/floor.bpf.c', '-o', obj]);
  writeFileSync(path.join(buildDir, 'floor.skel.h'), sh(repo, 'bpftool', ['gen', 'skeleton', obj, 'name', 'floor_bpf']));
  sh(repo, 'cc', ['-O2', '-Wall', `-I${buildDir}`, '-o', path.join(buildDir, 'floor'), 'bench/floor/floor.c', '-lbpf', '-lelf', '-lz']);
  sh(repo, 'cc', ['-O2', '-Wall', '-o', path.join(buildDir, 'bpf_stats_hold'), 'bench/floor/bpf_stats_hold.c', '-lbpf']);
}
