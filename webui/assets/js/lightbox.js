// Lightbox: one image at full size with its parameters (infotext), previous/next (buttons, arrow keys), download,
// copy seed, delete (asks once more), "reuse these parameters" and "send to img2img / inpaint / upscale /
// ControlNet" (fills the form).

import { api } from './api.js';
import { byId } from './dom.js';
import { infotext } from './infotext.js';

export class LightboxView {
  /**
   * @param {{samplerLabels: Record<string, string>, onReuse: (request: object, seed: number) => void,
   *          onSend: (mode: string, url: string) => void, onDeleted: (jobId: string) => void,
   *          neighbour: (job: object, index: number, step: number) => [object, number] | null}} options
   */
  constructor({ samplerLabels, onReuse, onSend, onDeleted, neighbour }) {
    this.dialog = byId('lightbox');
    this.title = byId('lightbox-title');
    this.image = byId('lightbox-image');
    this.text = byId('lightbox-infotext');
    this.download = byId('lightbox-download');
    this.reuse = byId('lightbox-reuse');
    this.status = byId('lightbox-status');
    this.samplerLabels = samplerLabels;
    this.onReuse = onReuse;
    this.neighbour = neighbour;
    this.prev = byId('lightbox-prev');
    this.next = byId('lightbox-next');
    this.deleteButton = byId('lightbox-delete');
    this.prev.addEventListener('click', () => this.step(-1));
    this.next.addEventListener('click', () => this.step(1));
    document.addEventListener('keydown', (event) => {
      // on the document: a button that just became disabled (the first or last image) drops the focus
      if (!this.dialog.open) return;
      if (event.key === 'ArrowLeft') this.step(-1);
      else if (event.key === 'ArrowRight') this.step(1);
    });
    this.deleteButton.addEventListener('click', () => this.#delete(onDeleted));
    for (const button of this.dialog.querySelectorAll('[data-send]')) {
      button.addEventListener('click', () => {
        this.dialog.close();
        onSend(button.dataset.send, this.image.src);
      });
    }
    byId('lightbox-close').addEventListener('click', () => this.dialog.close());
    byId('lightbox-copy-seed').addEventListener('click', () => this.#copySeed());
    this.reuse.addEventListener('click', () => {
      this.dialog.close();
      this.onReuse(this.job.request ?? {}, this.seed);
    });
    // A click on the backdrop (the dialog itself, outside its body) closes it.
    this.dialog.addEventListener('click', (event) => {
      if (event.target === this.dialog) this.dialog.close();
    });
  }

  open(job, index) {
    const image = job.images.find((i) => i.index === index) ?? job.images[0];
    this.job = job;
    this.seed = image.seed;
    const count = job.images.length;
    this.title.textContent = count > 1 ? `Image ${image.index + 1} of ${count} · seed ${image.seed}` : `Seed ${image.seed}`;
    this.image.src = image.url;
    this.image.alt = job.request?.prompt ?? '';
    this.image.width = image.width;
    this.image.height = image.height;
    this.text.textContent = infotext(job, image.index, this.samplerLabels);
    this.download.href = image.url;
    this.download.download = `${job.id}-${image.index}.png`;
    this.status.textContent = '';
    this.reuse.hidden = job.mode === 'upscale'; // no prompt, nothing the txt2img form could take
    this.index = image.index;
    this.prev.disabled = !this.neighbour?.(job, image.index, -1);
    this.next.disabled = !this.neighbour?.(job, image.index, 1);
    this.deleteButton.textContent = 'Delete';
    if (!this.dialog.open) this.dialog.showModal();
  }

  /** Previous (-1) or next (+1) image of the gallery. */
  step(direction) {
    const found = this.job && this.neighbour?.(this.job, this.index, direction);
    if (found) this.open(...found);
  }

  /** First click asks ("Really delete"), the second deletes the whole job (all its images). */
  async #delete(onDeleted) {
    if (this.deleteButton.textContent === 'Delete') {
      this.deleteButton.textContent = 'Really delete';
      return;
    }
    try {
      await api.deleteJob(this.job.id);
      this.dialog.close();
      onDeleted(this.job.id);
    } catch (error) {
      this.status.textContent = error.message;
    }
  }

  async #copySeed() {
    const text = String(this.seed);
    try {
      await navigator.clipboard.writeText(text);
      this.status.textContent = `Seed ${text} copied`;
    } catch {
      this.status.textContent = `Seed: ${text} (copy it by hand)`;
    }
  }
}
