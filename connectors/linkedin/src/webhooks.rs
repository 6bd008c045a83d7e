//! Webhooks: the `challengeCode` validation and `X-LI-Signature` deliveries.

use postd_sdk::prelude::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What LinkedIn prefixes to the body before signing it (and, perhaps, to the header).
const PREFIX: &str = "hmacsha256=";

/// `GET ?challengeCode=<uuid>`: answer `{challengeCode, challengeResponse}` where the response is
/// the hex HMAC-SHA256 of the code under the client secret; `None` for anything else.
pub fn challenge(request: &WebhookRequest) -> Result<Option<WebhookResponse>> {
    if !request.method.eq_ignore_ascii_case("GET") {
        return Ok(None);
    }
    let Some(code) = request.query_param("challengeCode") else {
        return Ok(None);
    };
    let secret = vault::require_app_secret("client-secret")?;
    let response = hex::encode(webhook::hmac_sha256(secret.as_bytes(), code.as_bytes()));
    Ok(Some(WebhookResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: json!({ "challengeCode": code, "challengeResponse": response })
            .to_string()
            .into_bytes(),
    }))
}

/// Checks `X-LI-Signature` (hex HMAC-SHA256 of `"hmacsha256=" + body` under the client secret,
/// the header with or without the `hmacsha256=` prefix) and parses the events.
pub fn verify(request: &WebhookRequest) -> Result<Vec<WebhookEvent>> {
    if !request.method.eq_ignore_ascii_case("POST") {
        return Err(Error::invalid_input("LinkedIn delivers events with POST"));
    }
    let header = request
        .header("x-li-signature")
        .ok_or_else(|| Error::invalid_input("webhook refused: no X-LI-Signature"))?
        .trim();
    let signature = header.strip_prefix(PREFIX).unwrap_or(header);
    let secret = vault::require_app_secret("client-secret")?;
    let mut signed = PREFIX.as_bytes().to_vec();
    signed.extend_from_slice(&request.body);
    if !webhook::verify_hmac_sha256_hex(secret.as_bytes(), &signed, signature) {
        return Err(Error::invalid_input(
            "webhook refused: X-LI-Signature does not match the body",
        ));
    }
    parse(&request.body)
}

/// One event per entry of `notifications` (or one for the whole body when there is none):
/// kind `<type>` or `<type>.<action>`, the organization or member it concerns as the account,
/// id from `notificationId` or else a digest of the body (a redelivery repeats it).
fn parse(body: &[u8]) -> Result<Vec<WebhookEvent>> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::invalid_input(format!("webhook body is not JSON: {e}")))?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("notification")
        .to_string();
    let account = |v: &Value| {
        ["organizationalEntity", "owner", "actor"]
            .iter()
            .find_map(|f| v.get(*f).and_then(Value::as_str))
            .map(str::to_string)
    };
    let digest =
        |v: &Value| hex::encode(Sha256::digest(v.to_string().as_bytes()))[..32].to_string();
    let Some(notifications) = value.get("notifications").and_then(Value::as_array) else {
        return Ok(vec![WebhookEvent {
            id: format!("{kind}:{}", digest(&value)),
            kind: kind.clone(),
            external_account_id: account(&value),
            recovery_point: None,
            payload: value.to_string(),
        }]);
    };
    Ok(notifications
        .iter()
        .map(|n| {
            let id = match n.get("notificationId") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => digest(n),
            };
            let action = n.get("action").and_then(Value::as_str);
            WebhookEvent {
                id: format!("{kind}:{id}"),
                kind: match action {
                    Some(a) => format!("{kind}.{a}"),
                    None => kind.clone(),
                },
                external_account_id: account(n).or_else(|| account(&value)),
                recovery_point: n
                    .get("sourcePost")
                    .and_then(Value::as_str)
                    .map(|p| format!("li-post:{p}")),
                payload: n.to_string(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_become_events() {
        let body = br#"{"type":"ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS","notifications":[{"notificationId":7,"action":"COMMENT","organizationalEntity":"urn:li:organization:1","sourcePost":"urn:li:share:9"}]}"#;
        let events = parse(body).unwrap();
        assert_eq!(events[0].id, "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS:7");
        assert_eq!(
            events[0].kind,
            "ORGANIZATION_SOCIAL_ACTION_NOTIFICATIONS.COMMENT"
        );
        assert_eq!(
            events[0].external_account_id.as_deref(),
            Some("urn:li:organization:1")
        );
        let single =
            parse(br#"{"type":"X","organizationalEntity":"urn:li:organization:1"}"#).unwrap();
        assert_eq!(single.len(), 1);
        assert_eq!(
            single[0].id,
            parse(br#"{"type":"X","organizationalEntity":"urn:li:organization:1"}"#).unwrap()[0].id
        );
    }
}
