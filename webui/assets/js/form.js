// The generate form's values (strings and booleans, as the inputs hold them) <-> a request body, per mode.

export const FIELDS = [
  'prompt', 'negative_prompt', 'model', 'sampler', 'width', 'height', 'steps', 'cfg_scale', 'seed', 'batch_size',
  'scheduler', 'priority', 'prompts',
];
/** The pickers' server defaults: left out of a request (the server applies them). */
const DEFAULT_CHOICE = { scheduler: 'automatic', priority: 'normal' };
const INTEGERS = new Set(['width', 'height', 'steps', 'seed', 'batch_size', 'mask_blur']);
const NUMBERS = new Set(['width', 'height', 'steps', 'seed', 'batch_size', 'cfg_scale']);

/** The fields only some modes have, and the image fields each mode sends (the form's image → these names). */
export const MODE_FIELDS = {
  txt2img: [],
  img2img: ['strength'],
  inpaint: ['strength', 'mask_blur'],
  controlnet: ['strength'],
  upscale: [],
};
export const EXTRA_FIELDS = ['strength', 'mask_blur', 'upscaler', 'scale'];
export const IMAGE_FIELD = { img2img: 'init_image', inpaint: 'image', controlnet: 'init_image', upscale: 'image' };
/** Under "Advanced": the fields every prompt mode shares, and the hires fix (txt2img only). */
export const ADVANCED_FIELDS = ['vae', 'clip_skip', 'strict_safety', 'watermark', 'no_watermark'];
export const HIRES_FIELDS = ['hr_scale', 'hr_upscaler', 'hr_steps', 'hr_denoise'];

/** Each field's limits from the mode's JSON Schema (GET /api/v1/parameters → modes.txt2img). */
export function limitsFrom(schema, names = FIELDS) {
  const limits = {};
  for (const name of names) {
    const prop = schema?.properties?.[name];
    if (!prop) continue;
    const branch = Array.isArray(prop.anyOf) ? prop.anyOf.find((b) => b.type && b.type !== 'null') ?? {} : prop;
    limits[name] = {
      min: branch.minimum,
      max: branch.maximum,
      step: branch.multipleOf ?? (INTEGERS.has(name) ? 1 : undefined),
      maxLength: branch.maxLength,
      default: prop.default,
      description: prop.description,
    };
  }
  return limits;
}

/** An enum field's choices from the mode's JSON Schema (a $ref into $defs): scheduler → ["automatic", …]. */
export function enumOf(schema, name) {
  const prop = schema?.properties?.[name];
  const ref = prop?.$ref ?? prop?.allOf?.[0]?.$ref;
  const target = ref ? schema?.$defs?.[ref.split('/').pop()] : prop;
  return Array.isArray(target?.enum) ? [...target.enum] : [];
}

/** A prompt batch from its text: one prompt a line, blank lines left out. */
export function parsePrompts(text) {
  return String(text ?? '').split('\n').map((line) => line.trim()).filter(Boolean);
}

/** The form's starting values from the limits' defaults. */
export function defaultValues(limits) {
  const text = (name, fallback) => (limits[name]?.default ?? fallback).toString();
  return {
    prompt: '',
    negative_prompt: limits.negative_prompt?.default ?? '',
    model: '',
    sampler: limits.sampler?.default ?? 'euler_a',
    width: text('width', 512),
    height: text('height', 512),
    steps: text('steps', 20),
    cfg_scale: text('cfg_scale', 7),
    seed: '',
    random_seed: true,
    batch_size: text('batch_size', 1),
    scheduler: limits.scheduler?.default ?? DEFAULT_CHOICE.scheduler,
    priority: limits.priority?.default ?? DEFAULT_CHOICE.priority,
    prompts: '',
  };
}

/** "12" → 12; "" → undefined (the server's default); "abc" stays "abc" so the server names the field. */
export function parseNumber(text, integer) {
  const trimmed = String(text ?? '').trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) return trimmed;
  return value;
}

/** The request body for POST /api/v1/generate/txt2img. */
export function toRequest(values) {
  const request = { prompt: values.prompt ?? '' };
  if (values.negative_prompt) request.negative_prompt = values.negative_prompt;
  if (values.model) request.model = values.model;
  if (values.sampler) request.sampler = values.sampler;
  for (const name of ['scheduler', 'priority']) {
    if (values[name] && values[name] !== DEFAULT_CHOICE[name]) request[name] = values[name];
  }
  for (const name of NUMBERS) {
    if (name === 'seed') continue;
    const value = parseNumber(values[name], INTEGERS.has(name));
    if (value !== undefined) request[name] = value;
  }
  request.seed = values.random_seed ? -1 : parseNumber(values.seed, true) ?? -1;
  return request;
}

/**
 * The request body for POST /api/v1/generate/{mode}: the shared fields, the mode's own, and its images
 * ({image: upload id, mask: upload id}). An image-to-image request without a size keeps the input's size.
 */
export function toModeRequest(mode, values, images = {}) {
  if (mode === 'upscale') {
    const request = { image: images.image ?? null, upscaler: values.upscaler || 'lanczos' };
    if (values.priority && values.priority !== DEFAULT_CHOICE.priority) request.priority = values.priority;
    const scale = parseNumber(values.scale, false);
    if (scale !== undefined) request.scale = scale;
    return request;
  }
  const request = { ...toRequest(values), ...advancedRequest(mode, values) };
  for (const name of MODE_FIELDS[mode] ?? []) {
    const value = parseNumber(values[name], INTEGERS.has(name));
    if (value !== undefined) request[name] = value;
  }
  if (IMAGE_FIELD[mode]) request[IMAGE_FIELD[mode]] = images.image ?? null;
  if (mode === 'controlnet') {
    if (!images.image) {
      delete request.init_image; // ControlNet txt2img
      delete request.strength;
    }
    request.controlnets = images.controlnets ?? [];
  }
  if (mode === 'inpaint') request.mask = images.mask ?? null;
  if (mode === 'img2img' && images.change_map) request.change_map = images.change_map;
  const prompts = mode === 'txt2img' ? parsePrompts(values.prompts) : [];
  if (prompts.length) {
    request.prompts = prompts;
    if (!request.prompt) delete request.prompt; // the batch stands in for it
  }
  return request;
}

/** The Advanced fields that differ from the server's defaults: VAE, clip skip, safety, watermark, hires fix. */
export function advancedRequest(mode, values) {
  const request = {};
  if (values.vae) request.vae = values.vae;
  const clipSkip = parseNumber(values.clip_skip, true);
  if (clipSkip !== undefined) request.clip_skip = clipSkip;
  if (values.strict_safety === 'true' || values.strict_safety === 'false') {
    request.strict_safety = values.strict_safety === 'true';
  }
  if (values.no_watermark === true) request.watermark = { text: '' };
  else if (values.watermark) request.watermark = { text: values.watermark };
  const scale = parseNumber(values.hr_scale, false);
  if (mode === 'txt2img' && scale !== undefined && scale !== 1) {
    request.hr_scale = scale;
    if (values.hr_upscaler) request.hr_upscaler = values.hr_upscaler;
    const steps = parseNumber(values.hr_steps, true);
    if (steps !== undefined) request.hr_steps = steps;
    const denoise = parseNumber(values.hr_denoise, false);
    if (denoise !== undefined) request.hr_denoise = denoise;
  }
  return request;
}

/** The form's values for a job's request, with ``seed`` (the image's own seed) fixed. */
export function fromRequest(request, seed) {
  const text = (value) => (value === undefined || value === null ? '' : String(value));
  const fixed = seed ?? request.seed;
  return {
    prompt: text(request.prompt),
    negative_prompt: text(request.negative_prompt),
    model: text(request.model),
    sampler: text(request.sampler),
    width: text(request.width),
    height: text(request.height),
    steps: text(request.steps),
    cfg_scale: text(request.cfg_scale),
    seed: fixed === undefined || fixed === null || fixed < 0 ? '' : String(fixed),
    random_seed: fixed === undefined || fixed === null || fixed < 0,
    batch_size: text(request.batch_size),
    scheduler: text(request.scheduler),
    priority: text(request.priority),
    prompts: (request.prompts ?? []).join('\n'),
  };
}

/** "512x768" → {width: "512", height: "768"}; anything else → null. */
export function parsePreset(value) {
  const match = /^(\d+)x(\d+)$/.exec(value ?? '');
  return match ? { width: match[1], height: match[2] } : null;
}
