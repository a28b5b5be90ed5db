"""The scheduler: a long-running reactor that follows the log and issues AssignWorker and
DeferTask."""
