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
