// A1111-style parameters text from a job record.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { infotext } from '../assets/js/infotext.js';
import { duration, jobSummary, progressText, speed, statusText } from '../assets/js/progress.js';

const JOB = {
  model: 'tiny',
  request: {
    prompt: 'a fox', negative_prompt: 'blur', sampler: 'euler_a', steps: 3, cfg_scale: 7, seed: -1,
    width: 64, height: 64, scheduler: 'automatic', clip_skip: 1,
  },
  seeds: [5, 6],
  images: [{ index: 0, seed: 5, width: 64, height: 64 }, { index: 1, seed: 6, width: 64, height: 64 }],
};

test("each image's infotext carries its own seed and the sampler's label", () => {
  assert.equal(
    infotext(JOB, 1, { euler_a: 'Euler a' }),
    'a fox\nNegative prompt: blur\nSteps: 3, Sampler: Euler a, CFG scale: 7, Seed: 6, Size: 64x64, Model: tiny',
  );
});

test('no negative prompt line when there is none; a non-default schedule is named', () => {
  const job = { ...JOB, request: { ...JOB.request, negative_prompt: '', scheduler: 'karras' } };
  const text = infotext(job, 0);
  assert.ok(!text.includes('Negative prompt'));
  assert.ok(text.endsWith('Schedule type: karras'));
  assert.ok(text.includes('Sampler: euler_a'));
});

test('progress reads as step, speed and time left', () => {
  assert.equal(progressText({ stage: 'denoising', step: 5, total: 20, its: 2.14, eta_seconds: 7 }), 'step 5/20 · 2.1 it/s · ETA 7 s');
  assert.equal(progressText({ stage: 'loading' }), 'loading the model…');
  assert.deepEqual([speed(12.4), speed(2.14), speed(0.12)], ['12 it/s', '2.1 it/s', '8.3 s/it']);
  assert.equal(progressText(null), '');
  assert.equal(duration(95), '1 min 35 s');
  assert.equal(statusText('queued', 2), 'queued · #2');
  assert.equal(statusText('started'), 'running');
});

test("a job's summary names size, steps, batch and model when known", () => {
  assert.equal(jobSummary(JOB), '64×64 · 3 steps · tiny');
  assert.equal(jobSummary({ request: { width: 512, height: 768, steps: 20, batch_size: 2, model: 'sd15' } }), '512×768 · 20 steps · 2 images · sd15');
  assert.equal(jobSummary({}), '');
});
