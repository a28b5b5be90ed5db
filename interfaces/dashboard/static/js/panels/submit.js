// The submission form. The API is the judge of every value: its problem details come back
// next to the fields they name; only the metadata's JSON syntax is checked here, because a
// text that is not JSON cannot be sent as an object at all.

import { api } from "../api.js";
import { byId, h, shortId } from "../dom.js";
import { clearErrors, clearFieldError, fieldError, numeric, showProblem } from "../forms.js";
import { openTask } from "./task_detail.js";

export function setUpSubmit(app) {
  const form = byId("task-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(app, form);
  });
  // a complaint about the metadata's JSON is checked again as the text is typed, and goes
  // as soon as the text is JSON (not at the next submit)
  form.elements.metadata.addEventListener("input", () => {
    if (form.elements.metadata.hasAttribute("aria-invalid")) readMetadata(form);
  });
}

// The metadata as a value, or undefined with the complaint next to the field.
function readMetadata(form) {
  clearFieldError(form, "metadata");
  try {
    return JSON.parse(form.elements.metadata.value.trim() || "{}");
  } catch (error) {
    fieldError(form, "metadata", `not valid JSON: ${error.message}`);
    return undefined;
  }
}

async function submit(app, form) {
  clearErrors(form);
  const values = Object.fromEntries(new FormData(form));
  const outcome = form.querySelector(".outcome");
  outcome.replaceChildren();
  const metadata = readMetadata(form);
  if (metadata === undefined) return;
  const body = {
    type: values.type,
    priority: numeric(values.priority),
    cost: numeric(values.cost),
    region: values.region.trim(),
    metadata,
  };
  if (values.resource_type) body.resource_type = values.resource_type;
  if (values.tenant) body.tenant = values.tenant;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const task = await api("/api/v1/tasks", { method: "POST", body });
    outcome.append("submitted ",
      h("a", { href: `#task-${task.id}`, onclick: (event) => { event.preventDefault(); openTask(app, task.id); } }, shortId(task.id)));
    app.refresh.tasks();
  } catch (error) {
    showProblem(form, error);
  } finally {
    button.disabled = false;
  }
}
