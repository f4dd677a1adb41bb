"""Check-in, and the release of no-shows in rooms that require it."""
