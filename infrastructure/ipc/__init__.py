"""Serving one node from two processes: the HTTP process hands commands to the writer
process (the single writer, the scheduler, the timekeeper, the simulated workers) over a
socket pair, and reads the database itself."""
