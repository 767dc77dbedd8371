// A job's Server-Sent Events (GET /api/v1/jobs/{id}/events), read with fetch so that a reconnect can send
// Last-Event-ID (and, once the UI signs in, an Authorization header, which EventSource cannot send).

export const TERMINAL = new Set(['finished', 'failed', 'canceled']);

/** Incremental text/event-stream parser (the WHATWG rules: fields event, data, id, retry; ':' comments). */
export class SseParser {
  #buffer = '';
  #event = { event: '', data: [], id: null, retry: null };

  /** Feed a decoded chunk; returns the events it completed: {event, data, id, retry}. */
  push(chunk) {
    this.#buffer += chunk;
    const events = [];
    // A chunk ending in '\r' may be the first half of '\r\n': keep it for the next chunk.
    const complete = this.#buffer.endsWith('\r') ? this.#buffer.length - 1 : this.#buffer.length;
    let start = 0;
    const pattern = /\r\n|\r|\n/g;
    pattern.lastIndex = 0;
    let match;
    while ((match = pattern.exec(this.#buffer)) !== null && match.index < complete) {
      const line = this.#buffer.slice(start, match.index);
      start = match.index + match[0].length;
      const event = this.#line(line);
      if (event) events.push(event);
    }
    this.#buffer = this.#buffer.slice(start);
    return events;
  }

  #line(line) {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event.event = value;
    else if (field === 'data') this.#event.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#event.id = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.#event.retry = Number(value);
    return null;
  }

  #dispatch() {
    const { event, data, id, retry } = this.#event;
    this.#event = { event: '', data: [], id: null, retry: null };
    if (data.length === 0) return null;
    return { event: event || 'message', data: data.join('\n'), id, retry };
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Follow a job's events until a terminal one (finished, failed, canceled). On a dropped stream or an error
 * answer it reconnects after a pause (doubling, at most maxDelayMs) with Last-Event-ID, so nothing is missed
 * twice. A 404 ends it with onEvent({event: 'gone'}). ``authorization()`` gives each connection's Authorization header.
 * @param {string} jobId
 * @param {(event: {event: string, data: any, id: string|null}) => void} onEvent  data parsed as JSON
 * @returns {{close(): void, done: Promise<void>}}
 */
export function followJob(
  jobId,
  onEvent,
  { fetchImpl = globalThis.fetch, delayMs = 500, maxDelayMs = 8000, authorization = () => null } = {},
) {
  const url = `/api/v1/jobs/${encodeURIComponent(jobId)}/events`;
  let lastId = null;
  let stopped = false;
  let controller = null;
  let delay = delayMs;

  const deliver = (raw) => {
    let data = raw.data;
    try {
      data = JSON.parse(raw.data);
    } catch {
      // not JSON: hand the text on
    }
    if (raw.id) lastId = raw.id;
    onEvent({ event: raw.event, data, id: raw.id });
    if (TERMINAL.has(raw.event)) stopped = true;
  };

  const readOnce = async () => {
    controller = new AbortController();
    const headers = { accept: 'text/event-stream' };
    if (lastId) headers['last-event-id'] = lastId;
    const auth = authorization();
    if (auth) headers.authorization = auth;
    const response = await fetchImpl(url, { headers, signal: controller.signal, cache: 'no-store' });
    if (response.status === 404) {
      stopped = true;
      onEvent({ event: 'gone', data: null, id: null });
      return;
    }
    if (!response.ok || !response.body) return;
    delay = delayMs;
    const parser = new SseParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    while (!stopped) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const event of parser.push(value)) {
        deliver(event);
        if (event.retry) delay = event.retry;
        if (stopped) break;
      }
    }
    controller.abort();
  };

  const done = (async () => {
    while (!stopped) {
      try {
        await readOnce();
      } catch {
        // network error or our own abort: try again below unless stopped
      }
      if (stopped) return;
      await sleep(delay);
      delay = Math.min(delay * 2, maxDelayMs);
    }
  })();

  return {
    close() {
      stopped = true;
      controller?.abort();
    },
    done,
  };
}
