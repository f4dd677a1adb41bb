"""Shared building blocks of the meeting-room services."""
