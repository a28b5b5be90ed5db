"""Use cases: command handlers, the scheduling policy, simulated workers, and the ports
that infrastructure implements."""
