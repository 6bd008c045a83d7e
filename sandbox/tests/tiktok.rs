//! TikTok imitation, tested against ../shared/platforms/tiktok.md.

#[path = "tiktok/drafts_errors_webhooks.rs"]
mod drafts_errors_webhooks;
#[path = "tiktok/oauth.rs"]
mod oauth;
#[path = "tiktok/publishing.rs"]
mod publishing;
mod support;

use std::time::Duration;

use postd_sandbox::seed::*;
use postd_sandbox::{
    DeliveryOptions, FaultRule, Platform, RunningSandbox, SandboxConfig, TikTokConfig,
};
use serde_json::{Value, json};
use support::*;

const MB: u64 = 1024 * 1024;

fn api(sb: &RunningSandbox, path: &str) -> String {
    format!("{}/v2/{path}", sb.url(Platform::Tiktok))
}

fn assert_tt_error(a: &Answer, status: u16, code: &str) {
    assert_eq!(a.status, status, "{}", a.text);
    assert_eq!(a.body["error"]["code"], code, "{}", a.text);
    assert!(a.body["error"]["message"].is_string() && a.body["error"]["log_id"].is_string());
}

fn assert_ok(a: &Answer) {
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["error"]["code"], "ok", "{}", a.text);
}

async fn login(sb: &RunningSandbox) -> Answer {
    let a = get(&format!(
        "{}/v2/auth/authorize/?client_key={TIKTOK_CLIENT_KEY}&scope=user.info.basic,video.publish,video.upload,video.list&response_type=code&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&state=tt",
        sb.url(Platform::Tiktok)
    ))
    .await;
    assert_eq!(a.status, 302, "{}", a.text);
    let loc = a.header("location").expect("location");
    assert_eq!(param(&loc, "state").as_deref(), Some("tt"));
    let code = param(&loc, "code").expect("code");
    post_form(
        &api(sb, "oauth/token/"),
        &[
            ("client_key", TIKTOK_CLIENT_KEY),
            ("client_secret", TIKTOK_CLIENT_SECRET),
            ("code", &code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", "http://127.0.0.1:9/cb"),
        ],
    )
    .await
}

async fn refresh(sb: &RunningSandbox, token: &str) -> Answer {
    post_form(
        &api(sb, "oauth/token/"),
        &[
            ("client_key", TIKTOK_CLIENT_KEY),
            ("client_secret", TIKTOK_CLIENT_SECRET),
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
        ],
    )
    .await
}

fn init_body(size: u64, chunk: u64, total: u64, privacy: &str) -> Value {
    json!({
        "post_info": {"title": "Sandbox video #bread", "privacy_level": privacy, "disable_duet": false, "disable_comment": false, "disable_stitch": false, "video_cover_timestamp_ms": 1000},
        "source_info": {"source": "FILE_UPLOAD", "video_size": size, "chunk_size": chunk, "total_chunk_count": total},
    })
}

async fn status(sb: &RunningSandbox, token: &str, id: &str) -> Value {
    let a = post_json(
        &api(sb, "post/publish/status/fetch/"),
        Some(token),
        &json!({"publish_id": id}),
    )
    .await;
    assert_ok(&a);
    a.body["data"].clone()
}
