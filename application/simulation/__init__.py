"""Simulated execution: the built-in simulated workers, the traffic generator and the demo
pools. Not part of routing: a way to run it without real workers."""
