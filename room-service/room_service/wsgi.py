"""gunicorn's entry: `room_service.wsgi:app`."""

from room_service import create_app

app = create_app()
