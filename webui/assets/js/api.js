// The public API, as fetch calls: JSON in and out; every error answer becomes an ApiError with its RFC 9457
// problem details. Signed in, each call carries the session's access token; a 401 renews the pair once and retries.

import { problemText, toProblem } from './problems.js';
import { Session } from './session.js';

export class ApiError extends Error {
  constructor(problem) {
    super(problemText(problem));
    this.name = 'ApiError';
    this.problem = problem;
    this.status = problem.status;
  }
}

/** The session every call signs with (main.js sets its onExpired: back to the login page). */
export const session = new Session({
  renew: (refreshToken) => request('/api/v1/auth/refresh', { method: 'POST', body: { refresh_token: refreshToken }, auth: false }),
});

async function send(path, { method, body, signal, auth }) {
  const init = { method, signal, headers: { accept: 'application/json, application/problem+json' } };
  if (auth && session.authorization) init.headers.authorization = session.authorization;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(path, init);
  } catch (error) {
    if (error?.name === 'AbortError') throw error;
    throw new ApiError({ title: 'Network error', status: 0, detail: 'the server cannot be reached' });
  }
}

/** fetch a path of this origin; resolves to the JSON body (null for 204), rejects with ApiError. */
export async function request(path, { method = 'GET', body, signal, auth = true } = {}) {
  let response = await send(path, { method, body, signal, auth });
  if (response.status === 401 && auth && session.signedIn && (await session.refresh())) {
    response = await send(path, { method, body, signal, auth });
  }
  return readAnswer(response);
}

/** An answer's body: JSON or text; an error answer rejects with ApiError (retry_after from Retry-After). */
export async function readAnswer(response) {
  const type = response.headers.get('content-type') ?? '';
  let data = null;
  if (response.status === 204) data = null;
  else if (type.includes('json')) data = await response.json().catch(() => null);
  else data = await response.text().catch(() => '');
  if (!response.ok) {
    const problem = toProblem(data, response.status, response.statusText);
    const retryAfter = Number(response.headers.get('retry-after'));
    if (retryAfter > 0) problem.retry_after ??= retryAfter;
    throw new ApiError(problem);
  }
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
  samplers: (model) => request(`/api/v1/samplers${query({ model })}`),
  checkpoints: () => request('/api/v1/models?type=checkpoint&limit=200'),
  models: ({ type, search, page = 1, limit = 200 } = {}) => request(`/api/v1/models${query({ type, search, page, limit })}`),
  txt2img: (body) => request('/api/v1/generate/txt2img', { method: 'POST', body }),
  generate: (mode, body) => request(`/api/v1/generate/${encodeURIComponent(mode)}`, { method: 'POST', body }),
  job: (id) => request(`/api/v1/jobs/${encodeURIComponent(id)}`),
  jobs: ({ status, mode, page = 1, limit = 20 } = {}) => request(`/api/v1/jobs${query({ status, mode, page, limit })}`),
  deleteJob: (id) => request(`/api/v1/jobs/${encodeURIComponent(id)}/images`, { method: 'DELETE' }),
  cancel: (id) => request(`/api/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }),
  me: () => request('/api/v1/auth/me'),
  system: () => request('/api/v1/system'),
  queue: () => request('/api/v1/queue'),
  clearQueue: () => request('/api/v1/queue/clear', { method: 'POST' }),
  refreshModels: () => request('/api/v1/models/refresh', { method: 'POST' }),
  modelOperation: (id, action) =>
    request(`/api/v1/models/${encodeURIComponent(id)}/${action === 'load' ? 'load' : 'unload'}`, { method: 'POST' }),
  login: (username, password) =>
    request('/api/v1/auth/login', { method: 'POST', body: { username, password }, auth: false }),
  logout: (refreshToken) => request('/api/v1/auth/logout', { method: 'POST', body: { refresh_token: refreshToken } }),
  keys: () => request('/api/v1/auth/keys'),
  createKey: (body) => request('/api/v1/auth/keys', { method: 'POST', body }),
  revokeKey: (id) => request(`/api/v1/auth/keys/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  users: () => request('/api/v1/auth/users'),
  createUser: (body) => request('/api/v1/auth/users', { method: 'POST', body }),
  setUserDisabled: (name, disabled) =>
    request(`/api/v1/auth/users/${encodeURIComponent(name)}/${disabled ? 'disable' : 'enable'}`, { method: 'POST' }),
  setUserRoles: (name, roles) =>
    request(`/api/v1/auth/users/${encodeURIComponent(name)}/roles`, { method: 'PUT', body: { roles } }),
};
