// Error responses of the API, one shape for all: {code, message} (+ field, expected for a bad
// request). Vigil errors map to an HTTP status by their catalogue code; fastify's schema validation
// errors (ajv) are turned into a message that names the field and what the schema expects.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { VigilError, httpErrorOf, isVigilError } from '../../common/errors.ts';
import type { Logger } from '../../common/log.ts';
import type { ErrorBody } from './schemas.ts';

/** A request field the schema accepted but the handler could not use (e.g. an impossible date). */
export class FieldError extends VigilError {
  constructor(
    readonly field: string,
    readonly expected: string,
  ) {
    super('VIGIL_E_VALIDATION', `${field}: expected ${expected}`, { where: field });
  }
}

interface AjvError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
  parentSchema?: Record<string, unknown>;
}

const BOUND: Record<string, string> = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' };

function typeName(s: Record<string, unknown> | undefined): string {
  const t = s?.type;
  return t === 'integer'
    ? 'an integer'
    : t === 'number'
      ? 'a number'
      : t === 'boolean'
        ? 'true or false'
        : t === 'array'
          ? 'a list'
          : t === 'object'
            ? 'a JSON object'
            : t === 'string'
              ? 'a string'
              : String(t ?? 'a value');
}

function what(s: Record<string, unknown> | undefined): string {
  const d = s?.description;
  const t = Array.isArray(s?.enum) ? `one of ${(s.enum as unknown[]).map(String).join(', ')}` : typeName(s);
  return typeof d === 'string' ? `${t} (${d})` : t;
}

/** Field path, problem and expectation of the first ajv error (fastify stops at the first). */
export function describeValidation(context: string, e: AjvError): { field: string; problem?: string; expected: string } {
  const base = context + e.instancePath.replaceAll('/', '.');
  const ps = e.parentSchema ?? {};
  const desc = typeof ps.description === 'string' ? ps.description : undefined;
  switch (e.keyword) {
    case 'required': {
      const name = String(e.params.missingProperty);
      const prop = (ps.properties as Record<string, Record<string, unknown>> | undefined)?.[name];
      return { field: `${base}.${name}`, problem: 'missing', expected: what(prop) };
    }
    case 'additionalProperties': {
      const known = Object.keys((ps.properties as object | undefined) ?? {});
      const kind = context === 'querystring' ? 'parameter' : 'field';
      const extra = ps.patternProperties ? (desc ?? 'a name matching the allowed patterns') : undefined;
      return {
        field: `${base}.${String(e.params.additionalProperty)}`,
        problem: `unknown ${kind}`,
        expected: `one of ${known.join(', ') || '(none)'}${extra ? `, or ${extra}` : ''}`,
      };
    }
    case 'enum':
      return { field: base, expected: `one of ${(e.params.allowedValues as unknown[]).map(String).join(', ')}` };
    case 'type':
      return { field: base, expected: what(ps) };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      if (typeof ps.minimum === 'number' && typeof ps.maximum === 'number') return { field: base, expected: `${typeName(ps)} in ${ps.minimum}..${ps.maximum}` };
      return { field: base, expected: `${typeName(ps)} ${BOUND[e.keyword]} ${String(e.params.limit)}` };
    }
    case 'pattern':
      return { field: base, expected: desc ?? `a string matching ${String(e.params.pattern)}` };
    case 'minLength':
      return { field: base, expected: Number(e.params.limit) === 1 ? 'a non-empty string' : `at least ${String(e.params.limit)} characters` };
    case 'maxLength':
      return { field: base, expected: `at most ${String(e.params.limit)} characters` };
    default:
      return { field: base, expected: desc ?? e.message ?? e.keyword };
  }
}

export function errorHandler(log: Logger) {
  return (err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (isVigilError(err)) {
      const { status, api: code } = httpErrorOf(err.code);
      if (status >= 500) log.error({ err: err.message, code: err.code, url: req.url }, 'request failed');
      const body: ErrorBody = { code, message: err.message };
      if (err instanceof FieldError) {
        body.field = err.field;
        body.expected = err.expected;
      }
      return reply.code(status).send(body);
    }
    const e = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
    if (e.validation && e.validation.length > 0) {
      const { field, problem, expected } = describeValidation(e.validationContext ?? 'request', e.validation[0]!);
      const body: ErrorBody = { code: 'bad_request', message: `${field}: ${problem ? `${problem}; ` : ''}expected ${expected}`, field, expected };
      return reply.code(400).send(body);
    }
    if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      const body: ErrorBody = { code: 'bad_request', message: `body: ${e.message}`, field: 'body', expected: 'a JSON document' };
      return reply.code(400).send(body);
    }
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      const body: ErrorBody = {
        code: 'bad_request',
        message: `headers.content-type: expected application/json, got ${JSON.stringify(req.headers['content-type'] ?? '')}`,
        field: 'headers.content-type',
        expected: 'application/json',
      };
      return reply.code(415).send(body);
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return reply.code(e.statusCode).send({ code: e.statusCode === 413 ? 'payload_too_large' : 'bad_request', message: e.message ?? 'bad request' });
    }
    log.error({ err: e.message, url: req.url }, 'request failed');
    return reply.code(500).send({ code: 'internal', message: 'internal error' });
  };
}
