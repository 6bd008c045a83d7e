//! Images (`initializeUpload`, then PUT the bytes to the upload URL) and videos (`initializeUpload`
//! with 4 MiB parts, PUT each part and collect its `etag`, `finalizeUpload` with the etags in order,
//! then `PROCESSING` -> `AVAILABLE` after `LinkedInConfig::video_processing_secs`).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::LiError;
use super::{Image, Member, Video, body_object};
use crate::http::{self, Req};
use crate::platform::Platform;
use crate::request_log::lock;
use crate::state::SandboxState;

/// Bytes at the start of a video part that make processing fail (documented in the README).
pub(crate) const FAIL_MARKER: &[u8] = b"sandbox-fail";

/// Size of each video upload part.
pub(crate) const PART_SIZE: u64 = 4 * 1024 * 1024;
const MAX_VIDEO_BYTES: u64 = 500 * 1024 * 1024;
const UPLOAD_URL_SECS: i64 = 3600;

fn owner_of(
    body: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<(serde_json::Map<String, Value>, String), LiError> {
    let request = body
        .get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| LiError::input(&format!("/{key}"), "MISSING_FIELD", "field is required"))?
        .clone();
    let owner = request
        .get("owner")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            LiError::input(
                &format!("/{key}/owner"),
                "MISSING_FIELD",
                "field is required",
            )
        })?
        .to_string();
    Ok((request, owner))
}

/// `POST /rest/images?action=initializeUpload`.
pub(super) fn images_action(
    state: &SandboxState,
    req: &Req,
    member: &Member,
) -> Result<Response, LiError> {
    if req.q("action") != Some("initializeUpload") {
        return Err(LiError::bad(
            "Unsupported action; use ?action=initializeUpload",
        ));
    }
    let body = body_object(req)?;
    let (_, owner) = owner_of(&body, "initializeUploadRequest")?;
    if !lock(&state.linkedin).may_act_as(member.id(), &owner) {
        return Err(LiError::denied("images.ACTION-initializeUpload"));
    }
    let id = format!("C4E10AQ{}", state.token("", 16));
    let urn = format!("urn:li:image:{id}");
    let token = state.token("", 24);
    let expires_at = state.clock.now_unix() + UPLOAD_URL_SECS;
    let upload_url = format!(
        "{}/_upload/image/{id}?token={token}",
        state.platform_url(Platform::Linkedin)
    );
    lock(&state.linkedin).images.insert(
        urn.clone(),
        Image {
            urn: urn.clone(),
            owner,
            upload_token: token,
            expires_at,
            uploaded_bytes: None,
        },
    );
    Ok(http::json(
        StatusCode::OK,
        &json!({"value": {"uploadUrlExpiresAt": expires_at * 1000, "uploadUrl": upload_url, "image": urn}}),
    ))
}

/// `GET /rest/images/{urn}`.
pub(super) fn get_image(state: &SandboxState, urn: &str) -> Result<Response, LiError> {
    let li = lock(&state.linkedin);
    let i = li.images.get(urn).ok_or_else(LiError::not_found)?;
    let status = if i.uploaded_bytes.is_some() {
        "AVAILABLE"
    } else {
        "WAITING_UPLOAD"
    };
    Ok(http::json(
        StatusCode::OK,
        &json!({"id": i.urn, "owner": i.owner, "status": status}),
    ))
}

/// `POST /rest/videos?action=initializeUpload|finalizeUpload`.
pub(super) fn videos_action(
    state: &SandboxState,
    req: &Req,
    member: &Member,
) -> Result<Response, LiError> {
    let body = body_object(req)?;
    match req.q("action") {
        Some("initializeUpload") => {
            let (request, owner) = owner_of(&body, "initializeUploadRequest")?;
            let size = request
                .get("fileSizeBytes")
                .and_then(Value::as_u64)
                .filter(|s| *s > 0)
                .ok_or_else(|| {
                    LiError::input(
                        "/initializeUploadRequest/fileSizeBytes",
                        "MISSING_FIELD",
                        "fileSizeBytes must be a positive integer",
                    )
                })?;
            if size > MAX_VIDEO_BYTES {
                return Err(LiError::input(
                    "/initializeUploadRequest/fileSizeBytes",
                    "INVALID_VALUE",
                    "videos may be at most 500 MB",
                ));
            }
            if !lock(&state.linkedin).may_act_as(member.id(), &owner) {
                return Err(LiError::denied("videos.ACTION-initializeUpload"));
            }
            let id = format!("C5F10AQ{}", state.token("", 16));
            let urn = format!("urn:li:video:{id}");
            let token = state.token("", 24);
            let base = state.platform_url(Platform::Linkedin);
            let parts: Vec<(u64, u64, Option<String>)> = (0..size.div_ceil(PART_SIZE))
                .map(|i| (i * PART_SIZE, ((i + 1) * PART_SIZE).min(size) - 1, None))
                .collect();
            let instructions: Vec<Value> = parts
                .iter()
                .enumerate()
                .map(|(i, (first, last, _))| json!({"uploadUrl": format!("{base}/_upload/video/{id}/{i}?token={token}"), "firstByte": first, "lastByte": last}))
                .collect();
            let expires_at = state.clock.now_unix() + UPLOAD_URL_SECS;
            lock(&state.linkedin).videos.insert(
                urn.clone(),
                Video {
                    urn: urn.clone(),
                    owner,
                    size,
                    upload_token: token,
                    expires_at,
                    parts,
                    finalized_at: None,
                    fails: false,
                },
            );
            Ok(http::json(
                StatusCode::OK,
                &json!({"value": {"uploadUrlsExpireAt": expires_at * 1000, "video": urn, "uploadInstructions": instructions, "uploadToken": ""}}),
            ))
        }
        Some("finalizeUpload") => {
            let request = body
                .get("finalizeUploadRequest")
                .and_then(Value::as_object)
                .ok_or_else(|| {
                    LiError::input(
                        "/finalizeUploadRequest",
                        "MISSING_FIELD",
                        "field is required",
                    )
                })?;
            let urn = request
                .get("video")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let ids: Vec<&str> = request
                .get("uploadedPartIds")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let now = state.clock.now_unix();
            let mut li = lock(&state.linkedin);
            let v = li.videos.get_mut(urn).ok_or_else(LiError::not_found)?;
            let etags: Vec<Option<&str>> = v.parts.iter().map(|(_, _, e)| e.as_deref()).collect();
            if etags.iter().any(Option::is_none) {
                return Err(LiError::bad("Not every part has been uploaded"));
            }
            if etags
                .iter()
                .map(|e| e.unwrap_or_default())
                .ne(ids.iter().copied())
            {
                return Err(LiError::bad(
                    "uploadedPartIds must list every part's etag, in order",
                ));
            }
            v.finalized_at = Some(now);
            Ok(http::empty(StatusCode::OK))
        }
        _ => Err(LiError::bad(
            "Unsupported action; use ?action=initializeUpload or ?action=finalizeUpload",
        )),
    }
}

/// `GET /rest/videos/{urn}`.
pub(super) fn get_video(state: &SandboxState, urn: &str) -> Result<Response, LiError> {
    let now = state.clock.now_unix();
    let processing = state.config.linkedin.video_processing_secs;
    let li = lock(&state.linkedin);
    let v = li.videos.get(urn).ok_or_else(LiError::not_found)?;
    let status = match v.finalized_at {
        None => "WAITING_UPLOAD",
        Some(f) if now < f + processing => "PROCESSING",
        Some(_) if v.fails => "PROCESSING_FAILED",
        Some(_) => "AVAILABLE",
    };
    Ok(http::json(
        StatusCode::OK,
        &json!({"id": v.urn, "owner": v.owner, "status": status, "fileSizeBytes": v.size}),
    ))
}

/// `PUT /_upload/image/{id}?token=` and `PUT /_upload/video/{id}/{part}?token=` (the upload URLs).
pub(super) fn upload(
    state: &SandboxState,
    req: &Req,
    kind: &str,
    rest: &[&str],
) -> Result<Response, LiError> {
    let token = req.q("token").unwrap_or_default();
    let now = state.clock.now_unix();
    let mut li = lock(&state.linkedin);
    match (kind, rest) {
        ("image", [id]) => {
            let image = li
                .images
                .get_mut(&format!("urn:li:image:{id}"))
                .ok_or_else(LiError::not_found)?;
            if image.upload_token != token {
                return Err(LiError::new(
                    StatusCode::UNAUTHORIZED,
                    "Invalid upload token",
                ));
            }
            if now >= image.expires_at {
                return Err(LiError::bad("The upload URL has expired"));
            }
            if req.body.is_empty() {
                return Err(LiError::bad("The upload body is empty"));
            }
            image.uploaded_bytes = Some(req.body.len());
            Ok(http::empty(StatusCode::CREATED))
        }
        ("video", [id, part]) => {
            let video = li
                .videos
                .get_mut(&format!("urn:li:video:{id}"))
                .ok_or_else(LiError::not_found)?;
            if video.upload_token != token {
                return Err(LiError::new(
                    StatusCode::UNAUTHORIZED,
                    "Invalid upload token",
                ));
            }
            if now >= video.expires_at {
                return Err(LiError::bad("The upload URL has expired"));
            }
            let index: usize = part.parse().map_err(|_| LiError::not_found())?;
            let (first, last, etag) = video.parts.get_mut(index).ok_or_else(LiError::not_found)?;
            let expected = *last - *first + 1;
            if req.body.len() as u64 != expected {
                return Err(LiError::bad(format!(
                    "Part {index} must be {expected} bytes (bytes {first}-{last}); got {}",
                    req.body.len()
                )));
            }
            let tag = format!(
                "/sandbox/etag/{id}/{index}/{}",
                crate::platforms::fake_count(id, part, req.body.len() as i64)
            );
            *etag = Some(tag.clone());
            if req.body.starts_with(FAIL_MARKER) {
                video.fails = true;
            }
            let mut resp = http::empty(StatusCode::OK);
            http::set_header(&mut resp, "etag", &tag);
            Ok(resp)
        }
        _ => Err(LiError::not_found()),
    }
}
