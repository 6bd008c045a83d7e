//! Webhooks: the subscription check, `X-Hub-Signature-256` deliveries, and deauthorization /
//! data-deletion callbacks signed as `signed_request`.

use percent_encoding::percent_decode_str;
use postd_sdk::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn answer(status: u16, body: &str) -> WebhookResponse {
    WebhookResponse {
        status,
        headers: vec![("content-type".into(), "text/plain".into())],
        body: body.as_bytes().to_vec(),
    }
}

/// `GET ?hub.mode=subscribe&hub.challenge=N&hub.verify_token=S`: echo N when S is the
/// configured `webhook-verify-token`, 403 otherwise; `None` for anything else.
pub fn challenge(request: &WebhookRequest) -> Result<Option<WebhookResponse>> {
    if !request.method.eq_ignore_ascii_case("GET")
        || request.query_param("hub.mode") != Some("subscribe")
    {
        return Ok(None);
    }
    let presented = request.query_param("hub.verify_token").unwrap_or("");
    let matches = vault::app_secret("webhook-verify-token").is_some_and(|expected| {
        webhook::constant_time_eq(presented.as_bytes(), expected.as_bytes())
    });
    Ok(Some(
        match (matches, request.query_param("hub.challenge")) {
            (true, Some(challenge)) => answer(200, challenge),
            _ => answer(403, "verify token mismatch"),
        },
    ))
}

/// Verifies a delivery over its raw body and parses its events.
pub fn verify(request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(Error::invalid_input("Meta delivers events with POST"));
    }
    let secret = vault::require_app_secret("client-secret")?;
    if let Some(signed) = form_field(&request.body, "signed_request") {
        let data_deletion = request
            .path
            .trim_end_matches('/')
            .ends_with("data-deletion")
            || request.query_param("callback") == Some("data-deletion");
        return signed_request(&signed, &secret, data_deletion).map(|e| vec![e]);
    }
    let signature = request
        .header("x-hub-signature-256")
        .and_then(|v| v.trim().strip_prefix("sha256="))
        .ok_or_else(|| Error::invalid_input("webhook refused: no X-Hub-Signature-256"))?;
    if !webhook::verify_hmac_sha256_hex(secret.as_bytes(), &request.body, signature) {
        return Err(Error::invalid_input(
            "webhook refused: X-Hub-Signature-256 does not match the body",
        ));
    }
    parse_delivery(&request.body)
}

#[derive(Deserialize)]
struct Delivery {
    #[serde(default)]
    object: String,
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    id: String,
    #[serde(default)]
    time: i64,
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    field: String,
    #[serde(default)]
    value: Value,
}

/// One event per change: kind `<object>.<field>`, id from the entry, time and change digest
/// (Meta sends no event id; a retried delivery repeats all three).
fn parse_delivery(body: &[u8]) -> Result<Vec<WebhookEvent>> {
    let delivery: Delivery = serde_json::from_slice(body)
        .map_err(|e| Error::invalid_input(format!("webhook body is not a Graph delivery: {e}")))?;
    let mut events = Vec::new();
    for entry in delivery.entry {
        for change in entry.changes {
            let value = change.value.to_string();
            let digest = hex::encode(Sha256::digest(format!("{}{value}", change.field)));
            events.push(WebhookEvent {
                id: format!("{}:{}:{}", entry.id, entry.time, &digest[..16]),
                kind: format!("{}.{}", delivery.object, change.field),
                external_account_id: Some(entry.id.clone()).filter(|s| !s.is_empty()),
                recovery_point: None,
                payload: json!({ "object": delivery.object, "id": entry.id, "time": entry.time,
                                 "field": change.field, "value": change.value })
                .to_string(),
            });
        }
    }
    Ok(events)
}

/// The decoded value of `name` in a form body, if the body is a form that has it.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
    })
}

#[derive(Deserialize)]
struct SignedPayload {
    #[serde(default)]
    algorithm: String,
    #[serde(default)]
    issued_at: i64,
    #[serde(default)]
    user_id: String,
}

/// `<b64url signature>.<b64url payload>`, signature = HMAC-SHA256(payload segment, app secret).
/// The callback URL says which callback it is (a path ending in `data-deletion`, or
/// `?callback=data-deletion`); otherwise it is the deauthorization callback.
fn signed_request(value: &str, secret: &str, data_deletion: bool) -> Result<WebhookEvent> {
    let refused = |why: &str| Error::invalid_input(format!("signed_request refused: {why}"));
    let (signature, payload) = value.split_once('.').ok_or_else(|| refused("malformed"))?;
    let signature = base64url(signature).ok_or_else(|| refused("malformed signature"))?;
    if !webhook::verify_hmac_sha256(secret.as_bytes(), payload.as_bytes(), &signature) {
        return Err(refused("the signature does not match"));
    }
    let json = base64url(payload).ok_or_else(|| refused("malformed payload"))?;
    let data: SignedPayload =
        serde_json::from_slice(&json).map_err(|_| refused("the payload is not JSON"))?;
    if !data.algorithm.eq_ignore_ascii_case("HMAC-SHA256") {
        return Err(refused("unexpected algorithm"));
    }
    let kind = if data_deletion {
        "data_deletion"
    } else {
        "deauthorize"
    };
    Ok(WebhookEvent {
        id: format!("{kind}:{}:{}", data.user_id, data.issued_at),
        kind: kind.to_string(),
        external_account_id: Some(data.user_id.clone()).filter(|s| !s.is_empty()),
        recovery_point: None,
        payload: json!({ "user_id": data.user_id, "issued_at": data.issued_at }).to_string(),
    })
}

/// Decodes unpadded (or padded) base64url.
fn base64url(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_decodes_with_and_without_padding() {
        assert_eq!(base64url("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64url("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64url("-_8").unwrap(), [0xfb, 0xff]);
        assert!(base64url("a b").is_none());
    }

    #[test]
    fn deliveries_become_one_event_per_change() {
        let body = br#"{"object":"page","entry":[{"id":"P","time":1700000000,"changes":[{"field":"feed","value":{"item":"status","post_id":"P_1","verb":"add"}}]}]}"#;
        let events = parse_delivery(body).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, "page.feed");
        assert_eq!(events[0].external_account_id.as_deref(), Some("P"));
        assert!(events[0].id.starts_with("P:1700000000:"));
    }

    #[test]
    fn form_fields_are_decoded() {
        assert_eq!(
            form_field(b"a=1&signed_request=x.y%3D", "signed_request").as_deref(),
            Some("x.y=")
        );
        assert_eq!(form_field(b"{\"json\":1}", "signed_request"), None);
    }
}
