//! Webhooks: `TikTok-Signature: t=<unix>,s=<hex>` where `s` is HMAC-SHA256 of `"<t>.<raw body>"`
//! under the client secret; deliveries more than [`TOLERANCE_SECS`] away from now are refused
//! (a replayed old delivery fails even with a valid signature).
//!
//! The envelope `{client_key, event, create_time, user_openid, content}` (content a JSON
//! string) becomes one event: kind = `event`, account = `user_openid`, and for publish events
//! the `publish_id` as recovery point, so the host wakes the job waiting on that publish and its
//! next status poll runs at once. TikTok sends no event id: the id is a digest of the body, which
//! a redelivery repeats, so duplicates are dropped.

use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How far a delivery's `t` may be from now, in seconds.
pub const TOLERANCE_SECS: i64 = 300;

/// `t` and `s` of a `TikTok-Signature` value.
pub fn parse_signature(value: &str) -> Option<(i64, &str)> {
    let mut t = None;
    let mut s = None;
    for part in value.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = v.trim().parse().ok(),
            Some(("s", v)) => s = Some(v.trim()),
            _ => {}
        }
    }
    Some((t?, s?))
}

/// Checks the signature of `body` under `secret` at `now`.
pub fn check(signature: Option<&str>, body: &[u8], secret: &str, now: i64) -> Result<()> {
    let (t, s) = signature
        .and_then(parse_signature)
        .ok_or_else(|| Error::invalid_input("webhook refused: no valid TikTok-Signature header"))?;
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(Error::invalid_input(format!(
            "webhook refused: signed at {t}, more than {TOLERANCE_SECS} s from now"
        )));
    }
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    if !webhook::verify_hmac_sha256_hex(secret.as_bytes(), &signed, s) {
        return Err(Error::invalid_input(
            "webhook refused: TikTok-Signature does not match the body",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    client_key: Option<String>,
    event: String,
    #[serde(default)]
    create_time: Option<i64>,
    #[serde(default)]
    user_openid: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

/// Verifies a delivery and parses its event.
pub fn verify(request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(Error::invalid_input("TikTok delivers events with POST"));
    }
    check(
        request.header("tiktok-signature"),
        &request.body,
        &vault::require_app_secret("client-secret")?,
        http::now_unix(),
    )?;
    let envelope: Envelope = serde_json::from_slice(&request.body)
        .map_err(|e| Error::invalid_input(format!("webhook body is not TikTok's envelope: {e}")))?;
    if let Some(key) = &envelope.client_key
        && *key != crate::auth::OAUTH.client_id()?
    {
        return Err(Error::invalid_input(
            "webhook refused: the event is for another app's client key",
        ));
    }
    Ok(vec![event(envelope, &request.body)])
}

fn event(envelope: Envelope, body: &[u8]) -> WebhookEvent {
    let content: Value = envelope
        .content
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    let publish_id = content
        .get("publish_id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let digest = hex::encode(Sha256::digest(body));
    WebhookEvent {
        id: format!("{}:{}", envelope.event, &digest[..32]),
        kind: envelope.event.clone(),
        external_account_id: envelope.user_openid,
        recovery_point: publish_id,
        payload: json!({
            "event": envelope.event,
            "create_time": envelope.create_time,
            "content": content,
        })
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cret";

    fn sign(t: i64, body: &[u8]) -> String {
        let mut signed = format!("{t}.").into_bytes();
        signed.extend_from_slice(body);
        format!(
            "t={t},s={}",
            hex::encode(webhook::hmac_sha256(SECRET.as_bytes(), &signed))
        )
    }

    #[test]
    fn good_signatures_pass_and_bad_or_stale_ones_do_not() {
        let body = br#"{"event":"post.publish.complete"}"#;
        let now = 1_800_000_000;
        assert!(check(Some(&sign(now - 10, body)), body, SECRET, now).is_ok());
        assert!(check(Some(&sign(now, body)), b"{}", SECRET, now).is_err());
        assert!(check(Some(&sign(now - 301, body)), body, SECRET, now).is_err());
        assert!(check(Some(&sign(now + 301, body)), body, SECRET, now).is_err());
        assert!(check(Some("t=1"), body, SECRET, now).is_err());
        assert!(check(None, body, SECRET, now).is_err());
    }

    #[test]
    fn publish_events_carry_their_publish_id() {
        let body = br#"{"event":"post.publish.failed","user_openid":"u1","content":"{\"publish_id\":\"v_pub_1\",\"reason\":\"x\"}"}"#;
        let envelope: Envelope = serde_json::from_slice(body).unwrap();
        let e = event(envelope, body);
        assert_eq!(e.kind, "post.publish.failed");
        assert_eq!(e.recovery_point.as_deref(), Some("v_pub_1"));
        assert_eq!(e.external_account_id.as_deref(), Some("u1"));
        assert!(e.id.starts_with("post.publish.failed:"));
    }
}
