// The last 50 prompts: newest first, each once, kept across loads.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { KEEP, loadRecent, remember, saveRecent } from '../assets/js/recent.js';

test('a prompt goes first, once; blank ones are not kept; at most 50', () => {
  let list = remember([], 'a');
  list = remember(list, 'b');
  list = remember(list, ' a ');
  assert.deepEqual(list, ['a', 'b']);
  assert.deepEqual(remember(list, '  '), ['a', 'b']);
  for (let i = 0; i < 60; i += 1) list = remember(list, `p${i}`);
  assert.equal(list.length, KEEP);
  assert.equal(list[0], 'p59');
});

test('the list survives a reload; broken storage gives an empty list', () => {
  const store = new Map();
  const storage = { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => store.set(k, v) };
  saveRecent(['x', 'y'], storage);
  assert.deepEqual(loadRecent(storage), ['x', 'y']);
  store.set('sdq-prompts', '{not json');
  assert.deepEqual(loadRecent(storage), []);
  assert.deepEqual(loadRecent({ getItem: () => { throw new Error('blocked'); } }), []);
});
