// Images in: a file picker, drag and drop, or paste from the clipboard; each image is uploaded through
// POST /api/v1/uploads with a progress bar, then previewed with its size. The form sends the upload's id.

import { readAnswer, session } from './api.js';
import { h, setMessage } from './dom.js';

/** Upload a Blob (multipart field 'file') with progress; resolves to {id, width, height}, rejects with ApiError. */
export function upload(blob, { name = 'image.png', onProgress = () => {} } = {}) {
  const once = () =>
    new Promise((resolve, reject) => {
      const body = new FormData();
      body.append('file', blob, name);
      const xhr = new XMLHttpRequest();
      xhr.open('POST', '/api/v1/uploads');
      xhr.setRequestHeader('accept', 'application/json, application/problem+json');
      if (session.authorization) xhr.setRequestHeader('authorization', session.authorization);
      xhr.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      });
      xhr.addEventListener('load', () => {
        const headers = new Headers();
        for (const line of xhr.getAllResponseHeaders().trim().split(/[\r\n]+/)) {
          const colon = line.indexOf(':');
          if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
        }
        resolve(new Response(xhr.status === 204 ? null : xhr.response, { status: xhr.status, headers }));
      });
      xhr.addEventListener('error', () => reject(new Error('the upload did not reach the server')));
      xhr.send(body);
    });
  return (async () => {
    let response = await once();
    if (response.status === 401 && session.signedIn && (await session.refresh())) response = await once();
    return readAnswer(response);
  })();
}

export class ImageInput {
  /**
   * @param {HTMLElement} root  an element with an <input type=file>, to hold the drop zone, progress and preview
   * @param {{onChange: (image: {id: string, width: number, height: number, url: string} | null) => void}} hooks
   */
  constructor(root, { onChange }) {
    this.root = root;
    this.onChange = onChange;
    this.file = root.querySelector('input[type=file]');
    this.progress = h('progress', { max: 1, value: 0, hidden: true, 'aria-label': 'Upload progress' });
    this.preview = h('img', { class: 'in-preview', alt: 'The chosen image', hidden: true });
    this.size = h('span', { class: 'hint', role: 'status' });
    this.error = h('p', { class: 'error', role: 'alert', hidden: true });
    this.remove = h('button', { type: 'button', hidden: true, onclick: () => this.set(null) }, 'Remove image');
    root.append(this.progress, this.error, h('div', { class: 'in-row' }, this.preview, this.size, this.remove));
    this.image = null;
    this.file.addEventListener('change', () => this.file.files[0] && this.take(this.file.files[0]));
    root.addEventListener('dragover', (event) => {
      event.preventDefault();
      root.classList.add('dragging');
    });
    root.addEventListener('dragleave', () => root.classList.remove('dragging'));
    root.addEventListener('drop', (event) => {
      event.preventDefault();
      root.classList.remove('dragging');
      const file = [...(event.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/'));
      if (file) this.take(file);
    });
  }

  /** A pasted image (the form listens for paste while this input is shown). */
  paste(event) {
    const item = [...(event.clipboardData?.items ?? [])].find((i) => i.kind === 'file' && i.type.startsWith('image/'));
    if (!item) return false;
    event.preventDefault();
    this.take(item.getAsFile());
    return true;
  }

  async take(file) {
    setMessage(this.error, '');
    this.progress.hidden = false;
    this.progress.value = 0;
    this.size.textContent = `uploading ${file.name || 'image'}…`;
    try {
      const answer = await upload(file, {
        name: file.name || 'pasted.png',
        onProgress: (loaded, total) => {
          this.progress.max = total;
          this.progress.value = loaded;
        },
      });
      this.set({ ...answer, url: URL.createObjectURL(file) });
    } catch (error) {
      this.set(null);
      setMessage(this.error, error.message);
    } finally {
      this.progress.hidden = true;
      this.file.value = '';
    }
  }

  /** Show an image (or none) and tell the form. */
  set(image) {
    if (this.image?.url?.startsWith('blob:')) URL.revokeObjectURL(this.image.url);
    this.image = image;
    this.preview.hidden = !image;
    this.remove.hidden = !image;
    if (image) this.preview.src = image.url;
    else this.preview.removeAttribute('src');
    this.size.textContent = image ? `${image.width} × ${image.height} px` : '';
    this.onChange(image);
  }
}
