"""Secrets of the current connection and the plugin's app configuration.

Writes made during a call become visible when the call returns successfully; a failed call
writes nothing. Values never appear in logs: the host redacts them.
"""

from componentize_py_types import Err
from wit_world.imports import vault as _wit

from .errors import Error, from_host_error


def get(name):
    """Reads a secret of the current connection; ``None`` when it is not stored."""
    try:
        return _wit.get(name)
    except Err as e:
        raise from_host_error(e) from None


def require(name):
    """Reads a secret that must exist; its absence means the connection was never completed
    (raises ``auth-revoked``)."""
    value = get(name)
    if value is None:
        raise Error.auth_revoked(f"no `{name}` stored for this connection")
    return value


def put(name, value):
    """Writes a secret of the current connection."""
    try:
        _wit.put(name, value)
    except Err as e:
        raise from_host_error(e) from None


def delete(name):
    """Removes a secret; True when it existed."""
    try:
        return _wit.delete(name)
    except Err as e:
        raise from_host_error(e) from None


def app_secret(name):
    """A read-only secret the operator configured (``client-id``, ``client-secret``), or ``None``."""
    return _wit.app_secret(name)


def app_setting(name, default=None):
    """A read-only, non-secret setting the operator configured (``base-url``), or ``default``:
    base URLs point at the real platform unless configured."""
    value = _wit.app_setting(name)
    return default if value is None else value
