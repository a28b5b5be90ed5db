// The scheduling controls: which algorithm places tasks, and a burst of simulated traffic
// with its progress.

import { api } from "../api.js";
import { byId, number, options, showError } from "../dom.js";
import { clearErrors, numeric, showProblem } from "../forms.js";

export function setUpControl(app) {
  const algorithmForm = byId("algorithm-form");
  options(algorithmForm.elements.algorithm, app.choices.algorithms);
  algorithmForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const outcome = algorithmForm.querySelector(".outcome");
    const algorithm = algorithmForm.elements.algorithm.value;
    try {
      const result = await api("/api/v1/algorithms/switch", { method: "POST", body: { algorithm } });
      outcome.textContent = `now ${result.algorithm}`;
      app.showAlgorithm(result.algorithm);
    } catch (error) {
      outcome.textContent = error.message;
    }
  });

  const simulateForm = byId("simulate-form");
  options(simulateForm.elements.distribution, app.choices.distributions);
  simulateForm.addEventListener("submit", (event) => {
    event.preventDefault();
    simulate(app, simulateForm);
  });
}

async function simulate(app, form) {
  clearErrors(form);
  const values = Object.fromEntries(new FormData(form));
  const body = {
    task_count: numeric(values.task_count),
    distribution: values.distribution,
  };
  if (values.region_bias) body.region_bias = values.region_bias;
  const progress = byId("simulate-progress");
  const outcome = form.querySelector(".outcome");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    let run = await api("/api/v1/simulate", { method: "POST", body });
    progress.hidden = false;
    while (true) {
      progress.max = run.task_count;
      progress.value = run.tasks_created;
      outcome.textContent = `${number(run.tasks_created)} of ${number(run.task_count)} tasks · ${run.status}`;
      if (run.status !== "running") break;
      await new Promise((resolve) => setTimeout(resolve, 300));
      run = await api(`/api/v1/simulate/${run.id}`);
    }
    if (run.error) showError(form.querySelector(".form-error"), run.error);
  } catch (error) {
    showProblem(form, error);
  } finally {
    button.disabled = false;
  }
}
