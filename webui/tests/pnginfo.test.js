// PNG text chunks and A1111 infotext parsing (ours, and another tool's).
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { test } from 'node:test';

import { infotext, parseInfotext, splitParameters } from '../assets/js/infotext.js';
import { readPngText } from '../assets/js/pngtext.js';

function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  return out; // the CRC is not checked by the reader
}

function png(...chunks) {
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', Buffer.alloc(13)), ...chunks, chunk('IEND', Buffer.alloc(0))]);
}

test('tEXt, zTXt and iTXt (plain and compressed) are read', async () => {
  const file = png(
    chunk('tEXt', Buffer.from('parameters\0a cat\nSteps: 4', 'latin1')),
    chunk('zTXt', Buffer.concat([Buffer.from('z\0\0', 'latin1'), deflateSync(Buffer.from('zipped'))])),
    chunk('iTXt', Buffer.concat([Buffer.from('i\0\0\0\0\0', 'latin1'), Buffer.from('ünïcode')])),
    chunk('iTXt', Buffer.concat([Buffer.from('c\0\x01\0\0\0', 'latin1'), deflateSync(Buffer.from('squeezed ✓'))])),
  );
  assert.deepEqual(await readPngText(file), { parameters: 'a cat\nSteps: 4', z: 'zipped', i: 'ünïcode', c: 'squeezed ✓' });
  await assert.rejects(readPngText(Buffer.from('GIF89a')), /not a PNG/);
});

test('another tool\'s infotext: multi-line prompt, negative, quoted values, sampler label mapped back', () => {
  const text = [
    'masterpiece, a castle,',
    'at night <lora:x:0.6>',
    'Negative prompt: blurry, lowres',
    'Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 6.5, Seed: 1234, Size: 832x1216, ' +
      'Model hash: abc, Model: juggernaut, Lora hashes: "x: 0123, y: 4567", Version: v1.9.0',
  ].join('\n');
  const { values, unused } = parseInfotext(text, { dpmpp_2m: 'DPM++ 2M', euler_a: 'Euler a' });
  assert.equal(values.prompt, 'masterpiece, a castle,\nat night <lora:x:0.6>');
  assert.equal(values.negative_prompt, 'blurry, lowres');
  assert.deepEqual(
    [values.steps, values.sampler, values.cfg_scale, values.seed, values.width, values.height, values.model],
    ['28', 'dpmpp_2m', '6.5', '1234', '832', '1216', 'juggernaut'],
  );
  assert.equal(values.scheduler, 'karras'); // the picker's value, not A1111's label
  assert.equal(values.random_seed, false);
  assert.deepEqual(unused.map(([k]) => k), ['Model hash', 'Lora hashes', 'Version']);
  assert.equal(unused[1][1], 'x: 0123, y: 4567');
});

test('our own infotext parses back to the request it came from', () => {
  const job = {
    model: 'tiny',
    request: { prompt: 'a lighthouse', negative_prompt: 'fog', steps: 4, sampler: 'euler_a', cfg_scale: 7, width: 64, height: 96 },
    images: [{ index: 0, seed: 99, width: 64, height: 96 }],
  };
  const { values } = parseInfotext(infotext(job, 0, { euler_a: 'Euler a' }), { euler_a: 'Euler a' });
  assert.deepEqual(
    [values.prompt, values.negative_prompt, values.steps, values.sampler, values.seed, values.width, values.height],
    ['a lighthouse', 'fog', '4', 'euler_a', '99', '64', '96'],
  );
  assert.deepEqual(splitParameters('Steps: 4'), [['Steps', '4']]);
  assert.equal(parseInfotext('just a prompt').values.prompt, 'just a prompt');
});
