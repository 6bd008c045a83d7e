"""The connector error and how HTTP answers map onto it.

Every connector method reports failure by raising :class:`Error`, which carries one case of the
contract's ``connector-error`` variant. The host derives retryability from the case: connectors
describe what happened, the host decides what to do about it::

    raise Error.transient("the platform said try again")
"""

import calendar

from componentize_py_types import Err
from wit_world.imports import http as _http
from wit_world.imports import queue as _queue
from wit_world.imports import types as _types
from wit_world.imports import vault as _vault

#: Wait used when a platform says "too many requests" without saying for how long.
DEFAULT_RETRY_AFTER_MS = 60_000

#: The largest wait the contract can carry (`u64`); longer ones saturate here.
_U64_MAX = 2**64 - 1

_MONTHS = {
    name: number
    for number, name in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}


class Error(Exception):
    """A connector error: raise it from any connector method.

    ``value`` is the contract's ``connector-error`` case (``wit_world.imports.types``); build it
    with the class methods rather than by hand.
    """

    def __init__(self, value):
        super().__init__(value)
        self.value = value

    def __repr__(self):
        return f"Error({self.value!r})"

    @property
    def kind(self):
        """The case's name as in the contract: ``transient``, ``rate-limited``, ``platform``..."""
        return _KIND_NAMES[type(self.value)]

    def is_retryable(self):
        """True for the cases the host retries: rate-limited and transient."""
        retried = (_types.ConnectorError_RateLimited, _types.ConnectorError_Transient)
        return isinstance(self.value, retried)

    @classmethod
    def not_supported(cls, what):
        """The connector or platform does not do ``what``. Permanent."""
        return cls(_types.ConnectorError_NotSupported(what))

    @classmethod
    def invalid_input(cls, reason):
        """The request can never succeed as given. Permanent."""
        return cls(_types.ConnectorError_InvalidInput(reason))

    @classmethod
    def transient(cls, reason):
        """A passing failure; the host retries with backoff."""
        return cls(_types.ConnectorError_Transient(reason))

    @classmethod
    def rate_limited(cls, retry_after_ms, reason):
        """Over the platform's budget; the host retries after ``retry_after_ms`` milliseconds
        without spending an attempt."""
        return cls(_types.ConnectorError_RateLimited(_types.RateLimitedInfo(retry_after_ms, reason)))

    @classmethod
    def auth_expired(cls, reason):
        """The access token expired; a refresh may fix it."""
        return cls(_types.ConnectorError_AuthExpired(reason))

    @classmethod
    def auth_revoked(cls, reason):
        """Access was revoked; only a new authorization fixes it."""
        return cls(_types.ConnectorError_AuthRevoked(reason))

    @classmethod
    def permission_missing(cls, scopes=()):
        """The connection lacks these scopes or permissions."""
        return cls(_types.ConnectorError_PermissionMissing(list(scopes)))

    @classmethod
    def platform(cls, code, message):
        """Any other platform error, with the platform's own code (as text)."""
        return cls(_types.ConnectorError_Platform(_types.PlatformError(str(code), message)))

    @classmethod
    def from_status(cls, status, headers, now_unix):
        """Maps a non-success HTTP status to an error, for platforms whose statuses say enough.

        ``headers`` are the response headers (for ``Retry-After``), ``now_unix`` the current time
        in seconds, used when ``Retry-After`` is a date. The same table as the Rust SDK:

        - 429: rate-limited, waiting ``Retry-After`` (or 60 s)
        - 401: auth-expired; 403: permission-missing
        - 400, 404, 405, 409, 410, 413, 415, 422: invalid-input
        - 408, 425, 500 and every other 5xx: transient (rate-limited if a 503 says ``Retry-After``)
        - anything else: platform, with the status as code
        """
        value = _header(headers, "retry-after")
        retry_after = retry_after_ms(value, now_unix) if value is not None else None
        if status == 429:
            wait = DEFAULT_RETRY_AFTER_MS if retry_after is None else retry_after
            return cls.rate_limited(wait, "HTTP 429 Too Many Requests")
        if status == 401:
            return cls.auth_expired("HTTP 401 Unauthorized")
        if status == 403:
            return cls.permission_missing()
        if status in (400, 404, 405, 409, 410, 413, 415, 422):
            return cls.invalid_input(f"HTTP {status}")
        if status == 503 and retry_after is not None:
            return cls.rate_limited(retry_after, "HTTP 503 with Retry-After")
        if status in (408, 425) or 500 <= status <= 599:
            return cls.transient(f"HTTP {status}")
        return cls.platform(str(status), f"unexpected HTTP status {status}")


_KIND_NAMES = {
    _types.ConnectorError_RateLimited: "rate-limited",
    _types.ConnectorError_AuthExpired: "auth-expired",
    _types.ConnectorError_AuthRevoked: "auth-revoked",
    _types.ConnectorError_PermissionMissing: "permission-missing",
    _types.ConnectorError_InvalidInput: "invalid-input",
    _types.ConnectorError_NotSupported: "not-supported",
    _types.ConnectorError_Transient: "transient",
    _types.ConnectorError_Platform: "platform",
}


_VAULT_ERRORS = (
    _vault.VaultError_NoConnection,
    _vault.VaultError_InvalidName,
    _vault.VaultError_TooLarge,
)
_QUEUE_ERRORS = (
    _queue.QueueError_NoJob,
    _queue.QueueError_TooManyPending,
    _queue.QueueError_DelayTooLong,
    _queue.QueueError_TooLarge,
)


def from_host_error(error):
    """The :class:`Error` for what a host import raised (``Err`` of an ``http-error``,
    ``vault-error`` or ``queue-error``), the way the Rust SDK's conversions map them."""
    value = error.value if isinstance(error, Err) else error
    if isinstance(value, tuple(_KIND_NAMES)):
        return Error(value)
    if isinstance(value, _http.HttpError_Denied):
        return Error.platform("egress-denied", value.value)
    if isinstance(value, _http.HttpError_RateLimited):
        return Error.rate_limited(value.value, "host rate budget spent")
    if isinstance(value, _http.HttpError_Timeout):
        return Error.transient("request timed out")
    if isinstance(value, _http.HttpError_TooLarge):
        return Error.invalid_input(f"body over {value.value} bytes")
    if isinstance(value, _http.HttpError_InvalidRequest):
        return Error.invalid_input(value.value)
    if isinstance(value, _http.HttpError_Connection):
        return Error.transient(value.value)
    if isinstance(value, _vault.VaultError_Unavailable):
        return Error.transient(f"vault unavailable: {value.value}")
    if isinstance(value, _VAULT_ERRORS):
        return Error.invalid_input(f"vault: {value!r}")
    if isinstance(value, _QUEUE_ERRORS):
        return Error.invalid_input(f"queue: {value!r}")
    return Error.platform("unexpected-error", repr(value))


def _header(headers, name):
    name = name.lower()
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def retry_after_ms(value, now_unix):
    """Parses a ``Retry-After`` value, delta-seconds or an HTTP date (RFC 9110 §10.2.3), into
    milliseconds from ``now_unix``. A date in the past means 0; anything else is ``None``.
    Values too large for the contract's ``u64`` saturate instead of wrapping."""
    value = value.strip()
    if value and value.isascii() and value.isdigit():
        return min(int(value) * 1000, _U64_MAX)
    at = _parse_imf_fixdate(value)
    if at is None:
        return None
    return min(max(at - now_unix, 0) * 1000, _U64_MAX)


def _parse_imf_fixdate(value):
    """``Sun, 06 Nov 1994 08:49:37 GMT`` into Unix seconds, or ``None``."""
    _, comma, rest = value.partition(", ")
    parts = rest.split(" ")
    if not comma or len(parts) != 5 or parts[4] != "GMT":
        return None
    day, month, year, clock = parts[0], _MONTHS.get(parts[1]), parts[2], parts[3].split(":")
    numbers = [day, year, *clock]
    if month is None or len(clock) != 3 or not all(n.isascii() and n.isdigit() for n in numbers):
        return None
    if len(year) != 4:
        return None
    day, year = int(day), int(year)
    h, m, s = (int(n) for n in clock)
    if not 1 <= day <= 31 or h > 23 or m > 59 or s > 60:
        return None
    return calendar.timegm((year, month, day, h, m, s))
