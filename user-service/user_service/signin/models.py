"""Sign-in state kept on our side between the redirect to the provider and its callback."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from servicekit.db import db


class OAuthState(db.Model):  # type: ignore[name-defined,misc]
    """Authlib's per-login data (state, nonce, PKCE verifier): server-side, used once, then deleted."""

    __tablename__ = "oauth_states"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
