// The in-memory session: renewal timing, one refresh at a time, the end of a session; lockout wording.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { renewDelay, retryAt, Session } from '../assets/js/session.js';

function fakeTimers() {
  const timers = new Map();
  let next = 1;
  return {
    timers,
    setTimer: (run, ms) => {
      timers.set(next, { run, ms });
      return next++;
    },
    clearTimer: (id) => timers.delete(id),
  };
}

test('a token is renewed a minute before it expires, or after two thirds of a short life', () => {
  assert.equal(renewDelay(900), 840_000);
  assert.equal(renewDelay(30), 20_000);
  assert.equal(renewDelay(0), null);
  assert.equal(renewDelay('x'), null);
});

test('start schedules the renewal; the renewal swaps the pair and schedules the next', async () => {
  const clock = fakeTimers();
  const seen = [];
  const session = new Session({
    renew: async (token) => {
      seen.push(token);
      return { access_token: 'a2', refresh_token: 'r2', expires_in: 300 };
    },
    ...clock,
  });
  assert.equal(session.authorization, null);
  session.start({ access_token: 'a1', refresh_token: 'r1', expires_in: 900 });
  assert.equal(session.authorization, 'Bearer a1');
  const [[id, first]] = [...clock.timers];
  assert.equal(first.ms, 840_000);
  first.run();
  await session.renewing;
  assert.deepEqual(seen, ['r1']);
  assert.equal(session.authorization, 'Bearer a2');
  assert.equal(clock.timers.has(id), false, 'the old timer is gone');
  assert.deepEqual([...clock.timers.values()].map((t) => t.ms), [240_000]);
});

test('two 401s at once trade the refresh token once; a refused refresh ends the session', async () => {
  const clock = fakeTimers();
  let calls = 0;
  let expired = 0;
  const session = new Session({
    renew: async () => {
      calls += 1;
      throw new Error('invalid refresh token');
    },
    onExpired: () => {
      expired += 1;
    },
    ...clock,
  });
  session.start({ access_token: 'a', refresh_token: 'r', expires_in: 900 });
  const results = await Promise.all([session.refresh(), session.refresh()]);
  assert.deepEqual(results, [false, false]);
  assert.equal(calls, 1);
  assert.equal(expired, 1);
  assert.equal(session.signedIn, false);
  assert.equal(clock.timers.size, 0);
  assert.equal(await session.refresh(), false, 'nothing to refresh once ended');
});

test('the retry time comes from Retry-After or the detail', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(retryAt({ retry_after: 90 }, now).getTime(), now + 90_000);
  assert.equal(retryAt({ detail: 'too many login attempts ...; try again in 42 s' }, now).getTime(), now + 42_000);
  assert.equal(retryAt({ detail: 'nope' }, now), null);
});

test('a refused sign-in in plain words', async () => {
  const { explainLogin } = await import('../assets/js/login.js');
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  assert.equal(explainLogin({ status: 401, detail: 'invalid username or password' }), 'Wrong user name or password.');
  const locked = explainLogin({ status: 429, retry_after: 600 }, now);
  assert.match(locked, /^Too many failed sign-ins: locked for now\. Try again at .+ \(in 600 s\)\.$/);
  assert.match(explainLogin({ status: 404 }), /API keys only/);
});
