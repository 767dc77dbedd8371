// Gallery: my jobs' images as thumbnails, newest first, a page at a time, filtered by mode and status; a click
// opens the lightbox, which steps through the tiles in order (previous/next) and can delete a job.

import { api } from './api.js';
import { byId, h } from './dom.js';

const PAGE_SIZE = 12;

export class GalleryView {
  /** @param {{onOpen: (job: object, index: number) => void}} hooks */
  constructor({ onOpen }) {
    this.grid = byId('gallery-grid');
    this.empty = byId('gallery-empty');
    this.more = byId('gallery-more');
    this.mode = byId('gallery-mode');
    this.status = byId('gallery-status');
    this.onOpen = onOpen;
    this.jobs = new Map();
    this.shown = new Set();
    this.page = 0;
    this.more.addEventListener('click', () => this.loadMore());
    for (const select of [this.mode, this.status]) select.addEventListener('change', () => this.reload());
  }

  async reload() {
    this.grid.replaceChildren();
    this.shown.clear();
    this.page = 0;
    await this.loadMore();
  }

  async loadMore() {
    this.more.disabled = true;
    try {
      const filters = { status: this.status.value || 'finished', mode: this.mode.value || undefined };
      const page = await api.jobs({ ...filters, page: this.page + 1, limit: PAGE_SIZE });
      this.page += 1;
      for (const job of page.items) this.#append(job, false);
      this.more.hidden = !page.has_more;
      this.empty.hidden = this.grid.children.length > 0;
    } finally {
      this.more.disabled = false;
    }
  }

  /** A job that just finished: its images go first (when the filters let it in). */
  prepend(job) {
    if ((this.status.value || 'finished') !== 'finished' || (this.mode.value && this.mode.value !== job.mode)) return;
    this.#append(job, true);
  }

  /** The tile after (+1) or before (-1) this one, as [job, index]; null at either end. */
  neighbour(job, index, step) {
    const tiles = [...this.grid.querySelectorAll('li[data-index]')];
    const at = tiles.findIndex((li) => li.dataset.jobId === job.id && Number(li.dataset.index) === index);
    const next = tiles[at + step];
    return at === -1 || !next ? null : [this.jobs.get(next.dataset.jobId), Number(next.dataset.index)];
  }

  /** A deleted job's tiles go. */
  remove(jobId) {
    for (const li of this.grid.querySelectorAll(`li[data-job-id="${CSS.escape(jobId)}"]`)) li.remove();
    for (const key of [...this.shown]) if (key.startsWith(`${jobId}/`)) this.shown.delete(key);
    this.jobs.delete(jobId);
    this.empty.hidden = this.grid.children.length > 0;
  }

  #append(job, first) {
    this.jobs.set(job.id, job);
    const tiles = job.images?.length
      ? job.images.filter((image) => !this.shown.has(`${job.id}/${image.index}`)).map((image) => this.#tile(job, image))
      : [this.#textTile(job)];
    if (first) this.grid.prepend(...tiles);
    else this.grid.append(...tiles);
    this.empty.hidden = this.grid.children.length > 0;
  }

  /** A job without images (failed, canceled): its prompt and status, nothing to open. */
  #textTile(job) {
    const prompt = job.request?.prompt ?? job.mode;
    return h('li', { dataset: { jobId: job.id } }, h('div', { class: 'tile text-tile' }, `${job.status}: ${prompt}`));
  }

  #tile(job, image) {
    this.shown.add(`${job.id}/${image.index}`);
    const prompt = job.request?.prompt ?? job.mode ?? '';
    const label = `Open image ${image.index + 1} of “${prompt.slice(0, 60)}”, seed ${image.seed}`;
    return h(
      'li',
      { dataset: { jobId: job.id, index: image.index } },
      h(
        'button',
        { type: 'button', class: 'tile', 'aria-label': label, onclick: () => this.onOpen(job, image.index) },
        h('img', { src: image.thumbnail_url, alt: '', loading: 'lazy', width: image.width, height: image.height }),
      ),
    );
  }
}
