// AUTOMATIC1111-style "parameters" text for one image of a job, from the job record (request, seeds, model).

/**
 * @param {object} job  a job view (GET /api/v1/jobs/{id})
 * @param {number} index  the image's index
 * @param {Record<string, string>} samplerLabels  API name → A1111 label ("euler_a" → "Euler a")
 */
export function infotext(job, index = 0, samplerLabels = {}) {
  const request = job.request ?? {};
  const image = job.images?.find((i) => i.index === index) ?? {};
  const prompt = request.prompts?.length ? request.prompts[image.prompt_index ?? 0] : request.prompt;
  const seed = image.seed ?? job.seeds?.[index] ?? request.seed;
  const width = image.width ?? request.width;
  const height = image.height ?? request.height;
  const parts = [
    ['Steps', request.steps],
    ['Sampler', samplerLabels[request.sampler] ?? request.sampler],
    ['CFG scale', request.cfg_scale],
    ['Seed', seed],
    ['Size', width && height ? `${width}x${height}` : undefined],
    ['Model', job.model ?? request.model],
  ];
  if (request.scheduler && request.scheduler !== 'automatic') parts.push(['Schedule type', request.scheduler]);
  if (request.clip_skip && request.clip_skip > 1) parts.push(['Clip skip', request.clip_skip]);
  const lines = [prompt ?? ''];
  if (request.negative_prompt) lines.push(`Negative prompt: ${request.negative_prompt}`);
  lines.push(parts.filter(([, value]) => value !== undefined && value !== null).map(([k, v]) => `${k}: ${v}`).join(', '));
  return lines.join('\n');
}

const KEYS = {
  Steps: ['steps', 'int'],
  'CFG scale': ['cfg_scale', 'num'],
  Seed: ['seed', 'int'],
  'Clip skip': ['clip_skip', 'int'],
  'Denoising strength': ['strength', 'num'],
  Model: ['model', 'text'],
  'Schedule type': ['scheduler', 'lower'], // A1111 writes "Karras", the API takes "karras"
};

/** "Steps: 20, Sampler: DPM++ 2M, Size: 512x768, Lora hashes: "a: 1, b: 2"" → [[key, value], ...] */
export function splitParameters(line) {
  const pairs = [];
  const pattern = /\s*([^:,]+?):\s*("(?:\\.|[^"\\])*"|[^,]*)\s*(?:,|$)/g;
  let match;
  while ((match = pattern.exec(line)) !== null && match[0] !== '') {
    let value = match[2].trim();
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value);
      } catch {
        value = value.slice(1, -1);
      }
    }
    pairs.push([match[1].trim(), value]);
  }
  return pairs;
}

/**
 * An A1111 "parameters" text → the form's values (strings; a fixed seed) and the pairs it did not use.
 * @param {string} text
 * @param {Record<string, string>} samplerLabels  API name → label, to map "Euler a" back to "euler_a"
 */
export function parseInfotext(text, samplerLabels = {}) {
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === '') last -= 1;
  const hasParameters = last >= 0 && /^\s*Steps: /.test(lines[last]);
  const head = hasParameters ? lines.slice(0, last) : lines.slice(0, last + 1);
  const negativeAt = head.findIndex((line) => line.startsWith('Negative prompt:'));
  const prompt = (negativeAt < 0 ? head : head.slice(0, negativeAt)).join('\n').trim();
  const negative = negativeAt < 0 ? '' : head.slice(negativeAt).join('\n').replace(/^Negative prompt:\s*/, '').trim();
  const values = { prompt, negative_prompt: negative };
  const unused = [];
  const labels = Object.fromEntries(Object.entries(samplerLabels).map(([name, label]) => [label, name]));
  for (const [key, value] of hasParameters ? splitParameters(lines[last]) : []) {
    if (key === 'Size' && /^\d+x\d+$/.test(value)) {
      [values.width, values.height] = value.split('x');
    } else if (key === 'Sampler') {
      values.sampler = labels[value] ?? value;
    } else if (KEYS[key]) {
      values[KEYS[key][0]] = KEYS[key][1] === 'lower' ? value.toLowerCase() : value;
    } else {
      unused.push([key, value]);
    }
  }
  values.random_seed = values.seed === undefined || Number(values.seed) < 0;
  return { values, unused };
}
