//! Webhooks: Mailchimp's unsigned form posts, authenticated by the secret that ends the URL.

use percent_encoding::percent_decode_str;
use postd_sdk::prelude::*;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::campaigns;
use crate::client::{self, Credential};

/// Mailchimp checks a callback URL with a GET when the webhook is saved: answer 200.
pub fn challenge(request: &WebhookRequest) -> Option<WebhookResponse> {
    request
        .method
        .eq_ignore_ascii_case("GET")
        .then(|| WebhookResponse {
            status: 200,
            headers: vec![("content-type".into(), "text/plain".into())],
            body: Vec::new(),
        })
}

/// App secret that derives each account's callback URL secret.
pub const WEBHOOK_KEY: &str = "webhook-key";

/// The secret that ends an account's callback URL: hex HMAC-SHA256 of the account id under the
/// operator's `webhook-key`. `None` when no key is configured (webhooks are then off).
pub fn url_secret(account_id: &str) -> Option<String> {
    let key = vault::app_secret(WEBHOOK_KEY).filter(|k| !k.is_empty())?;
    let message = format!("mailchimp-webhook:{account_id}");
    Some(hex::encode(webhook::hmac_sha256(
        key.as_bytes(),
        message.as_bytes(),
    )))
}

/// `{webhook-url}?account=<account id>&token=<url secret>`, when both are configured.
pub fn callback_url(account_id: &str) -> Option<String> {
    let base = vault::app_setting("webhook-url").filter(|u| !u.is_empty())?;
    let secret = url_secret(account_id)?;
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!(
        "{base}{separator}{}",
        http::query_string(&[("account", account_id), ("token", secret.as_str())])
    ))
}

#[derive(serde::Deserialize)]
struct Webhooks {
    #[serde(default)]
    webhooks: Vec<Registered>,
}

#[derive(serde::Deserialize)]
struct Registered {
    #[serde(default)]
    url: String,
}

/// Registers the account's callback URL on each of its audiences (events from users and
/// admins, not from API calls), unless it is there already. Does nothing when `webhook-url` or
/// `webhook-key` is not configured.
pub fn register(credential: &Credential, account_id: &str) -> Result<()> {
    let Some(url) = callback_url(account_id) else {
        return Ok(());
    };
    for audience in campaigns::audiences(credential)? {
        let path = format!("/lists/{}/webhooks", http::encode(&audience.id));
        let existing: Webhooks = client::send_json(credential.get(&path))?;
        if existing.webhooks.iter().any(|w| w.url == url) {
            continue;
        }
        let body = json!({
            "url": url,
            "events": { "subscribe": true, "unsubscribe": true, "profile": true,
                        "cleaned": true, "upemail": true, "campaign": true },
            "sources": { "user": true, "admin": true, "api": false },
        });
        client::send(credential.post(&path).json(&body)?)?;
        log::info("webhook registered", &[("audience", &audience.id)]);
    }
    Ok(())
}

/// Checks the URL's secret against the account's, in constant time, then parses the events.
/// The account comes from the URL (`account`), the secret from `token` or, for hosts that
/// route by path, the path's last segment.
pub fn verify(request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(Error::invalid_input("Mailchimp delivers events with POST"));
    }
    let refused = |why: &str| Error::invalid_input(format!("webhook refused: {why}"));
    let account = request
        .query_param("account")
        .filter(|a| !a.is_empty())
        .ok_or_else(|| refused("the callback URL names no account"))?;
    let presented = request
        .query_param("token")
        .or_else(|| request.path.split('/').rfind(|s| !s.is_empty()))
        .unwrap_or("");
    let expected = url_secret(account).ok_or_else(|| refused("no `webhook-key` is configured"))?;
    if !webhook::constant_time_eq(presented.as_bytes(), expected.as_bytes()) {
        return Err(refused("the URL secret does not match"));
    }
    let mut event = parse(&request.body)?;
    event.external_account_id = Some(account.to_string());
    Ok(vec![event])
}

/// Parses one form-encoded event into a webhook event.
pub fn parse(body: &[u8]) -> Result<WebhookEvent> {
    let text =
        std::str::from_utf8(body).map_err(|_| Error::invalid_input("webhook body is not UTF-8"))?;
    let mut root = Map::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        insert(&mut root, &decode(key)?, decode(value)?);
    }
    let root = Value::Object(root);
    let kind = root
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::invalid_input("webhook event has no `type`"))?
        .to_string();
    let data = root.get("data");
    let field = |name: &str| {
        data.and_then(|d| d.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    Ok(WebhookEvent {
        id: hex::encode(Sha256::digest(body)),
        // The audience; `verify` replaces it with the account the URL names, which is how the
        // host finds the connection.
        external_account_id: field("list_id"),
        // Campaign events carry the campaign id, which is the job's recovery point.
        recovery_point: if kind == "campaign" {
            field("id")
        } else {
            None
        },
        kind,
        payload: root.to_string(),
    })
}

fn decode(raw: &str) -> Result<String> {
    percent_decode_str(&raw.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::invalid_input("webhook body is not valid form encoding"))
}

/// Inserts `data[merges][FNAME]` = value as `{"data":{"merges":{"FNAME":value}}}`.
fn insert(root: &mut Map<String, Value>, key: &str, value: String) {
    let mut parts = key.split('[').map(|p| p.trim_end_matches(']'));
    let Some(first) = parts.next() else { return };
    let rest: Vec<&str> = parts.collect();
    let mut node = root;
    let mut name = first;
    for next in rest {
        let entry = node
            .entry(name.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(map) = entry else { return };
        node = map;
        name = next;
    }
    node.insert(name.to_string(), Value::String(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_events_become_nested_json() {
        let body = b"type=subscribe&fired_at=2025-01-24+15%3A30%3A00&data%5Bid%5D=8a25ff1d98\
&data%5Blist_id%5D=a1b2c3d4e5&data%5Bemail%5D=ann%40example.com&data%5Bmerges%5D%5BFNAME%5D=Ann";
        let event = parse(body).unwrap();
        assert_eq!(event.kind, "subscribe");
        assert_eq!(event.external_account_id.as_deref(), Some("a1b2c3d4e5"));
        assert_eq!(event.recovery_point, None);
        let payload: Value = serde_json::from_str(&event.payload).unwrap();
        assert_eq!(payload["fired_at"], "2025-01-24 15:30:00");
        assert_eq!(payload["data"]["email"], "ann@example.com");
        assert_eq!(payload["data"]["merges"]["FNAME"], "Ann");
        assert_eq!(event.id.len(), 64);
    }

    #[test]
    fn events_without_a_type_are_refused() {
        assert!(matches!(parse(b"data[id]=1"), Err(Error::InvalidInput(_))));
        assert!(matches!(parse(&[0xff, 0xfe]), Err(Error::InvalidInput(_))));
    }
}
