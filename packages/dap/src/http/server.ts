// The DAP HTTP API (both drafts, chosen per task) plus the authenticated provisioning API, on fastify.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { b64url, fromB64url } from '../codec.js';
import { encodeHpkeConfigList, type DapVersion } from '../messages/index.js';
import { taskFromJson, taskToJson, TaskError } from '../task.js';
import { tokenMatches, sha256 } from '../aggregator/common.js';
import type { AggregatorContext, LoadedTask } from '../aggregator/context.js';
import type { Leader } from '../aggregator/leader.js';
import type { Helper } from '../aggregator/helper.js';
import { DapProblem } from '../aggregator/problem.js';
import type { KeyRotationPolicy } from '../aggregator/keys.js';

interface Params {
  taskId: string;
  jobId: string;
}

const CORS = { 'access-control-allow-origin': '*', 'access-control-allow-headers': 'content-type', 'access-control-allow-methods': 'GET, PUT, POST, OPTIONS' };

export interface HttpDeps {
  ctx: AggregatorContext;
  leader?: Leader;
  helper?: Helper;
  adminToken?: string;
  rotation: KeyRotationPolicy;
  bodyLimit: number;
}

function id(s: string, len: number, what: string, taskId?: Uint8Array): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromB64url(s);
  } catch {
    throw new DapProblem('invalidMessage', `${what} is not base64url`, taskId);
  }
  if (b.length !== len) throw new DapProblem('invalidMessage', `${what} must be ${len} bytes`, taskId);
  return b;
}

function body(req: FastifyRequest): Uint8Array {
  const b = req.body;
  if (b instanceof Uint8Array) return b;
  return new Uint8Array(0);
}

function sendProblem(reply: FastifyReply, p: DapProblem): FastifyReply {
  return reply.code(p.status).header('content-type', 'application/problem+json').headers(CORS).send(JSON.stringify(p.toJSON()));
}

export function buildServer(deps: HttpDeps): FastifyInstance {
  const { ctx, leader, helper } = deps;
  const app = Fastify({ logger: false, bodyLimit: deps.bodyLimit });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    try {
      done(null, text ? JSON.parse(text as string) : undefined);
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, b, done) => done(null, b));

  app.setErrorHandler((err: any, _req, reply) => {
    if (err instanceof DapProblem) return sendProblem(reply, err);
    if (err instanceof TaskError) return reply.code(400).type('application/problem+json').send({ type: 'about:blank', title: 'Invalid task', status: 400, detail: err.message });
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) console.error('dap http:', err);
    return reply.code(status).type('application/problem+json').send({ type: 'about:blank', title: status === 500 ? 'Internal error' : 'Bad request', status, detail: status === 500 ? 'internal error' : err.message });
  });

  // unrecognizedTask per draft: DAP-09 §3.2 makes every abort 400 unless specified otherwise, and nothing specifies
  // otherwise for it; DAP-18 §Errors asks only for a client error, so 404 (the task resource does not exist).
  // The draft comes from a route only one draft has, else from the DAP-18 / DAP-09 media type; a request that
  // shows neither gets 400, which satisfies both drafts.
  const unknownTaskStatus = (req: FastifyRequest, only?: DapVersion): number => {
    const media = String(req.headers['content-type'] ?? '');
    const draft = only ?? (media.startsWith('application/ppm-dap') ? 'dap-18' : media.startsWith('application/dap-') ? 'dap-09' : undefined);
    return draft === 'dap-18' ? 404 : 400;
  };
  const loadTask = (req: FastifyRequest<{ Params: Params }>, role: 'leader' | 'helper', only?: DapVersion): Promise<LoadedTask> => {
    if (ctx.role !== role) throw new DapProblem('unrecognizedTask', `this aggregator is the ${ctx.role}`, undefined, unknownTaskStatus(req, only));
    return ctx.requireTask(req.params.taskId, unknownTaskStatus(req, only));
  };
  const authAggregator = (task: LoadedTask, req: FastifyRequest) => {
    if (!tokenMatches(task.def.aggregatorAuthToken, req.headers)) throw new DapProblem('unauthorizedRequest', 'missing or wrong aggregator auth token', task.def.taskId);
  };
  const authCollector = (task: LoadedTask, req: FastifyRequest) => {
    if (!tokenMatches(task.def.collectorAuthToken, req.headers)) throw new DapProblem('unauthorizedRequest', 'missing or wrong collector auth token', task.def.taskId);
  };
  const needVersion = (task: LoadedTask, v: 'dap-09' | 'dap-18', reply: FastifyReply): boolean => {
    if (task.def.version === v) return true;
    reply.code(405).header('content-type', 'application/problem+json').send({ type: 'about:blank', title: 'Method not allowed', status: 405, detail: `task ${task.idB64} speaks ${task.def.version}`, taskid: task.idB64 });
    return false;
  };

  app.get('/hpke_config', async (req, reply) => {
    const q = req.query as { task_id?: string };
    let media = 'application/ppm-dap;message=hpke-config-list';
    if (q.task_id) {
      const task = await ctx.requireTask(q.task_id, unknownTaskStatus(req, 'dap-09'));
      media = task.codec.mediaType('hpke-config-list');
    } else if (String(req.headers.accept ?? '').includes('application/dap-hpke-config-list')) media = 'application/dap-hpke-config-list';
    const configs = ctx.keyring.advertised();
    return reply.code(200).headers(CORS).header('content-type', media).header('cache-control', `max-age=${Math.floor(deps.rotation.pendingMs / 1000)}`).send(Buffer.from(encodeHpkeConfigList(configs)));
  });

  app.options('/hpke_config', async (_req, reply) => reply.code(204).headers(CORS).send());
  app.options('/tasks/:taskId/reports', async (_req, reply) => reply.code(204).headers(CORS).send());

  // ---- leader: uploads ----
  const uploadProblem09 = (task: LoadedTask, e: string): DapProblem => {
    if (e === 'outdated_config') return new DapProblem('outdatedConfig', 'the leader share uses an unknown HPKE config', task.def.taskId);
    if (e === 'report_too_early') return new DapProblem('reportTooEarly', 'the report timestamp is too far in the future', task.def.taskId);
    const why: Record<string, string> = {
      report_replayed: 'a report with this ID was already uploaded', task_expired: 'the task has expired', task_not_started: 'the task has not started',
      report_dropped: 'the report is too old', batch_collected: "the report's batch was already collected", invalid_message: 'the report is malformed',
    };
    return new DapProblem('reportRejected', why[e] ?? e, task.def.taskId);
  };

  app.put<{ Params: Params }>('/tasks/:taskId/reports', async (req, reply) => {
    const task = await loadTask(req, 'leader', 'dap-09');
    if (!needVersion(task, 'dap-09', reply)) return reply;
    const { errors } = await leader!.upload(task, body(req));
    if (errors.length) throw uploadProblem09(task, errors[0].error);
    return reply.code(201).headers(CORS).send();
  });

  app.post<{ Params: Params }>('/tasks/:taskId/reports', async (req, reply) => {
    const task = await loadTask(req, 'leader', 'dap-18');
    if (!needVersion(task, 'dap-18', reply)) return reply;
    const { errors } = await leader!.upload(task, body(req));
    if (!errors.length) return reply.code(200).headers(CORS).send();
    return reply.code(200).headers(CORS).header('content-type', task.codec.mediaType('upload-errors')).send(Buffer.from(task.codec.encodeUploadErrors(errors)));
  });

  // ---- leader: collection jobs ----
  const pollCollection = async (task: LoadedTask, jobId: Uint8Array, reply: FastifyReply) => {
    const st = await leader!.collectionJob(task, jobId);
    if (!st) throw new DapProblem('invalidMessage', `no collection job ${b64url(jobId)}`, task.def.taskId, 404);
    if (st.state === 'failed') throw st.problem;
    if (st.state === 'finished') return reply.code(200).header('content-type', task.codec.mediaType('collection')).send(Buffer.from(st.body));
    const code = task.def.version === 'dap-09' ? 202 : 200;
    return reply.code(code).header('retry-after', '1').header('location', `/tasks/${task.idB64}/collection_jobs/${b64url(jobId)}`).send();
  };

  app.put<{ Params: Params }>('/tasks/:taskId/collection_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'leader', 'dap-09');
    if (!needVersion(task, 'dap-09', reply)) return reply;
    authCollector(task, req);
    const r = await leader!.createCollectionJob(task, id(req.params.jobId, 16, 'collection job ID', task.def.taskId), body(req));
    return reply.code(r === 'created' ? 201 : 200).send();
  });

  app.post<{ Params: Params }>('/tasks/:taskId/collection_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'leader', 'dap-09');
    if (!needVersion(task, 'dap-09', reply)) return reply;
    authCollector(task, req);
    return pollCollection(task, id(req.params.jobId, 16, 'collection job ID', task.def.taskId), reply);
  });

  app.post<{ Params: Params }>('/tasks/:taskId/collection_jobs', async (req, reply) => {
    const task = await loadTask(req, 'leader', 'dap-18');
    if (!needVersion(task, 'dap-18', reply)) return reply;
    authCollector(task, req);
    const b = body(req);
    // Identical requests name the same job (DAP-18 idempotent resource creation).
    const jobId = new Uint8Array(sha256(b).subarray(0, 16));
    await leader!.createCollectionJob(task, jobId, b);
    return reply.code(201).header('location', `/tasks/${task.idB64}/collection_jobs/${b64url(jobId)}`).header('retry-after', '1').send();
  });

  app.get<{ Params: Params }>('/tasks/:taskId/collection_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'leader', 'dap-18');
    if (!needVersion(task, 'dap-18', reply)) return reply;
    authCollector(task, req);
    return pollCollection(task, id(req.params.jobId, 16, 'collection job ID', task.def.taskId), reply);
  });

  app.delete<{ Params: Params }>('/tasks/:taskId/collection_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'leader');
    authCollector(task, req);
    const ok = await leader!.deleteCollectionJob(task, id(req.params.jobId, 16, 'collection job ID', task.def.taskId));
    return reply.code(ok ? 204 : 404).send();
  });

  // ---- helper: aggregation jobs and aggregate shares ----
  app.put<{ Params: Params }>('/tasks/:taskId/aggregation_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'helper', 'dap-09');
    if (!needVersion(task, 'dap-09', reply)) return reply;
    authAggregator(task, req);
    const r = await helper!.aggregationJobInit(task, id(req.params.jobId, 16, 'aggregation job ID', task.def.taskId), body(req));
    return reply.code(201).header('content-type', task.codec.mediaType('aggregation-job-resp')).send(Buffer.from(r.response));
  });

  app.post<{ Params: Params }>('/tasks/:taskId/aggregation_jobs', async (req, reply) => {
    const task = await loadTask(req, 'helper', 'dap-18');
    if (!needVersion(task, 'dap-18', reply)) return reply;
    authAggregator(task, req);
    const r = await helper!.aggregationJobInit(task, undefined, body(req));
    return reply.code(201).header('location', `/tasks/${task.idB64}/aggregation_jobs/${b64url(r.jobId)}`).header('content-type', task.codec.mediaType('aggregation-job-resp')).send(Buffer.from(r.response));
  });

  app.post<{ Params: Params }>('/tasks/:taskId/aggregation_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'helper');
    authAggregator(task, req);
    const resp = await helper!.aggregationJobContinue(task, id(req.params.jobId, 16, 'aggregation job ID', task.def.taskId), body(req));
    return reply.code(200).header('content-type', task.codec.mediaType('aggregation-job-resp')).send(Buffer.from(resp));
  });

  app.get<{ Params: Params }>('/tasks/:taskId/aggregation_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'helper', 'dap-18');
    authAggregator(task, req);
    const resp = await helper!.helperJobResponse(task, id(req.params.jobId, 16, 'aggregation job ID', task.def.taskId));
    if (!resp) throw new DapProblem('unrecognizedAggregationJob', `no aggregation job ${req.params.jobId}`, task.def.taskId);
    return reply.code(200).header('content-type', task.codec.mediaType('aggregation-job-resp')).send(Buffer.from(resp));
  });

  app.delete<{ Params: Params }>('/tasks/:taskId/aggregation_jobs/:jobId', async (req, reply) => {
    const task = await loadTask(req, 'helper');
    authAggregator(task, req);
    // Replay and batch state must outlive the job, so there is nothing to discard.
    return reply.code(204).send();
  });

  app.post<{ Params: Params }>('/tasks/:taskId/aggregate_shares', async (req, reply) => {
    const task = await loadTask(req, 'helper');
    authAggregator(task, req);
    const r = await helper!.aggregateShare(task, body(req));
    if (task.def.version === 'dap-18') reply.code(201).header('location', `/tasks/${task.idB64}/aggregate_shares/${b64url(r.id)}`);
    else reply.code(200);
    return reply.header('content-type', task.codec.mediaType('aggregate-share')).send(Buffer.from(r.response));
  });

  // ---- provisioning API ----
  if (deps.adminToken) {
    const admin = (req: FastifyRequest) => {
      if (!tokenMatches(deps.adminToken, req.headers)) throw new DapProblem('unauthorizedRequest', 'missing or wrong provisioning token');
    };
    app.get('/admin/tasks', async (req) => {
      admin(req);
      return { tasks: (await ctx.store.listTasks()).map((t) => ({ taskId: t.task_id, role: t.role, version: t.version })) };
    });
    app.post('/admin/tasks', async (req, reply) => {
      admin(req);
      const def = taskFromJson(req.body);
      const r = await ctx.putTask(def);
      if (r === 'conflict') return reply.code(409).type('application/problem+json').send({ type: 'about:blank', title: 'Conflict', status: 409, detail: `task ${b64url(def.taskId)} exists with different parameters` });
      return reply.code(r === 'created' ? 201 : 200).send({ taskId: b64url(def.taskId) });
    });
    app.get<{ Params: Params }>('/admin/tasks/:taskId', async (req) => {
      admin(req);
      const t = await ctx.requireTask(req.params.taskId, 404);
      return taskToJson(t.def);
    });
    app.patch<{ Params: Params }>('/admin/tasks/:taskId', async (req) => {
      admin(req);
      const def = await ctx.updateTask(req.params.taskId, req.body);
      if (!def) throw new DapProblem('unrecognizedTask', `no ${ctx.role} task ${req.params.taskId}`, undefined, 404);
      return taskToJson(def);
    });
    app.get<{ Params: Params }>('/admin/tasks/:taskId/stats', async (req) => {
      admin(req);
      const t = await ctx.requireTask(req.params.taskId, 404);
      return ctx.store.stats(t.idB64);
    });
    app.delete<{ Params: Params }>('/admin/tasks/:taskId', async (req, reply) => {
      admin(req);
      return reply.code((await ctx.store.deleteTask(req.params.taskId)) ? 204 : 404).send();
    });
    app.get('/admin/hpke_keys', async (req) => {
      admin(req);
      await ctx.keyring.load();
      return { keys: ctx.keyring.list().map((k) => ({ configId: k.configId, state: k.state, since: new Date(k.since).toISOString(), publicKey: b64url(k.publicKey) })) };
    });
    app.post('/admin/hpke_keys/rotate', async (req) => {
      admin(req);
      return { actions: await ctx.keyring.rotate(deps.rotation) };
    });
  }
  return app;
}
