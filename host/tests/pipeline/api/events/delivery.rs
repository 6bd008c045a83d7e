//! What is told and how: signed deliveries retried until accepted, in order per subject,
//! a rotated secret's grace, a delivery that never succeeds, two replicas delivering once.

use postd_host::store::ConnectionStatus;

use super::*;
use crate::on_both_backends;
use crate::support::receiver::Receiver;

on_both_backends!(a_published_post_is_told_signed_and_retried_until_accepted);

async fn a_published_post_is_told_signed_and_retried_until_accepted(kind: Kind) {
    let (h, api, key) = start(kind).await;
    let connection = connect(&api, &key).await;
    let receiver = Receiver::start(&[500, 500]).await;
    let (endpoint, secret) = add_endpoint(
        &api,
        &key,
        &receiver.url,
        json!(["post.published", "post.failed"]),
    )
    .await;
    // Nothing happened yet: nothing to deliver.
    assert_eq!(h.pipeline.events().deliver_due().await, 0);

    let accepted = publish(&api, &key, "k1", &post_body(&connection, "hello")).await;
    let post_id = accepted.json["id"].as_str().unwrap().to_string();
    assert_eq!(h.pipeline.run_due().await, 1);
    // The receiver answers 500 twice: each attempt is recorded and retried after a backoff.
    for attempt in 1..=3 {
        assert_eq!(
            h.pipeline.events().deliver_due().await,
            1,
            "attempt {attempt}"
        );
        assert_eq!(
            h.pipeline.events().deliver_due().await,
            0,
            "a failed delivery waits out its backoff"
        );
        h.clock.advance(HOUR_MS);
    }
    h.clock.advance(48 * HOUR_MS);
    assert_eq!(
        h.pipeline.events().deliver_due().await,
        0,
        "an accepted event is not sent again"
    );

    let got = receiver.got();
    assert_eq!(got.len(), 3);
    let id = got[0].id();
    assert!(got.iter().all(|d| d.id() == id), "one id on every attempt");
    assert!(
        got.iter().all(|d| d.verifies_with(&secret)),
        "every attempt verifies"
    );
    assert!(!got[0].verifies_with("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert!(
        got[2].verifies_with_readme_example(&secret),
        "the README's example agrees"
    );
    assert!(!got[2].verifies_with_readme_example("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
    assert_eq!(receiver.accepted_ids(), vec![id.clone()], "accepted once");
    let event = got[2].json();
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["type"], "post.published");
    assert_eq!(event["tenant_id"], "acme");
    assert_eq!(event["data"]["post_id"], post_id.as_str());
    assert_eq!(event["data"]["connection_id"], connection.as_str());
    assert!(
        event["data"]["platform_post_id"]
            .as_str()
            .is_some_and(|p| !p.is_empty()),
        "{event}"
    );
    let job_id = event["data"]["job_id"].as_str().unwrap();
    let job = api.get(&format!("/v1/posts/{post_id}"), &key).await;
    assert_eq!(job.json["jobs"][0]["id"], job_id, "{job:?}");

    let listed = deliveries(&api, &key, &endpoint).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["state"], "delivered");
    assert_eq!(listed[0]["attempts"], 3);
    let statuses: Vec<&Value> = listed[0]["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status"])
        .collect();
    assert_eq!(statuses, vec![&json!(500), &json!(500), &json!(200)]);
    let metrics = api.get("/metrics", &key).await.json;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("postd_event_deliveries_total{outcome=\"delivered\"} 1")
            && metrics.contains("postd_event_deliveries_total{outcome=\"retry\"} 2")
            && metrics.contains("postd_event_deliveries_pending 0"),
        "{metrics}"
    );

    // Redelivery sends the same event again, under the same id.
    let again = api
        .post(
            &format!("/v1/event-endpoints/{endpoint}/redeliver"),
            &key,
            json!({ "event_id": id }),
        )
        .await;
    assert_eq!(
        (again.status, &again.json["redelivered"]),
        (StatusCode::ACCEPTED, &json!(1))
    );
    assert_eq!(h.pipeline.events().deliver_due().await, 1);
    assert_eq!(receiver.accepted_ids(), vec![id.clone(), id]);
}

#[tokio::test]
async fn a_dead_letter_a_status_change_and_a_disabled_plugin_are_told_in_order() {
    let (h, api, key) = start(Kind::Sqlite).await;
    // One endpoint for the connection's status, whose first delivery fails once; one for
    // everything.
    let status_receiver = Receiver::start(&[503]).await;
    let all_receiver = Receiver::start(&[]).await;
    let (_, secret) = add_endpoint(
        &api,
        &key,
        &status_receiver.url,
        json!(["connection.healthy", "connection.attention"]),
    )
    .await;
    let (all_endpoint, _) = add_endpoint(&api, &key, &all_receiver.url, json!([])).await;
    // A new connection is healthy.
    let connection = connect(&api, &key).await;
    // A post the platform refuses for good is dead-lettered.
    h.platform.with(|s| s.draft_failures.push_back(400));
    publish(&api, &key, "k1", &post_body(&connection, "hello")).await;
    h.pipeline.run_due().await;
    // The connection needs the user, then recovers.
    let tenant = h.store.tenant("acme");
    let now = h.pipeline.now();
    assert!(
        tenant
            .set_connection_status(
                &connection,
                ConnectionStatus::Attention,
                Some("consent again"),
                "test",
                now
            )
            .await
            .unwrap()
    );
    tenant
        .record_refresh(&connection, Some(now + HOUR_MS), None, "test", now)
        .await
        .unwrap();
    // A status already held is no event.
    assert!(
        !tenant
            .set_connection_status(&connection, ConnectionStatus::Healthy, None, "test", now)
            .await
            .unwrap()
    );
    let disabled = api
        .send(with_json(
            api.request(
                Method::PUT,
                "/admin/tenants/acme/plugins/pipeline",
                Some(ADMIN_KEY),
            ),
            &json!({ "enabled": false }),
        ))
        .await;
    assert_eq!(disabled.status, StatusCode::NO_CONTENT, "{disabled:?}");

    // The connection's first event fails once: its later events wait for it, while the other
    // endpoint gets everything at once.
    h.pipeline.events().deliver_due().await;
    assert_eq!(status_receiver.got().len(), 1);
    let kinds = |r: &Receiver| r.got().iter().map(|d| d.kind()).collect::<Vec<_>>();
    let mut everything = kinds(&all_receiver);
    everything.sort();
    assert_eq!(
        everything,
        vec![
            "connection.attention",
            "connection.healthy",
            "connection.healthy",
            "plugin.disabled_for_tenant",
            "post.failed"
        ]
    );
    h.clock.advance(HOUR_MS);
    h.pipeline.events().deliver_due().await;
    let got = status_receiver.got();
    assert!(got.iter().all(|d| d.verifies_with(&secret)));
    let statuses: Vec<(Option<u16>, String, Value)> = got
        .iter()
        .map(|d| {
            let data = d.json()["data"].clone();
            (
                d.answered,
                data["status"].as_str().unwrap().to_string(),
                data["previous_status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (Some(503), "healthy".to_string(), Value::Null),
            (Some(200), "healthy".to_string(), Value::Null),
            (Some(200), "attention".to_string(), json!("healthy")),
            (Some(200), "healthy".to_string(), json!("attention")),
        ],
        "a connection's events arrive in order, each after the one before was accepted"
    );
    assert_eq!(got[2].json()["data"]["reason"], "consent again");
    let failed = all_receiver
        .got()
        .iter()
        .find(|d| d.kind() == "post.failed")
        .unwrap()
        .json();
    assert_eq!(failed["data"]["reason_code"], "invalid-input", "{failed}");
    assert_eq!(failed["data"]["plugin"], "pipeline");
    // An endpoint's deliveries page with a cursor and add up to the whole list.
    let whole = deliveries(&api, &key, &all_endpoint).await;
    assert!(whole.len() >= 4, "{whole:?}");
    let path = format!("/v1/event-endpoints/{all_endpoint}/deliveries?");
    let (paged, pages) = all_pages(&api, &key, &path, 1).await;
    assert_eq!(paged, whole);
    assert_eq!(
        pages,
        whole.len() + 1,
        "a full last page is followed by an empty one"
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_the_grace_period() {
    let (h, api, key) = start(Kind::Sqlite).await;
    let receiver = Receiver::start(&[]).await;
    let (endpoint, old) = add_endpoint(&api, &key, &receiver.url, json!(["*"])).await;
    let rotated = api
        .post(
            &format!("/v1/event-endpoints/{endpoint}/rotate-secret"),
            &key,
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::OK, "{rotated:?}");
    let new = rotated.json["secret"].as_str().unwrap().to_string();
    assert_ne!(new, old);
    assert!(rotated.json["previous_secret_expires_at"].is_i64());
    let connection = connect(&api, &key).await;
    h.pipeline.events().deliver_due().await;
    let during = &receiver.got()[0];
    assert!(during.verifies_with(&new) && during.verifies_with(&old));
    assert_eq!(
        during.headers["webhook-signature"]
            .to_str()
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    // After the grace period only the new secret signs.
    h.clock.advance(25 * HOUR_MS);
    api.send(api.request(
        Method::DELETE,
        &format!("/v1/connections/{connection}"),
        Some(&key),
    ))
    .await;
    h.pipeline.events().deliver_due().await;
    let after = &receiver.got()[1];
    assert_eq!(after.kind(), "connection.revoked");
    assert!(after.verifies_with(&new) && !after.verifies_with(&old));

    // A disabled endpoint gets no new events; a deleted one is gone with its secrets.
    let patched = api
        .send(with_json(
            api.request(
                Method::PATCH,
                &format!("/v1/event-endpoints/{endpoint}"),
                Some(&key),
            ),
            &json!({ "enabled": false }),
        ))
        .await;
    assert_eq!(patched.json["enabled"], false, "{patched:?}");
    connect(&api, &key).await;
    assert_eq!(h.pipeline.events().deliver_due().await, 0);
    let deleted = api
        .send(api.request(
            Method::DELETE,
            &format!("/v1/event-endpoints/{endpoint}"),
            Some(&key),
        ))
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        api.get(&format!("/v1/event-endpoints/{endpoint}"), &key)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_delivery_that_never_succeeds_fails_after_its_window() {
    let (h, api, key) = start(Kind::Sqlite).await;
    let receiver = Receiver::start(&[500; 64]).await;
    let (endpoint, _) = add_endpoint(&api, &key, &receiver.url, json!(["*"])).await;
    connect(&api, &key).await;
    let mut attempts = 0;
    for _ in 0..40 {
        attempts += h.pipeline.events().deliver_due().await;
        h.clock.advance(HOUR_MS);
    }
    let listed = deliveries(&api, &key, &endpoint).await;
    assert_eq!(listed[0]["state"], "failed", "{listed:?}");
    assert_eq!(listed[0]["last_status"], 500);
    // Hourly at most once the backoff reached its cap, for a day.
    assert!((10..=30).contains(&attempts), "{attempts} attempts");
    assert_eq!(receiver.got().len(), attempts);
    // A failed event can be sent again.
    let since = api
        .post(
            &format!("/v1/event-endpoints/{endpoint}/redeliver"),
            &key,
            json!({ "since_ms": 0 }),
        )
        .await;
    assert_eq!(since.json["redelivered"], 1, "{since:?}");
    assert_eq!(h.pipeline.events().deliver_due().await, 1);
    assert_eq!(receiver.got().len(), attempts + 1);
}

on_both_backends!(two_replicas_deliver_each_event_once);

async fn two_replicas_deliver_each_event_once(kind: Kind) {
    use std::sync::Arc;

    use postd_host::events::EventDelivery;

    let (h, api, key) = start(kind).await;
    let connection = connect(&api, &key).await;
    let receiver = Receiver::start(&[]).await;
    let (endpoint, secret) =
        add_endpoint(&api, &key, &receiver.url, json!(["post.published"])).await;
    for i in 0..40 {
        let body = post_body(&connection, &format!("post {i}"));
        publish(&api, &key, &format!("k{i}"), &body).await;
    }
    assert_eq!(h.pipeline.run_due().await, 40);
    // A second replica's delivery over the same database, claiming at the same time.
    let other = Arc::new(EventDelivery::new(
        h.store.clone(),
        h.runtime.secrets().clone(),
        Arc::new(h.clock.clone()),
        h.pipeline.events().settings().clone(),
        "replica-b".into(),
    ));
    let (a, b) = tokio::join!(h.pipeline.events().deliver_due(), other.deliver_due());
    assert_eq!(a + b, 40, "{a} + {b} attempts");
    let mut ids = receiver.accepted_ids();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every event once");
    assert_eq!(receiver.got().len(), 40, "and no event twice");
    assert!(receiver.got().iter().all(|d| d.verifies_with(&secret)));
    let delivered = api
        .get(
            &format!("/v1/event-endpoints/{endpoint}/deliveries?state=delivered&limit=100"),
            &key,
        )
        .await;
    assert_eq!(delivered.json.as_array().unwrap().len(), 40);
}
