// The scheduler, prompt batch and priority pickers: their choices from the schema, form <-> request.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { defaultValues, enumOf, fromRequest, limitsFrom, parsePrompts, toModeRequest } from '../assets/js/form.js';

const SCHEMA = {
  properties: {
    scheduler: { $ref: '#/$defs/ScheduleType', default: 'automatic' },
    priority: { $ref: '#/$defs/Priority', default: 'normal' },
    prompts: { type: 'array', items: { type: 'string' }, maxItems: 16, default: [] },
  },
  $defs: {
    ScheduleType: { enum: ['automatic', 'karras', 'exponential', 'normal'], type: 'string' },
    Priority: { enum: ['high', 'normal', 'low'], type: 'string' },
  },
};
const BASE = { prompt: 'a fox', random_seed: true };

test("the pickers' choices are the schema's enums, through its $defs", () => {
  assert.deepEqual(enumOf(SCHEMA, 'scheduler'), ['automatic', 'karras', 'exponential', 'normal']);
  assert.deepEqual(enumOf(SCHEMA, 'priority'), ['high', 'normal', 'low']);
  assert.deepEqual(enumOf(SCHEMA, 'missing'), []);
  assert.deepEqual(enumOf({ properties: { x: { enum: ['a'] } } }, 'x'), ['a']);
});

test('the form starts on the schema defaults, which a request leaves to the server', () => {
  const values = defaultValues(limitsFrom(SCHEMA, ['scheduler', 'priority']));
  assert.deepEqual([values.scheduler, values.priority, values.prompts], ['automatic', 'normal', '']);
  const request = toModeRequest('txt2img', { ...values, ...BASE });
  assert.deepEqual(['scheduler' in request, 'priority' in request, 'prompts' in request], [false, false, false]);
});

test('a chosen scheduler and priority are sent by their API names, in every mode that takes them', () => {
  const values = { ...BASE, scheduler: 'karras', priority: 'high' };
  for (const mode of ['txt2img', 'img2img', 'inpaint', 'controlnet']) {
    const request = toModeRequest(mode, values, { image: 'upl_a' });
    assert.deepEqual([request.scheduler, request.priority], ['karras', 'high'], mode);
  }
  const up = toModeRequest('upscale', { ...values, priority: 'low' }, { image: 'upl_a' });
  assert.deepEqual([up.priority, 'scheduler' in up], ['low', false]);
});

test('a prompt batch is one prompt a line, on txt2img only; it stands in for an empty prompt', () => {
  assert.deepEqual(parsePrompts(' a fox \n\n  \na cat\n'), ['a fox', 'a cat']);
  const batch = toModeRequest('txt2img', { ...BASE, prompt: '', prompts: 'a fox\na cat' });
  assert.deepEqual([batch.prompts, 'prompt' in batch], [['a fox', 'a cat'], false]);
  const both = toModeRequest('txt2img', { ...BASE, prompts: 'a cat' });
  assert.deepEqual([both.prompt, both.prompts], ['a fox', ['a cat']]);
  assert.equal('prompts' in toModeRequest('img2img', { ...BASE, prompts: 'a cat' }, { image: 'u' }), false);
  assert.equal('prompts' in toModeRequest('txt2img', { ...BASE, prompts: ' \n ' }), false);
});

test("a job's scheduler, priority and batch fill the form, and round-trip", () => {
  const request = { prompt: 'a fox', prompts: ['a fox', 'a cat'], scheduler: 'exponential', priority: 'low', seed: 7 };
  const values = fromRequest(request);
  assert.deepEqual([values.scheduler, values.priority, values.prompts], ['exponential', 'low', 'a fox\na cat']);
  const again = toModeRequest('txt2img', values);
  assert.deepEqual([again.scheduler, again.priority, again.prompts], ['exponential', 'low', ['a fox', 'a cat']]);
  assert.deepEqual([fromRequest({ prompt: 'x' }).scheduler, fromRequest({ prompt: 'x' }).prompts], ['', '']);
});
