// Problem details shown where they belong: each complaint next to the field it names, the
// rest in the form's own error line.

import { ApiError } from "./api.js";
import { byId, h, showError } from "./dom.js";

export function showProblem(form, error) {
  const fields = error instanceof ApiError ? error.fields : {};
  const general = [];
  const marked = [];
  for (const [field, message] of Object.entries(fields)) {
    if (field && fieldError(form, field, message)) marked.push(field);
    else general.push(field ? `${field}: ${message}` : message);
  }
  if (!Object.keys(fields).length) general.push(error.message);
  if (marked.length) {
    // the alert line says which fields to look at; the first of them takes the focus
    general.push(`check ${marked.length === 1 ? "the field" : `${marked.length} fields`}: ${marked.join(", ")}`);
    form.elements.namedItem(marked[0]).focus();
  }
  showError(form.querySelector(".form-error"), general.join(" · "));
}

export function fieldError(form, name, message) {
  const input = form.elements.namedItem(name);
  if (!input || !input.closest("label")) return false;
  input.setAttribute("aria-invalid", "true");
  const note = h("span", { class: "field-error", id: `${form.id}-${name}-error` }, message);
  input.setAttribute("aria-describedby", note.id);
  input.closest("label").append(note);
  return true;
}

// One field's complaint gone, when what it complained of has been put right.
export function clearFieldError(form, name) {
  const input = form.elements.namedItem(name);
  byId(`${form.id}-${name}-error`)?.remove();
  input.removeAttribute("aria-invalid");
  input.removeAttribute("aria-describedby");
}

export function clearErrors(form) {
  for (const note of form.querySelectorAll(".field-error")) note.remove();
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    input.removeAttribute("aria-describedby");
  }
  showError(form.querySelector(".form-error"), "");
}

// A number when the text is one, else the text itself, for the API to refuse by name.
export function numeric(text) {
  const trimmed = text.trim();
  return trimmed !== "" && Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}
