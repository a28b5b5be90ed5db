// The header's word on which server this is, when several PostgreSQL nodes share one log:
// every node takes commands and answers queries, one of them schedules and the others
// stand by, ready to take over. A single server (SQLite) shows nothing. And, once older
// events are archived, where the hot log starts and what the archive holds.

import { headers } from "../api.js";
import { byId } from "../dom.js";

export async function refreshNode() {
  // /health answers 503 with the same report when the node is unhealthy: read it either way
  const response = await fetch("/api/v1/health", { headers: headers({ Accept: "application/json" }) });
  const health = await response.json();
  showLogStart(health.log);
  const badge = byId("node");
  if (!health.node) {
    badge.hidden = true;
    return;
  }
  badge.hidden = false;
  badge.dataset.role = health.leader ? "leader" : "standby";
  badge.textContent = health.leader
    ? `node ${health.node}: scheduling`
    : `node ${health.node}: standby, ${health.leader_node || "another node"} schedules`;
}

function showLogStart(log) {
  const badge = byId("log-start");
  if (!log || !log.start) {
    badge.hidden = true;
    return;
  }
  badge.hidden = false;
  const segments = log.segments === 1 ? "1 segment" : `${log.segments} segments`;
  badge.textContent = `log from #${log.first_position} · ${segments} archived (${megabytes(log.bytes)})`;
  const last = log.retention && log.retention.last_run;
  badge.title = [
    `events 1..${log.start} are archived (newest cut ${log.newest_cut}), moved ${log.moved_at}`,
    last ? `last retention batch ${last.at}: ${last.archived} archived, ${last.removed} removed${last.error ? `, failed: ${last.error}` : ""}` : "",
  ].filter(Boolean).join("; ");
}

function megabytes(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}
