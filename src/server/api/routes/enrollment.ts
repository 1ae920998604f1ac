// Route plugin: credentials. Sensor enrollment (one-time token + CSR -> client certificate, with the
// brute-force guard of enroll-limit.ts), enrollment tokens and API tokens.
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyError, FastifyInstance } from 'fastify';
import { VigilError } from '../../../common/errors.ts';
import { newSensorId, parseDuration } from '../../auth.ts';
import { signSensorCsr } from '../../pki.ts';
import type { ApiPluginOptions } from '../context.ts';
import { EnrollFailureLimiter } from '../enroll-limit.ts';
import { Duration, StringEnum, errors } from '../schemas.ts';

const EnrollBody = Type.Object(
  {
    token: Type.String({ minLength: 1, description: 'one-time enrollment token (vgle1.SECRET.CA_FINGERPRINT)' }),
    csr: Type.String({ minLength: 1, description: 'PEM certificate signing request of the sensor key' }),
    hostname: Type.Optional(Type.String({ description: 'host name of the sensor (cut to 255 characters)' })),
  },
  { additionalProperties: false },
);
const EnrollReply = Type.Object({ sensor_id: Type.String(), certificate: Type.String({ description: 'PEM' }), ca: Type.String({ description: 'PEM' }) });

const TokenBody = Type.Object({ ttl: Type.Optional(Duration) }, { additionalProperties: false });
const TokenReply = Type.Object({ token: Type.String(), expires: Type.String({ description: 'RFC 3339' }) });

const ApiTokenBody = Type.Object(
  { scope: StringEnum(['read', 'admin'] as const), name: Type.Optional(Type.String({ description: 'who or what the token is for' })) },
  { additionalProperties: false },
);
const ApiTokenReply = Type.Object({ token: Type.String(), scope: StringEnum(['read', 'admin'] as const) });

export async function enrollmentRoutes(app: FastifyInstance, { ctx }: ApiPluginOptions): Promise<void> {
  const { auth, store } = ctx;
  const limiter = new EnrollFailureLimiter({ ...ctx.enrollLimit, onEvict: () => ctx.metrics.enrollLimitEvicted.inc() });

  app.post<{ Body: Static<typeof EnrollBody> }>(
    '/api/v1/enroll',
    {
      config: { scope: 'public' },
      schema: {
        summary: 'Sensor enrollment: exchange a one-time token and a CSR for a client certificate',
        tags: ['enrollment'],
        body: EnrollBody,
        response: { 200: EnrollReply, ...errors(400, 401, 429) },
      },
      // the guard runs before the body is validated: a refused address learns nothing more
      preValidation: async (req, reply) => {
        const wait = limiter.check(req.ip);
        if (wait > 0) {
          ctx.metrics.enrollRefused.inc();
          reply.header('retry-after', String(Math.ceil(wait / 1000)));
          throw new VigilError('VIGIL_E_RATE_LIMITED', `too many failed enrollments from ${req.ip}; retry in ${Math.ceil(wait / 1000)} s`);
        }
      },
      // a body the schema refuses counts as a failed attempt, like a bad token
      onError: async (req, _reply, err: FastifyError & { validation?: unknown }) => {
        if (err.validation) limiter.fail(req.ip);
      },
    },
    async (req) => {
      const b = req.body;
      try {
        auth.redeemEnrollmentToken(b.token);
      } catch (e) {
        limiter.fail(req.ip);
        ctx.log.warn({ client: req.ip, err: (e as Error).message }, 'enrollment refused');
        throw e;
      }
      const id = newSensorId();
      const cert = signSensorCsr(ctx.pki, b.csr, id);
      const host = b.hostname?.slice(0, 255);
      await store.sensorUpdate({ id, hostname: host, connected: false, certSerial: cert.serial });
      ctx.log.info({ sensor: id, hostname: host }, 'sensor enrolled');
      return { sensor_id: id, certificate: cert.certPem, ca: ctx.pki.caPem };
    },
  );

  app.post<{ Body: Static<typeof TokenBody> | undefined }>(
    '/api/v1/enrollment-tokens',
    {
      config: { scope: 'admin' },
      schema: {
        summary: 'Create a one-time sensor enrollment token (ttl defaults to 1h)',
        tags: ['enrollment'],
        body: TokenBody,
        response: { 201: TokenReply, ...errors(400, 401, 403) },
      },
      // the body is optional: no body means all defaults
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
    },
    async (req, reply) => {
      const ttl = req.body?.ttl === undefined ? 3600_000 : parseDuration(req.body.ttl);
      return reply.code(201).send(auth.createEnrollmentToken(ttl, ctx.pki.caFingerprint));
    },
  );

  app.post<{ Body: Static<typeof ApiTokenBody> }>(
    '/api/v1/api-tokens',
    {
      config: { scope: 'admin' },
      schema: { summary: 'Create an API token', tags: ['enrollment'], body: ApiTokenBody, response: { 201: ApiTokenReply, ...errors(400, 401, 403) } },
    },
    async (req, reply) => {
      const token = auth.createApiToken(req.body.scope, req.body.name ?? '');
      return reply.code(201).send({ token, scope: req.body.scope });
    },
  );
}
