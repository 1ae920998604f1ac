// Error catalogue: every error Vigil reports to a user has a stable code, a message, and where it
// came from (file:line:col for input files, a component name otherwise). Modelled on fastify's
// FST_ERR_* catalogue: codes are data, so tests and callers match on codes, never on wording.

export interface SourcePos {
  file?: string;
  line?: number; // 1-based
  col?: number; // 1-based
}

export const ErrorCodes = {
  VIGIL_E_NOT_ROOT: 'must run as root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN are needed)',
  VIGIL_E_BPF_UNAVAILABLE: 'the kernel refused to load the eBPF programs',
  VIGIL_E_LOADER_MISSING: 'the native loader is not built',
  VIGIL_E_LOADER_DIED: 'the native loader exited unexpectedly',
  VIGIL_E_LOADER_ABI: 'the native loader was built for another event ABI',
  VIGIL_E_KERNEL_FEATURE: 'a kernel feature Vigil needs is missing',
  VIGIL_E_CONFIG: 'invalid configuration',
  VIGIL_E_USAGE: 'invalid command-line usage',
  VIGIL_E_YAML: 'malformed YAML',
  VIGIL_E_RULE: 'invalid rule',
  VIGIL_E_POLICY: 'invalid policy',
  VIGIL_E_SOCKET: 'cannot reach the sensor control socket',
  VIGIL_E_PROTOCOL: 'protocol error',
  VIGIL_E_STORE: 'storage error',
  VIGIL_E_AUTH: 'authentication failed',
  VIGIL_E_FORBIDDEN: 'not allowed with these credentials', // HTTP 403
  VIGIL_E_NOT_FOUND: 'no such resource', // HTTP 404
  VIGIL_E_VALIDATION: 'a request field is invalid', // HTTP 400; `where` names the field
  VIGIL_E_RATE_LIMITED: 'too many requests', // HTTP 429
  VIGIL_E_INTERNAL: 'internal error',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly where: SourcePos | string | undefined;
  /** Process exit status a CLI should use for this error. */
  readonly exitCode: number;

  constructor(code: ErrorCode, message?: string, opts: { where?: SourcePos | string; exitCode?: number; cause?: unknown } = {}) {
    super(message ?? ErrorCodes[code], opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VigilError';
    this.code = code;
    this.where = opts.where;
    this.exitCode = opts.exitCode ?? 1;
  }

  /** `file:line:col: message` when a position is known, else `code: message`. */
  format(): string {
    const w = this.where;
    if (w && typeof w === 'object' && w.file) {
      const pos = [w.file, w.line, w.col].filter((x) => x !== undefined).join(':');
      return `${pos}: ${this.message}`;
    }
    if (typeof w === 'string') return `${w}: ${this.message}`;
    return `${this.code}: ${this.message}`;
  }
}

export function isVigilError(e: unknown): e is VigilError {
  return e instanceof VigilError;
}
