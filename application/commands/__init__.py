"""One module per command: the command and its handler side by side."""
