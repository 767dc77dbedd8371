// Form values <-> request body, and limits from the JSON Schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  defaultValues, fromRequest, limitsFrom, parseNumber, parsePreset, toModeRequest, toRequest,
} from '../assets/js/form.js';

const SCHEMA = {
  properties: {
    prompt: { type: 'string', minLength: 1, maxLength: 2000 },
    model: { anyOf: [{ type: 'string', pattern: '^x' }, { type: 'null' }], default: null },
    width: { type: 'integer', minimum: 64, maximum: 2048, multipleOf: 8, default: 512 },
    steps: { type: 'integer', minimum: 1, maximum: 150, default: 20 },
    cfg_scale: { type: 'number', minimum: 0, maximum: 30, default: 7.0 },
    sampler: { $ref: '#/$defs/Sampler', default: 'euler_a' },
  },
};

test('limits come from the schema, integers step by 1 unless a multipleOf says otherwise', () => {
  const limits = limitsFrom(SCHEMA);
  assert.deepEqual([limits.width.min, limits.width.max, limits.width.step], [64, 2048, 8]);
  assert.equal(limits.steps.step, 1);
  assert.equal(limits.cfg_scale.step, undefined);
  assert.equal(limits.prompt.maxLength, 2000);
  assert.equal(limits.model.default, null);
});

test('defaults fill the form with a random seed', () => {
  const values = defaultValues(limitsFrom(SCHEMA));
  assert.equal(values.width, '512');
  assert.equal(values.sampler, 'euler_a');
  assert.equal(values.random_seed, true);
});

test('numbers are parsed; text that is no number is sent as it is, for the server to name', () => {
  assert.equal(parseNumber('65', true), 65);
  assert.equal(parseNumber(' 7.5 ', false), 7.5);
  assert.equal(parseNumber('', true), undefined);
  assert.equal(parseNumber('abc', true), 'abc');
  assert.equal(parseNumber('7.5', true), '7.5');
});

test('a form becomes a txt2img request: random seed is -1, empty fields are left to the server', () => {
  const request = toRequest({
    prompt: 'a fox', negative_prompt: '', model: 'tiny', sampler: 'euler', width: '64', height: '',
    steps: '3', cfg_scale: '6.5', seed: '42', random_seed: true, batch_size: '2',
  });
  assert.deepEqual(request, {
    prompt: 'a fox', model: 'tiny', sampler: 'euler', width: 64, steps: 3, cfg_scale: 6.5, batch_size: 2, seed: -1,
  });
});

test('a fixed seed is sent as a number', () => {
  assert.equal(toRequest({ prompt: 'x', seed: '42', random_seed: false }).seed, 42);
  assert.equal(toRequest({ prompt: 'x', seed: '', random_seed: false }).seed, -1);
});

test("a job's request fills the form with the image's seed, and round-trips", () => {
  const request = {
    prompt: 'a fox', negative_prompt: 'blur', model: 'tiny', sampler: 'euler_a', width: 64, height: 96,
    steps: 3, cfg_scale: 7.0, seed: -1, batch_size: 2,
  };
  const values = fromRequest(request, 1234);
  assert.equal(values.seed, '1234');
  assert.equal(values.random_seed, false);
  assert.equal(values.height, '96');
  assert.deepEqual(toRequest(values), { ...request, seed: 1234, cfg_scale: 7 });
});

test('a request with a random seed and no image seed keeps the seed random', () => {
  const values = fromRequest({ prompt: 'x', seed: -1 });
  assert.equal(values.random_seed, true);
  assert.equal(values.seed, '');
});

test('size presets are WxH', () => {
  assert.deepEqual(parsePreset('512x768'), { width: '512', height: '768' });
  assert.equal(parsePreset(''), null);
});

test('each mode sends its own fields and its images under the names its endpoint takes', async () => {
  const values = { prompt: 'p', width: '64', height: '64', steps: '4', strength: '0.6', mask_blur: '2', random_seed: true };
  const txt = toModeRequest('txt2img', values);
  assert.equal('strength' in txt, false);
  assert.equal('init_image' in txt, false);
  const img = toModeRequest('img2img', values, { image: 'upl_a' });
  assert.deepEqual([img.init_image, img.strength, 'mask_blur' in img], ['upl_a', 0.6, false]);
  const inpaint = toModeRequest('inpaint', values, { image: 'upl_a', mask: 'upl_m' });
  assert.deepEqual([inpaint.image, inpaint.mask, inpaint.strength, inpaint.mask_blur], ['upl_a', 'upl_m', 0.6, 2]);
  assert.equal(toModeRequest('inpaint', values).mask, null, 'no image yet: the server names the field');
});

test('Advanced sends only what differs from the defaults; hires fix only for txt2img above 1x', async () => {
  const { advancedRequest } = await import('../assets/js/form.js');
  assert.deepEqual(advancedRequest('txt2img', { hr_scale: '1', strict_safety: '' }), {});
  const values = {
    vae: 'tiny-vae', clip_skip: '2', strict_safety: 'false', watermark: 'mine',
    hr_scale: '1.5', hr_upscaler: 'nearest', hr_steps: '', hr_denoise: '0.4',
  };
  assert.deepEqual(advancedRequest('txt2img', values), {
    vae: 'tiny-vae', clip_skip: 2, strict_safety: false, watermark: { text: 'mine' },
    hr_scale: 1.5, hr_upscaler: 'nearest', hr_denoise: 0.4,
  });
  assert.equal('hr_scale' in advancedRequest('img2img', values), false);
  assert.deepEqual(advancedRequest('img2img', { no_watermark: true, watermark: 'x' }).watermark, { text: '' });
  const up = toModeRequest('upscale', { prompt: 'ignored', upscaler: 'tiny-esrgan', scale: '2' }, { image: 'upl_a' });
  assert.deepEqual(up, { image: 'upl_a', upscaler: 'tiny-esrgan', scale: 2 });
  const cn = toModeRequest('controlnet', { prompt: 'p', strength: '0.5', random_seed: true }, { controlnets: [{ controlnet: 'c' }] });
  assert.deepEqual([cn.controlnets.length, 'init_image' in cn, 'strength' in cn], [1, false, false]);
});

test('img2img sends a change map only once one is painted; other modes never do', () => {
  const values = { prompt: 'x', random_seed: true, strength: '0.7' };
  const img = toModeRequest('img2img', values, { image: 'upl_a', change_map: 'upl_c' });
  assert.deepEqual([img.init_image, img.change_map, img.strength], ['upl_a', 'upl_c', 0.7]);
  assert.equal('change_map' in toModeRequest('img2img', values, { image: 'upl_a' }), false);
  assert.equal('change_map' in toModeRequest('inpaint', values, { image: 'upl_a', change_map: 'upl_c' }), false);
});
