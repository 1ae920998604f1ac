// What every API route plugin receives: the server's parts (store, auth, PKI, stream hub, metrics,
// logger), the route config keys the API understands (`scope`, `produces`) and the documentation
// keys of a route schema (`summary`, `tags`).
import type { Logger } from '../../common/log.ts';
import type { Store } from '../../store/types.ts';
import type { DataDirAuth, Scope } from '../auth.ts';
import type { ServerMetrics } from '../metrics.ts';
import type { Pki } from '../pki.ts';
import type { StreamHub } from '../stream.ts';
import type { EnrollLimitOptions } from './enroll-limit.ts';

export interface ApiContext {
  store: Store;
  auth: DataDirAuth;
  pki: Pki;
  hub: StreamHub;
  metrics: ServerMetrics;
  log: Logger;
  version: string;
  serverId: string;
  /** the retention the server applies (GET /api/v1/status shows it) */
  retention?: { maxAgeMs?: number; maxBytes?: number };
  /** failed-enrollment limit per client address (default: 10 per minute) */
  enrollLimit?: EnrollLimitOptions;
}

/** Options of a route plugin (fastify passes them to the plugin function). */
export interface ApiPluginOptions {
  ctx: ApiContext;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** who may call the route: 'public' (no token), 'read' (default) or 'admin' */
    scope?: Scope | 'public';
    /** media type of the 200 response when it is not JSON (OpenAPI document) */
    produces?: string;
  }
  /** documentation keys of a route schema (fastify ignores them; the OpenAPI document shows them) */
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: string[];
  }
  interface FastifyRequest {
    principal?: { scope: Scope; name: string };
  }
}
