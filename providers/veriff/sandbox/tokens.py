"""The sessionToken: an HS256 JWT signed with the API secret (README, "Endpoints").

The seed's sample decodes to `{session_id, iat, exp}` with exp − iat = 604800 s (7 days). The
hosted page reads the session id from it; whether the session is still usable is decided by the
session's own (scaled) clock, not by `exp`, so that SIM_TIME_SCALE applies to it as to the rest.
"""

import datetime as dt
import uuid

import jwt

from .integration import integration

TOKEN_LIFETIME = dt.timedelta(days=7)


def make_session_token(session_id: uuid.UUID, issued_at: dt.datetime) -> str:
    iat = int(issued_at.timestamp())
    claims = {"session_id": str(session_id), "iat": iat, "exp": iat + int(TOKEN_LIFETIME.total_seconds())}
    return jwt.encode(claims, integration().api_secret, algorithm="HS256")


def session_id_from_token(token: str) -> uuid.UUID | None:
    """The session a token was minted for, or None for a forged or malformed token."""
    try:
        claims = jwt.decode(
            token, integration().api_secret, algorithms=["HS256"], options={"verify_exp": False}
        )
        return uuid.UUID(claims["session_id"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return None
