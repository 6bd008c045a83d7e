"""A builder for the connector's manifest, which stamps the SDK's version into it.

::

    Manifest("example-py", "Example (Python)", "0.1.0", AuthKind.API_KEY)
        .with_capabilities(Capabilities.TEXT | Capabilities.LINK)
        .with_limits(max_text_chars=500)
        .with_rate_budget(10, 1)
"""

from wit_world.exports import connector as _wit

from .version import SDK_VERSION


class Manifest:
    """Who the connector is and what it can do. Starts with no capabilities, no limits and no
    scopes; the ``with_*`` methods add them and return the builder. :meth:`build` (called by the
    SDK when ``manifest`` returns a builder) makes the contract's ``plugin-manifest``."""

    def __init__(self, id, display_name, version, auth):
        """``id`` must equal the plugin's key in ``plugins.toml``; ``version`` is the connector's
        own (semver); ``auth`` an :class:`AuthKind`."""
        self.id = id
        self.display_name = display_name
        self.version = version
        self.auth = auth
        self.scopes = []
        self.capabilities = _wit.Capabilities(0)
        self.limits = content_limits()
        self.rate_budget = None
        self.refresh_before_expiry_secs = None
        self.schedule_window = None

    def with_capabilities(self, capabilities):
        """Sets the capabilities (``Capabilities.TEXT | Capabilities.DELETE``)."""
        self.capabilities = capabilities
        return self

    def with_scopes(self, scopes):
        """Sets the default OAuth scopes."""
        self.scopes = list(scopes)
        return self

    def with_limits(self, **limits):
        """Sets content limits by name: ``max_text_chars``, ``max_media_count``,
        ``max_image_bytes``, ``max_video_bytes``, ``max_video_seconds``."""
        self.limits = content_limits(**limits)
        return self

    def with_rate_budget(self, requests, per_seconds):
        """Sets the default request budget: ``requests`` per ``per_seconds``."""
        self.rate_budget = _wit.RateBudget(requests, per_seconds)
        return self

    def with_refresh_before_expiry(self, seconds):
        """Refresh tokens this long before they expire."""
        self.refresh_before_expiry_secs = seconds
        return self

    def with_schedule_window(self, min_lead_secs, max_lead_secs):
        """The native scheduling window, in seconds from now."""
        self.schedule_window = _wit.ScheduleWindow(min_lead_secs, max_lead_secs)
        return self

    def build(self):
        """The contract's ``plugin-manifest``, ``sdk-version`` stamped with :data:`SDK_VERSION`."""
        return _wit.PluginManifest(
            id=self.id,
            display_name=self.display_name,
            version=self.version,
            sdk_version=SDK_VERSION,
            auth=self.auth,
            scopes=list(self.scopes),
            capabilities=self.capabilities,
            limits=self.limits,
            rate_budget=self.rate_budget,
            refresh_before_expiry_secs=self.refresh_before_expiry_secs,
            schedule_window=self.schedule_window,
        )


def content_limits(
    max_text_chars=None,
    max_media_count=None,
    max_image_bytes=None,
    max_video_bytes=None,
    max_video_seconds=None,
):
    """Content limits; each left out is ``None``, no limit the connector knows of."""
    return _wit.ContentLimits(
        max_text_chars, max_media_count, max_image_bytes, max_video_bytes, max_video_seconds
    )
