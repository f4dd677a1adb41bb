"""Development stack: what runs where for `make run` and for the system tests (one source for both)."""
