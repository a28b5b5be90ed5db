"""Read models built from the log, each with a checkpoint committed alongside its rows."""
