// Gallery: the images of my finished jobs as thumbnails, newest first, a page at a time; a click opens the lightbox.

import { api } from './api.js';
import { byId, h } from './dom.js';

const PAGE_SIZE = 12;

export class GalleryView {
  /** @param {{onOpen: (job: object, index: number) => void}} hooks */
  constructor({ onOpen }) {
    this.grid = byId('gallery-grid');
    this.empty = byId('gallery-empty');
    this.more = byId('gallery-more');
    this.onOpen = onOpen;
    this.shown = new Set();
    this.page = 0;
    this.more.addEventListener('click', () => this.loadMore());
  }

  async loadMore() {
    this.more.disabled = true;
    try {
      const page = await api.jobs({ status: 'finished', page: this.page + 1, limit: PAGE_SIZE });
      this.page += 1;
      for (const job of page.items) this.#append(job, false);
      this.more.hidden = !page.has_more;
    } finally {
      this.more.disabled = false;
    }
  }

  /** A job that just finished: its images go first. */
  prepend(job) {
    this.#append(job, true);
  }

  #append(job, first) {
    const tiles = (job.images ?? [])
      .filter((image) => !this.shown.has(`${job.id}/${image.index}`))
      .map((image) => this.#tile(job, image));
    if (first) this.grid.prepend(...tiles);
    else this.grid.append(...tiles);
    this.empty.hidden = this.shown.size > 0;
  }

  #tile(job, image) {
    this.shown.add(`${job.id}/${image.index}`);
    const prompt = job.request?.prompt ?? '';
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
