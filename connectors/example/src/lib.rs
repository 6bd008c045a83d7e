//! The example connector: the smallest useful connector, and the template for partners.
//!
//! It talks to a tiny JSON API at the plugin's `base-url` setting:
//! `GET /me` answers `{"id", "name"}`, `GET /accounts` answers `[{"id", "name"}]`,
//! `POST /posts {"account", "text"}` answers `{"id", "url"}` and `DELETE /posts/{id}` answers 204.
//! Connections are API keys, stored in the vault as `api-key` and sent as a bearer token.
//! Webhook challenges echo the `challenge` query parameter.

use postd_sdk::prelude::*;
use serde::Deserialize;

struct Example;

#[derive(Deserialize)]
struct Named {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    #[serde(default)]
    url: Option<String>,
}

fn base_url() -> String {
    vault::app_setting_or("base-url", "https://api.example.invalid")
}

fn authorized(request: http::Request) -> Result<http::Response> {
    let key = vault::require("api-key")?;
    request.bearer(&key).send()?.error_for_status()
}

impl Connector for Example {
    fn manifest() -> Manifest {
        Manifest::new(
            "example",
            "Example",
            env!("CARGO_PKG_VERSION"),
            AuthKind::ApiKey,
        )
        .with_capabilities(
            Capabilities::TEXT | Capabilities::LINK | Capabilities::DELETE | Capabilities::WEBHOOKS,
        )
        .with_limits(ContentLimits {
            max_text_chars: Some(500),
            ..ContentLimits::none()
        })
        .with_rate_budget(10, 1)
        .with_setting("base-url", false, "the example API's origin")
    }

    fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
        let key = callback
            .params
            .iter()
            .find(|(name, _)| name == "api-key")
            .map(|(_, value)| value.clone())
            .ok_or_else(|| Error::invalid_input("an `api-key` parameter is required"))?;
        vault::put("api-key", &key)?;
        let me: Named = authorized(http::Request::get(format!("{}/me", base_url())))?.json()?;
        Ok(ConnectionInfo {
            external_id: me.id,
            display_name: me.name,
            scopes: vec![],
            expires_at: None,
            refresh_expires_at: None,
        })
    }

    fn list_accounts() -> Result<Vec<Account>> {
        let accounts: Vec<Named> =
            authorized(http::Request::get(format!("{}/accounts", base_url())))?.json()?;
        Ok(accounts
            .into_iter()
            .map(|a| Account {
                id: a.id,
                name: a.name,
                kind: "feed".into(),
                parent_id: None,
            })
            .collect())
    }

    fn publish(post: Post, _job: JobContext) -> Result<PublishOutcome> {
        if post.text.chars().count() > 500 {
            return Err(Error::invalid_input("text is longer than 500 characters"));
        }
        let body =
            serde_json::json!({ "account": post.account_id, "text": post.text, "link": post.link });
        let created: Created =
            authorized(http::Request::post(format!("{}/posts", base_url())).json(&body)?)?
                .json()?;
        log::info("published", &[("post-id", &created.id)]);
        Ok(PublishOutcome::Published(Published {
            post_id: created.id,
            url: created.url,
            scheduled_for: None,
        }))
    }

    fn delete_post(request: DeleteRequest) -> Result<()> {
        let url = format!("{}/posts/{}", base_url(), http::encode(&request.post_id));
        authorized(http::Request::delete(url))?;
        Ok(())
    }

    fn health() -> Result<HealthReport> {
        let me: Named = authorized(http::Request::get(format!("{}/me", base_url())))?.json()?;
        Ok(HealthReport {
            external_id: me.id,
            scopes: vec![],
            message: format!("connected as {}", me.name),
        })
    }

    fn webhook_challenge(request: WebhookRequest) -> Result<Option<WebhookResponse>> {
        let challenge = request.query.iter().find(|(name, _)| name == "challenge");
        Ok(challenge.map(|(_, value)| WebhookResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: value.clone().into_bytes(),
        }))
    }
}

register_connector!(Example);
