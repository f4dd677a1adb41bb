"""Recurring meetings: a series of ordinary reservations booked in one request."""
