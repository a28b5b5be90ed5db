"""`taskrouterx worker`: a worker process for an external pool, speaking the lease
protocol over HTTP."""
