// The dashboard's composition root: read the API's own schema for the choices it offers,
// set up every panel, load them, then keep them current from the live event log (each
// event schedules a refresh of what it changes, at most one a second per panel).

import { api, key } from "./api.js";
import { byId, h, notify, options, throttle } from "./dom.js";
import { LiveLog } from "./live.js";
import { setUpAudit } from "./panels/audit.js";
import { setUpControl } from "./panels/control.js";
import { addEvents, setUpEvents } from "./panels/events.js";
import { refreshPools } from "./panels/pools.js";
import { refreshStats } from "./panels/stats.js";
import { setUpSubmit } from "./panels/submit.js";
import { refreshTask, setUpTaskDialog, shownTask } from "./panels/task_detail.js";
import { refreshTasks, setUpTasks } from "./panels/tasks.js";

const BACKLOG = 200;
const QUIET_REFRESH_MS = 10000;

async function readSchema() {
  const response = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
  const spec = await response.json();
  const enumOf = (name) => spec.components.schemas[name]?.enum || [];
  return {
    algorithms: enumOf("Algorithm"),
    distributions: enumOf("Distribution"),
    taskTypes: enumOf("TaskType"),
    resourceTypes: enumOf("ResourceType"),
    statuses: enumOf("TaskStatus"),
    paths: new Set(Object.keys(spec.paths)),
  };
}

function makeApp(schema) {
  const app = {
    schema,
    regions: [],
    setPools(pools) {
      const regions = [...new Set(pools.map((pool) => pool.region))].sort();
      if (regions.join() === app.regions.join()) return;
      app.regions = regions;
      byId("regions").replaceChildren(...regions.map((region) => h("option", { value: region })));
      for (const select of [byId("task-filters").elements.region, byId("simulate-form").elements.region_bias]) {
        options(select, regions, { keep: 1, selected: select.value });
      }
    },
    active: null,
    showAlgorithm(name) {
      if (name === app.active) return; // leave the operator's pending choice alone
      app.active = name;
      byId("active-algorithm").textContent = `algorithm: ${name}`;
      byId("active-algorithm").dataset.algorithm = name;
      byId("algorithm-form").elements.algorithm.value = name;
    },
  };
  app.refresh = {
    stats: throttle(() => refreshStats(app), 1000, "statistics"),
    pools: throttle(() => refreshPools(app), 1000, "pools"),
    tasks: throttle(() => refreshTasks(app), 1000, "tasks"),
    task: throttle(() => refreshTask(app), 500, "task"),
  };
  return app;
}

function setUpForms(app) {
  const { schema } = app;
  const form = byId("task-form");
  options(form.elements.type, schema.taskTypes);
  options(form.elements.resource_type, schema.resourceTypes.map((t) => [t, t.toUpperCase()]), { keep: 1 });
  const filters = byId("task-filters").elements;
  options(filters.status, schema.statuses, { keep: 1 });
  options(filters.type, schema.taskTypes, { keep: 1 });
}

function setUpKey() {
  const form = byId("key-form");
  byId("key-button").addEventListener("click", () => {
    form.hidden = !form.hidden;
    if (!form.hidden) form.elements.key.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    key.set(form.elements.key.value.trim());
    location.reload();
  });
  byId("key-forget").addEventListener("click", () => {
    key.forget();
    location.reload();
  });
  document.addEventListener("auth-needed", (event) => {
    form.hidden = false;
    notify("API key", `${event.detail}: enter a key with the scopes this needs`);
  });
}

// What each kind of event changes on the page.
function react(app, events) {
  const types = new Set(events.map((event) => event.type));
  const tasksChanged = [...types].some((type) => type.startsWith("Task") || type === "WorkerAssigned");
  // every change to a pool's load, capacity or state is an event on its stream (Pool*)
  const poolsChanged = [...types].some((type) => type.startsWith("Pool") || type === "WorkerPoolRegistered");
  if (tasksChanged) {
    app.refresh.tasks();
    app.refresh.stats();
  }
  if (poolsChanged) app.refresh.pools();
  if (types.has("AlgorithmSwitched")) app.refresh.stats(); // the stats name the active one
  const task = shownTask();
  if (task && events.some((event) => event.stream_id === `task-${task}`)) app.refresh.task();
}

function showLive(state) {
  const live = byId("live");
  live.dataset.state = state;
  live.textContent = state;
  if (state === "live") notify("loading", "");
}

async function start() {
  setUpKey();
  let schema;
  try {
    schema = await readSchema();
  } catch (error) {
    notify("schema", `the API's schema could not be read: ${error.message}`);
    return;
  }
  const app = makeApp(schema);
  setUpForms(app);
  setUpSubmit(app);
  setUpControl(app);
  setUpTasks(app);
  setUpTaskDialog();
  setUpEvents();
  setUpAudit(app);
  // The log head first: whatever commits while the panels load comes after it, so the live
  // log will refresh what it changes.
  let head = 0;
  try {
    ({ head } = await api("/api/v1/events", { query: { limit: 1 } }));
  } catch (error) {
    notify("loading", `${error.message} (reload the page to try again)`);
    return;
  }
  const loads = await Promise.allSettled([refreshStats(app), refreshPools(app), refreshTasks(app)]);
  const failed = loads.find((load) => load.status === "rejected");
  if (failed) notify("loading", failed.reason.message);
  try {
    const backlog = await api("/api/v1/events", { query: { after: Math.max(0, head - BACKLOG), limit: BACKLOG } });
    addEvents(backlog.events.filter((event) => event.position <= head));
  } catch (error) {
    notify("event log", error.message);
  }
  new LiveLog({ after: head, onEvents: (events) => { addEvents(events); react(app, events); }, onState: showLive }).start();
  setInterval(app.refresh.stats, QUIET_REFRESH_MS);
  window.addEventListener("resize", app.refresh.stats);
  document.body.dataset.ready = "true";
}

start();
