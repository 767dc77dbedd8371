// Entry point: load what the form needs (parameters, samplers, checkpoints) in parallel, then wire the views.

import { api } from './api.js';
import { byId, setMessage } from './dom.js';
import { GalleryView } from './gallery.js';
import { GenerateView } from './generate.js';
import { JobsView } from './jobs.js';
import { LightboxView } from './lightbox.js';
import { setupTheme } from './theme.js';

const notice = byId('notice');

function explain(error) {
  if (error?.status === 401 || error?.status === 403) {
    return 'This server needs you to sign in; the web UI cannot sign in yet. Use the API with a token or key.';
  }
  return `Could not reach the API: ${error?.message ?? error}`;
}

async function start() {
  setupTheme(byId('theme-toggle'));
  const [parameters, samplers, checkpoints] = await Promise.all([
    api.parameters(),
    api.samplers(),
    api.checkpoints().then((page) => page.items),
  ]);
  const samplerLabels = Object.fromEntries(samplers.map((s) => [s.name, s.label]));
  let generate = null;
  const lightbox = new LightboxView({ samplerLabels, onReuse: (request, seed) => generate.reuse(request, seed) });
  const open = (job, index) => lightbox.open(job, index);
  const gallery = new GalleryView({ onOpen: open });
  const jobs = new JobsView({ onFinished: (job) => gallery.prepend(job), onOpen: open });
  generate = new GenerateView({
    parameters,
    samplers,
    checkpoints,
    onSubmitted: (answer, request) => jobs.add(answer, request),
  });
  performance.mark('sdq:ready');
  document.body.dataset.ready = 'form';
  await Promise.all([jobs.load(), gallery.loadMore()]);
  document.body.dataset.ready = 'all';
}

start().catch((error) => setMessage(notice, explain(error)));
