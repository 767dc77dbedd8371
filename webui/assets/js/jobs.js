// Live jobs panel: my recent jobs with status, queue position and a progress bar fed by each job's event stream;
// Cancel on queued and running jobs; the images of a finished job as thumbnails that open the lightbox.

import { api, session } from './api.js';
import { byId, h, setMessage } from './dom.js';
import { followJob, TERMINAL } from './events.js';
import { isActive, jobSummary, progressText, statusText } from './progress.js';

const MAX_STREAMS = 3; // a browser opens ~6 HTTP/1.1 connections per host: leave room for the rest
const POLL_MS = 2000;
const SHOWN = 12;

export class JobsView {
  /** @param {{onFinished: (job: object) => void, onOpen: (job: object, index: number) => void}} hooks */
  constructor({ onFinished, onOpen }) {
    this.list = byId('job-list');
    this.empty = byId('jobs-empty');
    this.onFinished = onFinished;
    this.onOpen = onOpen;
    this.entries = new Map();
    this.timer = setInterval(() => this.#poll(), POLL_MS);
  }

  async load() {
    const page = await api.jobs({ limit: SHOWN });
    // Jobs already finished are in the gallery's own first page: not announced again.
    for (const job of [...page.items].reverse()) this.#upsert(job, job.status === 'finished');
    this.#schedule();
  }

  /** A job just submitted (the 202 answer, or a 200 cache hit that is already finished). */
  add(answer, request) {
    const entry = this.#upsert({ request, ...answer }, false);
    if (TERMINAL.has(answer.status)) this.#refresh(entry);
    this.#schedule();
  }

  #upsert(job, announced) {
    let entry = this.entries.get(job.id);
    if (!entry) {
      entry = this.#render(job);
      entry.announced = announced;
      this.entries.set(job.id, entry);
      this.list.prepend(entry.element);
      this.empty.hidden = true;
      this.#trim();
    }
    this.#update(entry, job);
    return entry;
  }

  /** Keep SHOWN entries: drop the oldest ended ones (a Map iterates in insertion order, oldest first). */
  #trim() {
    for (const entry of this.entries.values()) {
      if (this.entries.size <= SHOWN) return;
      if (isActive(entry.job.status)) continue;
      entry.element.remove();
      this.entries.delete(entry.job.id);
    }
  }

  #render(job) {
    const prompt = job.request?.prompt ?? job.request?.prompts?.[0] ?? '';
    const parts = {
      status: h('span', { class: 'status' }),
      bar: h('progress', { max: 1, value: 0, 'aria-label': 'Progress' }),
      text: h('span', { class: 'progress-text', 'aria-live': 'polite' }),
      preview: h('img', { class: 'preview', alt: 'Preview', hidden: true }),
      images: h('div', { class: 'thumbs' }),
      error: h('p', { class: 'error', role: 'alert', hidden: true }),
      cancel: h('button', { type: 'button', class: 'cancel', onclick: () => this.cancel(job.id) }, 'Cancel'),
    };
    const element = h(
      'li',
      { class: 'job', dataset: { jobId: job.id } },
      h('div', { class: 'job-head' }, h('span', { class: 'job-prompt', title: prompt }, prompt || job.id), parts.status),
      h('div', { class: 'job-meta' }, jobSummary(job)),
      h('div', { class: 'job-progress' }, parts.bar, parts.text, parts.cancel),
      parts.preview,
      parts.error,
      parts.images,
    );
    parts.cancel.setAttribute('aria-label', `Cancel: ${prompt || job.id}`.slice(0, 80));
    return { element, parts, job: { ...job }, stream: null, imagesShown: false, announced: false };
  }

  #update(entry, patch) {
    const job = Object.assign(entry.job, patch);
    const { parts, element } = entry;
    element.dataset.status = job.status;
    parts.status.textContent = statusText(job.status, job.position);
    parts.cancel.hidden = !isActive(job.status);
    const progress = job.progress;
    if (progress?.total) {
      parts.bar.max = progress.total;
      parts.bar.value = Math.min(progress.step ?? 0, progress.total);
    }
    if (job.status === 'finished') parts.bar.value = parts.bar.max;
    parts.text.textContent = job.status === 'started' ? progressText(progress) : '';
    if (job.status === 'failed') setMessage(parts.error, job.error?.detail ?? job.error?.code ?? 'failed');
    if (TERMINAL.has(job.status)) parts.preview.hidden = true;
    if (job.status === 'finished' && job.images && !entry.imagesShown) this.#showImages(entry);
  }

  #showImages(entry) {
    entry.imagesShown = true;
    const { job } = entry;
    for (const image of job.images) {
      entry.parts.images.append(
        h(
          'button',
          { type: 'button', class: 'thumb', onclick: () => this.onOpen(job, image.index) },
          h('img', {
            src: image.thumbnail_url,
            alt: `Image ${image.index + 1}, seed ${image.seed}`,
            width: Math.min(image.width, 96),
            height: Math.round((Math.min(image.width, 96) * image.height) / image.width),
          }),
        ),
      );
    }
  }

  #event(entry, { event, data }) {
    if (event === 'queued') this.#update(entry, { status: 'queued', position: data?.position });
    else if (event === 'started' || event === 'requeued') {
      this.#update(entry, { status: event === 'started' ? 'started' : 'queued', position: null });
    } else if (event === 'progress') this.#update(entry, { status: 'started', progress: data });
    else if (event === 'preview' && data?.image) {
      entry.parts.preview.src = data.image;
      entry.parts.preview.hidden = false;
    } else if (TERMINAL.has(event)) this.#ended(entry, data);
    else if (event === 'gone') this.#update(entry, { status: 'expired' });
  }

  #ended(entry, job) {
    entry.stream?.close();
    entry.stream = null;
    this.#update(entry, job);
    if (job.status === 'finished' && !entry.announced) {
      entry.announced = true;
      this.onFinished(entry.job);
    }
    this.#schedule();
  }

  /** Stream the oldest active jobs (MAX_STREAMS at most); the others are polled. */
  #schedule() {
    const active = [...this.entries.values()].filter((e) => isActive(e.job.status));
    let streams = active.filter((e) => e.stream).length;
    for (const entry of active) {
      if (streams >= MAX_STREAMS) break;
      if (entry.stream) continue;
      entry.stream = followJob(entry.job.id, (event) => this.#event(entry, event), {
        authorization: () => session.authorization,
      });
      streams += 1;
    }
  }

  async #refresh(entry) {
    try {
      const job = await api.job(entry.job.id);
      if (TERMINAL.has(job.status)) this.#ended(entry, job);
      else this.#update(entry, job);
    } catch (error) {
      if (error.status === 404) this.#update(entry, { status: 'expired' });
    }
  }

  #poll() {
    for (const entry of this.entries.values()) if (isActive(entry.job.status) && !entry.stream) this.#refresh(entry);
  }

  /** Esc: cancel my newest running (else queued) job; false when there is none. */
  cancelNewestRunning() {
    const active = [...this.entries.values()].filter((e) => isActive(e.job.status)).reverse();
    const entry = active.find((e) => e.job.status === 'started') ?? active[0];
    if (entry) this.cancel(entry.job.id);
    return Boolean(entry);
  }

  async cancel(id) {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.parts.cancel.disabled = true;
    try {
      const answer = await api.cancel(id);
      if (answer.status === 'canceled') this.#ended(entry, { status: 'canceled' });
      else entry.parts.text.textContent = 'canceling…';
    } catch (error) {
      setMessage(entry.parts.error, error.message);
      entry.parts.cancel.disabled = false;
    }
  }
}
