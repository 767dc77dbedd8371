// Entry point: find out who I am (auth off: no login; auth on: the login page first), load what the form needs
// (parameters, samplers, checkpoints) in parallel, then wire the views and the top bar.

import { KeysView } from './account.js';
import { api, session } from './api.js';
import { byId, setMessage } from './dom.js';
import { GalleryView } from './gallery.js';
import { GenerateView } from './generate.js';
import { JobsView } from './jobs.js';
import { LightboxView } from './lightbox.js';
import { LoginView } from './login.js';
import { ModelsView } from './models.js';
import { Nav, setupShortcuts } from './nav.js';
import { PngInfoView } from './pnginfo.js';
import { QueueView } from './queue.js';
import { SystemView } from './system.js';
import { setupTheme } from './theme.js';
import { UsersView } from './users.js';

const notice = byId('notice');
let nav = null;
const login = new LoginView();

function explain(error) {
  if (error?.status === 401 || error?.status === 403) return `Not allowed: ${error.message}`;
  return `Could not reach the API: ${error?.message ?? error}`;
}

/** /auth/me, or the login page until someone signs in (a 401 means auth is on and nobody is). */
async function whoAmI() {
  try {
    return await api.me();
  } catch (error) {
    if (error?.status !== 401) throw error;
    byId('view-generate').hidden = true;
    const me = await login.ask();
    byId('view-generate').hidden = false;
    return me;
  }
}

async function setupAccount(me, nav) {
  const signedIn = me.method === 'jwt';
  byId('whoami').textContent = signedIn ? me.user : '';
  byId('whoami').hidden = !signedIn;
  const logout = byId('logout');
  logout.hidden = !signedIn;
  if (!signedIn) return;
  logout.addEventListener('click', async () => {
    try {
      await api.logout(session.refreshToken);
    } finally {
      session.end();
      location.reload(); // every view and token gone with the page
    }
  });
  nav.offer('view-account');
  const loads = [new KeysView(me).load()];
  if (me.scopes.includes('users:admin')) loads.push(new UsersView().load());
  await Promise.all(loads);
}

/** The pickers the first view can do without: LoRAs, VAEs, upscalers; ControlNets from the parameters. */
async function loadLists(generate, parameters) {
  const valid = (type) => api.models({ type }).then((page) => page.items.filter((m) => m.status === 'valid'));
  const [loras, vaes, upscalers] = await Promise.all([valid('lora'), valid('vae'), valid('upscaler')]);
  generate.setLists({
    loras,
    vaes,
    upscalers,
    controlnets: parameters.controlnets ?? [],
    preprocessors: parameters.preprocessors,
  });
}

async function start() {
  setupTheme(byId('theme-toggle'));
  session.onExpired = async () => {
    byId('view-generate').hidden = true;
    byId('view-account').hidden = true;
    await login.ask('Your session ended: sign in again.');
    nav?.show('view-generate');
  };
  const me = await whoAmI();
  nav = new Nav({
    'view-models': new ModelsView(me),
    'view-system': new SystemView(),
    'view-queue': new QueueView(),
  });
  if (me.scopes.includes('queue:admin')) nav.offer('view-queue');
  const [parameters, samplers, checkpoints] = await Promise.all([
    api.parameters(),
    api.samplers(),
    api.checkpoints().then((page) => page.items),
  ]);
  const samplerLabels = Object.fromEntries(samplers.map((s) => [s.name, s.label]));
  let generate = null;
  let gallery = null;
  const lightbox = new LightboxView({
    samplerLabels,
    onReuse: (request, seed) => generate.reuse(request, seed),
    onSend: (mode, url) => generate.useImage(mode, url),
    onDeleted: (jobId) => gallery.remove(jobId),
    neighbour: (job, index, step) => gallery.neighbour(job, index, step),
  });
  const open = (job, index) => lightbox.open(job, index);
  gallery = new GalleryView({ onOpen: open });
  const jobs = new JobsView({
    onFinished: (job) => {
      gallery.prepend(job);
      generate.setLastSeed(job.images?.[0]?.seed ?? job.seeds?.[0]);
    },
    onOpen: open,
  });
  generate = new GenerateView({
    parameters,
    samplers,
    checkpoints,
    onSubmitted: (answer, request) => jobs.add(answer, request),
  });
  setupShortcuts({ onEscape: () => jobs.cancelNewestRunning() });
  new PngInfoView({ samplerLabels, onLoad: (values) => generate.load(values) });
  performance.mark('sdq:ready');
  document.body.dataset.ready = 'form';
  await Promise.all([jobs.load(), gallery.loadMore(), setupAccount(me, nav), loadLists(generate, parameters)]);
  document.body.dataset.ready = 'all';
}

start().catch((error) => setMessage(notice, explain(error)));
