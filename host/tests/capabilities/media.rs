//! `media.source`: a byte range of a media file streamed by the host into an upload request,
//! over real HTTP on loopback, with every refusal a connector can meet.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::{get, put};
use postd_host::capability::http::{HttpLimits, HttpState, MediaSource};
use postd_host::capability::memory::{CallMemory, HostMemoryPool, MemoryCaps, MemoryExceeded};
use postd_host::runtime::wit::http::{HttpError, Method, Request, Response};
use postd_host::runtime::wit::media::{HostSource, TransferError};
use wasmtime::component::Resource;

/// The media file's size.
const SIZE: usize = 1 << 20;

/// The byte at `i` of the media file.
fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// What the upload endpoint received, body by body.
type Received = Arc<Mutex<Vec<Vec<u8>>>>;

/// `/video.mp4` honours `Range`; `/plain.mp4` ignores it; `/short.mp4` announces the range
/// asked for but breaks off after 10 bytes of anything longer; `/upload` takes a `PUT` and
/// answers 201 with an etag; anything else is 404. Returns the origin.
async fn servers(received: Received) -> String {
    fn whole() -> Vec<u8> {
        (0..SIZE).map(byte).collect()
    }
    async fn ranged(headers: HeaderMap) -> AxumResponse {
        let range = headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok()?.strip_prefix("bytes=")?.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
        match range {
            Some((first, last)) if first <= last && last < SIZE => (
                StatusCode::PARTIAL_CONTENT,
                [
                    (
                        header::CONTENT_RANGE,
                        format!("bytes {first}-{last}/{SIZE}"),
                    ),
                    (header::CONTENT_TYPE, "video/mp4".into()),
                ],
                whole()[first..=last].to_vec(),
            )
                .into_response(),
            Some(_) => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
            None => ([(header::CONTENT_TYPE, "video/mp4")], whole()).into_response(),
        }
    }
    async fn short(headers: HeaderMap) -> AxumResponse {
        use futures::StreamExt;
        let Some((first, last)) = headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok()?.strip_prefix("bytes=")?.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
        else {
            // A HEAD (or a plain GET): the size, no body.
            return ([(header::CONTENT_LENGTH, SIZE.to_string())], ()).into_response();
        };
        let sent = (last - first + 1).min(10);
        let broken = last - first + 1 > sent;
        let head = futures::stream::iter([Ok::<_, std::io::Error>(Bytes::from(vec![1u8; sent]))]);
        // The break comes after the first bytes went out, as a dropped connection does.
        let tail = futures::stream::once(async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            Err(std::io::Error::other("the media server broke off"))
        })
        .filter(move |_| std::future::ready(broken));
        (
            StatusCode::PARTIAL_CONTENT,
            [(
                header::CONTENT_RANGE,
                format!("bytes {first}-{last}/{SIZE}"),
            )],
            axum::body::Body::from_stream(head.chain(tail)),
        )
            .into_response()
    }
    async fn upload(State(received): State<Received>, body: Bytes) -> AxumResponse {
        received.lock().unwrap().push(body.to_vec());
        (StatusCode::CREATED, [(header::ETAG, "\"part\"")]).into_response()
    }
    let app = Router::new()
        .route("/video.mp4", get(ranged))
        .route("/plain.mp4", get(|| async { whole() }))
        .route("/short.mp4", get(short))
        .route("/upload", put(upload))
        .with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    origin
}

/// A call's `http` state granted `origin` on loopback.
fn state(origin: &str, limits: HttpLimits) -> HttpState {
    crate::http::state(&[origin.to_string()], &["127.0.0.1/32"], limits)
}

fn put_to(url: String) -> Request {
    Request {
        method: Method::Put,
        url,
        headers: vec![("content-type".into(), "application/octet-stream".into())],
        body: vec![],
        timeout_ms: None,
    }
}

async fn open(http: &mut HttpState, url: String) -> Result<Resource<MediaSource>, TransferError> {
    HostSource::open(http, url).await.expect("no trap")
}

async fn send_range(
    http: &mut HttpState,
    source: &Resource<MediaSource>,
    offset: u64,
    length: u64,
    upload: Request,
) -> Result<Response, TransferError> {
    let borrowed = Resource::new_borrow(source.rep());
    HostSource::send_range(http, borrowed, offset, length, upload)
        .await
        .expect("no trap")
}

#[tokio::test]
async fn a_range_streams_from_the_media_file_into_the_upload() {
    let received = Received::default();
    let origin = servers(received.clone()).await;
    let mut http = state(&origin, HttpLimits::default());
    let source = open(&mut http, format!("{origin}/video.mp4"))
        .await
        .unwrap();
    let borrowed = Resource::new_borrow(source.rep());
    assert_eq!(
        HostSource::size(&mut http, borrowed).unwrap(),
        Some(SIZE as u64)
    );
    let borrowed = Resource::new_borrow(source.rep());
    assert_eq!(
        HostSource::mime_type(&mut http, borrowed)
            .unwrap()
            .as_deref(),
        Some("video/mp4")
    );

    let answer = send_range(
        &mut http,
        &source,
        1_000,
        300_000,
        put_to(format!("{origin}/upload")),
    )
    .await
    .unwrap();
    assert_eq!(answer.status, 201);
    assert!(answer.headers.contains(&("etag".into(), "\"part\"".into())));
    let expected: Vec<u8> = (1_000..301_000).map(byte).collect();
    assert_eq!(received.lock().unwrap().as_slice(), [expected]);
    HostSource::drop(&mut http, source).unwrap();
}

#[tokio::test]
async fn a_media_server_that_ignores_range_still_yields_exactly_the_range() {
    let received = Received::default();
    let origin = servers(received.clone()).await;
    let mut http = state(&origin, HttpLimits::default());
    let source = open(&mut http, format!("{origin}/plain.mp4"))
        .await
        .unwrap();
    for (offset, length) in [(0, 4_096), (700_000, (SIZE - 700_000) as u64)] {
        let answer = send_range(
            &mut http,
            &source,
            offset,
            length,
            put_to(format!("{origin}/upload")),
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 201);
    }
    let bodies = received.lock().unwrap();
    assert_eq!(bodies[0], (0..4_096).map(byte).collect::<Vec<u8>>());
    assert_eq!(bodies[1], (700_000..SIZE).map(byte).collect::<Vec<u8>>());
}

#[tokio::test]
async fn bad_ranges_bodies_files_and_grants_are_refused_before_anything_is_sent() {
    let received = Received::default();
    let origin = servers(received.clone()).await;
    let limits = HttpLimits {
        max_transfer: 500_000,
        ..HttpLimits::default()
    };
    let mut http = state(&origin, limits);
    let upload = || put_to(format!("{origin}/upload"));

    assert!(matches!(
        open(&mut http, format!("{origin}/missing.mp4")).await,
        Err(TransferError::SourceStatus(404))
    ));
    assert!(matches!(
        open(&mut http, "http://127.0.0.2:9/video.mp4".into()).await,
        Err(TransferError::Source(HttpError::Denied(_)))
    ));

    let source = open(&mut http, format!("{origin}/video.mp4"))
        .await
        .unwrap();
    let refusals = [
        send_range(&mut http, &source, 0, 0, upload()).await,
        send_range(&mut http, &source, SIZE as u64 - 10, 11, upload()).await,
        send_range(&mut http, &source, 0, 500_001, upload()).await,
        send_range(&mut http, &source, u64::MAX, 2, upload()).await,
    ];
    for refused in refusals {
        assert!(
            matches!(refused, Err(TransferError::BadRange(_))),
            "{refused:?}"
        );
    }
    let mut with_body = upload();
    with_body.body = b"mine".to_vec();
    assert!(matches!(
        send_range(&mut http, &source, 0, 10, with_body).await,
        Err(TransferError::Upload(HttpError::InvalidRequest(_)))
    ));
    let elsewhere = put_to("http://127.0.0.2:9/upload".into());
    assert!(matches!(
        send_range(&mut http, &source, 0, 10, elsewhere).await,
        Err(TransferError::Upload(HttpError::Denied(_)))
    ));
    assert!(
        received.lock().unwrap().is_empty(),
        "no upload reached the server"
    );
}

#[tokio::test]
async fn a_media_server_that_breaks_off_is_a_short_source_and_nothing_is_uploaded() {
    let received = Received::default();
    let origin = servers(received.clone()).await;
    let mut http = state(&origin, HttpLimits::default());
    let source = open(&mut http, format!("{origin}/short.mp4"))
        .await
        .unwrap();
    let answer = send_range(
        &mut http,
        &source,
        0,
        1_000,
        put_to(format!("{origin}/upload")),
    )
    .await;
    assert!(
        matches!(answer, Err(TransferError::SourceShort(10))),
        "{answer:?}"
    );
    assert!(received.lock().unwrap().is_empty(), "no upload completed");
}

#[tokio::test]
async fn what_the_host_holds_for_media_is_charged_to_the_call() {
    let received = Received::default();
    let origin = servers(received.clone()).await;
    // Room for two open files and less than one transfer's buffer window.
    let caps = MemoryCaps {
        bytes: 64 << 10,
        items: 2,
    };
    let memory = CallMemory::new(caps, HostMemoryPool::new(1 << 30));
    let mut http = state(&origin, HttpLimits::default()).with_memory(memory);
    let url = format!("{origin}/video.mp4");
    let source = open(&mut http, url.clone()).await.unwrap();
    let _second = open(&mut http, url.clone()).await.unwrap();
    let third = HostSource::open(&mut http, url).await;
    let trap = third.expect_err("a third open file is over the call's item cap");
    assert!(matches!(
        trap.downcast_ref::<MemoryExceeded>(),
        Some(MemoryExceeded::Call { .. })
    ));

    let borrowed = Resource::new_borrow(source.rep());
    let upload = put_to(format!("{origin}/upload"));
    let trap = HostSource::send_range(&mut http, borrowed, 0, 10, upload)
        .await
        .expect_err("a transfer's buffer window is over the call's byte cap");
    assert!(matches!(
        trap.downcast_ref::<MemoryExceeded>(),
        Some(MemoryExceeded::Call { .. })
    ));
    assert!(received.lock().unwrap().is_empty(), "nothing was sent");
}
