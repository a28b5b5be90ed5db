// The REST API as the dashboard uses it: JSON in and out, the user's API key (if the
// service wants one) on every request, and RFC 9457 problem details turned into errors that
// know which form field each complaint is about.

const KEY_ITEM = "taskrouterx.api-key";

export const key = {
  get: () => sessionStorage.getItem(KEY_ITEM),
  set: (value) => sessionStorage.setItem(KEY_ITEM, value),
  forget: () => sessionStorage.removeItem(KEY_ITEM),
};

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }

  // {field: message} for complaints about one field of the body ("body.priority"), and
  // the rest (the body as a whole, the query, the path) under "".
  get fields() {
    const fields = {};
    for (const error of this.problem.errors || []) {
      const [where, field] = error.location || [];
      const name = where === "body" && typeof field === "string" ? field : "";
      fields[name] = fields[name] ? `${fields[name]}; ${error.message}` : error.message;
    }
    return fields;
  }
}

export function headers(extra = {}) {
  const stored = key.get();
  return stored ? { ...extra, Authorization: `Bearer ${stored}` } : extra;
}

// A 401 or 403 asks the page for a (better) key.
export function askForKeyOn(status, message) {
  if (status === 401 || status === 403) {
    document.dispatchEvent(new CustomEvent("auth-needed", { detail: message }));
  }
}

export async function api(path, { method = "GET", body, query, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== "" && value !== null && value !== undefined) url.searchParams.set(name, value);
  }
  const init = { method, headers: headers({ Accept: "application/json" }), signal };
  if (method !== "GET") {
    // the server takes commands only as JSON, with or without a body
    init.headers["Content-Type"] = "application/json";
  }
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(url, init);
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text.slice(0, 200) };
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data || {});
    askForKeyOn(response.status, error.message);
    throw error;
  }
  return data;
}
