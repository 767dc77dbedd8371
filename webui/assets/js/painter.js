// The canvas painter: paint a mask over an image with pointer events (mouse, touch, pen): brush and eraser, size,
// invert, clear, undo/redo (Ctrl+Z / Ctrl+Shift+Z), zoom (buttons, Ctrl+wheel) and pan (scroll, or drag with the
// middle button or Space held). The mask has the image's own pixel size and is sent exactly as painted. Two kinds:
// an inpaint mask (with a soft preview of its blur, the request's mask_blur, under it: preview only) and a change
// map for differential img2img (the brush paints a grey level, the amount of change; black keeps the input).

import { byId } from './dom.js';
import { History, Mask } from './mask.js';

const OVERLAY = [255, 48, 96, 255]; // painted pixels as shown (the canvas is half transparent over the image)
const ZOOMS = [0.125, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 8];
const KINDS = {
  mask: { label: 'Mask: paint what to repaint', hint: 'Paint the part to repaint.' },
  change: {
    label: 'Change map: paint how much to change',
    hint: 'Paint where to change, the grey level the amount (black keeps the input); nothing painted: plain img2img.',
  },
};

export class Painter {
  constructor() {
    this.root = byId('painter');
    this.view = byId('painter-view');
    this.stage = byId('painter-stage');
    this.image = byId('painter-image');
    this.canvas = byId('painter-canvas');
    this.sizeInput = byId('painter-size');
    this.zoomText = byId('painter-zoom');
    this.levelInput = byId('painter-level');
    this.feather = byId('painter-feather');
    this.featherContext = this.feather.getContext('2d');
    this.kind = 'mask';
    this.blur = 0;
    this.context = this.canvas.getContext('2d', { willReadFrequently: true }); // read back by tests and tools
    this.mask = null;
    this.history = new History();
    this.tool = 'brush';
    this.zoom = 1;
    this.stroke = null;
    this.panning = null;
    this.space = false;
    this.#bindTools();
    this.#bindPointer();
  }

  /** Start over on an image ({url, width, height}) with a kind ('mask' or 'change'); null hides the painter. */
  load(image, kind = 'mask') {
    this.root.hidden = !image;
    if (!image) {
      this.mask = null;
      return;
    }
    this.kind = kind;
    this.canvas.setAttribute('aria-label', KINDS[kind].label);
    byId('painter-hint').textContent = KINDS[kind].hint;
    this.image.src = image.url;
    this.canvas.width = image.width;
    this.canvas.height = image.height;
    this.feather.width = image.width;
    this.feather.height = image.height;
    this.mask = new Mask(image.width, image.height);
    this.history = new History();
    this.fit();
    this.render();
  }

  get brushRadius() {
    return Number(this.sizeInput.value) / 2;
  }

  /** What the brush paints: 255 on a mask, the chosen grey level on a change map. */
  get brushValue() {
    return this.kind === 'change' ? Number(this.levelInput.value) : 255;
  }

  /** The mask blur (px of the image) to preview under a mask; 0 hides the preview. */
  setFeather(radius) {
    this.blur = Number.isFinite(radius) && radius > 0 ? radius : 0;
    this.#renderFeather();
  }

  #renderFeather() {
    const shown = Boolean(this.mask) && this.kind === 'mask' && this.blur > 0;
    this.feather.hidden = !shown;
    this.root.dataset.feather = shown ? String(this.blur) : '0';
    if (!shown) return;
    this.feather.style.filter = `blur(${(this.blur * this.zoom).toFixed(2)}px)`;
    this.featherContext.clearRect(0, 0, this.feather.width, this.feather.height);
    this.featherContext.drawImage(this.canvas, 0, 0);
  }

  render() {
    if (!this.mask) return;
    const pixels = new ImageData(this.mask.toRGBA(OVERLAY), this.mask.width, this.mask.height);
    this.context.putImageData(pixels, 0, 0);
    this.root.dataset.painted = String(this.mask.count());
    this.#renderFeather();
  }

  /** The mask or change map to send: a PNG of the image's size, opaque grey (mask: white = repaint on black). */
  toBlob() {
    const canvas = document.createElement('canvas');
    canvas.width = this.mask.width;
    canvas.height = this.mask.height;
    canvas.getContext('2d').putImageData(new ImageData(this.mask.toRGBA(), this.mask.width, this.mask.height), 0, 0);
    return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
  }

  setZoom(zoom) {
    this.zoom = Math.min(8, Math.max(0.05, zoom));
    this.stage.style.width = `${Math.round(this.mask.width * this.zoom)}px`;
    this.stage.style.height = `${Math.round(this.mask.height * this.zoom)}px`;
    this.zoomText.textContent = `${Math.round(this.zoom * 100)} %`;
    this.#renderFeather();
  }

  fit() {
    const room = this.view.clientWidth || this.mask.width;
    this.setZoom(Math.min(1, room / this.mask.width));
  }

  #step(direction) {
    const next = direction > 0 ? ZOOMS.find((z) => z > this.zoom + 1e-6) : ZOOMS.findLast((z) => z < this.zoom - 1e-6);
    if (next) this.setZoom(next);
  }

  change(run) {
    if (!this.mask) return;
    this.history.record(this.mask);
    run(this.mask);
    this.render();
  }

  undo() {
    const previous = this.mask && this.history.undo(this.mask);
    if (previous) {
      this.mask = previous;
      this.render();
    }
  }

  redo() {
    const next = this.mask && this.history.redo(this.mask);
    if (next) {
      this.mask = next;
      this.render();
    }
  }

  #setTool(tool) {
    this.tool = tool;
    for (const button of this.root.querySelectorAll('[data-tool]')) {
      button.setAttribute('aria-pressed', String(button.dataset.tool === tool));
    }
  }

  #bindTools() {
    for (const button of this.root.querySelectorAll('[data-tool]')) {
      button.addEventListener('click', () => this.#setTool(button.dataset.tool));
    }
    byId('painter-invert').addEventListener('click', () => this.change((mask) => mask.invert()));
    byId('painter-clear').addEventListener('click', () => this.change((mask) => mask.clear()));
    byId('painter-undo').addEventListener('click', () => this.undo());
    byId('painter-redo').addEventListener('click', () => this.redo());
    byId('painter-zoom-in').addEventListener('click', () => this.#step(1));
    byId('painter-zoom-out').addEventListener('click', () => this.#step(-1));
    byId('painter-fit').addEventListener('click', () => this.fit());
    const levelText = byId('painter-level-text');
    this.levelInput.addEventListener('input', () => {
      levelText.textContent = `${Math.round((Number(this.levelInput.value) * 100) / 255)} %`;
    });
    this.view.addEventListener(
      'wheel',
      (event) => {
        if (!event.ctrlKey || !this.mask) return;
        event.preventDefault();
        this.#step(-Math.sign(event.deltaY));
      },
      { passive: false },
    );
    document.addEventListener('keydown', (event) => this.#key(event));
    document.addEventListener('keyup', (event) => {
      if (event.code === 'Space') this.space = false;
    });
  }

  #key(event) {
    if (this.root.hidden || !this.mask) return;
    const typing = event.target.closest?.('textarea, select, input:not([type]), input[type=text], input[type=number]');
    if (typing) return;
    if (event.code === 'Space') this.space = true;
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'z') {
      event.preventDefault();
      if (event.shiftKey) this.redo();
      else this.undo();
    }
  }

  /** Image pixel coordinates of a pointer event (whatever the zoom). */
  #point(event) {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((event.clientX - rect.left) * this.mask.width) / rect.width,
      y: ((event.clientY - rect.top) * this.mask.height) / rect.height,
    };
  }

  #bindPointer() {
    const canvas = this.canvas;
    canvas.addEventListener('pointerdown', (event) => {
      if (!this.mask) return;
      event.preventDefault();
      canvas.setPointerCapture(event.pointerId);
      if (event.button === 1 || this.space) {
        this.panning = { x: event.clientX, y: event.clientY, left: this.view.scrollLeft, top: this.view.scrollTop };
        return;
      }
      if (event.button !== 0) return;
      this.history.record(this.mask);
      const value = this.tool === 'eraser' ? 0 : this.brushValue;
      const at = this.#point(event);
      this.stroke = { ...at, value };
      this.mask.dab(at.x, at.y, this.brushRadius, value);
      this.render();
    });
    canvas.addEventListener('pointermove', (event) => {
      if (this.panning) {
        this.view.scrollLeft = this.panning.left - (event.clientX - this.panning.x);
        this.view.scrollTop = this.panning.top - (event.clientY - this.panning.y);
        return;
      }
      if (!this.stroke) return;
      const events = event.getCoalescedEvents?.() ?? [event];
      for (const one of events.length ? events : [event]) {
        const at = this.#point(one);
        this.mask.line(this.stroke.x, this.stroke.y, at.x, at.y, this.brushRadius, this.stroke.value);
        this.stroke = { ...at, value: this.stroke.value };
      }
      this.render();
    });
    const end = () => {
      this.stroke = null;
      this.panning = null;
    };
    canvas.addEventListener('pointerup', end);
    canvas.addEventListener('pointercancel', end);
  }
}
