// Problem details → messages next to the fields they name.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { fieldErrors, fieldOf, problemText, toProblem } from '../assets/js/problems.js';

const FIELDS = ['prompt', 'width', 'height', 'loras'];

test('a location names its field without the body prefix', () => {
  assert.equal(fieldOf(['body', 'width']), 'width');
  assert.equal(fieldOf(['body', 'loras', 0, 'name']), 'loras.0.name');
  assert.equal(fieldOf(['query', 'page']), 'page');
  assert.equal(fieldOf([]), '');
  assert.equal(fieldOf(undefined), '');
});

test('errors go next to the fields they name; a nested location goes to its top field', () => {
  const problem = {
    title: 'Invalid request', status: 422, detail: 'invalid value for: width',
    errors: [
      { loc: ['body', 'width'], msg: 'Input should be a multiple of 8' },
      { loc: ['body', 'width'], msg: 'Input should be greater than or equal to 64' },
      { loc: ['body', 'loras', 0, 'name'], msg: 'unknown LoRA' },
    ],
  };
  const { fields, general } = fieldErrors(problem, FIELDS);
  assert.deepEqual(fields.width, ['Input should be a multiple of 8', 'Input should be greater than or equal to 64']);
  assert.deepEqual(fields.loras, ['unknown LoRA']);
  assert.deepEqual(general, []);
});

test('an error naming no field of the form is shown for the whole form, with its location', () => {
  const problem = { title: 'Invalid request', errors: [{ loc: ['body', 'hr_scale'], msg: 'too big' }, { loc: [], msg: 'odd' }] };
  assert.deepEqual(fieldErrors(problem, FIELDS).general, ['hr_scale: too big', 'odd']);
});

test('a problem without errors is one line for the form', () => {
  const problem = { title: 'Service Unavailable', status: 503, detail: 'cannot reach Redis; try again shortly' };
  assert.deepEqual(fieldErrors(problem, FIELDS), {
    fields: {},
    general: ['Service Unavailable: cannot reach Redis; try again shortly'],
  });
});

test('an answer that is not problem details still becomes one', () => {
  assert.deepEqual(toProblem('Bad Gateway from nginx', 502, 'Bad Gateway'), {
    type: 'about:blank', title: 'Bad Gateway', status: 502, detail: 'Bad Gateway from nginx', errors: [],
  });
  assert.equal(toProblem({ title: 'Not Found', detail: "no job 'x'" }, 404).status, 404);
  assert.equal(problemText(toProblem(null, 500, 'Internal Server Error')), 'Internal Server Error');
});

test('title and detail read as one line, without repeating', () => {
  assert.equal(problemText({ title: 'Not Found', detail: "no job 'x'" }), "Not Found: no job 'x'");
  assert.equal(problemText({ title: 'Gone', detail: 'Gone' }), 'Gone');
});
