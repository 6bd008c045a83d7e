//! The console's guards over plain HTTP, where a browser would not go: no admin key, forged and
//! stale sign-ins, changes without a session or with the wrong CSRF token, an ended session,
//! malformed filters and forms, and what it audits.

use reqwest::header::{CONTENT_SECURITY_POLICY, COOKIE, LOCATION, SET_COOKIE, X_FRAME_OPTIONS};
use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::support::server::{ADMIN_KEY, Api, json as with_json};
use crate::support::{Harness, Kind};

/// The value of cookie `name` a response sets.
fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// The value of the first `attribute="…"` in `html` after `after`.
fn attribute(html: &str, after: &str, attribute: &str) -> String {
    let from = html
        .find(after)
        .unwrap_or_else(|| panic!("no `{after}` in {html}"));
    let rest = &html[from..];
    let start = rest.find(&format!("{attribute}=\"")).unwrap() + attribute.len() + 2;
    rest[start..start + rest[start..].find('"').unwrap()].to_string()
}

/// A signed-in console: its cookie header and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

async fn sign_in(api: &Api, key: &str) -> Response {
    let form = api
        .request(Method::GET, "/console/sign-in", None)
        .send()
        .await
        .unwrap();
    let double = set_cookie(&form, "postd_console_sign_in").unwrap();
    let token = attribute(&form.text().await.unwrap(), "name=\"token\"", "value");
    api.request(Method::POST, "/console/sign-in", None)
        .header(COOKIE, format!("postd_console_sign_in={double}"))
        .form(&[("key", key), ("token", &token)])
        .send()
        .await
        .unwrap()
}

async fn signed_in(api: &Api) -> Session {
    signed_in_as(api, ADMIN_KEY).await.0
}

/// Signed in with `key`; the session and the first page it saw.
async fn signed_in_as(api: &Api, key: &str) -> (Session, String) {
    let answer = sign_in(api, key).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let cookie = format!(
        "postd_console={}",
        set_cookie(&answer, "postd_console").unwrap()
    );
    let page = api
        .request(Method::GET, "/console/tenants", None)
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let csrf = attribute(&html, "data-csrf", "data-csrf");
    (Session { cookie, csrf }, html)
}

impl Session {
    async fn get(&self, api: &Api, path: &str) -> Response {
        api.request(Method::GET, path, None)
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap()
    }

    async fn post(&self, api: &Api, path: &str, form: &[(&str, &str)]) -> Response {
        api.request(Method::POST, path, None)
            .header(COOKIE, &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn without_an_admin_key_there_is_no_console() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api_with(None, vec![]).await;
    for path in ["/console", "/console/sign-in", "/console/tenants"] {
        let answer = api.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn a_named_admin_signs_in_with_their_own_key_and_is_audited_by_name() {
    let h = Harness::new(Kind::Sqlite).await;
    let ana_key = "ana-console-key-0123456789";
    let admins = postd_host::config::parse_console_admins(&format!(
        "ana=sha256:{}",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(ana_key))
    ))
    .unwrap();
    // No admin key: the admin API is off, the console is on for its named admins.
    let api = h.serve_api_with(None, admins).await;
    assert_eq!(
        sign_in(&api, ADMIN_KEY).await.status(),
        StatusCode::UNAUTHORIZED,
        "the admin key is not configured here"
    );
    let (s, html) = signed_in_as(&api, ana_key).await;
    assert!(html.contains(r#"<span class="who">ana</span>"#), "{html}");
    let made = s
        .post(
            &api,
            "/console/tenants",
            &[("csrf", &s.csrf), ("id", "by-ana"), ("name", "B")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    let audit = s.get(&api, "/console/audit?tenant=by-ana").await;
    let audit = audit.text().await.unwrap();
    assert!(
        audit.contains("console:ana") && audit.contains("api-key.created"),
        "{audit}"
    );
    // Her key is the console's, not the admin API's.
    let api_call = api
        .send(api.request(Method::GET, "/admin/tenants", Some(ana_key)))
        .await;
    assert_eq!(api_call.status, StatusCode::FORBIDDEN, "{api_call:?}");
}

#[tokio::test]
async fn sign_in_is_refused_without_its_form_token_or_with_a_wrong_key_and_budgeted() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    // A form posted from elsewhere carries no double-submit cookie.
    let forged = api
        .request(Method::POST, "/console/sign-in", None)
        .form(&[("key", ADMIN_KEY), ("token", "made-up")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&forged, "postd_console").is_none());
    let page = api
        .request(Method::GET, "/console/sign-in", None)
        .send()
        .await
        .unwrap();
    let csp = page.headers()[CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.headers()[X_FRAME_OPTIONS], "DENY");

    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(sign_in(&api, "wrong").await.status());
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED);
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "wrong keys are budgeted per address: {statuses:?}"
    );
}

#[tokio::test]
async fn changes_need_a_live_session_and_its_csrf_token() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;

    // Signed out: pages lead to the sign-in form, changes are refused.
    let page = api
        .request(Method::GET, "/console/tenants", None)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[LOCATION], "/console/sign-in");
    let change = api
        .request(Method::POST, "/console/tenants", None)
        .form(&[("id", "anon"), ("name", "Anon")])
        .send()
        .await
        .unwrap();
    assert_eq!(change.status(), StatusCode::FORBIDDEN);

    let s = signed_in(&api).await;
    let without = s
        .post(&api, "/console/tenants", &[("id", "a1"), ("name", "A")])
        .await;
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let wrong = s
        .post(
            &api,
            "/console/tenants",
            &[("csrf", "not-the-token"), ("id", "a1"), ("name", "A")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    let admin = |path: &str| api.request(Method::GET, path, Some(ADMIN_KEY));
    assert_eq!(
        api.send(admin("/admin/tenants/a1")).await.status,
        StatusCode::NOT_FOUND,
        "nothing was created"
    );
    let made = s
        .post(
            &api,
            "/console/tenants",
            &[("csrf", &s.csrf), ("id", "a1"), ("name", "A")],
        )
        .await;
    assert_eq!(made.status(), StatusCode::OK);
    assert!(made.text().await.unwrap().contains("pdk_"));
    assert_eq!(
        api.send(admin("/admin/tenants/a1")).await.status,
        StatusCode::OK
    );

    // Host-reserved ids are refused, through the console as through the API.
    let reserved = s
        .post(
            &api,
            "/console/tenants",
            &[("csrf", &s.csrf), ("id", "_host"), ("name", "Host")],
        )
        .await;
    assert_eq!(reserved.status(), StatusCode::BAD_REQUEST);
    assert!(
        reserved
            .text()
            .await
            .unwrap()
            .contains("reserved for the host")
    );

    // Signing out ends the session: the same cookie is refused from then on.
    let out = s
        .post(&api, "/console/sign-out", &[("csrf", &s.csrf)])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        s.get(&api, "/console").await.status(),
        StatusCode::SEE_OTHER
    );

    // A session ends by itself after eight hours.
    let s = signed_in(&api).await;
    assert_eq!(s.get(&api, "/console").await.status(), StatusCode::OK);
    h.clock.advance(8 * 3600 * 1000 + 1);
    let ended = s.get(&api, "/console").await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn malformed_filters_and_forms_get_a_page_that_says_what_is_wrong() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    h.tenant_key("acme").await;
    let s = signed_in(&api).await;

    let bad_time = s
        .get(&api, "/console/jobs?tenant=acme&since=yesterday")
        .await;
    assert_eq!(bad_time.status(), StatusCode::BAD_REQUEST);
    assert!(
        bad_time
            .text()
            .await
            .unwrap()
            .contains("is a date and time")
    );
    let unknown = s.get(&api, "/console/tenants/nobody").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let none_chosen = s
        .post(
            &api,
            "/console/dead-letters/replay",
            &[("csrf", &s.csrf), ("tenant", "acme")],
        )
        .await;
    assert_eq!(none_chosen.status(), StatusCode::BAD_REQUEST);
    let bad_options = s
        .post(
            &api,
            "/console/dead-letters/replay",
            &[
                ("csrf", &s.csrf),
                ("tenant", "acme"),
                ("id", "dl_x"),
                ("options", "no equals sign"),
            ],
        )
        .await;
    assert_eq!(bad_options.status(), StatusCode::BAD_REQUEST);
    let unknown_letter = s
        .post(
            &api,
            "/console/dead-letters/replay",
            &[("csrf", &s.csrf), ("tenant", "acme"), ("id", "dl_x")],
        )
        .await;
    assert_eq!(unknown_letter.status(), StatusCode::NOT_FOUND);
    let bad_key_name = s
        .post(
            &api,
            "/console/tenants/acme/keys",
            &[("csrf", &s.csrf), ("name", "")],
        )
        .await;
    assert_eq!(bad_key_name.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn plugin_changes_from_the_console_are_checked_and_audited_as_its_admins() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    let s = signed_in(&api).await;
    let upload = |path: &str, bytes: Vec<u8>, csrf: &str| {
        api.request(Method::POST, path, None)
            .header(COOKIE, &s.cookie)
            .header("x-csrf-token", csrf)
            .body(bytes)
    };

    // Not a component: the check says why, the upload is refused, nothing changes.
    let garbage = b"not a component".to_vec();
    let checked = api
        .send(upload(
            "/console/plugins/pipeline/check",
            garbage.clone(),
            &s.csrf,
        ))
        .await;
    assert_eq!(checked.status, StatusCode::OK);
    assert_eq!(checked.json["compatible"], false, "{checked:?}");
    assert!(
        checked.json["problem"]
            .as_str()
            .is_some_and(|p| !p.is_empty())
    );
    let refused = api
        .send(upload("/console/plugins/pipeline/upload", garbage, &s.csrf))
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-component")
    );
    let forged = api
        .send(upload(
            "/console/plugins/pipeline/upload",
            std::fs::read(postd_test_artifacts::PIPELINE_NEXT).unwrap(),
            "not-the-token",
        ))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        h.runtime.status("pipeline").unwrap().version.as_deref(),
        Some("0.1.0")
    );

    let next = std::fs::read(postd_test_artifacts::PIPELINE_NEXT).unwrap();
    let checked = api
        .send(upload(
            "/console/plugins/pipeline/check",
            next.clone(),
            &s.csrf,
        ))
        .await;
    assert_eq!(
        (
            checked.json["compatible"].clone(),
            checked.json["serving_version"].clone()
        ),
        (json!(true), json!("0.1.0")),
        "{checked:?}"
    );
    assert_eq!(
        h.runtime.status("pipeline").unwrap().version.as_deref(),
        Some("0.1.0"),
        "a check serves nothing"
    );
    let served = api
        .send(upload("/console/plugins/pipeline/upload", next, &s.csrf))
        .await;
    assert_eq!(served.status, StatusCode::OK, "{served:?}");
    let rolled = s
        .post(
            &api,
            "/console/plugins/pipeline/rollback",
            &[("csrf", &s.csrf)],
        )
        .await;
    assert_eq!(rolled.status(), StatusCode::SEE_OTHER);
    let set = api
        .send(
            api.request(
                Method::PUT,
                "/admin/plugins/pipeline/config",
                Some(ADMIN_KEY),
            )
            .body(format!(
                "path = {:?}\nallowed_hosts = [{:?}]\nallowed_ranges = [\"127.0.0.0/8\"]\n",
                postd_test_artifacts::PIPELINE,
                h.platform.url
            )),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{set:?}");

    let audit = api
        .send(api.request(Method::GET, "/admin/audit?tenant=_host", Some(ADMIN_KEY)))
        .await;
    let entries: Vec<(String, String)> = audit
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("plugin.uploaded", "console:admin"),
        ("plugin.rolled-back", "console:admin"),
        ("plugin.configured", "admin"),
    ] {
        assert!(
            entries.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} in {entries:?}"
        );
    }
    let tenants = api
        .send(with_json(
            api.request(Method::POST, "/admin/tenants", Some(ADMIN_KEY)),
            &json!({ "id": "_host", "name": "not a tenant" }),
        ))
        .await;
    assert_eq!(tenants.status, StatusCode::BAD_REQUEST, "{tenants:?}");
}
