// One valid sample of every AG-UI 1.0 event type, written from the @ag-ui/core 1.0 schemas,
// with optional fields filled in where the schema has interesting shapes (messages of every
// role, content parts, JSON Patch operations, run outcomes, token usage).

export function aguiSamples(tag) {
  const msg = `${tag}-msg`;
  const tool = `${tag}-tool`;
  const run = `${tag}-run`;
  const thread = `${tag}-thread`;
  const sub = `${tag}-sub`;
  const usage = [{ provider: 'acme', model: 'm-1', inputTokens: 12, outputTokens: 30, totalTokens: 42, reasoningTokens: 5, cachedInputTokens: 2 }];
  const patch = [
    { op: 'add', path: '/items/-', value: { id: 3 } },
    { op: 'remove', path: '/old' },
    { op: 'replace', path: '/count', value: 4 },
    { op: 'move', from: '/a', path: '/b' },
    { op: 'copy', from: '/b', path: '/c' },
    { op: 'test', path: '/count', value: 4 },
    { op: 'add', path: '/escaped~1slash~0tilde', value: null },
  ];
  const messages = [
    { id: `${tag}-d`, role: 'developer', content: 'Be brief.' },
    { id: `${tag}-s`, role: 'system', content: 'You are helpful.', name: 'sys' },
    { id: `${tag}-u`, role: 'user', content: [
      { type: 'text', text: 'Look at this' },
      { type: 'image', source: { type: 'url', value: 'https://example.invalid/a.png', mimeType: 'image/png' } },
      { type: 'document', source: { type: 'data', value: 'aGVsbG8=', mimeType: 'application/pdf' } },
      { type: 'audio', source: { type: 'file', value: 'file-123', provider: 'openai' } },
    ] },
    { id: `${tag}-a`, role: 'assistant', content: 'Calling a tool.',
      toolCalls: [{ id: tool, type: 'function', function: { name: 'search', arguments: '{"q":"x"}' } }] },
    { id: `${tag}-t`, role: 'tool', content: 'result', toolCallId: tool },
    { id: `${tag}-act`, role: 'activity', activityType: 'progress', content: { pct: 50 } },
    { id: `${tag}-r`, role: 'reasoning', content: 'thinking…' },
  ];
  return {
    TEXT_MESSAGE_START: { messageId: msg, role: 'assistant', name: 'bot', metadata: { trace: 'abc', nullable: null } },
    TEXT_MESSAGE_CONTENT: { messageId: msg, delta: 'Hello ✓' },
    TEXT_MESSAGE_END: { messageId: msg },
    TEXT_MESSAGE_CHUNK: { messageId: msg, role: 'assistant', delta: 'chunk' },
    TOOL_CALL_START: { toolCallId: tool, toolCallName: 'search', parentMessageId: msg },
    TOOL_CALL_ARGS: { toolCallId: tool, delta: '{"q":' },
    TOOL_CALL_END: { toolCallId: tool },
    TOOL_CALL_CHUNK: { toolCallId: tool, toolCallName: 'search', delta: '"x"}' },
    TOOL_CALL_RESULT: { messageId: `${tag}-res`, toolCallId: tool, role: 'tool',
      content: [{ type: 'text', text: 'found 3' }, { type: 'video', source: { type: 'url', value: 'https://example.invalid/v.mp4' } }] },
    STATE_SNAPSHOT: { snapshot: { count: 3, items: [{ id: 1 }, { id: 2 }], nested: { a: [true, null] } } },
    STATE_DELTA: { delta: patch },
    MESSAGES_SNAPSHOT: { messages },
    ACTIVITY_SNAPSHOT: { messageId: `${tag}-act`, activityType: 'progress', content: { pct: 10, label: 'starting' }, replace: true },
    ACTIVITY_DELTA: { messageId: `${tag}-act`, activityType: 'progress', patch: [{ op: 'replace', path: '/pct', value: 60 }] },
    RAW: { event: { provider: 'openai', chunk: { choices: [] } }, source: 'openai' },
    CUSTOM: { name: 'my.custom', value: [1, 'two', { three: 3 }] },
    RUN_STARTED: { threadId: thread, runId: run, protocolVersion: '1.0', parentRunId: `${tag}-parent`,
      input: { threadId: thread, runId: run, messages: [messages[2]], tools: [{ name: 'search', description: 'Searches', parameters: { type: 'object' } }],
        context: [{ description: 'locale', value: 'en' }], state: { step: 0 }, forwardedProps: { x: 1 } } },
    RUN_FINISHED: { threadId: thread, runId: run, result: { answer: 42 },
      outcome: { type: 'interrupt', interrupts: [{ id: `${tag}-int`, reason: 'approval', message: 'OK?', toolCallId: tool }] }, usage },
    RUN_ERROR: { message: 'model overloaded', code: 'overloaded', usage },
    STEP_STARTED: { stepName: 'plan' },
    STEP_FINISHED: { stepName: 'plan', subagentRunId: sub },
    REASONING_START: { messageId: `${tag}-reason` },
    REASONING_MESSAGE_START: { messageId: `${tag}-reason`, role: 'reasoning' },
    REASONING_MESSAGE_CONTENT: { messageId: `${tag}-reason`, delta: 'Considering…' },
    REASONING_MESSAGE_END: { messageId: `${tag}-reason` },
    REASONING_MESSAGE_CHUNK: { messageId: `${tag}-reason`, delta: '' },
    REASONING_END: { messageId: `${tag}-reason` },
    REASONING_ENCRYPTED_VALUE: { subtype: 'message', entityId: `${tag}-reason`, encryptedValue: 'ZW5jcnlwdGVk' },
    SUBAGENT_STARTED: { subagentRunId: sub, name: 'researcher', description: 'Finds things', parentToolCallId: tool },
    SUBAGENT_FINISHED: { subagentRunId: sub, result: { found: 3 }, outcome: { type: 'suspended', interruptIds: [`${tag}-int`] } },
    SUBAGENT_ERROR: { subagentRunId: sub, message: 'subagent crashed', code: 'E_SUB' },
  };
}

/**
 * Events the @ag-ui/core schemas reject for a reason below the top level, with the field path
 * zod reports (dot-joined). Top-level missing / wrongly typed fields are generated from the
 * schemas themselves by the test.
 */
export function nestedInvalid(tag) {
  return [
    { type: 'RUN_FINISHED', threadId: `${tag}-t`, runId: `${tag}-r`, outcome: { type: 'interrupt', interrupts: [] } },
    { type: 'STATE_DELTA', delta: [{ op: 'add', path: 'no-leading-slash', value: 1 }] },
    { type: 'STATE_DELTA', delta: [{ op: 'frobnicate', path: '/a' }] },
    { type: 'TEXT_MESSAGE_START', messageId: `${tag}-m`, role: 'tool' },
    { type: 'MESSAGES_SNAPSHOT', messages: [{ id: `${tag}-m`, role: 'assistant', toolCalls: [{ id: 'x', type: 'function' }] }] },
    { type: 'REASONING_ENCRYPTED_VALUE', subtype: 'thought', entityId: `${tag}-e`, encryptedValue: 'x' },
    { type: 'RUN_ERROR', message: 'x', usage: [{ inputTokens: -1 }] },
    { type: 'TOOL_CALL_START', toolCallId: `${tag}-tc`, toolCallName: 'x', parentMessageId: null },
    { type: 'TEXT_MESSAGE_CONTENT', messageId: `${tag}-m`, delta: 'x', timestamp: 1.5 },
  ];
}
