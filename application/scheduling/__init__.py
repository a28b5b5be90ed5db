"""The scheduler: a policy that reacts to the log and issues AssignWorker and DeferTask."""
