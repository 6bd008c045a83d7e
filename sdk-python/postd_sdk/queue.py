"""Continuations and recovery points of the current job."""

from componentize_py_types import Err
from wit_world.imports import queue as _wit

from .errors import from_host_error

#: A continuation: ``Task(kind, payload)``, the payload usually JSON and never a secret.
Task = _wit.Task


def enqueue(task, delay_ms):
    """Asks the host to call ``handle_task`` with ``task`` after ``delay_ms`` milliseconds."""
    try:
        _wit.enqueue(task, delay_ms)
    except Err as e:
        raise from_host_error(e) from None


def checkpoint(recovery_point):
    """Records the job's recovery point now, before the next risky step: a retry receives it
    in ``job.recovery_point`` and can resume instead of starting over."""
    try:
        _wit.checkpoint(recovery_point)
    except Err as e:
        raise from_host_error(e) from None
