"""Structured logs into the host's traces, tagged with plugin, tenant, connection and job.

Fields are keyword arguments, underscores in their names becoming dashes:
``log.info("published", post_id=created["id"])`` logs the field ``post-id``. Names a keyword
cannot spell go in a dict: ``log.info("sent", {"x.y": 1})``. The host caps the volume per call
and redacts vault values.
"""

from wit_world.imports import log as _wit

#: Severities: ``Level.TRACE`` ... ``Level.ERROR``.
Level = _wit.Level


def emit(level, message, fields=None, **named):
    """Emits ``message`` at ``level`` with ``fields`` (a dict, names as they are) and
    ``named`` (keywords, ``_`` written ``-``); values become text."""
    pairs = [(str(name), str(value)) for name, value in (fields or {}).items()]
    pairs += [(name.replace("_", "-"), str(value)) for name, value in named.items()]
    _wit.emit(level, message, pairs)


def debug(message, fields=None, **named):
    """Debug-level event."""
    emit(Level.DEBUG, message, fields, **named)


def info(message, fields=None, **named):
    """Info-level event."""
    emit(Level.INFO, message, fields, **named)


def warn(message, fields=None, **named):
    """Warning."""
    emit(Level.WARN, message, fields, **named)


def error(message, fields=None, **named):
    """Error-level event."""
    emit(Level.ERROR, message, fields, **named)
