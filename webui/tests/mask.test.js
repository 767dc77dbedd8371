// Mask painting and encoding: hard-edged strokes, eraser, invert, RGBA both ways, undo/redo.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { History, Mask } from '../assets/js/mask.js';

test('a dab covers the pixels whose centres lie within the radius, and nothing else', () => {
  const mask = new Mask(8, 8);
  mask.dab(4, 4, 1.5, 255);
  const on = [];
  for (let y = 0; y < 8; y += 1) for (let x = 0; x < 8; x += 1) if (mask.data[y * 8 + x]) on.push(`${x},${y}`);
  // centres (3.5|4.5, 3.5|4.5) are 0.71 away; (2.5, 3.5) is 1.58: out; (3.5, 2.5) likewise
  assert.deepEqual(on, ['3,3', '4,3', '3,4', '4,4']);
  assert.ok([...mask.data].every((v) => v === 0 || v === 255), 'no grey: hard edges');
});

test('a line has no gaps, the eraser takes pixels back, invert swaps', () => {
  const mask = new Mask(64, 16);
  mask.line(2, 8, 60, 8, 2, 255);
  for (let x = 2; x < 60; x += 1) assert.equal(mask.data[8 * 64 + x], 255, `x=${x}`);
  assert.equal(mask.data[0], 0);
  const painted = mask.count();
  mask.line(30, 8, 40, 8, 3, 0);
  assert.equal(mask.data[8 * 64 + 35], 0);
  assert.ok(mask.count() < painted);
  const before = mask.count();
  mask.invert();
  assert.equal(mask.count(), 64 * 16 - before);
});

test('the mask to send is opaque white on black, and reads back the same', () => {
  const mask = new Mask(5, 3);
  mask.data[0] = 255;
  mask.data[7] = 255;
  const rgba = mask.toRGBA();
  assert.deepEqual([...rgba.slice(0, 8)], [255, 255, 255, 255, 0, 0, 0, 255]);
  assert.deepEqual(Mask.fromRGBA(5, 3, rgba).data, mask.data);
  const overlay = mask.toRGBA([255, 64, 64, 160]);
  assert.deepEqual([...overlay.slice(0, 8)], [255, 64, 64, 160, 255, 64, 64, 0]);
  assert.deepEqual(Mask.fromRGBA(5, 3, overlay, true).data, mask.data, 'any opaque overlay pixel is painted');
});

test('undo and redo walk the snapshots; a new stroke drops the redo branch', () => {
  const history = new History(2);
  let mask = new Mask(4, 4);
  history.record(mask);
  mask.dab(1, 1, 1, 255);
  history.record(mask);
  mask.dab(3, 3, 1, 255);
  const two = mask.count();
  mask = history.undo(mask);
  assert.ok(mask.count() < two && mask.count() > 0);
  mask = history.undo(mask);
  assert.equal(mask.count(), 0);
  assert.equal(history.undo(mask), null);
  mask = history.redo(mask);
  assert.ok(mask.count() > 0);
  history.record(mask);
  assert.equal(history.redo(mask), null);
});

test('a change map keeps its grey levels: sent as painted, shown as opaque as its level', () => {
  const map = new Mask(4, 1);
  map.dab(0.5, 0.5, 0.5, 128);
  map.dab(1.5, 0.5, 0.5, 255);
  map.dab(2.5, 0.5, 0.5, 64);
  map.dab(2.5, 0.5, 0.5, 0); // the eraser keeps the input there
  assert.deepEqual([...map.data], [128, 255, 0, 0]);
  assert.deepEqual([...map.toRGBA().filter((_, i) => i % 4 === 0)], [128, 255, 0, 0]);
  assert.deepEqual([...map.toRGBA([255, 48, 96, 255]).filter((_, i) => i % 4 === 3)], [128, 255, 0, 0]);
  map.invert();
  assert.deepEqual([...map.data], [127, 0, 255, 255]);
});
