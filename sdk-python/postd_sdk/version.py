"""The SDK's version, stamped into every manifest.

Its major and minor versions follow the contract (``wit/since_v0.1.0``, package
``postd:connector@0.1.0``): the host serves connectors built with SDK ``0.1.x``. Patch releases
change the SDK alone.
"""

#: The version of this SDK.
SDK_VERSION = "0.1.0"
