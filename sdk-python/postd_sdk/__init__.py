"""Write a Postd connector in Python.

A connector is a Python module built into a WebAssembly component by componentize-py; the host
runs it sandboxed, like a connector written in Rust. It subclasses :class:`Connector` (every
method but :meth:`Connector.manifest` raises "not supported" unless overridden) and exports the
class as the module's ``Connector`` with :func:`export_connector`::

    import postd_sdk as sdk
    from postd_sdk import http

    class Echo(sdk.Connector):
        def manifest(self):
            return sdk.Manifest("echo", "Echo", "0.1.0", sdk.AuthKind.API_KEY)

        def health(self):
            answer = http.Request.get("https://echo.example/ping").send().error_for_status()
            return sdk.HealthReport(external_id=answer.text(), scopes=[], message="ok")

    Connector = sdk.export_connector(Echo)

The host owns tokens, egress, retries and scheduling. A connector builds requests, reads answers
and maps errors: see :mod:`postd_sdk.http`, :mod:`~postd_sdk.vault`, :mod:`~postd_sdk.queue`,
:mod:`~postd_sdk.log`, :mod:`~postd_sdk.oauth`, :mod:`~postd_sdk.webhook`. Failures are raised
as :class:`Error`.

Each call runs in a fresh instance: keep nothing in globals between calls; tokens belong in the
vault, multi-step progress in queue continuations and checkpoints. Import what the connector
needs at the top of its modules: the component is snapshotted after its imports ran, and has no
file system to import from later.
"""

from componentize_py_types import Err
from wit_world import exports as _exports
from wit_world.exports.connector import (
    Account,
    AnalyticsRequest,
    AuthCallback,
    AuthKind,
    AuthorizeRequest,
    Capabilities,
    ConnectionInfo,
    ContentLimits,
    DeleteRequest,
    HealthReport,
    JobContext,
    Media,
    MediaKind,
    Metric,
    PluginManifest,
    Post,
    PublishOutcome_InProgress,
    PublishOutcome_Published,
    Published,
    RateBudget,
    ScheduleWindow,
    TaskContext,
    TokenExpiry,
    WebhookEvent,
    WebhookRequest,
    WebhookResponse,
)

from . import http, log, oauth, queue, vault, webhook
from .errors import DEFAULT_RETRY_AFTER_MS, Error, from_host_error, retry_after_ms
from .manifest import Manifest, content_limits
from .queue import Task
from .version import SDK_VERSION

__version__ = SDK_VERSION


def published(post_id, url=None, scheduled_for=None):
    """The outcome of a post that exists on the platform now."""
    return PublishOutcome_Published(Published(post_id, url, scheduled_for))


def in_progress(waiting_for):
    """The outcome of a post not done yet: a continuation was enqueued; ``waiting_for`` says
    what it waits for."""
    return PublishOutcome_InProgress(waiting_for)


def field(pairs, name, default=None):
    """The first value named ``name`` in a list of ``(name, value)`` pairs (callback
    parameters, query strings, post options, headers as they came), or ``default``."""
    return next((value for key, value in pairs if key == name), default)


class Connector:
    """What a connector implements. Every method except :meth:`manifest` raises
    ``Error.not_supported`` unless overridden, so a connector states only what its platform
    does. Methods return the contract's records and raise :class:`Error` on failure."""

    def manifest(self):
        """Who the connector is and what it can do, as a :class:`Manifest` (or a
        ``PluginManifest``). Must not do I/O: the host calls it to validate the component before
        serving it. The SDK stamps its version into ``sdk_version``."""
        raise NotImplementedError("a connector must define manifest()")

    def authorize_url(self, request):
        """The platform's consent URL (str) for an OAuth connection."""
        raise Error.not_supported("authorize-url")

    def complete_auth(self, callback):
        """Exchanges the callback (or a pasted ``api-key`` parameter) for tokens, stores them
        with :func:`vault.put`, answers a :class:`ConnectionInfo`."""
        raise Error.not_supported("complete-auth")

    def refresh(self):
        """Refreshes the connection's tokens in the vault; answers a :class:`TokenExpiry`."""
        raise Error.not_supported("refresh")

    def list_accounts(self):
        """Accounts the connection can post to: a list of :class:`Account`."""
        raise Error.not_supported("list-accounts")

    def publish(self, post, job):
        """Publishes (or natively schedules) a :class:`Post`; answers :func:`published` or
        :func:`in_progress`."""
        raise Error.not_supported("publish")

    def delete_post(self, request):
        """Deletes a published post (:class:`DeleteRequest`); answers ``None``."""
        raise Error.not_supported("delete-post")

    def analytics(self, request):
        """Reads figures for an account or a post: a list of :class:`Metric`."""
        raise Error.not_supported("analytics")

    def health(self):
        """Checks that the connection still works; answers a :class:`HealthReport`."""
        raise Error.not_supported("health")

    def webhook_challenge(self, request):
        """Answers a webhook subscription challenge with a :class:`WebhookResponse`; ``None``
        when the request is not one."""
        raise Error.not_supported("webhook-challenge")

    def verify_webhook(self, request):
        """Verifies a webhook delivery over its raw body; answers its :class:`WebhookEvent`\\ s."""
        raise Error.not_supported("verify-webhook")

    def handle_task(self, context):
        """Runs a continuation enqueued with :func:`queue.enqueue` (:class:`TaskContext`)."""
        raise Error.not_supported("handle-task")


_METHODS = (
    "authorize_url",
    "complete_auth",
    "refresh",
    "list_accounts",
    "publish",
    "delete_post",
    "analytics",
    "health",
    "webhook_challenge",
    "verify_webhook",
    "handle_task",
)


def export_connector(connector_class):
    """The class componentize-py exports as the component's ``connector`` interface, running
    ``connector_class`` (a :class:`Connector` subclass). Bind it to the name ``Connector`` at the
    top level of the app module: ``Connector = export_connector(MyConnector)``.

    Each call makes one ``connector_class()`` and calls its method; a raised :class:`Error`
    (or a host import's error left unhandled) becomes the contract's ``connector-error``. Any
    other exception is a bug: its traceback goes to the host's log and the call traps, as a Rust
    connector's panic does.
    """
    if not (isinstance(connector_class, type) and issubclass(connector_class, Connector)):
        raise TypeError("export_connector takes a subclass of postd_sdk.Connector")

    def manifest(self):
        built = connector_class().manifest()
        if isinstance(built, Manifest):
            return built.build()
        built.sdk_version = SDK_VERSION
        return built

    def delegate(name):
        def call(self, *args):
            try:
                return getattr(connector_class(), name)(*args)
            except Error as e:
                raise Err(e.value) from None
            except Err as e:
                raise Err(from_host_error(e).value) from None

        call.__name__ = name
        return call

    methods = {name: delegate(name) for name in _METHODS}
    methods["manifest"] = manifest
    methods["__doc__"] = f"The exported connector interface, running {connector_class.__name__}."
    return type("Connector", (_exports.Connector,), methods)


__all__ = [
    "Account",
    "AnalyticsRequest",
    "AuthCallback",
    "AuthKind",
    "AuthorizeRequest",
    "Capabilities",
    "ConnectionInfo",
    "Connector",
    "ContentLimits",
    "DEFAULT_RETRY_AFTER_MS",
    "DeleteRequest",
    "Error",
    "HealthReport",
    "JobContext",
    "Manifest",
    "Media",
    "MediaKind",
    "Metric",
    "PluginManifest",
    "Post",
    "Published",
    "RateBudget",
    "SDK_VERSION",
    "ScheduleWindow",
    "Task",
    "TaskContext",
    "TokenExpiry",
    "WebhookEvent",
    "WebhookRequest",
    "WebhookResponse",
    "content_limits",
    "export_connector",
    "field",
    "http",
    "in_progress",
    "log",
    "oauth",
    "published",
    "queue",
    "retry_after_ms",
    "vault",
    "webhook",
]
