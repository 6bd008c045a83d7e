"""The example connector in Python: what connectors/example does in Rust, as plugin `example-py`.

It talks to a tiny JSON API at the plugin's `base-url` setting:
`GET /me` answers `{"id", "name"}`, `GET /accounts` answers `[{"id", "name"}]`,
`POST /posts {"account", "text", "link"}` answers `{"id", "url"}` and `DELETE /posts/{id}`
answers 204. Connections are API keys, stored in the vault as `api-key` and sent as a bearer
token. Webhook challenges echo the `challenge` query parameter.
"""

import postd_sdk as sdk
from postd_sdk import Capabilities, Error, http, log, vault

MAX_TEXT_CHARS = 500


def base_url():
    return vault.app_setting("base-url", "https://api.example.invalid")


def authorized(request):
    """Sends `request` with the connection's key; a non-2xx answer raises its error."""
    key = vault.require("api-key")
    return request.bearer(key).send().error_for_status()


def named(value):
    """`{"id", "name"}` from the platform, or a platform error when it is not one."""
    if not isinstance(value, dict) or not all(isinstance(value.get(k), str) for k in ("id", "name")):
        raise Error.platform("malformed-response", "expected an object with `id` and `name`")
    return value


class Example(sdk.Connector):
    def manifest(self):
        return (
            sdk.Manifest("example-py", "Example (Python)", "0.1.0", sdk.AuthKind.API_KEY)
            .with_capabilities(
                Capabilities.TEXT | Capabilities.LINK | Capabilities.DELETE | Capabilities.WEBHOOKS
            )
            .with_limits(max_text_chars=MAX_TEXT_CHARS)
            .with_rate_budget(10, 1)
        )

    def complete_auth(self, callback):
        key = sdk.field(callback.params, "api-key")
        if key is None:
            raise Error.invalid_input("an `api-key` parameter is required")
        vault.put("api-key", key)
        me = named(authorized(http.Request.get(f"{base_url()}/me")).json())
        return sdk.ConnectionInfo(
            external_id=me["id"],
            display_name=me["name"],
            scopes=[],
            expires_at=None,
            refresh_expires_at=None,
        )

    def list_accounts(self):
        accounts = authorized(http.Request.get(f"{base_url()}/accounts")).json()
        if not isinstance(accounts, list):
            raise Error.platform("malformed-response", "expected a list of accounts")
        return [
            sdk.Account(id=a["id"], name=a["name"], kind="feed", parent_id=None)
            for a in map(named, accounts)
        ]

    def publish(self, post, job):
        if len(post.text) > MAX_TEXT_CHARS:
            raise Error.invalid_input(f"text is longer than {MAX_TEXT_CHARS} characters")
        body = {"account": post.account_id, "text": post.text, "link": post.link}
        created = authorized(http.Request.post(f"{base_url()}/posts").json(body)).json()
        if not (isinstance(created, dict) and isinstance(created.get("id"), str)):
            raise Error.platform("malformed-response", "expected an object with `id`")
        if not isinstance(created.get("url"), (str, type(None))):
            raise Error.platform("malformed-response", "`url` is not a string")
        log.info("published", post_id=created["id"])
        return sdk.published(created["id"], url=created.get("url"))

    def delete_post(self, request):
        authorized(http.Request.delete(f"{base_url()}/posts/{http.encode(request.post_id)}"))

    def health(self):
        me = named(authorized(http.Request.get(f"{base_url()}/me")).json())
        return sdk.HealthReport(external_id=me["id"], scopes=[], message=f"connected as {me['name']}")

    def webhook_challenge(self, request):
        challenge = sdk.field(request.query, "challenge")
        if challenge is None:
            return None
        return sdk.WebhookResponse(
            status=200,
            headers=[("content-type", "text/plain")],
            body=challenge.encode(),
        )


# What componentize-py exports as the component's `connector` interface.
Connector = sdk.export_connector(Example)
