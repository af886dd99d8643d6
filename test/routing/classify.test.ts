import { describe, expect, it } from 'vitest';
import { classifyRequest, classifyText, lastUserText, parseTaskHint, SCAN_CHARS, taskOfAgentType, type ClassifyInput } from '../../src/routing/classify.js';
import { thrown } from '../support/fixtures.js';

const LONG = 10_000;

function chat(content: unknown, extra: Partial<ClassifyInput> = {}): ClassifyInput {
  return { endpoint: 'chat.completions', body: { model: 'auto', messages: [{ role: 'user', content }] }, taskHint: undefined, agentType: undefined, ...extra };
}

describe('classifyText', () => {
  it.each([
    'Fix this:\n```\nconst x = 1\n```',
    'Write a Python function that reverses a string.',
    'Why does this throw?\nTraceback (most recent call last):\n  File "a.py", line 3',
    'def add(a, b):\n    return a + b\nmake it faster',
    'import numpy as np\nhow do I use it',
    "import React from 'react'; what is wrong",
    'SELECT name, id FROM users WHERE id = 3 is slow',
    'refactor the TypeScript class UserService',
    'in rust: fn main() { println!("hi"); }',
  ])('code: %j', (text) => {
    expect(classifyText(text)).toBe('code');
  });

  it.each([
    'Prove that the square root of 2 is irrational.',
    'Think step by step: a train leaves at 3pm at 60 km/h...',
    'Derive the derivative of x^2 · sin(x).',
    'Solve for x: ∑ x_i = 10 and explain why.',
    'What is the probability of two sixes in a row? Explain step-by-step.',
    'Here is a logic puzzle: three boxes, one label each...',
  ])('reasoning: %j', (text) => {
    expect(classifyText(text)).toBe('reasoning');
  });

  it.each([
    '',
    'Hello! How are you today?',
    'Summarise this article about the history of tea in three sentences.',
    'Translate "good morning" into French.',
    'Import the data from the quarterly report and tell me the trend',
    'Let x be the number of apples; there are 3 more pears than apples.',
    'What is 2+2?',
  ])('neither: %j', (text) => {
    expect(classifyText(text)).toBeUndefined();
  });

  it('gives a tie to code (a proof written as code is a code question)', () => {
    expect(classifyText('Prove this function terminates:\n```\nwhile (n > 1) n = n % 2 ? 3*n+1 : n/2\n```')).toBe('code');
  });
});

describe('lastUserText', () => {
  it('takes the last user message, string or text parts', () => {
    const body = {
      messages: [
        { role: 'system', content: 'You are a coding agent with tools: ```bash```' },
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'text', text: 'second' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'third' }] },
      ],
    };
    expect(lastUserText(body)).toBe('second\nthird');
    expect(lastUserText({ messages: [{ role: 'user', content: 'only' }, { role: 'assistant', content: 'a' }] })).toBe('only');
  });

  it('is empty without messages or user content', () => {
    expect(lastUserText({})).toBe('');
    expect(lastUserText({ messages: 'nope' })).toBe('');
    expect(lastUserText({ messages: [{ role: 'system', content: 'x' }] })).toBe('');
    expect(lastUserText({ messages: [{ role: 'user', content: 42 }] })).toBe('');
  });

  it('reads at most SCAN_CHARS of a long message: its start and its end', () => {
    const text = `${'a'.repeat(SCAN_CHARS)}MIDDLE${'b'.repeat(SCAN_CHARS)}`;
    const scanned = lastUserText({ messages: [{ role: 'user', content: text }] });
    expect(scanned.length).toBeLessThanOrEqual(SCAN_CHARS + 1);
    expect(scanned).not.toContain('MIDDLE');
    expect(scanned.startsWith('a')).toBe(true);
    expect(scanned.endsWith('b')).toBe(true);
  });

  it('a code fence at the end of a long message still counts', () => {
    const text = `${'Some context. '.repeat(2000)}\nNow fix:\n\`\`\`\nlet x: i32 = "a";\n\`\`\``;
    expect(classifyRequest(chat(text), 1_000_000).task).toBe('code');
  });
});

describe('parseTaskHint', () => {
  it('accepts the five classes, any case and spacing', () => {
    expect(parseTaskHint('code', 'chat.completions')).toBe('code');
    expect(parseTaskHint(' Reasoning ', 'chat.completions')).toBe('reasoning');
    expect(parseTaskHint('LONG', 'chat.completions')).toBe('long');
    expect(parseTaskHint('embeddings', 'embeddings')).toBe('embeddings');
    expect(parseTaskHint(undefined, 'chat.completions')).toBeUndefined();
    expect(parseTaskHint('', 'chat.completions')).toBeUndefined();
  });

  it('rejects anything else with INVALID_REQUEST naming x-task-type', () => {
    const error = thrown(() => parseTaskHint('poetry', 'chat.completions'));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.status).toBe(400);
    expect(error.param).toBe('x-task-type');
    expect(error.message).toContain('reasoning, code, general, long, embeddings');
    expect(thrown(() => parseTaskHint('embeddings', 'chat.completions')).param).toBe('x-task-type');
  });
});

describe('taskOfAgentType', () => {
  it.each([
    ['code', 'code'],
    ['coder', 'code'],
    ['Coder-2', 'code'],
    ['developer', 'code'],
    ['reasoning', 'reasoning'],
    ['planner', 'reasoning'],
    ['research_bot', undefined],
    ['researcher', 'reasoning'],
    ['general', 'general'],
    ['assistant', 'general'],
    ['embeddings', undefined],
    ['long', undefined],
    ['sales-bot', undefined],
    [undefined, undefined],
  ])('%j → %j', (type, task) => {
    expect(taskOfAgentType(type)).toBe(task);
  });
});

describe('classifyRequest', () => {
  it('the embeddings endpoint is always embeddings', () => {
    const input: ClassifyInput = { endpoint: 'embeddings', body: { input: 'vector me' }, taskHint: 'code', agentType: 'coder' };
    expect(classifyRequest(input, LONG)).toEqual({ task: 'embeddings', source: 'endpoint', promptTokens: 3 });
  });

  it('a hint beats length, agent type and content', () => {
    const huge = 'x'.repeat(LONG * 8);
    expect(classifyRequest(chat(huge, { taskHint: 'reasoning', agentType: 'coder' }), LONG)).toMatchObject({ task: 'reasoning', source: 'hint' });
    expect(classifyRequest(chat('```js\nconsole.log(1)\n```', { taskHint: 'general' }), LONG)).toMatchObject({ task: 'general', source: 'hint' });
  });

  it('a prompt above the long threshold is long (estimated tokens, whatever the content)', () => {
    const atThreshold = 'y'.repeat((LONG - 10) * 4);
    expect(classifyRequest(chat(atThreshold), LONG)).toMatchObject({ task: 'general' });
    const over = classifyRequest(chat(`\`\`\`\n${'y'.repeat(LONG * 4)}\n\`\`\``, { agentType: 'coder' }), LONG);
    expect(over).toMatchObject({ task: 'long', source: 'length' });
    expect(over.promptTokens).toBeGreaterThan(LONG);
  });

  it('the agent type beats content; content beats the default', () => {
    expect(classifyRequest(chat('Prove that 1 + 1 = 2 step by step', { agentType: 'coder' }), LONG)).toMatchObject({ task: 'code', source: 'agent' });
    expect(classifyRequest(chat('Prove that 1 + 1 = 2 step by step', { agentType: 'sales' }), LONG)).toMatchObject({ task: 'reasoning', source: 'content' });
    expect(classifyRequest(chat('hello'), LONG)).toMatchObject({ task: 'general', source: 'default' });
  });

  it('counts prompt tokens like the limiter does', () => {
    expect(classifyRequest(chat('abcd'.repeat(100)), LONG).promptTokens).toBe(3 + 4 + 100);
  });

  it('throws INVALID_REQUEST for a bad hint on a chat request', () => {
    expect(thrown(() => classifyRequest(chat('hi', { taskHint: 'nonsense' }), LONG)).code).toBe('INVALID_REQUEST');
  });
});
