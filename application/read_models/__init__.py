"""What each event does to each read model, stated once.

A read model is rows folded from the log: a task row (`tasks`), a pool row (`pools`) and
the statistics counters (`stats`). For each, one table maps every event type to a pure
function of the event as stored (its type and payload, times as ISO text) and the row so
far, returning the columns it changes. The SQL projections, the views folded straight from
a stream, time travel, the what-if replay's inputs and the audit all fold through these
tables; nothing else says what an event changes. Every event type has an entry in every
table, `UNCHANGED` where it changes nothing there, so a new event type cannot be forgotten
(a test holds the tables to `domain.events.EVENT_TYPES`)."""
