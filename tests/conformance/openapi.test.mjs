// The OpenAPI 3.1 description (docs/openapi.json) as served by a real hub: byte for byte the
// repository's file, a valid OpenAPI 3.1 document for an independent validator
// (@seriousme/openapi-schema-validator), schemas that compile as JSON Schema 2020-12 (ajv), and a
// description the hub keeps: its real answers and stream frames validate against the document's
// schemas, and the document's request examples are accepted by the hub.
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { useHub, uniqueId, REPO_ROOT } from './lib/hub.mjs';
import { captureStream } from './lib/raw-stream.mjs';
import { aguiSamples, nestedInvalid } from './lib/agui-samples.mjs';

const REPO_DOCUMENT = readFileSync(path.join(REPO_ROOT, 'docs', 'openapi.json'));
const METHODS = ['get', 'put', 'post', 'delete', 'head', 'patch', 'trace', 'options'];

/** Resolves a local `#/…` reference of the document. */
function resolve(doc, ref) {
  return ref.slice(2).split('/').reduce((node, key) => node[key.replaceAll('~1', '/').replaceAll('~0', '~')], doc);
}

/**
 * An ajv (JSON Schema 2020-12, strict) holding the document's component schemas; `compile(schema)`
 * compiles a schema of the document whose `#/components/schemas/…` references point there.
 */
function schemaCompiler(doc) {
  const ajv = new Ajv2020({ strict: true, strictTypes: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  ajv.addVocabulary(['discriminator']);  // OpenAPI's own keyword: an annotation for ajv
  const rewrite = (schema) =>
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"herald-openapi#/$defs/'));
  ajv.addSchema({ $id: 'herald-openapi', $defs: rewrite(doc.components.schemas) });
  return { ajv, compile: (schema) => ajv.compile(rewrite(schema)) };
}

describe('the OpenAPI description at GET /api/v1/openapi.json', () => {
  let hub;
  let doc;
  let compile;
  useHub({}, (h) => { hub = h; });
  before(() => {
    doc = JSON.parse(REPO_DOCUMENT.toString('utf8'));
    ({ compile } = schemaCompiler(doc));
  });

  /** The JSON schema of an operation's answer with `status` (or `default`) in `media`. */
  function answerSchema(pathTemplate, method, status, media = 'application/json') {
    const operation = doc.paths[pathTemplate]?.[method];
    assert.ok(operation, `${method} ${pathTemplate} is documented`);
    let answer = operation.responses[String(status)];
    assert.ok(answer, `${method} ${pathTemplate} documents status ${status}`);
    if (answer.$ref) answer = resolve(doc, answer.$ref);
    const schema = answer.content?.[media]?.schema;
    assert.ok(schema, `${method} ${pathTemplate} ${status} has a ${media} schema`);
    return schema;
  }

  /** Asserts that `value` validates against `schema` (a schema of the document). */
  function assertValid(schema, value, what) {
    const validate = compile(schema);
    assert.ok(validate(value), `${what}: ${JSON.stringify(validate.errors, null, 1)}\nvalue: ${JSON.stringify(value).slice(0, 600)}`);
  }

  /** Calls the hub and asserts the answer validates against the document for its status. */
  async function callAndCheck(pathTemplate, target, method, { token, body, headers = {}, status }) {
    const res = await hub.fetch(target, {
      method: method.toUpperCase(),
      headers: {
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, status, `${method} ${target}: ${text}`);
    assert.ok(res.headers.get('x-request-id'), 'every answer carries X-Request-Id');
    if (res.status === 204) {
      assert.equal(text, '');
      return null;
    }
    const json = JSON.parse(text);
    assertValid(answerSchema(pathTemplate, method, status), json, `${method} ${target} ${status}`);
    return json;
  }

  it('is the repository file byte for byte, public and cacheable', async () => {
    const res = await hub.fetch('/api/v1/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=3600');
    const served = Buffer.from(await res.arrayBuffer());
    assert.ok(served.equals(REPO_DOCUMENT), `served ${served.length} bytes, the file has ${REPO_DOCUMENT.length}`);
  });

  it('is a valid OpenAPI 3.1 document for @seriousme/openapi-schema-validator', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(doc));
    assert.equal(validator.version, '3.1');
    assert.deepEqual(result, { valid: true }, JSON.stringify(result.errors, null, 1));

    // The validator does check: a dangling reference or an unknown status makes the copy invalid.
    const dangling = structuredClone(doc);
    dangling.paths['/health'].get.responses['200'].content['application/json'].schema = { $ref: '#/components/schemas/Missing' };
    assert.equal((await new Validator().validate(dangling)).valid, false);
    const badStatus = structuredClone(doc);
    badStatus.paths['/health'].get.responses['999'] = { description: 'no such status' };
    assert.equal((await new Validator().validate(badStatus)).valid, false);
  });

  it('has schemas that compile as JSON Schema 2020-12 in strict mode, and security schemes for every requirement', () => {
    const { ajv } = schemaCompiler(doc);
    for (const name of Object.keys(doc.components.schemas)) {
      assert.ok(ajv.getSchema(`herald-openapi#/$defs/${name}`), `schema ${name} compiles`);
    }
    const requirements = [...doc.security];
    for (const item of Object.values(doc.paths)) {
      for (const method of METHODS) if (item[method]?.security) requirements.push(...item[method].security);
    }
    for (const requirement of requirements) {
      for (const scheme of Object.keys(requirement)) assert.ok(doc.components.securitySchemes[scheme], scheme);
    }
  });

  it('describes the AG-UI events the hub accepts and rejects (the agui-schemas samples)', () => {
    const event = compile({ $ref: '#/components/schemas/AguiEvent' });
    const body = compile({ $ref: '#/components/schemas/AguiWebhookBody' });
    const samples = aguiSamples('oa');
    const types = Object.keys(doc.components.schemas.AguiEvent.discriminator.mapping);
    assert.deepEqual(Object.keys(samples).sort(), [...types].sort(), 'one sample of every documented type');
    for (const [type, fields] of Object.entries(samples)) {
      const sample = { type, ...fields };
      assert.ok(event(sample), `${type}: ${JSON.stringify(event.errors)}`);
      assert.ok(body({ user_id: 'alice', ...sample }), `${type} as a webhook body: ${JSON.stringify(body.errors)}`);
      assert.equal(body(sample), false, `${type} without user_id is not a webhook body`);
      // Each required field, left out, makes the event invalid (the hub answers 422 naming it).
      const required = resolve(doc, doc.components.schemas.AguiEvent.discriminator.mapping[type]).required;
      for (const field of required) {
        const { [field]: _left, ...rest } = sample;
        assert.equal(event(rest), false, `${type} without ${field}`);
      }
    }
    for (const invalid of nestedInvalid('oa')) {
      assert.equal(event(invalid), false, `rejected by the hub, so by the document: ${JSON.stringify(invalid)}`);
    }
    assert.equal(event({ type: 'THINKING_START' }), false, 'a retired type');
  });

  it("accepts the document's request examples, and answers as documented", async () => {
    const alice = hub.token('alice');
    // The examples name alice and her context c1.
    await callAndCheck('/api/v1/core/contexts', '/api/v1/core/contexts', 'post',
      { token: alice, body: { context_id: 'c1', name: 'Example context' }, status: 201 });
    const ok = { post: 200, put: 200 };
    let tried = 0;
    for (const [pathTemplate, item] of Object.entries(doc.paths)) {
      for (const method of METHODS) {
        const content = item[method]?.requestBody?.content?.['application/json'];
        if (!content) continue;
        assert.ok(content.example !== undefined, `${method} ${pathTemplate} has a request example`);
        assertValid(content.schema, content.example, `the request example of ${method} ${pathTemplate}`);
        const status = pathTemplate === '/api/v1/core/contexts' && method === 'post' ? 201 : ok[method];
        await callAndCheck(pathTemplate, pathTemplate.replace('{id}', 'c1'), method,
          { token: alice, body: content.example, status });
        tried += 1;
      }
    }
    const withBodies = Object.values(doc.paths).flatMap((item) => METHODS.filter((m) => item[m]?.requestBody));
    assert.equal(tried, withBodies.length, 'every operation with a request body has a JSON example');
    assert.ok(tried > 0);
  });

  it('describes real answers: successes, the error shape, operations and admin', async () => {
    const user = uniqueId('oa');
    const token = hub.token(user);
    // Errors: no token (401), a missing field (422 with field), another user's event (403),
    // an unknown context (404), a body that is not JSON (400), the wrong content type (415).
    const publishPath = '/api/v1/webhook/agui';
    const noToken = await hub.fetch(publishPath, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(noToken.status, 401);
    assert.equal(noToken.headers.get('www-authenticate'), 'Bearer');
    assertValid(answerSchema(publishPath, 'post', 401), await noToken.json(), '401');
    const missing = await callAndCheck(publishPath, publishPath, 'post',
      { token, body: { user_id: user, type: 'TEXT_MESSAGE_CONTENT', messageId: 'm1' }, status: 422 });
    assert.equal(missing.field, 'delta');
    await callAndCheck(publishPath, publishPath, 'post',
      { token, body: { user_id: `${user}-other`, type: 'TEXT_MESSAGE_END', messageId: 'm1' }, status: 403 });
    await callAndCheck('/api/v1/core/contexts/{id}', `/api/v1/core/contexts/${user}-none`, 'get', { token, status: 404 });
    const notJson = await hub.fetch(publishPath, { method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, body: '{' });
    assert.equal(notJson.status, 400);
    assertValid(answerSchema(publishPath, 'post', 400), await notJson.json(), '400');
    const wrongType = await hub.fetch(publishPath, { method: 'POST', headers: { 'Content-Type': 'text/plain', Authorization: `Bearer ${token}` }, body: '{}' });
    assert.equal(wrongType.status, 415);
    assertValid(answerSchema(publishPath, 'post', 415), await wrongType.json(), '415');
    // An unknown method on a known path: the error shape, under `default`.
    const refused = await hub.fetch('/api/v1/events', { method: 'GET' });
    assert.equal(refused.status, 405);
    assertValid(answerSchema('/api/v1/events', 'post', 'default'), await refused.json(), '405');

    // Successes.
    await callAndCheck(publishPath, publishPath, 'post',
      { token, body: { user_id: user, type: 'RUN_STARTED', threadId: `${user}-t`, runId: 'r1' }, status: 200 });
    await callAndCheck('/api/v1/webhook/a2a', '/api/v1/webhook/a2a', 'post',
      { token, body: { user_id: user, type: 'AGENT_MESSAGE', taskId: 'task-1', contextId: `${user}-t`, messageId: 'am1', content: 'hi' }, status: 200 });
    const batch = await callAndCheck('/api/v1/events', '/api/v1/events', 'post', {
      token,
      body: [
        { user_id: user, protocol: 'agui', event: { type: 'TEXT_MESSAGE_END', messageId: 'm1' } },
        { user_id: `${user}-other`, protocol: 'agui', event: { type: 'TEXT_MESSAGE_END', messageId: 'm1' } },
        { user_id: user, protocol: 'a2a', event: { type: 'TASK_SUBMITTED', taskId: 't' } },
      ],
      status: 200,
    });
    assert.deepEqual(batch.results.map((r) => r.status), [200, 403, 422]);
    const list = await callAndCheck('/api/v1/core/contexts', '/api/v1/core/contexts?limit=1', 'get', { token, status: 200 });
    assert.equal(list.data[0].context_id, `${user}-t`);
    await callAndCheck('/api/v1/core/contexts/{id}', `/api/v1/core/contexts/${user}-t`, 'get', { token, status: 200 });
    await callAndCheck('/api/v1/core/contexts/{id}', `/api/v1/core/contexts/${user}-t`, 'delete', { token, status: 204 });

    // Operations and admin.
    await callAndCheck('/health', '/health', 'get', { status: 200 });
    await callAndCheck('/api/v1/health', '/api/v1/health', 'get', { status: 200 });
    await callAndCheck('/readyz', '/readyz', 'get', { status: 200 });
    await callAndCheck('/api/v1/admin/users/{id}/connections', `/api/v1/admin/users/${user}/connections`, 'get',
      { token: hub.adminToken, status: 200 });
    await callAndCheck('/api/v1/admin/users/{id}/connections', `/api/v1/admin/users/${user}/connections`, 'get',
      { token, status: 403 });
    await callAndCheck('/api/v1/admin/users/{id}/connections', `/api/v1/admin/users/${user}/connections`, 'delete',
      { token: hub.adminToken, status: 200 });
  });

  it('describes the frames of the three streams', async () => {
    const user = uniqueId('oa-stream');
    const token = hub.token(user);
    const streams = {};
    for (const name of ['agui', 'a2a', 'contexts']) {
      streams[name] = await captureStream(`${hub.url}/api/v1/stream/${name}`, { token });
    }
    try {
      for (const [name, stream] of Object.entries(streams)) {
        assert.equal(stream.res.status, 200);
        assert.equal(stream.res.headers.get('content-type'), 'text/event-stream');
        assert.ok(doc.paths[`/api/v1/stream/${name}`].get.responses['200'].content['text/event-stream']);
      }
      const contextId = `${user}-t`;
      await hub.publish('agui', { type: 'RUN_STARTED', threadId: contextId, runId: 'r1' }, { userId: user, token });
      await hub.publish('a2a', { type: 'TASK_STATUS_UPDATE', taskId: 'k', contextId, state: 'TASK_STATE_WORKING' }, { userId: user, token });
      const dataOf = (e) => JSON.parse(e.data);
      await streams.agui.until((live) => live.some((e) => !e.event), 10_000, 'an agui event');
      await streams.a2a.until((live) => live.some((e) => !e.event), 10_000, 'an a2a event');
      // snapshot, CONTEXT_CREATED, RUN_STARTED, TASK_STATUS_UPDATE
      await streams.contexts.until((live) => live.filter((e) => !e.event).length >= 4, 10_000, 'four contexts frames');

      for (const [name, stream] of Object.entries(streams)) {
        const media = doc.paths[`/api/v1/stream/${name}`].get.responses['200'].content['text/event-stream'];
        for (const frame of stream.live) {
          const event = frame.event ?? 'message';
          const schema = media['x-herald-frame-data'][event];
          assert.ok(schema, `${name}: the frame name ${event} is documented`);
          if (event !== 'heartbeat') {
            assert.match(frame.id ?? '', /^[0-9a-f]{8}-(0|[1-9][0-9]*)$/, `${name}: a ${event} frame has an event id`);
          }
          assertValid(schema, dataOf(frame), `${name}: a ${event} frame`);
        }
        if (name !== 'contexts') {
          assert.equal(stream.live[0].event, 'connected', `${name}: a fresh stream opens with its cursor`);
        }
      }
      const wrapped = streams.contexts.live.filter((e) => !e.event).map(dataOf);
      assert.equal(wrapped[0].event.type, 'CONTEXTS_SNAPSHOT');
      assert.deepEqual(wrapped.map((w) => w.protocol), ['system', 'system', 'agui', 'a2a']);
      // The wrapped events validate as events of their protocol, not only as objects.
      const wrongProtocol = { protocol: 'a2a', event: wrapped[2].event };
      assert.equal(compile({ $ref: '#/components/schemas/WrappedEvent' })(wrongProtocol), false);
    } finally {
      for (const stream of Object.values(streams)) await stream.stop();
    }
  });
});
