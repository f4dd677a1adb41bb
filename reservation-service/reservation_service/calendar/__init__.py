"""Calendar feeds (RFC 5545) of people's bookings, for their own calendar apps."""
