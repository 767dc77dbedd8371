// The public API, as fetch calls: JSON in and out; every error answer becomes an ApiError with its RFC 9457
// problem details.

import { problemText, toProblem } from './problems.js';

export class ApiError extends Error {
  constructor(problem) {
    super(problemText(problem));
    this.name = 'ApiError';
    this.problem = problem;
    this.status = problem.status;
  }
}

/** fetch a path of this origin; resolves to the JSON body, rejects with ApiError. */
export async function request(path, { method = 'GET', body, signal } = {}) {
  const init = { method, signal, headers: { accept: 'application/json, application/problem+json' } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError({ title: 'Network error', status: 0, detail: 'the server cannot be reached' });
  }
  const type = response.headers.get('content-type') ?? '';
  let data = null;
  if (type.includes('json')) data = await response.json().catch(() => null);
  else data = await response.text().catch(() => '');
  if (!response.ok) throw new ApiError(toProblem(data, response.status, response.statusText));
  return data;
}

const query = (params) => {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : '';
};

export const api = {
  parameters: () => request('/api/v1/parameters'),
  samplers: () => request('/api/v1/samplers'),
  checkpoints: () => request('/api/v1/models?type=checkpoint&limit=200'),
  txt2img: (body) => request('/api/v1/generate/txt2img', { method: 'POST', body }),
  job: (id) => request(`/api/v1/jobs/${encodeURIComponent(id)}`),
  jobs: ({ status, page = 1, limit = 20 } = {}) => request(`/api/v1/jobs${query({ status, page, limit })}`),
  cancel: (id) => request(`/api/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
};
