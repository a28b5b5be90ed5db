"""Use cases, by capability: command handlers (`commands/`), the scheduler
(`scheduling/`), the task lifecycle's clock (`lifecycle/`: delays, backoffs, lease and
timeout expiries), the read models' folds (`read_models/`), audit (`audit/`: verify,
explain, what-if), simulated execution (`simulation/`), and the ports that infrastructure
implements (`ports.py`)."""
