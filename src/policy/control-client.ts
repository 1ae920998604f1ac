// The `vigil policy` requests to the sensor's control socket ({"op":"policy.apply","yaml":"...",
// "file":"..."}, {"op":"policy.delete","name":...}, {"op":"policy.list"}, {"op":"policy.status"}),
// sent by the one control-socket client (src/common/control-client.ts). The sensor's control
// server wraps results as {"ok":true,"result":{...}} and failures as {"ok":false,"error":...};
// both are unwrapped here into one PolicyReply.
import { VigilError } from '../common/errors.ts';
import { controlRequest, DEFAULT_SOCKET } from '../common/control-client.ts';

export { DEFAULT_SOCKET };

export type PolicyRequest =
  | { op: 'policy.apply'; yaml: string; file: string }
  | { op: 'policy.delete'; name: string }
  | { op: 'policy.list' }
  | { op: 'policy.status' };

export interface PolicyReply {
  ok: boolean;
  errors?: string[];
  warnings?: string[];
  [k: string]: unknown;
}

/** ControlServer envelopes ({ok,result} / {ok:false,error}) -> the policy reply inside. */
export function unwrap(raw: unknown): PolicyReply {
  if (typeof raw !== 'object' || raw === null || typeof (raw as PolicyReply).ok !== 'boolean')
    throw new VigilError('VIGIL_E_PROTOCOL', 'bad reply from the sensor: reply has no "ok"');
  const r = raw as PolicyReply & { result?: unknown; error?: unknown };
  if (r.ok && 'result' in r) {
    const inner = r.result;
    if (typeof inner === 'object' && inner !== null && typeof (inner as PolicyReply).ok === 'boolean') return inner as PolicyReply;
    if (typeof inner === 'object' && inner !== null) return { ok: true, ...(inner as Record<string, unknown>) };
    return { ok: true, result: inner };
  }
  if (!r.ok && typeof r.error === 'string' && !r.errors) return { ...r, errors: [r.error] };
  return r;
}

/** Sends one request and resolves with the unwrapped reply; VIGIL_E_SOCKET / VIGIL_E_PROTOCOL otherwise (src/common/control-client.ts). */
export function sendRequest(req: PolicyRequest, socketPath = DEFAULT_SOCKET, timeoutMs = 10_000): Promise<PolicyReply> {
  return controlRequest(socketPath, req, timeoutMs).then(unwrap);
}
