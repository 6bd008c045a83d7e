//! The server itself: endpoints, reset, the binary, public URLs, shutdown.

use super::*;

#[tokio::test]
async fn health_names_every_platform_url() {
    let sb = start().await;
    let a = get(&control(&sb, "health")).await;
    assert_eq!(a.body["status"], "ok");
    for p in Platform::ALL {
        assert_eq!(a.body["platforms"][p.as_str()], sb.url(p));
    }
    assert_eq!(get(&format!("{}/nowhere", sb.base_url())).await.status, 404);
    let endpoints = get(&control(&sb, "endpoints")).await;
    let list = endpoints.body["endpoints"]
        .as_array()
        .expect("endpoints")
        .clone();
    assert!(list.contains(&json!({"platform": "mailchimp", "real": "https://{dc}.api.mailchimp.com", "sandbox": format!("{}/{{dc}}", sb.url(Platform::Mailchimp))})));
    assert_eq!(sb.endpoints().len(), list.len());
    let ping_url =
        postd_sandbox::to_sandbox(&sb.base_url(), "https://us6.api.mailchimp.com/3.0/ping")
            .expect("mapped");
    let a = answer(
        client()
            .get(ping_url)
            .basic_auth("x", Some(MAILCHIMP_API_KEY_US6))
            .send()
            .await
            .expect("ping"),
    )
    .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn reset_of_one_platform_leaves_the_others() {
    let sb = start().await;
    let li = sb.issue_token(Platform::Linkedin).access_token;
    let tt = sb.issue_token(Platform::Tiktok).access_token;
    sb.set_latency(Platform::Tiktok, std::time::Duration::from_millis(1));
    post_json(&control(&sb, "tiktok/reset"), None, &json!({})).await;
    assert_eq!(sb.state().faults.get(Platform::Tiktok).latency_ms, 0);
    assert_eq!(
        get_bearer(
            &format!("{}/v2/user/info/?fields=open_id", sb.url(Platform::Tiktok)),
            &tt
        )
        .await
        .status,
        401
    );
    assert_eq!(
        get_bearer(&format!("{}/v2/userinfo", sb.url(Platform::Linkedin)), &li)
            .await
            .status,
        200
    );
}

#[test]
fn the_binary_serves_on_the_address_it_is_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_postd-sandbox"))
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let first = BufReader::new(stdout)
        .lines()
        .next()
        .expect("a line")
        .expect("utf8");
    let base = first.rsplit(' ').next().expect("url").to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let health: Value = rt.block_on(async { get(&format!("{base}/_control/health")).await.body });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health["status"], "ok");
    let bad = Command::new(env!("CARGO_BIN_EXE_postd-sandbox"))
        .args(["--listen", "nowhere"])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
}

#[tokio::test]
async fn a_public_url_names_the_sandbox_in_what_it_hands_out() {
    let sb = start_with(SandboxConfig {
        public_url: Some("http://sandbox.test:7700/".into()),
        ..SandboxConfig::default()
    })
    .await;
    assert_eq!(sb.base_url(), "http://sandbox.test:7700");
    assert_eq!(sb.url(Platform::Tiktok), "http://sandbox.test:7700/tiktok");
    let direct = format!("http://{}/tiktok/v2/post/publish/video/init/", sb.addr());
    let t = sb.issue_token(Platform::Tiktok).access_token;
    let body = json!({"post_info": {"privacy_level": "SELF_ONLY"}, "source_info": {"source": "FILE_UPLOAD", "video_size": 10, "chunk_size": 10, "total_chunk_count": 1}});
    let a = post_json(&direct, Some(&t), &body).await;
    assert!(
        a.body["data"]["upload_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://sandbox.test:7700/tiktok/upload/video/")),
        "{}",
        a.text
    );
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sb = start().await;
    let health = control(&sb, "health");
    assert_eq!(get(&health).await.status, 200);
    let bound = sb.addr();
    tokio::time::timeout(std::time::Duration::from_secs(10), sb.shutdown())
        .await
        .expect("shutdown finishes");
    assert!(
        client().get(&health).send().await.is_err(),
        "{bound} still answers"
    );
}
