//! The admin console in a real browser (headless Chromium): the walk an admin takes, with a
//! screenshot of each page under `target/console-screenshots`.

mod browser;
mod connect;
mod guards;
mod sandbox;

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{post_body, publish};
use crate::support::server::ADMIN_KEY;
use crate::support::{Harness, Kind};
use browser::Browser;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_walks_the_console_in_a_browser() {
    let h = Harness::new(Kind::Sqlite).await;
    let api = h.serve_api().await;
    h.connect("acme", "conn-1").await;
    let key = h
        .store
        .tenant("acme")
        .create_api_key("test", h.pipeline.now())
        .await
        .unwrap();
    let mut b = Browser::start(1280, 1000).await;
    let console = |path: &str| format!("{}{path}", api.url);

    // Signed out, every page leads to the sign-in form; a wrong key is refused.
    b.goto(&console("/console/tenants")).await;
    assert_eq!(b.path().await, "/console/sign-in");
    b.fill("key", "not-the-admin-key").await;
    b.click("sign-in").await;
    b.sees("Wrong admin key.").await;
    b.shot("sign-in").await;
    b.fill("key", ADMIN_KEY).await;
    b.click("sign-in").await;
    b.sees("Jobs by state").await;
    assert_eq!(b.path().await, "/console");
    b.shot("overview").await;

    // Plugins: the serving version; a new one checked (verdict shown), then served.
    b.goto(&console("/console/plugins")).await;
    let serving = b.css("#pipeline .version").await.text().await.unwrap();
    b.sees("none through the API").await;
    b.shot("plugins").await;
    b.id("file-pipeline")
        .await
        .send_keys(postd_test_artifacts::PIPELINE_NEXT)
        .await
        .unwrap();
    b.sees("Compatible:").await;
    b.click("serve-pipeline").await;
    b.sees("is serving").await;
    let uploads = b.css("#pipeline .uploads").await.text().await.unwrap();
    assert!(
        uploads.contains("version=0.2.0") && uploads.contains("console:admin"),
        "the upload is listed with who made it: {uploads}"
    );
    let now_serving = b.css("#pipeline .version").await.text().await.unwrap();
    assert_ne!(serving, now_serving, "the upload serves");
    assert_eq!(
        h.runtime.status("pipeline").unwrap().version.as_deref(),
        now_serving.split_whitespace().next()
    );

    // Toggled off for acme, the plugin refuses acme's calls; a post for it is held (paused,
    // nothing lost) and publishes once it is toggled on again.
    b.click("toggle-acme-pipeline").await;
    b.sees("pipeline for acme: off").await;
    let refused = api.get("/v1/connections/conn-1/accounts", &key).await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::FORBIDDEN, "plugin-disabled"),
        "{refused:?}"
    );
    let held = publish(&api, &key, "held", &post_body("conn-1", "not now")).await;
    assert_eq!(held.status, StatusCode::ACCEPTED, "{held:?}");
    h.pipeline.run_due().await;
    b.goto(&console("/console/jobs?tenant=acme&status=paused"))
        .await;
    b.sees("paused (plugin-disabled)").await;
    b.goto(&console("/console/plugins")).await;
    b.click("toggle-acme-pipeline").await;
    b.sees("pipeline for acme: on").await;
    h.pipeline.run_due().await;
    let jobs = api.get("/v1/jobs?status=published", &key).await;
    assert_eq!(jobs.json.as_array().unwrap().len(), 1, "{jobs:?}");

    // A tenant and a key, each shown once.
    b.goto(&console("/console/tenants")).await;
    b.fill("new-tenant-id", "globex").await;
    b.fill("new-tenant-name", "Globex Corporation").await;
    b.click("create-tenant").await;
    b.sees("Copy the key now").await;
    let first_key = b.id("secret").await.text().await.unwrap();
    assert!(first_key.starts_with("pdk_"), "{first_key}");
    b.click("to-tenant").await;
    b.fill("new-key-name", "ci").await;
    b.click("create-key").await;
    let ci_key = b.id("secret").await.text().await.unwrap();
    let works = api.get("/v1/jobs", &ci_key).await;
    assert_eq!(
        works.status,
        StatusCode::OK,
        "the key shown works: {works:?}"
    );
    b.click("to-tenant").await;
    b.sees("Globex Corporation").await;
    b.shot("tenant").await;
    b.goto(&console("/console/tenants")).await;
    b.sees("globex").await;
    b.shot("tenants").await;

    // A post published through the API, found with its attempts.
    let published = publish(&api, &key, "k1", &post_body("conn-1", "hello console")).await;
    assert_eq!(published.status, StatusCode::ACCEPTED, "{published:?}");
    h.pipeline.run_due().await;
    b.goto(&console("/console/jobs")).await;
    b.fill("filter-tenant", "acme").await;
    b.click("filter").await;
    b.sees("published").await;
    b.shot("jobs").await;
    b.css("#jobs a").await.click().await.unwrap();
    b.sees("hello console").await;
    let timeline = b.id("attempts").await.text().await.unwrap();
    assert!(
        timeline.contains("publish") && timeline.contains("published") && timeline.contains("fuel"),
        "{timeline}"
    );
    b.shot("job").await;

    // A dead letter, corrected and replayed.
    let mut failing = post_body("conn-1", "needs a fix");
    failing["options"] = json!({ "fail": "invalid" });
    publish(&api, &key, "k2", &failing).await;
    h.pipeline.run_due().await;
    b.goto(&console("/console/dead-letters?tenant=acme")).await;
    b.sees("invalid-input").await;
    b.shot("dead-letters").await;
    b.css("#letters input[type=checkbox]")
        .await
        .click()
        .await
        .unwrap();
    b.fill("options", "fail=").await;
    b.click("replay").await;
    b.sees("1 dead letter(s) replayed").await;
    h.pipeline.run_due().await;
    let jobs = api.get("/v1/jobs?status=published", &key).await;
    assert_eq!(jobs.json.as_array().unwrap().len(), 3, "{jobs:?}");

    // The overview counts those runs: its plots and the plugin's outcomes.
    b.goto(&console("/console")).await;
    b.sees("invalid-input").await;
    assert!(
        b.css("#live svg rect")
            .await
            .attr("height")
            .await
            .unwrap()
            .is_some()
    );
    b.shot("overview-busy").await;

    // The audit log names the console's changes.
    b.goto(&console("/console/audit?actor=console:admin")).await;
    b.sees("api-key.created").await;
    b.sees("job.replayed").await;
    b.sees("plugin.disabled").await;
    b.shot("audit").await;

    // A change without the CSRF token is refused, even from the signed-in browser.
    let status = b
        .client
        .execute_async(
            "const done = arguments[0];
             fetch('/console/tenants', { method: 'POST', credentials: 'same-origin',
               headers: { 'content-type': 'application/x-www-form-urlencoded' },
               body: 'id=forged&name=Forged' }).then((r) => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    let forged = api
        .send(api.request(Method::GET, "/admin/tenants/forged", Some(ADMIN_KEY)))
        .await;
    assert_eq!(forged.status, StatusCode::NOT_FOUND, "{forged:?}");

    // Signing out ends the session.
    b.click("sign-out").await;
    b.sees("Admin key").await;
    b.goto(&console("/console")).await;
    assert_eq!(b.path().await, "/console/sign-in");
}
