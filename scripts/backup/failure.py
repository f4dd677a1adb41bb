"""The one error the backup helper reports: a line saying what failed and what to check."""


class Failure(Exception):
    """Raised for S3 and Kafka problems; helper.py prints it and exits 1."""
