// The event log, live. Reads GET /api/v1/events/stream (Server-Sent Events) with fetch
// rather than EventSource, because EventSource cannot send the API key. Every event's SSE id
// is its log position: the reader remembers the last one and reconnects with Last-Event-ID,
// so a dropped connection or a restarted server loses nothing and repeats nothing (anything
// at or below the last position seen is ignored all the same). After four failed
// connections in a row (retried after 0.5, 1 and 2 s) it falls back to polling GET
// /api/v1/events, and tries the stream again every 10 s. The server pings a quiet stream every 10 s; a connection silent for three
// pings is taken for dead (a sleeping laptop, a proxy that dropped it) and made again.

import { api, askForKeyOn, headers } from "./api.js";

const PING_S = 10;
const SILENCE_MS = 3 * PING_S * 1000;
const POLL_MS = 2000;
const STREAM_RETRY_MS = 10000;
const ATTEMPTS = 4;
const MAX_BACKOFF_MS = 10000;

export class LiveLog {
  constructor({ after, onEvents, onState }) {
    this.last = after;
    this.onEvents = onEvents;
    this.onState = onState;
    this.failures = 0;
    this.stopped = false;
    this.controller = null;
  }

  start() {
    this.run();
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  async run() {
    while (!this.stopped) {
      if (this.failures >= ATTEMPTS) {
        await this.poll(STREAM_RETRY_MS);
        this.failures = ATTEMPTS - 1; // one more stream attempt, then back to polling if it fails
        continue;
      }
      this.onState(this.failures ? "reconnecting" : "connecting");
      const healthy = await this.stream();
      if (this.stopped) return;
      this.failures = healthy ? 0 : this.failures + 1;
      this.onState("reconnecting");
      if (this.failures < ATTEMPTS) await sleep(Math.min(MAX_BACKOFF_MS, 250 * 2 ** this.failures));
    }
  }

  // One connection, read until it ends; true if it delivered anything (a clean end of a
  // working stream, such as a server restart, is not counted as a failure).
  async stream() {
    const controller = new AbortController();
    this.controller = controller;
    let delivered = false;
    let watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
    const heard = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), SILENCE_MS);
    };
    try {
      const response = await fetch(`/api/v1/events/stream?ping_s=${PING_S}`, {
        headers: headers({ Accept: "text/event-stream", "Last-Event-ID": String(this.last) }),
        signal: controller.signal,
        cache: "no-store",
      });
      if (!response.ok || !response.body) {
        askForKeyOn(response.status, "the event stream needs an API key");
        return false;
      }
      this.onState("live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        heard();
        delivered = true;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        const batch = [];
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = parseFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
          if (event && event.position > this.last) {
            this.last = event.position;
            batch.push(event);
          }
        }
        if (batch.length) this.onEvents(batch);
      }
    } catch {
      // refused, dropped or aborted: the caller reconnects
    } finally {
      clearTimeout(watchdog);
    }
    return delivered;
  }

  async poll(forMs) {
    this.onState("polling");
    const until = Date.now() + forMs;
    while (!this.stopped && Date.now() < until) {
      try {
        const page = await api("/api/v1/events", { query: { after: this.last, limit: 1000 } });
        const fresh = page.events.filter((event) => event.position > this.last);
        if (fresh.length) {
          this.last = fresh[fresh.length - 1].position;
          this.onEvents(fresh);
        }
        if (page.events.length === 1000) continue;
      } catch {
        // the server is away; keep polling until it is back
      }
      await sleep(POLL_MS);
    }
  }
}

function parseFrame(text) {
  const data = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("data:")) data.push(line.slice(line.startsWith("data: ") ? 6 : 5));
  }
  if (!data.length) return null; // a ping or the retry hint
  try {
    return JSON.parse(data.join("\n"));
  } catch {
    return null;
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
