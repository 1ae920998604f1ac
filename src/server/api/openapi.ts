// The OpenAPI 3.0 document of the API, generated from the routes as registered: their TypeBox
// schemas (params, querystring, body, responses), `summary`/`tags`, and the `scope` and `produces`
// of their config. Nothing is kept by hand: a route added with schemas is documented. JSON-schema
// constructs OpenAPI 3.0 lacks are rewritten (null unions -> nullable, const -> enum,
// patternProperties -> a free-form `filters` object parameter); schemas with a `title` become
// components. Served at /api/openapi.json.
import { VigilError } from '../../common/errors.ts';
import { STATUS_TEXT } from './schemas.ts';

/** What the generator needs of a route (fastify's onRoute options). */
export interface RouteInfo {
  method: string | string[];
  url: string;
  schema?: Record<string, unknown>;
  config?: { scope?: string; produces?: string };
}

type J = Record<string, unknown>;

const isObj = (v: unknown): v is J => v !== null && typeof v === 'object' && !Array.isArray(v);

class Converter {
  readonly components: Record<string, J> = {};

  /** A JSON schema (TypeBox) as an OpenAPI 3.0 schema object; titled schemas become $refs. */
  schema(input: unknown, hoist = true): J {
    if (!isObj(input)) return {};
    const s: J = { ...input };
    if (hoist && typeof s.title === 'string') {
      const name = s.title;
      const body = this.schema(s, false);
      const prev = this.components[name];
      if (prev && JSON.stringify(prev) !== JSON.stringify(body)) throw new VigilError('VIGIL_E_INTERNAL', `two different schemas are titled ${name}`);
      this.components[name] = body;
      return { $ref: `#/components/schemas/${name}` };
    }
    delete s.$id;
    delete s.$schema;
    delete s.title;
    if ('const' in s) {
      s.enum = [s.const];
      delete s.const;
    }
    if (Array.isArray(s.examples)) {
      s.example = s.examples[0];
      delete s.examples;
    }
    for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
      const list = s[k];
      if (!Array.isArray(list)) continue;
      const nonNull = list.filter((x) => !(isObj(x) && x.type === 'null'));
      if (nonNull.length < list.length) s.nullable = true;
      if (k !== 'allOf' && nonNull.length === 1) {
        delete s[k];
        Object.assign(s, this.schema(nonNull[0]), s.description === undefined ? {} : { description: s.description });
      } else if (nonNull.every((x) => isObj(x) && 'const' in x && typeof x.const === 'string') && k !== 'allOf') {
        delete s[k];
        s.type = 'string';
        s.enum = nonNull.map((x) => (x as J).const);
      } else {
        s[k] = nonNull.map((x) => this.schema(x));
      }
    }
    if (isObj(s.properties)) s.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, this.schema(v)]));
    if (isObj(s.items)) s.items = this.schema(s.items);
    if (isObj(s.additionalProperties)) s.additionalProperties = this.schema(s.additionalProperties);
    if (isObj(s.patternProperties)) {
      const first = Object.values(s.patternProperties)[0];
      delete s.patternProperties;
      if (s.additionalProperties === false) s.additionalProperties = this.schema(first);
    }
    if (Array.isArray(s.required) && s.required.length === 0) delete s.required;
    return s;
  }

  /** The parameters of one location (path, query) from its object schema. */
  parameters(where: 'path' | 'query', input: unknown): J[] {
    if (!isObj(input) || !isObj(input.properties)) return [];
    const required = new Set(Array.isArray(input.required) ? (input.required as string[]) : []);
    const out: J[] = [];
    for (const [name, raw] of Object.entries(input.properties)) {
      const sch = this.schema(raw);
      const { description, ...schema } = sch;
      const p: J = { name, in: where, required: where === 'path' || (required.has(name) && !('default' in schema)), schema };
      if (description !== undefined) p.description = description;
      if (schema.type === 'array') Object.assign(p, { style: 'form', explode: true });
      out.push(p);
    }
    if (where === 'query' && isObj(input.patternProperties)) {
      const [[pattern, value]] = Object.entries(input.patternProperties) as [[string, unknown]];
      out.push({
        name: 'filters',
        in: 'query',
        required: false,
        style: 'form',
        explode: true,
        description: `${typeof input.description === 'string' ? input.description : 'free-form parameters'}; each parameter name matches ${pattern}`,
        schema: { type: 'object', additionalProperties: this.schema(value) },
      });
    }
    return out;
  }
}

const toPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

export function openApiDocument(routes: RouteInfo[], version: string): J {
  const conv = new Converter();
  const paths: Record<string, Record<string, J>> = {};
  for (const r of routes) {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) {
      if (m === 'HEAD' || m === 'OPTIONS') continue; // fastify's automatic HEAD twins
      const schema = r.schema ?? {};
      const scope = r.config?.scope ?? 'read';
      const op: J = {};
      if (typeof schema.summary === 'string') op.summary = schema.summary;
      if (typeof schema.description === 'string') op.description = schema.description;
      if (Array.isArray(schema.tags)) op.tags = schema.tags;
      op.security = scope === 'public' ? [] : [{ bearer: [scope] }];
      const params = [...conv.parameters('path', schema.params), ...conv.parameters('query', schema.querystring)];
      if (params.length) op.parameters = params;
      if (isObj(schema.body)) {
        const body = conv.schema(schema.body);
        const optional = isObj(schema.body) && (!Array.isArray(schema.body.required) || schema.body.required.length === 0);
        op.requestBody = { required: !optional, content: { 'application/json': { schema: body } } };
      }
      const responses: Record<string, J> = {};
      for (const [status, raw] of Object.entries(isObj(schema.response) ? schema.response : {})) {
        const rs = isObj(raw) ? raw : {};
        const own = typeof rs.title !== 'string' && typeof rs.description === 'string' ? rs.description : undefined;
        const description = own ?? STATUS_TEXT[status] ?? 'ok';
        if (rs.type === 'null') {
          responses[status] = { description };
          continue;
        }
        const media = status.startsWith('2') && r.config?.produces ? r.config.produces : 'application/json';
        const body = conv.schema(rs);
        if (own !== undefined) delete body.description;
        responses[status] = { description, content: { [media]: { schema: body } } };
      }
      op.responses = responses;
      (paths[toPath(r.url)] ??= {})[m.toLowerCase()] = op;
    }
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.0.3',
    info: {
      title: 'Vigil API',
      version,
      description: 'Vigil backend: events, alerts, runtime insights, sensors. Bearer tokens with scope read or admin. Generated from the route schemas.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token (DATA_DIR/admin-token, or created with POST /api/v1/api-tokens)' } },
      schemas: Object.fromEntries(Object.entries(conv.components).sort(([a], [b]) => a.localeCompare(b))),
    },
    paths: sorted,
  };
}
