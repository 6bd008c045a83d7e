//! Publishing through the job pipeline: chunked uploads (three chunks, one chunk), resuming
//! after a worker died or a chunk failed without a second init, status polling to completion
//! and to FAILED, pulls from a verified prefix, photos, drafts, and checks that keep bad posts
//! from reaching TikTok.

use super::*;
use postd_host::runtime::wit::connector::{AnalyticsRequest, JobContext, TaskContext};
use postd_host::runtime::wit::queue::Task;
use postd_host::runtime::wit::types::ConnectorError;

const INIT: &str = "/v2/post/publish/video/init/";
const STATUS: &str = "/v2/post/publish/status/fetch/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_17_mib_video_goes_up_in_three_chunks_and_completes_with_its_public_id() {
    let tt = start(sandbox_config(), &[]).await;
    let size = 17 * MIB;
    let url = format!("{}/v/clip-{size}.mp4", tt.media);
    let id = tt
        .accept(new_post(
            "tt-3-chunks",
            "Three chunks #sandbox",
            vec![video(url, None)],
            &[("privacy-level", "PUBLIC_TO_EVERYONE")],
        ))
        .await;
    let job = tt.drive(&id, 12).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    assert_eq!(
        tt.chunk_ranges(),
        [
            format!("bytes 0-{}/{size}", 5 * MIB - 1),
            format!("bytes {}-{}/{size}", 5 * MIB, 10 * MIB - 1),
            format!("bytes {}-{}/{size}", 10 * MIB, size - 1),
        ]
    );
    let init: Value = tt
        .requests()
        .iter()
        .find(|r| r.path == INIT)
        .and_then(|r| serde_json::from_str(r.body_text.as_deref()?).ok())
        .unwrap();
    assert_eq!(init["source_info"]["source"], "FILE_UPLOAD");
    assert_eq!(init["source_info"]["video_size"], size);
    assert_eq!(init["source_info"]["chunk_size"], 5 * MIB);
    assert_eq!(init["source_info"]["total_chunk_count"], 3);
    assert_eq!(init["post_info"]["title"], "Three chunks #sandbox");
    assert_eq!(
        init["post_info"]["disable_stitch"], true,
        "the creator disabled stitches"
    );
    assert_eq!(tt.count("POST", "/v2/post/publish/creator_info/query/"), 1);
    let published = result(&job);
    let post_id = published["post_id"].as_str().unwrap();
    assert!(
        post_id.starts_with("74"),
        "the public id, not the publish id: {post_id}"
    );
    assert!(published["url"].as_str().unwrap().ends_with(post_id));
    assert!(
        job.recovery_point
            .as_deref()
            .unwrap()
            .starts_with("v_pub_file")
    );
    // The public video has figures; so does the creator.
    let analytics = |post_id: Option<String>| AnalyticsRequest {
        account_id: seed::TIKTOK_OPEN_ID.into(),
        post_id,
        since: 0,
        until: 0,
        metrics: vec![],
    };
    let env = &tt.piped.env;
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(analytics(Some(post_id.into()))),
        )
        .await;
    let figures: Vec<String> = reply!(served, Analytics)
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(figures, ["views", "likes", "comments", "shares"]);
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(analytics(None)),
        )
        .await;
    let followers = reply!(served, Analytics)
        .unwrap()
        .into_iter()
        .find(|m| m.name == "followers")
        .unwrap();
    assert_eq!(followers.value, 1520.0);
    let served = env
        .call(
            Some(CONNECTION),
            None,
            Invocation::Analytics(analytics(Some("7499".into()))),
        )
        .await;
    assert!(matches!(
        reply!(served, Analytics),
        Err(ConnectorError::InvalidInput(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chunks_larger_than_the_plugins_memory_stream_through_the_host() {
    let media = media_server().await;
    let allowed = media.clone();
    let piped = Piped::start_with(
        "tiktok",
        postd_test_artifacts::TIKTOK,
        sandbox_config(),
        |base, _| settings(base, &[("chunk-size-mb", "36")]),
        move |entry| {
            entry.allowed_hosts.push(allowed);
            entry.limits.memory_bytes = 32 << 20;
        },
    )
    .await;
    let callback = consent(&piped).await;
    piped.connect(CONNECTION, callback).await;
    let tt = Tt { piped, media };
    // 72 MiB in two chunks of 36 MiB, each larger than the instance's 32 MiB of memory: the
    // host streams each from the media server to TikTok.
    let size = 72 * MIB;
    let id = tt
        .accept(new_post(
            "tt-big",
            "Bigger than memory",
            vec![video(format!("{}/v/big-{size}.mp4", tt.media), Some(size))],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    let job = tt.drive(&id, 8).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    let ranges = tt.chunk_ranges();
    assert_eq!(
        ranges,
        [
            format!("bytes 0-{}/{size}", 36 * MIB - 1),
            format!("bytes {}-{}/{size}", 36 * MIB, size - 1)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_private_video_is_one_chunk_and_completes_with_the_publish_id() {
    let tt = start(sandbox_config(), &[]).await;
    let size = 3 * MIB + 17;
    let url = format!("{}/v/small-{size}.mp4", tt.media);
    let id = tt
        .accept(new_post(
            "tt-1-chunk",
            "One chunk",
            vec![video(url, Some(size))],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    let job = tt.drive(&id, 6).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    assert_eq!(tt.chunk_ranges(), [format!("bytes 0-{}/{size}", size - 1)]);
    assert_eq!(
        result(&job)["post_id"].as_str(),
        job.recovery_point.as_deref(),
        "a private post has no public id"
    );
    // The upload URL was dropped from the vault once the upload completed.
    let publish_id = job.recovery_point.unwrap();
    let name = postd_connector_tiktok::publish::upload::url_secret(&publish_id);
    assert_eq!(tt.piped.env.secret(CONNECTION, &name).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_that_dies_after_chunk_two_is_resumed_at_chunk_three_with_one_init() {
    let tt = start(sandbox_config(), &[]).await;
    let size = 17 * MIB;
    let url = format!("{}/v/crash-{size}.mp4", tt.media);
    let id = tt
        .accept(new_post(
            "tt-crash",
            "Survives a crash",
            vec![video(url, None)],
            &[("privacy-level", "MUTUAL_FOLLOW_FRIENDS")],
        ))
        .await;
    let store = &tt.piped.store;
    let pipeline = &tt.piped.pipeline;
    let lease = 120_000;
    // publish (init), then chunk 1, recorded as usual.
    for _ in 0..2 {
        let claimed = store
            .claim_due("w1", pipeline.now(), lease, 1)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        pipeline.run_claimed(&claimed[0]).await;
    }
    assert_eq!(tt.chunk_ranges().len(), 1);
    // Chunk 2: TikTok takes it, then the worker dies before the host records anything.
    let claimed = store
        .claim_due("w1", pipeline.now(), lease, 1)
        .await
        .unwrap();
    let task = claimed[0].task.clone().expect("the chunk continuation");
    let served = tt
        .piped
        .env
        .call(
            Some(CONNECTION),
            Some(&id),
            Invocation::HandleTask(TaskContext {
                task: Task {
                    kind: task.kind.clone(),
                    payload: task.payload.clone(),
                },
                job: JobContext {
                    job_id: id.clone(),
                    attempt: claimed[0].job.attempts,
                    recovery_point: claimed[0].job.recovery_point.clone(),
                },
            }),
        )
        .await;
    assert!(
        matches!(
            &served.answer,
            postd_host::runtime::Answer::HandleTask(Ok(_))
        ),
        "{:?}",
        served.answer
    );
    assert_eq!(tt.chunk_ranges().len(), 2, "TikTok holds two chunks");
    drop(claimed);

    // The lease runs out; another worker takes the job over with the same continuation.
    tt.advance(lease as u64 / 1000 + 1);
    let job = tt.drive(&id, 8).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    assert_eq!(tt.count("POST", INIT), 1, "never a second init");
    assert_eq!(
        tt.chunk_ranges(),
        [
            format!("bytes 0-{}/{size}", 5 * MIB - 1),
            format!("bytes {}-{}/{size}", 5 * MIB, 10 * MIB - 1),
            format!("bytes {}-{}/{size}", 10 * MIB, size - 1),
        ],
        "chunk 2 was not sent again; chunk 3 followed"
    );
    let attempts = store.tenant(support::TENANT).attempts(&id).await.unwrap();
    assert!(attempts.iter().all(|a| a.outcome != "dead"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_chunk_is_retried_from_where_tiktok_stands() {
    let tt = start(sandbox_config(), &[]).await;
    let size = 12 * MIB;
    let url = format!("{}/v/retry-{size}.mp4", tt.media);
    // The second chunk PUT fails once with a 503.
    let id = tt
        .accept(new_post(
            "tt-chunk-503",
            "A chunk fails once",
            vec![video(url, Some(size))],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    let store = &tt.piped.store;
    let pipeline = &tt.piped.pipeline;
    for _ in 0..2 {
        let claimed = store
            .claim_due("w1", pipeline.now(), 120_000, 1)
            .await
            .unwrap();
        pipeline.run_claimed(&claimed[0]).await;
    }
    tt.piped
        .env
        .sandbox
        .inject(Platform::Tiktok, rule("503", "/upload/video", 1))
        .unwrap();
    let job = tt.drive(&id, 8).await;
    assert_eq!(job.state, JobState::Published, "{:?}", job.last_error);
    assert_eq!(tt.count("POST", INIT), 1);
    let puts: Vec<_> = tt
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| {
            (
                r.header("content-range").unwrap_or("").to_string(),
                r.status,
            )
        })
        .collect();
    let second = format!("bytes {}-{}/{size}", 5 * MIB, size - 1);
    assert_eq!(
        puts,
        [
            (format!("bytes 0-{}/{size}", 5 * MIB - 1), Some(206)),
            (second.clone(), Some(503)),
            (second, Some(201)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_is_polled_with_backoff_until_failed_and_the_reason_is_kept() {
    let tt = start(sandbox_config(), &[]).await;
    let size = 2 * MIB;
    let url = format!("{}/v/bad-{size}.mp4", tt.media);
    // The sandbox fails the format check of uploads titled with its failure marker.
    let id = tt
        .accept(new_post(
            "tt-failed",
            "sandbox-fail on purpose",
            vec![video(url, Some(size))],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    tt.piped.pipeline.run_due().await;
    assert_eq!(tt.count("POST", STATUS), 0, "no poll before its delay");
    tt.advance(5);
    tt.piped.pipeline.run_due().await;
    assert_eq!(tt.count("POST", STATUS), 1);
    assert_eq!(
        tt.job(&id).await.state,
        JobState::Queued,
        "still processing"
    );
    let job = tt.drive(&id, 6).await;
    assert_eq!(job.state, JobState::Dead);
    let error = job.last_error.unwrap_or_default();
    assert!(error.contains("file_format_check_failed"), "{error}");
    let dead = tt
        .piped
        .store
        .tenant(support::TENANT)
        .dead_letters(10)
        .await
        .unwrap();
    assert_eq!(dead[0].reason_code, "invalid-input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn videos_under_a_verified_prefix_are_pulled_and_a_failed_pull_dead_letters() {
    let media = "http://127.0.0.1:9/verified/";
    let tt = start(sandbox_config(), &[("verified-url-prefixes", media)]).await;
    let ok = tt
        .accept(new_post(
            "tt-pull",
            "Pulled",
            vec![video(format!("{media}clip.mp4"), None)],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    let failing = tt
        .accept(new_post(
            "tt-pull-fail",
            "Pulled badly",
            vec![video(format!("{media}sandbox-fail.mp4"), None)],
            &[("privacy-level", "SELF_ONLY")],
        ))
        .await;
    assert_eq!(tt.drive(&ok, 6).await.state, JobState::Published);
    let dead = tt.drive(&failing, 6).await;
    assert_eq!(dead.state, JobState::Dead);
    assert!(dead.last_error.unwrap().contains("video_pull_failed"));
    assert!(tt.chunk_ranges().is_empty(), "nothing uploaded");
    let inits: Vec<Value> = tt
        .requests()
        .iter()
        .filter(|r| r.path == INIT)
        .filter_map(|r| serde_json::from_str(r.body_text.as_deref()?).ok())
        .collect();
    assert!(
        inits
            .iter()
            .all(|i| i["source_info"]["source"] == "PULL_FROM_URL")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_and_drafts_take_their_own_endpoints() {
    let prefix = "http://127.0.0.1:9/photos/";
    let tt = start(sandbox_config(), &[("verified-url-prefixes", prefix)]).await;
    let photos = tt
        .accept(new_post(
            "tt-photos",
            "Two photos",
            vec![
                photo(format!("{prefix}a.jpg")),
                photo(format!("{prefix}b.jpg")),
            ],
            &[
                ("privacy-level", "PUBLIC_TO_EVERYONE"),
                ("title", "Album"),
                ("photo-cover-index", "1"),
            ],
        ))
        .await;
    let draft = tt
        .accept(new_post(
            "tt-draft",
            "To the inbox",
            vec![video(format!("{}/v/draft-{}.mp4", tt.media, MIB), None)],
            &[("mode", "draft")],
        ))
        .await;
    assert_eq!(tt.drive(&photos, 8).await.state, JobState::Published);
    let draft_job = tt.drive(&draft, 6).await;
    assert_eq!(
        draft_job.state,
        JobState::Published,
        "{:?}",
        draft_job.last_error
    );
    assert_eq!(
        result(&draft_job)["post_id"].as_str(),
        draft_job.recovery_point.as_deref()
    );
    let content: Value = tt
        .requests()
        .iter()
        .find(|r| r.path == "/v2/post/publish/content/init/")
        .and_then(|r| serde_json::from_str(r.body_text.as_deref()?).ok())
        .unwrap();
    assert_eq!(content["media_type"], "PHOTO");
    assert_eq!(content["post_mode"], "DIRECT_POST");
    assert_eq!(content["source_info"]["photo_cover_index"], 1);
    assert_eq!(content["post_info"]["description"], "Two photos");
    assert_eq!(tt.count("POST", "/v2/post/publish/inbox/video/init/"), 1);
    assert_eq!(
        tt.count("POST", "/v2/post/publish/creator_info/query/"),
        1,
        "drafts need no creator info"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_privacy_level_the_creator_lacks_never_reaches_tiktok() {
    let tt = start(sandbox_config(), &[]).await;
    let url = format!("{}/v/p-{}.mp4", tt.media, MIB);
    let cases: [(&str, &[(&str, &str)]); 4] = [
        ("tt-no-privacy", &[]),
        (
            "tt-bad-privacy",
            &[("privacy-level", "FOLLOWER_OF_CREATOR")],
        ),
        (
            "tt-too-long",
            &[
                ("privacy-level", "SELF_ONLY"),
                ("video-duration-secs", "601"),
            ],
        ),
        ("tt-typo", &[("privacy_level", "SELF_ONLY")]),
    ];
    for (key, options) in cases {
        let id = tt
            .accept(new_post(key, "no", vec![video(url.clone(), None)], options))
            .await;
        let job = tt.drive(&id, 2).await;
        assert_eq!(job.state, JobState::Dead, "{key}");
        assert!(job.attempts <= 1, "{key}: not retried");
    }
    assert_eq!(tt.count("POST", INIT), 0, "no init was sent");
    assert!(tt.chunk_ranges().is_empty());
}
