// A mask as bytes, one per pixel (255 = repaint, 0 = keep), hard-edged so that the mask sent is exactly what was
// painted; a change map (differential img2img) is the same with grey levels (the amount of change, 0 = keep). And
// their encodings: RGBA for a canvas (ImageData) and back. Pure: no DOM, tested with Node.

export class Mask {
  /** @param {number} width @param {number} height @param {Uint8Array} [data] */
  constructor(width, height, data) {
    this.width = width;
    this.height = height;
    this.data = data ?? new Uint8Array(width * height);
  }

  clone() {
    return new Mask(this.width, this.height, this.data.slice());
  }

  /** A filled disc of radius r at (cx, cy): value 255 (brush), a grey level (change map) or 0 (eraser). */
  dab(cx, cy, radius, value) {
    const r = Math.max(0.5, radius);
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(this.width - 1, Math.ceil(cx + r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(this.height - 1, Math.ceil(cy + r));
    const r2 = r * r;
    for (let y = y0; y <= y1; y += 1) {
      const dy = y + 0.5 - cy;
      for (let x = x0; x <= x1; x += 1) {
        const dx = x + 0.5 - cx;
        if (dx * dx + dy * dy <= r2) this.data[y * this.width + x] = value;
      }
    }
  }

  /** A stroke from (x0, y0) to (x1, y1): discs every half radius along it, so it has no gaps. */
  line(x0, y0, x1, y1, radius, value) {
    const length = Math.hypot(x1 - x0, y1 - y0);
    const steps = Math.max(1, Math.ceil(length / Math.max(0.5, radius / 2)));
    for (let i = 0; i <= steps; i += 1) {
      const t = i / steps;
      this.dab(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, radius, value);
    }
  }

  invert() {
    for (let i = 0; i < this.data.length; i += 1) this.data[i] = 255 - this.data[i];
  }

  clear() {
    this.data.fill(0);
  }

  /** How many pixels are to be repainted. */
  count() {
    let n = 0;
    for (const value of this.data) if (value) n += 1;
    return n;
  }

  /**
   * RGBA bytes (for ImageData). ``overlay``: painted pixels in that colour, as opaque as their level (255: the
   * overlay's alpha) and the rest transparent, for showing over the image; else opaque grey, each pixel its level
   * (a mask: white on black), to send.
   */
  toRGBA(overlay = null) {
    const out = new Uint8ClampedArray(this.data.length * 4);
    for (let i = 0; i < this.data.length; i += 1) {
      const level = this.data[i];
      const o = i * 4;
      if (overlay) {
        out[o] = overlay[0];
        out[o + 1] = overlay[1];
        out[o + 2] = overlay[2];
        out[o + 3] = Math.round((level * overlay[3]) / 255);
      } else {
        out[o] = out[o + 1] = out[o + 2] = level;
        out[o + 3] = 255;
      }
    }
    return out;
  }

  /** A mask from RGBA bytes: from an overlay, a pixel is on when it is not transparent; else when it is bright. */
  static fromRGBA(width, height, rgba, overlay = false) {
    const mask = new Mask(width, height);
    for (let i = 0; i < mask.data.length; i += 1) {
      const o = i * 4;
      const on = overlay ? rgba[o + 3] > 0 : rgba[o] + rgba[o + 1] + rgba[o + 2] >= 384;
      mask.data[i] = on ? 255 : 0;
    }
    return mask;
  }
}

/** Undo/redo over snapshots of a mask (a copy per stroke; the oldest dropped past ``limit``). */
export class History {
  constructor(limit = 40) {
    this.limit = limit;
    this.done = [];
    this.undone = [];
  }

  /** Call before changing the mask. */
  record(mask) {
    this.done.push(mask.clone());
    if (this.done.length > this.limit) this.done.shift();
    this.undone = [];
  }

  /** The mask to show after an undo (null: nothing to undo). */
  undo(current) {
    if (this.done.length === 0) return null;
    this.undone.push(current.clone());
    return this.done.pop();
  }

  redo(current) {
    if (this.undone.length === 0) return null;
    this.done.push(current.clone());
    return this.undone.pop();
  }
}
