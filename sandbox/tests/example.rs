//! The example API (`/example`): what `connectors/example` and `postd-host new`'s connector
//! talk to.

mod support;

use serde_json::json;
use support::*;

#[tokio::test]
async fn posts_are_made_listed_and_deleted_with_any_key_but_the_revoked_one() {
    let sb = start().await;
    let base = format!("{}/example", sb.base_url());
    let http = client();

    let me = answer(
        http.get(format!("{base}/me"))
            .bearer_auth("k")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (me.status, me.body["id"].as_str()),
        (200, Some("ex-user-1"))
    );
    let refused = answer(
        http.get(format!("{base}/me"))
            .bearer_auth("revoked")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(refused.status, 401);
    let anonymous = answer(http.get(format!("{base}/accounts")).send().await.unwrap()).await;
    assert_eq!(anonymous.status, 401);

    let post = |text: &str, account: &str| {
        http.post(format!("{base}/posts"))
            .bearer_auth("k")
            .header("content-type", "application/json")
            .body(json!({"account": account, "text": text}).to_string())
            .send()
    };
    let made = answer(post("hello", "ex-feed-1").await.unwrap()).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().unwrap().to_string();
    assert!(
        made.body["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/example/posts/{id}"))
    );
    assert_eq!(
        answer(post("", "ex-feed-1").await.unwrap()).await.status,
        422
    );
    assert_eq!(
        answer(post(&"x".repeat(501), "ex-feed-1").await.unwrap())
            .await
            .status,
        422
    );
    assert_eq!(
        answer(post("hi", "elsewhere").await.unwrap()).await.status,
        404
    );

    let listed = answer(
        http.get(format!("{base}/posts"))
            .bearer_auth("k")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(listed.body[0]["text"], "hello");
    let deleted = http
        .delete(format!("{base}/posts/{id}"))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    let again = http
        .delete(format!("{base}/posts/{id}"))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}
