"""The task lifecycle's clock: every due time (a delay, a retry backoff, a lease, a
timeout) in one place, derived from the log."""
