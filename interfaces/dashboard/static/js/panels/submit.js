// The submission form. The API is the judge of every value: its problem details come back
// next to the fields they name; only the metadata's JSON syntax is checked here, because a
// text that is not JSON cannot be sent as an object at all.

import { api } from "../api.js";
import { byId, h, shortId } from "../dom.js";
import { clearErrors, fieldError, numeric, showProblem } from "../forms.js";
import { openTask } from "./task_detail.js";

export function setUpSubmit(app) {
  const form = byId("task-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit(app, form);
  });
}

async function submit(app, form) {
  clearErrors(form);
  const values = Object.fromEntries(new FormData(form));
  const outcome = form.querySelector(".outcome");
  outcome.replaceChildren();
  let metadata;
  try {
    metadata = JSON.parse(values.metadata.trim() || "{}");
  } catch (error) {
    fieldError(form, "metadata", `not valid JSON: ${error.message}`);
    return;
  }
  const body = {
    type: values.type,
    priority: numeric(values.priority),
    cost: numeric(values.cost),
    region: values.region.trim(),
    metadata,
  };
  if (values.resource_type) body.resource_type = values.resource_type;
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
