"""gunicorn's entry: `reservation_service.wsgi:app`."""

from reservation_service import create_app

app = create_app()
