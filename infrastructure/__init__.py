"""Adapters: the SQL event store and projections, the single writer, settings, logging,
and the composition root that wires them to the application."""
