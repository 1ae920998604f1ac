// Prometheus exposition of the sensor's counters (served on the control socket at GET /metrics).
// Built from the same status object `vigil status` prints, so the two never disagree.
import type { SensorStatus } from './sensor.ts';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function sensorMetrics(s: SensorStatus, extra: Record<string, number> = {}): string {
  const lines: string[] = [];
  const metric = (name: string, help: string, type: 'counter' | 'gauge', samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) {
      const l = Object.entries(labels)
        .map(([k, x]) => `${k}="${esc(x)}"`)
        .join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${v}`);
    }
  };
  metric('vigil_sensor_uptime_seconds', 'Seconds since the sensor started.', 'gauge', [[{}, s.uptimeSec]]);
  metric('vigil_kernel_ringbuf_drops_total', 'Events lost because the ring buffer was full.', 'counter', [[{}, s.kernel.ringbufDrops]]);
  const per = Object.entries(s.kernel.perType);
  metric(
    'vigil_kernel_events_seen_total',
    'Hook invocations in the kernel, per event type.',
    'counter',
    per.map(([t, c]) => [{ type: t }, c.seen]),
  );
  metric(
    'vigil_kernel_events_filtered_total',
    'Events dropped by the in-kernel filter, per event type.',
    'counter',
    per.map(([t, c]) => [{ type: t }, c.filtered]),
  );
  metric(
    'vigil_kernel_events_emitted_total',
    'Events written to the ring buffer, per event type.',
    'counter',
    per.map(([t, c]) => [{ type: t }, c.emitted]),
  );
  metric(
    'vigil_kernel_events_dropped_total',
    'Ring-buffer write failures, per event type.',
    'counter',
    per.map(([t, c]) => [{ type: t }, c.dropped]),
  );
  metric(
    'vigil_events_total',
    'Events decoded and enriched in user space, per type.',
    'counter',
    Object.entries(s.eventsByType).map(([t, n]) => [{ type: t }, n]),
  );
  metric('vigil_userspace_dropped_total', 'Events dropped in user space by full bounded queues.', 'counter', [[{}, s.userspace.dropped]]);
  metric('vigil_userspace_malformed_total', 'Malformed records from the loader.', 'counter', [[{}, s.userspace.malformed]]);
  metric('vigil_proc_table_size', 'Processes in the process table.', 'gauge', [[{}, s.procTable.size]]);
  const rt = s.retention;
  metric('vigil_proc_table_limit', 'Processes the process table keeps at most.', 'gauge', [[{}, rt.procTable.maxSize]]);
  metric(
    'vigil_proc_missing_total',
    'Processes whose record was nowhere (evicted or never seen): their events carry only what the event itself says.',
    'counter',
    [[{}, s.procTable.missing]],
  );
  metric('vigil_proc_pid_reused_total', 'Ancestors refused because the parent pid now names a younger process (recycled pid).', 'counter', [
    [{}, rt.procTable.pidReused],
  ]);
  metric('vigil_proc_vanished_total', 'Processes found gone by the liveness audit (their exit record was lost).', 'counter', [[{}, rt.procTable.vanished]]);
  metric('vigil_cache_evictions_total', 'Entries dropped from a bounded sensor cache, per cache.', 'counter', [
    [{ cache: 'proc_table' }, s.procTable.evicted],
    [{ cache: 'proc_table_expired' }, rt.procTable.expired],
    [{ cache: 'fd_table' }, rt.procTable.fdsDropped],
    [{ cache: 'caps' }, rt.caps.evicted + rt.caps.pruned],
    [{ cache: 'containers' }, rt.containers.evicted],
    [{ cache: 'user_tables' }, rt.userTables.evicted],
    [{ cache: 'cgroup_matches' }, rt.cgroupCache.resets],
  ]);
  metric('vigil_cache_entries', 'Entries in a bounded sensor cache, per cache.', 'gauge', [
    [{ cache: 'proc_table' }, s.procTable.size],
    [{ cache: 'caps' }, rt.caps.size],
    [{ cache: 'containers' }, rt.containers.size],
    [{ cache: 'user_tables' }, rt.userTables.size],
    [{ cache: 'cgroups' }, rt.cgroups.size],
    [{ cache: 'cgroup_matches' }, rt.cgroupCache.size],
  ]);
  metric('vigil_sensor_resident_bytes', "The sensor's node process resident memory (the loader not included).", 'gauge', [[{}, s.memory.rss]]);
  metric('vigil_sensor_heap_used_bytes', "The sensor's JavaScript heap in use.", 'gauge', [[{}, s.memory.heapUsed]]);
  metric('vigil_hooks_attached', 'Attached kernel hooks.', 'gauge', [[{}, s.hooks.filter((h) => h.attached).length]]);
  for (const [k, v] of Object.entries(extra)) metric(k, k, 'counter', [[{}, v]]);
  return lines.join('\n') + '\n';
}
