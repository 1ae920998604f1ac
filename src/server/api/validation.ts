// Request validation of the API: fastify compiles each route's TypeBox schemas with ajv. Query
// strings and path parameters are text, so their validator coerces ("5" -> 5, "true" -> true, one
// value -> a list); a JSON body is validated as sent, without coercion (7 is not the string "7").
// Unknown fields are refused (with the field named), never silently dropped. 64-bit integers are
// strings in every request schema (see schemas.ts), so no coercion can round them.
import { Ajv, type Options } from 'ajv';
import type { FastifyInstance } from 'fastify';

const COMMON: Options = {
  useDefaults: true,
  removeAdditional: false,
  allErrors: false,
  verbose: true, // errors carry the failing schema: its description tells the caller what was expected
};

export function installValidators(app: FastifyInstance): void {
  const text = new Ajv({ ...COMMON, coerceTypes: 'array' });
  const json = new Ajv({ ...COMMON, coerceTypes: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? json : text).compile(schema));
}
