// RFC 9457 problem details: normalise an error answer, and map its errors[].loc to the form's fields.

/** A problem object from an answer's JSON body (or a stand-in when the body is not problem details). */
export function toProblem(body, status, statusText = '') {
  if (body && typeof body === 'object' && (body.title || body.detail)) {
    return { status, ...body };
  }
  const text = typeof body === 'string' && body ? body : statusText || 'Request failed';
  return { type: 'about:blank', title: statusText || 'Error', status, detail: text, errors: [] };
}

/** The field a location names: ["body", "width"] → "width"; ["body", "loras", 0, "name"] → "loras.0.name". */
export function fieldOf(loc) {
  if (!Array.isArray(loc) || loc.length === 0) return '';
  const parts = loc[0] === 'body' || loc[0] === 'query' || loc[0] === 'path' ? loc.slice(1) : loc;
  return parts.join('.');
}

/**
 * Split a problem's messages into those next to a known field and the rest.
 * @param {object} problem  problem details, maybe with errors[{loc, msg}]
 * @param {Iterable<string>} fields  names of the form's fields
 * @returns {{fields: Record<string, string[]>, general: string[]}}
 */
export function fieldErrors(problem, fields) {
  const known = new Set(fields);
  const result = { fields: {}, general: [] };
  const errors = Array.isArray(problem?.errors) ? problem.errors : [];
  for (const error of errors) {
    const name = fieldOf(error.loc);
    const top = name.split('.')[0];
    const target = known.has(name) ? name : known.has(top) ? top : null;
    if (target) {
      (result.fields[target] ??= []).push(error.msg);
    } else {
      result.general.push(name ? `${name}: ${error.msg}` : error.msg);
    }
  }
  if (errors.length === 0) result.general.push(problemText(problem));
  return result;
}

/** One line for a person: "Not found: no job 'x'". */
export function problemText(problem) {
  if (!problem) return 'Request failed';
  const { title, detail } = problem;
  if (title && detail && detail !== title) return `${title}: ${detail}`;
  return detail || title || 'Request failed';
}
