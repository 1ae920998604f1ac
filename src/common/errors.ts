// Error catalogue: every error Vigil reports to a user has a stable code, a message, and where it
// came from (file:line:col for input files, a component name otherwise). Modelled on fastify's
// FST_ERR_* catalogue: codes are data, so tests and callers match on codes, never on wording. Each
// code also fixes how the front ends report it: the HTTP status and API error code of the backend
// (httpErrorOf) and the exit status of the CLI (VigilError.exitCode).

export interface SourcePos {
  file?: string;
  line?: number; // 1-based
  col?: number; // 1-based
}

/** One entry of the catalogue: what a code means and how each front end reports it. */
export interface ErrorSpec {
  /** Message used when the thrower gives none; the thrower's message says what and where. */
  message: string;
  /** HTTP status when the error ends an API request. */
  http: number;
  /** Machine-readable `code` of the API error body ({code, message}). */
  api: string;
  /** Process exit status of the CLI (a thrower may override it, e.g. usage errors of `vigil run`). */
  exit: number;
}

/**
 * The catalogue. Every VIGIL_E_* code used anywhere (TypeScript and the C loader's `VIGIL_E_*:`
 * lines) is a key here; tests/unit/common/errors.test.ts checks that.
 */
export const ERROR_CATALOGUE = {
  VIGIL_E_NOT_ROOT: { message: 'must run as root (CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN are needed)', http: 500, api: 'internal', exit: 2 },
  VIGIL_E_BPF_UNAVAILABLE: { message: 'the kernel refused to load the eBPF programs', http: 500, api: 'internal', exit: 2 },
  VIGIL_E_LOADER_MISSING: { message: 'the native loader is not built', http: 500, api: 'internal', exit: 2 },
  VIGIL_E_LOADER_DIED: { message: 'the native loader exited unexpectedly', http: 500, api: 'internal', exit: 1 },
  VIGIL_E_LOADER_ABI: { message: 'the native loader was built for another event ABI', http: 500, api: 'internal', exit: 2 },
  VIGIL_E_KERNEL_FEATURE: { message: 'a kernel feature Vigil needs is missing', http: 500, api: 'internal', exit: 1 },
  VIGIL_E_CONFIG: { message: 'invalid configuration', http: 400, api: 'bad_request', exit: 1 },
  VIGIL_E_USAGE: { message: 'invalid command-line usage', http: 400, api: 'bad_request', exit: 1 },
  VIGIL_E_YAML: { message: 'malformed YAML', http: 400, api: 'bad_request', exit: 1 },
  VIGIL_E_RULE: { message: 'invalid rule', http: 400, api: 'bad_request', exit: 1 },
  VIGIL_E_POLICY: { message: 'invalid policy', http: 400, api: 'bad_request', exit: 1 },
  VIGIL_E_SOCKET: { message: 'cannot reach the sensor control socket', http: 503, api: 'unavailable', exit: 1 },
  VIGIL_E_NETWORK: { message: 'cannot reach the server', http: 502, api: 'bad_gateway', exit: 1 },
  VIGIL_E_PROTOCOL: { message: 'protocol error', http: 502, api: 'bad_gateway', exit: 1 },
  VIGIL_E_STORE: { message: 'storage error', http: 503, api: 'store_unavailable', exit: 1 },
  VIGIL_E_AUTH: { message: 'authentication failed', http: 401, api: 'unauthorized', exit: 1 },
  VIGIL_E_FORBIDDEN: { message: 'not allowed with this token', http: 403, api: 'forbidden', exit: 1 },
  VIGIL_E_VALIDATION: { message: 'a request field is invalid', http: 400, api: 'bad_request', exit: 1 },
  VIGIL_E_NOT_FOUND: { message: 'not found', http: 404, api: 'not_found', exit: 1 },
  VIGIL_E_RATE_LIMITED: { message: 'too many attempts, retry later', http: 429, api: 'rate_limited', exit: 1 },
  VIGIL_E_IO: { message: 'file system error', http: 500, api: 'internal', exit: 1 },
  VIGIL_E_RECORDING: { message: 'malformed event recording', http: 400, api: 'bad_request', exit: 1 },
  VIGIL_E_CONTAINER: { message: 'cannot run the container', http: 500, api: 'internal', exit: 1 },
  VIGIL_E_SELFTEST: { message: 'a selftest step failed', http: 500, api: 'internal', exit: 1 },
  VIGIL_E_INTERNAL: { message: 'internal error', http: 500, api: 'internal', exit: 1 },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** code -> default message (the catalogue's messages alone). */
export const ErrorCodes = Object.fromEntries(Object.entries(ERROR_CATALOGUE).map(([k, v]) => [k, v.message])) as {
  readonly [K in ErrorCode]: (typeof ERROR_CATALOGUE)[K]['message'];
};

export function isErrorCode(s: string): s is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, s);
}

/** HTTP status and API body code of an error code (500 / internal for an unknown one). */
export function httpErrorOf(code: string): { status: number; api: string } {
  const spec: ErrorSpec | undefined = isErrorCode(code) ? ERROR_CATALOGUE[code] : undefined;
  return spec ? { status: spec.http, api: spec.api } : { status: 500, api: 'internal' };
}

export class VigilError extends Error {
  readonly code: ErrorCode;
  readonly where: SourcePos | string | undefined;
  /** Process exit status a CLI should use for this error (the catalogue's unless the thrower chose one). */
  readonly exitCode: number;

  constructor(code: ErrorCode, message?: string, opts: { where?: SourcePos | string; exitCode?: number; cause?: unknown } = {}) {
    super(message ?? ERROR_CATALOGUE[code].message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'VigilError';
    this.code = code;
    this.where = opts.where;
    this.exitCode = opts.exitCode ?? ERROR_CATALOGUE[code].exit;
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
