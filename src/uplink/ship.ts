// Which raw events the uplink ships (`--ship`): alerts always travel; of the raw events, `all` ships
// every event the sensor captured (full fidelity, what `vigil run --server` did so far), a list picks
// families: exec (execve/execveat: the process tree needs them), policy (policy decisions), or a
// category (process, file, net, priv). `vigil up` ships exec,policy by default: a quiet host then
// stores its alerts, execs and decisions, not every open of every process (docs/backend.md).
import type { VigilEvent } from '../abi/event.ts';
import { VigilError } from '../common/errors.ts';

export type ShipFilter = (ev: VigilEvent) => boolean;
export const SHIP_TOKENS = ['all', 'none', 'exec', 'policy', 'process', 'file', 'net', 'priv'] as const;
export const SHIP_DEFAULT_UP = 'exec,policy';
/** Events not shipped raw are aggregated for insights and flushed this often (src/uplink/aggregate.ts). */
export const DEFAULT_AGG_INTERVAL_MS = 5000;
/** Keys the aggregate table holds between flushes (a full table is flushed early). */
export const DEFAULT_AGG_MAX_KEYS = 8192;

/** Whether a --ship value ships every event (then nothing is left for the insight aggregates). */
export function shipsAll(spec: string): boolean {
  return spec.split(',').some((t) => t.trim() === 'all');
}

/** The predicate of a --ship value; VIGIL_E_USAGE naming the bad token and the accepted ones. */
export function parseShip(spec: string): ShipFilter {
  const toks = spec
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  if (toks.length === 0) throw new VigilError('VIGIL_E_USAGE', `--ship: empty value; expected ${SHIP_TOKENS.join(', ')} (comma-separated)`, { exitCode: 2 });
  for (const t of toks) {
    if (!(SHIP_TOKENS as readonly string[]).includes(t)) {
      throw new VigilError('VIGIL_E_USAGE', `--ship: unknown value ${JSON.stringify(t)}; expected ${SHIP_TOKENS.join(', ')} (comma-separated)`, {
        exitCode: 2,
      });
    }
  }
  if (toks.includes('all')) return () => true;
  const exec = toks.includes('exec');
  const policy = toks.includes('policy');
  const cats = new Set(toks.filter((t) => t === 'process' || t === 'file' || t === 'net' || t === 'priv'));
  return (ev) => {
    const e = ev.evt;
    if (cats.has(e.category)) return true;
    if (exec && (e.type === 'execve' || e.type === 'execveat')) return true;
    return policy && (e.policy_decision === true || ev.policy !== undefined);
  };
}
