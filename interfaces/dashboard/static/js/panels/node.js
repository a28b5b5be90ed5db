// The header's word on which server this is, when several PostgreSQL nodes share one log:
// every node takes commands and answers queries, one of them schedules and the others
// stand by, ready to take over. A single server (SQLite) shows nothing.

import { headers } from "../api.js";
import { byId } from "../dom.js";

export async function refreshNode() {
  // /health answers 503 with the same report when the node is unhealthy: read it either way
  const response = await fetch("/api/v1/health", { headers: headers({ Accept: "application/json" }) });
  const health = await response.json();
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
