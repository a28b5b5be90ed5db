"""The TaskRouterX domain: tasks, worker pools, the scheduler configuration and the
scheduling algorithms. Imports nothing but the standard library."""
