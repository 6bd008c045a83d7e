"""Outbound HTTP through the host, with a request builder and answer helpers.

The host checks every request (granted hosts, rate budget, body caps, timeouts) and never
follows redirects::

    me = (
        http.Request.get("https://api.example.com/me")
        .query("fields", "id,name")
        .bearer(token)
        .send()
        .error_for_status()
        .json()
    )
"""

import json as _json
import time as _time
from urllib.parse import quote as _quote

from componentize_py_types import Err
from wit_world.imports import http as _wit

from .errors import Error, from_host_error

#: The contract's request methods: ``Method.GET``, ``Method.POST``...
Method = _wit.Method


def encode(value):
    """Percent-encodes ``value`` for a query string, form body or path segment: every
    character but RFC 3986's unreserved ones (letters, digits, ``-._~``) is escaped."""
    return _quote(value, safe="-._~")


def query_string(pairs):
    """``a=1&b=two%20words``: ``(name, value)`` pairs encoded for a query string or an
    ``application/x-www-form-urlencoded`` body."""
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in pairs)


def now_unix():
    """Current time in Unix seconds, from the host's wall clock."""
    return int(_time.time())


class Request:
    """An outbound request under construction. Every builder method returns the request."""

    def __init__(self, method, url):
        """A request with no headers and no body."""
        self.method = method
        self.url = url
        self.headers = []
        self.body = b""
        self.timeout_ms = None

    @classmethod
    def get(cls, url):
        """``GET url``."""
        return cls(Method.GET, url)

    @classmethod
    def post(cls, url):
        """``POST url``."""
        return cls(Method.POST, url)

    @classmethod
    def put(cls, url):
        """``PUT url``."""
        return cls(Method.PUT, url)

    @classmethod
    def patch(cls, url):
        """``PATCH url``."""
        return cls(Method.PATCH, url)

    @classmethod
    def delete(cls, url):
        """``DELETE url``."""
        return cls(Method.DELETE, url)

    def header(self, name, value):
        """Adds a header (repeated names are kept in order)."""
        self.headers.append((name, value))
        return self

    def bearer(self, token):
        """``Authorization: Bearer <token>``."""
        return self.header("authorization", f"Bearer {token}")

    def query(self, name, value):
        """Appends one encoded query parameter to the URL."""
        separator = "&" if "?" in self.url else "?"
        self.url = f"{self.url}{separator}{encode(name)}={encode(str(value))}"
        return self

    def json(self, value):
        """A JSON body (compact, like serde_json) with its content type."""
        try:
            text = _json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        except (TypeError, ValueError) as e:
            raise Error.invalid_input(f"request body is not JSON: {e}") from None
        return self.body_bytes(text.encode(), "application/json")

    def form(self, pairs):
        """An ``application/x-www-form-urlencoded`` body of ``(name, value)`` pairs."""
        return self.body_bytes(query_string(pairs).encode(), "application/x-www-form-urlencoded")

    def body_bytes(self, data, content_type):
        """A raw body with its content type."""
        self.body = bytes(data)
        return self.header("content-type", content_type)

    def timeout(self, timeout_ms):
        """A per-request timeout; the host caps it by its own limit and the call's deadline."""
        self.timeout_ms = timeout_ms
        return self

    def try_send(self):
        """Sends the request through the host; a host refusal raises ``Err(http-error)``."""
        request = _wit.Request(self.method, self.url, list(self.headers), self.body, self.timeout_ms)
        answer = _wit.send(request)
        return Response(answer.status, answer.headers, answer.body)

    def send(self):
        """Sends the request through the host; a host refusal raises the matching
        :class:`~postd_sdk.Error` (denied: platform, rate-limited, timeout: transient...)."""
        try:
            return self.try_send()
        except Err as e:
            raise from_host_error(e) from None


class Response:
    """A platform's answer, whatever its status."""

    def __init__(self, status, headers, body):
        #: HTTP status.
        self.status = status
        #: Headers, ``(name, value)`` pairs, names in lower case.
        self.headers = list(headers)
        #: The whole body, bytes.
        self.body = bytes(body)

    def __repr__(self):
        return f"Response(status={self.status}, {len(self.body)} bytes)"

    def header(self, name):
        """The first value of header ``name`` (case-insensitive), or ``None``."""
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    def is_success(self):
        """True for 2xx."""
        return 200 <= self.status < 300

    def text(self):
        """The body as text (invalid UTF-8 replaced)."""
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        """The body parsed as JSON; a body that is not raises ``platform("malformed-response")``."""
        try:
            return _json.loads(self.body)
        except ValueError as e:
            raise Error.platform("malformed-response", str(e)) from None

    def error_for_status(self):
        """The response itself for 2xx; otherwise raises the error :meth:`Error.from_status`
        maps the status to (401 auth-expired, 429 rate-limited, 5xx transient...)."""
        if self.is_success():
            return self
        raise Error.from_status(self.status, self.headers, now_unix())
