"""OAuth 2.0 helpers: consent URLs and token responses."""

import json as _json

from .errors import Error
from .http import query_string


def authorize_url(endpoint, client_id, redirect_uri, scopes, scope_separator, state, extra=()):
    """``endpoint?response_type=code&client_id=..&redirect_uri=..&scope=..&state=..`` plus
    ``extra`` ``(name, value)`` pairs, every value encoded. Scopes are joined with
    ``scope_separator`` (a space for most platforms, a comma for TikTok and Meta)."""
    pairs = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", scope_separator.join(scopes)),
        ("state", state),
        *extra,
    ]
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{query_string(pairs)}"


class TokenResponse:
    """A token endpoint's answer (RFC 6749 §5.1), tolerant of the platforms' variations:
    ``expires_in`` as a number or a string, the refresh token's lifetime under either common
    name, scopes separated by spaces or commas, an empty refresh token read as none."""

    def __init__(self, access_token, token_type=None, expires_in=None, refresh_token=None,
                 refresh_token_expires_in=None, scope=None):
        self.access_token = access_token
        self.token_type = token_type
        self.expires_in = expires_in
        self.refresh_token = refresh_token or None
        self.refresh_token_expires_in = refresh_token_expires_in
        self.scope = scope

    @classmethod
    def parse(cls, body):
        """Parses a token endpoint's body; an OAuth error body raises the matching error."""
        try:
            data = _json.loads(body)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("access_token"), str):
            refresh_in = data.get("refresh_token_expires_in", data.get("refresh_expires_in"))
            return cls(
                data["access_token"],
                token_type=data.get("token_type"),
                expires_in=_seconds(data.get("expires_in")),
                refresh_token=data.get("refresh_token"),
                refresh_token_expires_in=_seconds(refresh_in),
                scope=data.get("scope"),
            )
        raise oauth_error(body)

    def expires_at(self, now_unix):
        """When the access token expires, given the current time; ``None`` if never. Absurd
        lifetimes saturate at the contract's ``s64`` bounds instead of failing the call."""
        return None if self.expires_in is None else _s64(now_unix + self.expires_in)

    def refresh_expires_at(self, now_unix):
        """When the refresh token expires, given the current time; ``None`` if unknown."""
        if self.refresh_token_expires_in is None:
            return None
        return _s64(now_unix + self.refresh_token_expires_in)

    def scopes(self):
        """Granted scopes, split on spaces or commas."""
        return [s for s in (self.scope or "").replace(",", " ").split(" ") if s]


def oauth_error(body):
    """The :class:`Error` for an OAuth error body (``{"error", "error_description"}``):
    ``invalid_grant`` is revoked, ``temporarily_unavailable`` and ``server_error`` are transient,
    ``invalid_scope`` and ``access_denied`` missing permissions, the rest the platform's."""
    try:
        data = _json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("error"), str):
        return Error.platform("malformed-token-response", "token endpoint answered without a token")
    error, message = data["error"], data.get("error_description") or ""
    if error == "invalid_grant":
        return Error.auth_revoked(f"invalid_grant: {message}")
    if error in ("temporarily_unavailable", "server_error"):
        return Error.transient(f"{error}: {message}")
    if error in ("invalid_scope", "access_denied"):
        return Error.permission_missing()
    return Error.platform(error, message)


def _s64(value):
    return max(-(2**63), min(value, 2**63 - 1))


def _seconds(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None
