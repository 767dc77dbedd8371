// The event-stream parser, and followJob's reconnects with Last-Event-ID.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { followJob, SseParser } from '../assets/js/events.js';

test('events are split on blank lines; comments ignored; CRLF, CR and LF all end lines', () => {
  const parser = new SseParser();
  const events = parser.push(': ping\r\n\r\nevent: progress\r\nid: 1-0\r\ndata: {"step":1}\r\n\r\nevent: x\ndata: a\ndata: b\n\rdata: c\r\r\n');
  assert.deepEqual(events, [
    { event: 'progress', data: '{"step":1}', id: '1-0', retry: null },
    { event: 'x', data: 'a\nb', id: null, retry: null },
    { event: 'message', data: 'c', id: null, retry: null },
  ]);
});

test('an event split across chunks, even between CR and LF, comes out once and whole', () => {
  const parser = new SseParser();
  const text = 'event: started\r\nid: 2-0\r\ndata: {"worker":"w"}\r\n\r\n';
  const events = [];
  for (const chunk of [text.slice(0, 15), text.slice(15, 17), text.slice(17, 40), text.slice(40, text.length - 1), text.slice(-1)]) {
    events.push(...parser.push(chunk));
  }
  assert.deepEqual(events, [{ event: 'started', data: '{"worker":"w"}', id: '2-0', retry: null }]);
});

function streamOf(text) {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
}

test('a dropped stream is reopened with Last-Event-ID, and following ends at the terminal event', async () => {
  const calls = [];
  const answers = [
    'event: started\ndata: {}\nid: 1-0\n\nevent: progress\ndata: {"step":1,"total":2}\nid: 2-0\n\n',
    'event: progress\ndata: {"step":2,"total":2}\nid: 3-0\n\nevent: finished\ndata: {"status":"finished"}\nid: 4-0\n\n',
  ];
  const fetchImpl = async (url, init) => {
    calls.push({ url, lastId: init.headers['last-event-id'] ?? null });
    return new Response(streamOf(answers[calls.length - 1]), { status: 200 });
  };
  const seen = [];
  const follower = followJob('abc', (event) => seen.push([event.event, event.data]), { fetchImpl, delayMs: 1 });
  await follower.done;
  assert.deepEqual(calls, [
    { url: '/api/v1/jobs/abc/events', lastId: null },
    { url: '/api/v1/jobs/abc/events', lastId: '2-0' },
  ]);
  assert.deepEqual(seen.map(([name]) => name), ['started', 'progress', 'progress', 'finished']);
  assert.deepEqual(seen[3][1], { status: 'finished' });
});

test('an error answer or a network failure is retried; a 404 ends following as gone', async () => {
  let count = 0;
  const fetchImpl = async () => {
    count += 1;
    if (count === 1) throw new TypeError('network down');
    if (count === 2) return new Response('{}', { status: 503 });
    return new Response('{}', { status: 404 });
  };
  const seen = [];
  await followJob('abc', (event) => seen.push(event.event), { fetchImpl, delayMs: 1 }).done;
  assert.equal(count, 3);
  assert.deepEqual(seen, ['gone']);
});

test('close() stops following', async () => {
  const fetchImpl = (url, init) =>
    new Promise((resolve, reject) => init.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
  const seen = [];
  const follower = followJob('abc', (event) => seen.push(event), { fetchImpl, delayMs: 1 });
  follower.close();
  await follower.done;
  assert.deepEqual(seen, []);
});
