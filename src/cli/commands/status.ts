// `vigil status`: asks a running sensor over its local control socket for its counters and shows
// them for people (or as JSON).
import type { Command } from 'commander';
import { controlRequest, DEFAULT_SOCKET, type ControlReply } from '../../common/control-client.ts';
import { VigilError } from '../../common/errors.ts';
import type { SensorStatus } from '../../sensor/sensor.ts';
import { tryParseHello } from '../../kernel/hello.ts';

export function formatStatus(s: SensorStatus): string {
  const out: string[] = [];
  out.push(`uptime: ${s.uptimeSec}s  loader pid: ${s.loaderPid ?? '-'}`);
  out.push(`kernel drops (ring buffer): ${s.kernel.ringbufDrops}`);
  const hello = tryParseHello(s.hello);
  const wake = hello && 'wakeup_ms' in hello.fields ? hello.wakeupMs : undefined;
  if (wake !== undefined) out.push(`ring buffer reads: ${wake === 0 ? 'on every event' : `every ${wake} ms (or sooner when 1/16 of the buffer is waiting)`}`);
  out.push(
    `user-space: decoded ${s.userspace.decoded}, emitted ${s.userspace.emitted}, dropped ${s.userspace.dropped}, malformed ${s.userspace.malformed}, errors ${s.userspace.enrichErrors}`,
  );
  out.push(
    `process table: ${s.procTable.size} (seeded ${s.procTable.seeded}, read from /proc ${s.procTable.fromProc}, evicted ${s.procTable.evicted}, unknown ${s.procTable.missing})`,
  );
  const rt = s.retention;
  if (rt) {
    const pt = rt.procTable;
    out.push(
      `  kept: at most ${pt.maxSize} processes, exited ones ${pt.graceMs / 1000}s, ${pt.maxFds} fds each; expired ${pt.expired}, exit lost (audit) ${pt.vanished}, recycled parent pids refused ${pt.pidReused}, fds dropped ${pt.fdsDropped}`,
    );
    out.push(
      `caches: capabilities ${rt.caps.size}/${rt.caps.max} (pruned ${rt.caps.pruned}, evicted ${rt.caps.evicted}), containers ${rt.containers.size}/${rt.containers.max} (evicted ${rt.containers.evicted}), user tables ${rt.userTables.size}/${rt.userTables.max} (evicted ${rt.userTables.evicted}), cgroups ${rt.cgroups.size}, cgroup matches ${rt.cgroupCache.size} (resets ${rt.cgroupCache.resets})`,
    );
  }
  if (s.memory) out.push(`memory (node): rss ${(s.memory.rss / 1048576).toFixed(1)} MB, heap used ${(s.memory.heapUsed / 1048576).toFixed(1)} MB`);
  out.push(`capability checks aggregated in kernel: ${s.kernel.capabilityChecks}`);
  out.push('');
  out.push('hooks:');
  for (const h of s.hooks) {
    out.push(
      `  ${h.attached ? '+' : '!'} ${h.id.padEnd(32)} ${h.tier.padEnd(10)} needed by: ${h.reasons.join('; ')}${h.error ? `  [not attached: ${h.error}]` : ''}`,
    );
    if (h.filter) out.push(`      in-kernel filter: ${h.filter}`);
  }
  out.push('');
  out.push(
    `${'event type'.padEnd(16)} ${'seen'.padStart(10)} ${'filtered'.padStart(10)} ${'emitted'.padStart(10)} ${'dropped'.padStart(8)} ${'decoded'.padStart(10)}`,
  );
  const types = new Set([...Object.keys(s.kernel.perType), ...Object.keys(s.eventsByType)]);
  for (const t of [...types].sort()) {
    const k = s.kernel.perType[t] ?? { seen: 0, filtered: 0, emitted: 0, dropped: 0 };
    out.push(
      `${t.padEnd(16)} ${String(k.seen).padStart(10)} ${String(k.filtered).padStart(10)} ${String(k.emitted).padStart(10)} ${String(k.dropped).padStart(8)} ${String(s.eventsByType[t] ?? 0).padStart(10)}`,
    );
  }
  return out.join('\n') + '\n';
}

export function register(program: Command): void {
  program
    .command('status')
    .description('show the counters of a running sensor (events by type, drops, hooks, process table)')
    .option('--socket <path>', 'control socket of the sensor', DEFAULT_SOCKET)
    .option('--json', 'print JSON')
    .action(async (opts: { socket: string; json?: boolean }) => {
      let reply: ControlReply;
      try {
        reply = await controlRequest(opts.socket, { op: 'status' });
      } catch (e) {
        throw new VigilError((e as VigilError).code ?? 'VIGIL_E_SOCKET', `${(e as Error).message} (start one with 'vigil run')`, { exitCode: 2, cause: e });
      }
      if (!reply.ok) throw new VigilError('VIGIL_E_SOCKET', reply.error ?? 'status failed');
      const s = reply.result as SensorStatus;
      process.stdout.write(opts.json ? JSON.stringify(s, null, 2) + '\n' : formatStatus(s));
    });
}
