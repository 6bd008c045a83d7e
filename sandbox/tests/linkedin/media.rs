//! LinkedIn image and video uploads.

use super::*;

#[tokio::test]
async fn image_is_initialized_uploaded_and_attached() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let init = rest(
        &sb,
        reqwest::Method::POST,
        "images?action=initializeUpload",
        &token,
        Some(&json!({"initializeUploadRequest": {"owner": person()}})),
    )
    .await;
    assert_eq!(init.status, 200, "{}", init.text);
    let upload_url = init.body["value"]["uploadUrl"]
        .as_str()
        .expect("uploadUrl")
        .to_string();
    let image = init.body["value"]["image"]
        .as_str()
        .expect("image")
        .to_string();
    assert!(image.starts_with("urn:li:image:"));
    assert!(init.body["value"]["uploadUrlExpiresAt"].is_i64());
    let mut with_image = post_body(&person());
    with_image["content"] = json!({"media": {"id": image}});
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::POST,
            "posts",
            &token,
            Some(&with_image)
        )
        .await
        .status,
        422,
        "not uploaded yet"
    );
    let put = client()
        .put(&upload_url)
        .bearer_auth(&token)
        .body(vec![0xFF_u8, 0xD8, 0xFF, 0xE0])
        .send()
        .await
        .expect("put");
    assert_eq!(put.status().as_u16(), 201);
    let logged = sb
        .requests(Some(Platform::Linkedin))
        .into_iter()
        .last()
        .expect("logged");
    assert_eq!(logged.method, "PUT");
    assert_eq!(logged.body_bytes(), vec![0xFF_u8, 0xD8, 0xFF, 0xE0]);
    assert!(logged.body_base64.is_some());
    let encoded: String = url::form_urlencoded::byte_serialize(image.as_bytes()).collect();
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::GET,
            &format!("images/{encoded}"),
            &token,
            None
        )
        .await
        .body["status"],
        "AVAILABLE"
    );
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::POST,
            "posts",
            &token,
            Some(&with_image)
        )
        .await
        .status,
        201
    );
}

#[tokio::test]
async fn video_parts_are_uploaded_finalized_and_processed() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let size = 9 * 1024 * 1024_u64;
    let init = rest(&sb, reqwest::Method::POST, "videos?action=initializeUpload", &token, Some(&json!({"initializeUploadRequest": {"owner": org(LINKEDIN_ORG_ID), "fileSizeBytes": size, "uploadCaptions": false, "uploadThumbnail": false}}))).await;
    assert_eq!(init.status, 200, "{}", init.text);
    let video = init.body["value"]["video"]
        .as_str()
        .expect("video")
        .to_string();
    let parts = init.body["value"]["uploadInstructions"]
        .as_array()
        .expect("instructions")
        .clone();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[2]["lastByte"], size - 1);
    let mut etags = Vec::new();
    for p in &parts {
        let len =
            p["lastByte"].as_u64().expect("last") - p["firstByte"].as_u64().expect("first") + 1;
        let r = client()
            .put(p["uploadUrl"].as_str().expect("url"))
            .body(vec![7_u8; len as usize])
            .send()
            .await
            .expect("put");
        assert_eq!(r.status().as_u16(), 200);
        etags.push(
            r.headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .expect("etag")
                .to_string(),
        );
    }
    let mut reversed = etags.clone();
    reversed.reverse();
    let wrong = rest(&sb, reqwest::Method::POST, "videos?action=finalizeUpload", &token, Some(&json!({"finalizeUploadRequest": {"video": video, "uploadToken": "", "uploadedPartIds": reversed}}))).await;
    assert_eq!(wrong.status, 400);
    let ok = rest(&sb, reqwest::Method::POST, "videos?action=finalizeUpload", &token, Some(&json!({"finalizeUploadRequest": {"video": video, "uploadToken": "", "uploadedPartIds": etags}}))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let encoded: String = url::form_urlencoded::byte_serialize(video.as_bytes()).collect();
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::GET,
            &format!("videos/{encoded}"),
            &token,
            None
        )
        .await
        .body["status"],
        "PROCESSING"
    );
    sb.advance_clock(Duration::from_secs(30));
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::GET,
            &format!("videos/{encoded}"),
            &token,
            None
        )
        .await
        .body["status"],
        "AVAILABLE"
    );
    let mut body = post_body(&org(LINKEDIN_ORG_ID));
    body["content"] = json!({"media": {"id": video}});
    assert_eq!(
        rest(&sb, reqwest::Method::POST, "posts", &token, Some(&body))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn a_failing_video_ends_processing_failed_and_cannot_be_posted() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let init = rest(
        &sb,
        reqwest::Method::POST,
        "videos?action=initializeUpload",
        &token,
        Some(&json!({"initializeUploadRequest": {"owner": person(), "fileSizeBytes": 20}})),
    )
    .await;
    let video = init.body["value"]["video"]
        .as_str()
        .expect("video")
        .to_string();
    let part = &init.body["value"]["uploadInstructions"][0];
    let r = client()
        .put(part["uploadUrl"].as_str().expect("url"))
        .body(b"sandbox-fail-0123456".to_vec())
        .send()
        .await
        .expect("put");
    let etag = r
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .expect("etag")
        .to_string();
    let fin = rest(&sb, reqwest::Method::POST, "videos?action=finalizeUpload", &token, Some(&json!({"finalizeUploadRequest": {"video": video, "uploadToken": "", "uploadedPartIds": [etag]}}))).await;
    assert_eq!(fin.status, 200);
    sb.advance_clock(Duration::from_secs(30));
    let encoded: String = url::form_urlencoded::byte_serialize(video.as_bytes()).collect();
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::GET,
            &format!("videos/{encoded}"),
            &token,
            None
        )
        .await
        .body["status"],
        "PROCESSING_FAILED"
    );
    let mut body = post_body(&person());
    body["content"] = json!({"media": {"id": video}});
    assert_eq!(
        rest(&sb, reqwest::Method::POST, "posts", &token, Some(&body))
            .await
            .status,
        422
    );
}
