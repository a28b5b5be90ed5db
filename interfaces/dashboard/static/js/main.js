// The dashboard's composition root: read the choices the API offers (written into the
// page), set up every panel, load them, then keep them current from the live event log (each
// event schedules a refresh of what it changes, at most one a second per panel).

import { api, key } from "./api.js";
import { byId, h, notify, options, throttle } from "./dom.js";
import { LiveLog } from "./live.js";
import { setUpAudit } from "./panels/audit.js";
import { setUpControl } from "./panels/control.js";
import { addEvents, setUpEvents } from "./panels/events.js";
import { refreshNode } from "./panels/node.js";
import { refreshPools } from "./panels/pools.js";
import { refreshStats } from "./panels/stats.js";
import { setUpSubmit } from "./panels/submit.js";
import { refreshTask, setUpTaskDialog, shownTask } from "./panels/task_detail.js";
import { refreshTasks, setUpTasks } from "./panels/tasks.js";
import { refreshTenants } from "./panels/tenants.js";

const BACKLOG = 200;
const QUIET_REFRESH_MS = 10000;

// The choices the API accepts, written into the page by the server (no schema to fetch).
function readChoices() {
  return JSON.parse(byId("choices").textContent);
}

function makeApp(choices) {
  const app = {
    choices,
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
    tenants: [],
    setTenants(names) {
      if (names.join() === app.tenants.join()) return;
      app.tenants = names;
      const filter = byId("task-filters").elements.tenant;
      options(filter, names, { keep: 1, selected: filter.value });
      const submit = byId("task-form").elements.tenant;
      options(submit, names.filter((name) => name !== "default"), { keep: 1, selected: submit.value });
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
    tenants: throttle(() => refreshTenants(app), 1000, "tenants"),
    tasks: throttle(() => refreshTasks(app), 1000, "tasks"),
    task: throttle(() => refreshTask(app), 500, "task"),
    node: throttle(refreshNode, 1000, "node"),
  };
  return app;
}

function setUpForms(app) {
  const { choices } = app;
  const form = byId("task-form");
  options(form.elements.type, choices.taskTypes);
  options(form.elements.resource_type, choices.resourceTypes.map((t) => [t, t.toUpperCase()]), { keep: 1 });
  const filters = byId("task-filters").elements;
  options(filters.status, choices.statuses, { keep: 1 });
  options(filters.type, choices.taskTypes, { keep: 1 });
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
    app.refresh.tenants(); // their queued, delayed and running counts
  }
  if (types.has("TenantCreated") || types.has("TenantChanged")) app.refresh.tenants();
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
  const app = makeApp(readChoices());
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
  // the panels and the log's recent past at once; the backlog ends at the head, so the
  // live log takes over where it stops
  const backlog = api("/api/v1/events", { query: { after: Math.max(0, head - BACKLOG), limit: BACKLOG } })
    .then(({ events }) => addEvents(events.filter((event) => event.position <= head)))
    .catch((error) => notify("event log", error.message));
  const loads = await Promise.allSettled([
    refreshStats(app), refreshPools(app), refreshTenants(app), refreshTasks(app), refreshNode(),
  ]);
  const failed = loads.find((load) => load.status === "rejected");
  if (failed) notify("loading", failed.reason.message);
  await backlog;
  new LiveLog({ after: head, onEvents: (events) => { addEvents(events); react(app, events); }, onState: showLive }).start();
  setInterval(app.refresh.stats, QUIET_REFRESH_MS);
  setInterval(app.refresh.tenants, QUIET_REFRESH_MS); // their chart moves on with the time
  setInterval(app.refresh.node, QUIET_REFRESH_MS); // a takeover or an archive run writes no event
  window.addEventListener("resize", () => { app.refresh.stats(); app.refresh.tenants(); });
  document.body.dataset.ready = "true";
}

start();
