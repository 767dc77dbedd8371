// Presets per architecture, aspect lock, LoRA tags.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { addLoraTag, lockedSide, presetsFor } from '../assets/js/sizes.js';

test('presets follow the architecture; unknown ones get the SD1.x sizes', () => {
  assert.equal(presetsFor('sdxl')[0].value, '1024x1024');
  assert.equal(presetsFor('sd1')[1].label, '512 × 768 (portrait)');
  assert.deepEqual(presetsFor('mystery'), presetsFor('sd1'));
});

test('the locked side keeps the ratio on the grid of 8, within the limits', () => {
  assert.equal(lockedSide(768, 512 / 768), 512);
  assert.equal(lockedSide(1000, 2 / 3), 664);
  assert.equal(lockedSide(64, 0.1), 64);
  assert.equal(lockedSide(2048, 3), 2048);
});

test('the LoRA picker appends a tag with its weight', () => {
  assert.equal(addLoraTag('', 'tiny-lora', 0.8), '<lora:tiny-lora:0.8>');
  assert.equal(addLoraTag('a cat,', 'x', 1), 'a cat, <lora:x:1>');
  assert.equal(addLoraTag('a cat ', 'x', -0.25), 'a cat, <lora:x:-0.25>');
  assert.equal(addLoraTag('a', 'x', 0), 'a, <lora:x:0>');
});
