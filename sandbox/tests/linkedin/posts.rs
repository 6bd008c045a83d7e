//! LinkedIn posts: the version header, x-restli-id, validation, the author finder, and a create
//! whose answer is lost after the post was made.

use super::*;

#[tokio::test]
async fn posts_need_the_linkedin_version_header() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let url = format!("{}/rest/posts", sb.url(Platform::Linkedin));
    let send = |v: Option<String>| {
        let url = url.clone();
        let token = token.clone();
        async move {
            let mut r = client()
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body(post_body(&person()).to_string());
            if let Some(v) = v {
                r = r.header("LinkedIn-Version", v);
            }
            answer(r.send().await.expect("post")).await
        }
    };
    let missing = send(None).await;
    assert_eq!(missing.status, 400);
    assert_eq!(missing.body["code"], "VERSION_MISSING");
    // linkedin.md marks 426 NONEXISTENT_VERSION as unconfirmed; the sandbox follows it for retired and future versions.
    for v in [version(&sb, 13), version(&sb, -1), "2026-01".to_string()] {
        let a = send(Some(v.clone())).await;
        assert_eq!(a.status, 426, "{v}: {}", a.text);
        assert_eq!(a.body["code"], "NONEXISTENT_VERSION");
    }
    assert_eq!(send(Some(version(&sb, 12))).await.status, 201);
}

#[tokio::test]
async fn a_post_answers_201_with_its_urn_in_x_restli_id_and_can_be_deleted() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let a = rest(
        &sb,
        reqwest::Method::POST,
        "posts",
        &token,
        Some(&post_body(&person())),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert!(a.text.is_empty());
    let urn = a.header("x-restli-id").expect("x-restli-id");
    assert!(urn.starts_with("urn:li:share:"), "{urn}");
    let sent = sb
        .requests(Some(Platform::Linkedin))
        .into_iter()
        .last()
        .expect("logged");
    assert_eq!(sent.header("x-restli-protocol-version"), Some("2.0.0"));

    let org_post = rest(
        &sb,
        reqwest::Method::POST,
        "posts",
        &token,
        Some(&post_body(&org(LINKEDIN_ORG_ID))),
    )
    .await;
    assert_eq!(org_post.status, 201);
    let encoded: String = url::form_urlencoded::byte_serialize(urn.as_bytes()).collect();
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::GET,
            &format!("posts/{encoded}"),
            &token,
            None
        )
        .await
        .body["commentary"],
        "Hello from the sandbox"
    );
    // linkedin.md: DELETE answering 204 is unconfirmed officially; the sandbox follows it.
    let del = rest(
        &sb,
        reqwest::Method::DELETE,
        &format!("posts/{encoded}"),
        &token,
        None,
    )
    .await;
    assert_eq!(del.status, 204);
    assert_eq!(
        rest(
            &sb,
            reqwest::Method::GET,
            &format!("posts/{encoded}"),
            &token,
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn posts_are_validated_and_authors_checked() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let other_member = rest(
        &sb,
        reqwest::Method::POST,
        "posts",
        &token,
        Some(&post_body("urn:li:person:someoneElse")),
    )
    .await;
    assert_eq!(other_member.status, 403);
    assert_eq!(other_member.body["serviceErrorCode"], 100);
    let not_admin = rest(
        &sb,
        reqwest::Method::POST,
        "posts",
        &token,
        Some(&post_body(&org(LINKEDIN_OTHER_ORG_ID))),
    )
    .await;
    assert_eq!(not_admin.status, 403);
    let mut bad = post_body(&person());
    bad["visibility"] = json!("EVERYONE");
    let a = rest(&sb, reqwest::Method::POST, "posts", &token, Some(&bad)).await;
    assert_eq!(a.status, 422);
    assert_eq!(a.body["status"], 422);
    assert!(a.body["message"].is_string());
    let mut long = post_body(&person());
    long["commentary"] = json!("x".repeat(3001));
    assert_eq!(
        rest(&sb, reqwest::Method::POST, "posts", &token, Some(&long))
            .await
            .status,
        422
    );
    let broken = answer(
        client()
            .post(format!("{}/rest/posts", sb.url(Platform::Linkedin)))
            .bearer_auth(&token)
            .header("LinkedIn-Version", version(&sb, 0))
            .body("{not json")
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(broken.status, 400);
    assert!(broken.body["message"].is_string());
}

fn commentary(text: &str, author: &str) -> Value {
    let mut body = post_body(author);
    body["commentary"] = json!(text);
    body
}

#[tokio::test]
async fn the_author_finder_lists_an_authors_posts_newest_first_with_its_permission() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let corp = org(LINKEDIN_ORG_ID);
    let mut made = Vec::new();
    for (text, author) in [("first", &corp), ("mine", &person()), ("second", &corp)] {
        let a = rest(
            &sb,
            reqwest::Method::POST,
            "posts",
            &token,
            Some(&commentary(text, author)),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.text);
        made.push(a.header("x-restli-id").unwrap());
        sb.advance_clock(Duration::from_secs(5));
    }
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let find = |author: String, token: String, extra: &'static str| {
        let sb = &sb;
        async move {
            rest(
                sb,
                reqwest::Method::GET,
                &format!("posts?author={}&q=author{extra}", enc(&author)),
                &token,
                None,
            )
            .await
        }
    };
    let found = find(corp.clone(), token.clone(), "&sortBy=LAST_MODIFIED").await;
    assert_eq!(found.status, 200, "{}", found.text);
    let elements = found.body["elements"].as_array().unwrap();
    let texts: Vec<_> = elements.iter().map(|e| e["commentary"].clone()).collect();
    assert_eq!(
        texts,
        [json!("second"), json!("first")],
        "newest first, one author"
    );
    assert_eq!(elements[0]["id"], made[2].as_str());
    assert!(
        elements[0]["createdAt"].as_i64().unwrap() > elements[1]["createdAt"].as_i64().unwrap()
    );
    assert_eq!(found.body["paging"]["total"], 2);
    let one = find(corp.clone(), token.clone(), "&count=1").await;
    assert_eq!(one.body["elements"].as_array().unwrap().len(), 1);

    // A member's posts need the restricted r_member_social; an organization's r_organization_social.
    let mine = find(person(), token.clone(), "").await;
    assert_eq!(mine.body["elements"][0]["commentary"], "mine");
    let limited = sb
        .issue_token_with_scopes(
            Platform::Linkedin,
            &[
                "openid",
                "w_member_social",
                "rw_organization_admin",
                "r_organization_social",
            ],
        )
        .access_token;
    assert_eq!(find(person(), limited.clone(), "").await.status, 403);
    assert_eq!(find(corp.clone(), limited, "").await.status, 200);
    let other = find(org(LINKEDIN_OTHER_ORG_ID), token.clone(), "").await;
    assert_eq!(
        other.status, 403,
        "not an organization the member administers"
    );
    let unknown_q = rest(
        &sb,
        reqwest::Method::GET,
        "posts?q=everything",
        &token,
        None,
    )
    .await;
    assert_eq!(unknown_q.status, 400);
}

#[tokio::test]
async fn an_answer_lost_after_acting_leaves_the_post_made() {
    let sb = start().await;
    let token = sb.issue_token(Platform::Linkedin).access_token;
    let rule = |error: &str| FaultRule {
        error: error.into(),
        count: 1,
        path_contains: Some("/rest/posts".into()),
    };
    sb.inject(Platform::Linkedin, rule("answer-lost:502"))
        .expect("LinkedIn knows answer-lost:502");
    let lost = rest(
        &sb,
        reqwest::Method::POST,
        "posts",
        &token,
        Some(&commentary("made anyway", &person())),
    )
    .await;
    assert_eq!(lost.status, 502, "{}", lost.text);
    assert!(lost.header("x-restli-id").is_none());
    assert_eq!(lost.body["status"], 502);
    let held = postd_sandbox::platforms::linkedin::posts(sb.state());
    assert_eq!(
        held.len(),
        1,
        "the post was made before the answer was lost"
    );
    assert_eq!(held[0]["commentary"], "made anyway");

    // A plain 502 fails before acting: nothing is made.
    sb.inject(Platform::Linkedin, rule("502")).expect("known");
    let failed = rest(
        &sb,
        reqwest::Method::POST,
        "posts",
        &token,
        Some(&commentary("never made", &person())),
    )
    .await;
    assert_eq!(failed.status, 502);
    assert_eq!(
        postd_sandbox::platforms::linkedin::posts(sb.state()).len(),
        1
    );
}
