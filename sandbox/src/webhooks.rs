//! Webhook delivery with each platform's real signature scheme, and the subscription checks platforms
//! send before delivering.
//!
//! - Meta: JSON body, `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(body, app secret)>`; deauthorize and
//!   data-deletion callbacks are form posts of `signed_request=<b64url sig>.<b64url payload>`.
//! - LinkedIn: JSON body, `X-LI-Signature: <hex HMAC-SHA256("hmacsha256=" + body, client secret)>`
//!   (whether the header carries the `hmacsha256=` prefix is unconfirmed: [`DeliveryOptions`] can add it).
//! - TikTok: JSON envelope `{client_key, event, create_time, user_openid, content}` with `content` a JSON
//!   string, `TikTok-Signature: t=<unix>,s=<hex HMAC-SHA256("<t>.<body>", client secret)>`.
//! - Google Business Profile: a Pub/Sub push envelope, not signed.
//! - Mailchimp: a form post (`type=...&fired_at=...&data[...]=...`), not signed; the secret is in the URL.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::clock;
use crate::platform::Platform;
use crate::seed;

/// Choices for one delivery.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct DeliveryOptions {
    /// LinkedIn: send `X-LI-Signature: hmacsha256=<hex>` instead of the bare hex (the unconfirmed reading).
    pub linkedin_prefixed_signature: bool,
    /// TikTok: the `t=` timestamp to sign with (default: the sandbox clock), to test stale-timestamp rejection.
    pub timestamp: Option<i64>,
    /// Meta: post `event` as a `signed_request` form (deauthorize / data deletion callback).
    pub meta_signed_request: bool,
    /// Sign with this secret instead of the app secret, to test that a receiver rejects a bad signature.
    pub secret: Option<String>,
}

/// What the receiver was sent and what it answered.
#[derive(Clone, Debug, Serialize)]
pub struct WebhookDelivery {
    /// Status the receiver answered.
    pub status: u16,
    /// Body the receiver answered.
    pub response_body: String,
    /// Headers sent (besides the HTTP client's own).
    pub sent_headers: Vec<(String, String)>,
    /// Body sent.
    pub sent_body: String,
}

/// The outcome of a subscription check.
#[derive(Clone, Debug, Serialize)]
pub struct SubscriptionCheck {
    /// Status the receiver answered.
    pub status: u16,
    /// Body the receiver answered.
    pub response_body: String,
    /// The challenge sent.
    pub challenge: String,
    /// Whether the answer is what the platform requires.
    pub passed: bool,
}

/// Why a delivery could not be made.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The receiver could not be reached.
    #[error("webhook delivery to {url} failed: {reason}")]
    Send {
        /// Target URL.
        url: String,
        /// Transport error.
        reason: String,
    },
    /// The platform has no such mechanism, or the event cannot be sent that way.
    #[error("webhook: {0}")]
    Unsupported(String),
}

type HmacSha256 = Hmac<Sha256>;

fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    hex::encode(hmac_raw(key, parts))
}

fn hmac_raw(key: &str, parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length; new_from_slice only fails for fixed-size-key MACs.
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable!());
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Meta's `X-Hub-Signature-256` value for `body`: `sha256=<hex>`.
pub fn meta_signature(body: &[u8], app_secret: &str) -> String {
    format!("sha256={}", hmac_hex(app_secret, &[body]))
}

/// Meta's `signed_request`: `<b64url(HMAC-SHA256(payload segment))>.<b64url(JSON payload)>`.
pub fn meta_signed_request(payload: &Value, app_secret: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload_seg = b64.encode(payload.to_string());
    let sig = b64.encode(hmac_raw(app_secret, &[payload_seg.as_bytes()]));
    format!("{sig}.{payload_seg}")
}

/// LinkedIn's `X-LI-Signature` value: hex HMAC-SHA256 over `"hmacsha256=" + body`.
pub fn linkedin_signature(body: &[u8], client_secret: &str) -> String {
    hmac_hex(client_secret, &[b"hmacsha256=", body])
}

/// LinkedIn's `challengeResponse` for a `challengeCode`.
pub fn linkedin_challenge_response(challenge_code: &str, client_secret: &str) -> String {
    hmac_hex(client_secret, &[challenge_code.as_bytes()])
}

/// TikTok's `TikTok-Signature` value: `t=<t>,s=<hex HMAC-SHA256("<t>.<body>")>`.
pub fn tiktok_signature(timestamp: i64, body: &[u8], client_secret: &str) -> String {
    let t = timestamp.to_string();
    format!(
        "t={t},s={}",
        hmac_hex(client_secret, &[t.as_bytes(), b".", body])
    )
}

/// Flattens a JSON object into Mailchimp's form fields: `{"data":{"merges":{"FNAME":"A"}}}` -> `data[merges][FNAME]=A`.
pub fn mailchimp_form_fields(event: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}[{k}]")
                    };
                    walk(&key, v, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
            Value::Null => out.push((prefix.to_string(), String::new())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", event, &mut out);
    out
}

fn app_secret(platform: Platform) -> &'static str {
    match platform {
        Platform::Meta => seed::META_APP_SECRET,
        Platform::Linkedin => seed::LINKEDIN_CLIENT_SECRET,
        Platform::Tiktok => seed::TIKTOK_CLIENT_SECRET,
        Platform::Gbp => seed::GBP_CLIENT_SECRET,
        Platform::Mailchimp => seed::MAILCHIMP_CLIENT_SECRET,
    }
}

/// What a platform sends for one event.
#[derive(Clone, Debug)]
pub struct BuiltDelivery {
    /// `Content-Type` of the body.
    pub content_type: String,
    /// Signature and other platform headers.
    pub headers: Vec<(String, String)>,
    /// The raw body (what signatures cover).
    pub body: Vec<u8>,
}

/// Builds what `platform` would send for `event`: content type, extra headers and body.
pub fn build_delivery(
    platform: Platform,
    event: &Value,
    options: &DeliveryOptions,
    now_unix: i64,
) -> Result<BuiltDelivery, WebhookError> {
    let secret = options.secret.as_deref().unwrap_or(app_secret(platform));
    let json_ct = "application/json".to_string();
    let (content_type, headers, body) = match platform {
        Platform::Meta if options.meta_signed_request => {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("signed_request", &meta_signed_request(event, secret))
                .finish();
            (
                "application/x-www-form-urlencoded".into(),
                Vec::new(),
                body.into_bytes(),
            )
        }
        Platform::Meta => {
            let body = event.to_string().into_bytes();
            let sig = meta_signature(&body, secret);
            (json_ct, vec![("X-Hub-Signature-256".into(), sig)], body)
        }
        Platform::Linkedin => {
            let body = event.to_string().into_bytes();
            let hex = linkedin_signature(&body, secret);
            let value = if options.linkedin_prefixed_signature {
                format!("hmacsha256={hex}")
            } else {
                hex
            };
            (json_ct, vec![("X-LI-Signature".into(), value)], body)
        }
        Platform::Tiktok => {
            let mut envelope = match event {
                Value::Object(m) => m.clone(),
                _ => {
                    return Err(WebhookError::Unsupported(
                        "a TikTok event must be a JSON object".into(),
                    ));
                }
            };
            envelope
                .entry("client_key")
                .or_insert_with(|| json!(seed::TIKTOK_CLIENT_KEY));
            envelope
                .entry("create_time")
                .or_insert_with(|| json!(now_unix));
            envelope
                .entry("user_openid")
                .or_insert_with(|| json!(seed::TIKTOK_OPEN_ID));
            // The real envelope carries `content` as a JSON string.
            let content = match envelope.remove("content") {
                Some(Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => "{}".to_string(),
            };
            envelope.insert("content".into(), Value::String(content));
            let body = Value::Object(envelope).to_string().into_bytes();
            let t = options.timestamp.unwrap_or(now_unix);
            (
                json_ct,
                vec![(
                    "TikTok-Signature".into(),
                    tiktok_signature(t, &body, secret),
                )],
                body,
            )
        }
        Platform::Gbp => {
            let b64 = base64::engine::general_purpose::STANDARD;
            let mut attributes = Map::new();
            if let Some(t) = event.get("type").and_then(Value::as_str) {
                attributes.insert("notificationType".into(), json!(t));
            }
            let body = json!({
                "message": {
                    "data": b64.encode(event.to_string()),
                    "messageId": format!("{}", now_unix),
                    "publishTime": clock::rfc3339(now_unix),
                    "attributes": attributes,
                },
                "subscription": "projects/postd-sandbox/subscriptions/business-profile",
            });
            (json_ct, Vec::new(), body.to_string().into_bytes())
        }
        Platform::Mailchimp => {
            let mut event = event.clone();
            if let Some(obj) = event.as_object_mut()
                && !obj.contains_key("fired_at")
            {
                // Mailchimp's own format: `2025-01-24 15:30:00`.
                let fired = clock::rfc3339(now_unix).replace('T', " ").replace('Z', "");
                obj.insert("fired_at".into(), json!(fired));
            }
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in mailchimp_form_fields(&event) {
                ser.append_pair(&k, &v);
            }
            (
                "application/x-www-form-urlencoded".into(),
                Vec::new(),
                ser.finish().into_bytes(),
            )
        }
    };
    Ok(BuiltDelivery {
        content_type,
        headers,
        body,
    })
}

fn client() -> Result<reqwest::Client, WebhookError> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| WebhookError::Unsupported(format!("cannot build an HTTP client: {e}")))
}

/// Signs and POSTs `event` to `url` as `platform` would; returns what the receiver answered.
pub async fn deliver(
    platform: Platform,
    url: &str,
    event: &Value,
    options: &DeliveryOptions,
    now_unix: i64,
) -> Result<WebhookDelivery, WebhookError> {
    let BuiltDelivery {
        content_type,
        headers,
        body,
    } = build_delivery(platform, event, options, now_unix)?;
    let mut request = client()?.post(url).header("content-type", &content_type);
    for (k, v) in &headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let response = request
        .body(body.clone())
        .send()
        .await
        .map_err(|e| WebhookError::Send {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    let status = response.status().as_u16();
    let response_body = response.text().await.unwrap_or_default();
    let mut sent_headers = vec![("Content-Type".to_string(), content_type)];
    sent_headers.extend(headers);
    Ok(WebhookDelivery {
        status,
        response_body,
        sent_headers,
        sent_body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Sends the subscription check `platform` sends before delivering (Meta `hub.challenge`, LinkedIn
/// `challengeCode`, Mailchimp's GET on save) and judges the answer.
pub async fn verify_subscription(
    platform: Platform,
    url: &str,
    verify_token: &str,
    nonce: u64,
) -> Result<SubscriptionCheck, WebhookError> {
    let (target, challenge) = match platform {
        Platform::Meta => {
            let challenge = (1_000_000_000 + nonce % 1_000_000_000).to_string();
            let target = crate::http::append_query(
                url,
                &[
                    ("hub.mode", "subscribe"),
                    ("hub.challenge", &challenge),
                    ("hub.verify_token", verify_token),
                ],
            );
            (target, challenge)
        }
        Platform::Linkedin => {
            let challenge = format!(
                "{:08x}-0000-4000-8000-{:012x}",
                nonce,
                nonce.wrapping_mul(7919)
            );
            (
                crate::http::append_query(url, &[("challengeCode", &challenge)]),
                challenge,
            )
        }
        Platform::Mailchimp => (url.to_string(), String::new()),
        Platform::Tiktok | Platform::Gbp => {
            return Err(WebhookError::Unsupported(format!(
                "{platform} sends no subscription check"
            )));
        }
    };
    let response = client()?
        .get(&target)
        .send()
        .await
        .map_err(|e| WebhookError::Send {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    let status = response.status().as_u16();
    let response_body = response.text().await.unwrap_or_default();
    let passed = match platform {
        Platform::Meta => status == 200 && response_body.trim() == challenge,
        Platform::Linkedin => {
            let answer: Value = serde_json::from_str(&response_body).unwrap_or(Value::Null);
            status == 200
                && answer.get("challengeCode").and_then(Value::as_str) == Some(challenge.as_str())
                && answer.get("challengeResponse").and_then(Value::as_str)
                    == Some(
                        linkedin_challenge_response(&challenge, seed::LINKEDIN_CLIENT_SECRET)
                            .as_str(),
                    )
        }
        _ => (200..300).contains(&status),
    };
    Ok(SubscriptionCheck {
        status,
        response_body,
        challenge,
        passed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_hmac_vector() {
        // RFC 4231 test case 2.
        let mac = hmac_hex("Jefe", &[b"what do ya want for nothing?"]);
        assert_eq!(
            mac,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn mailchimp_events_get_a_fired_at_in_mailchimp_format() {
        let built = build_delivery(
            Platform::Mailchimp,
            &json!({"type": "unsubscribe", "data": {"email": "a@example.com"}}),
            &DeliveryOptions::default(),
            1_700_000_000,
        )
        .map(|b| String::from_utf8_lossy(&b.body).into_owned())
        .unwrap_or_default();
        assert!(
            built.contains("fired_at=2023-11-14+22%3A13%3A20"),
            "{built}"
        );
        assert!(built.contains("data%5Bemail%5D=a%40example.com"), "{built}");
    }

    #[test]
    fn mailchimp_fields_flatten() {
        let fields =
            mailchimp_form_fields(&json!({"type":"subscribe","data":{"merges":{"FNAME":"Ann"}}}));
        assert!(fields.contains(&("data[merges][FNAME]".into(), "Ann".into())));
        assert!(fields.contains(&("type".into(), "subscribe".into())));
    }
}
