"""Feed secrets: derived from a server-side key, the user and a reset counter, so nothing secret is stored.

A secret is the user id and an HMAC over (user id, counter), url-safe base64: 28 bytes, 160 of them the MAC.
Resetting raises the counter, so every earlier secret stops matching.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from servicekit.db import db

MAC_BYTES = 20
_SECRET = re.compile(r"[A-Za-z0-9_-]{38}", re.ASCII)


class FeedCounter(db.Model):  # type: ignore[name-defined,misc]
    """How many times a user has reset their feed URL (no row: never)."""

    __tablename__ = "calendar_feed_counters"

    user_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    resets: Mapped[int] = mapped_column(sa.Integer, default=0)


def _mac(key: bytes, user_id: int, resets: int) -> bytes:
    return hmac.new(key, f"calendar-feed:{user_id}:{resets}".encode(), hashlib.sha256).digest()[:MAC_BYTES]


def _resets(session: Session, user_id: int) -> int:
    return session.scalar(sa.select(FeedCounter.resets).where(FeedCounter.user_id == user_id)) or 0


def secret_for(session: Session, key: bytes, user_id: int) -> str:
    raw = user_id.to_bytes(8, "big") + _mac(key, user_id, _resets(session, user_id))
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def reset(session: Session, key: bytes, user_id: int) -> str:
    statement = insert(FeedCounter).values(user_id=user_id, resets=1)
    session.execute(
        statement.on_conflict_do_update(index_elements=[FeedCounter.user_id], set_={"resets": FeedCounter.resets + 1})
    )
    return secret_for(session, key, user_id)


def user_of(session: Session, key: bytes, secret: str) -> int | None:
    """The user whose current secret this is; None for anything else (compared in constant time)."""
    if not _SECRET.fullmatch(secret):
        return None
    try:
        raw = base64.urlsafe_b64decode(secret + "==")
    except (binascii.Error, ValueError):
        return None
    user_id, mac = int.from_bytes(raw[:8], "big"), raw[8:]
    if not 1 <= user_id < 2**63:
        return None
    expected = _mac(key, user_id, _resets(session, user_id))
    return user_id if hmac.compare_digest(mac, expected) else None
