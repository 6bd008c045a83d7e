//! Posts (`/rest/posts`: 201 with the URN in `x-restli-id`, get, delete -> 204, and the posts of one
//! author, most recently modified first).
//!
//! Source: Posts API
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/posts-api>).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::errors::LiError;
use super::{LiPost, Member, body_object};
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::state::SandboxState;

const MAX_COMMENTARY: usize = 3000;

fn str_field<'a>(body: &'a serde_json::Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

fn one_of(
    body: &serde_json::Map<String, Value>,
    field: &str,
    allowed: &[&str],
) -> Result<(), LiError> {
    match str_field(body, field) {
        Some(v) if allowed.contains(&v) => Ok(()),
        Some(_) => Err(LiError::input(
            &format!("/{field}"),
            "INVALID_ENUM_VALUE",
            &format!("must be one of {}", allowed.join(", ")),
        )),
        None => Err(LiError::input(
            &format!("/{field}"),
            "MISSING_FIELD",
            "field is required",
        )),
    }
}

/// `POST /rest/posts`.
pub(super) fn create(
    state: &SandboxState,
    req: &Req,
    member: &Member,
) -> Result<Response, LiError> {
    let body = body_object(req)?;
    let author = str_field(&body, "author")
        .ok_or_else(|| LiError::input("/author", "MISSING_FIELD", "field is required"))?
        .to_string();
    let scope = if author.starts_with("urn:li:organization:") {
        "w_organization_social"
    } else {
        "w_member_social"
    };
    let version = req
        .header("linkedin-version")
        .unwrap_or_default()
        .to_string();
    if !author.starts_with("urn:li:person:") && !author.starts_with("urn:li:organization:") {
        return Err(LiError::input(
            "/author",
            "INVALID_URN_TYPE",
            "author must be a person or organization URN",
        ));
    }
    if !member.has(scope) || !lock(&state.linkedin).may_act_as(member.id(), &author) {
        return Err(LiError::denied(&format!(
            "partnerApiPostsExternal.CREATE.{version}"
        )));
    }
    let commentary = match body.get("commentary") {
        Some(Value::String(s)) => s.clone(),
        None => String::new(),
        Some(_) => {
            return Err(LiError::input(
                "/commentary",
                "INVALID_VALUE_TYPE",
                "commentary must be a string",
            ));
        }
    };
    if commentary.chars().count() > MAX_COMMENTARY {
        return Err(LiError::input(
            "/commentary",
            "FIELD_LENGTH_TOO_LONG",
            "commentary is longer than 3000 characters",
        ));
    }
    one_of(
        &body,
        "visibility",
        &["PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"],
    )?;
    one_of(&body, "lifecycleState", &["PUBLISHED", "DRAFT"])?;
    let distribution = body
        .get("distribution")
        .and_then(Value::as_object)
        .ok_or_else(|| LiError::input("/distribution", "MISSING_FIELD", "field is required"))?;
    match distribution.get("feedDistribution").and_then(Value::as_str) {
        Some("MAIN_FEED" | "NONE") => {}
        _ => {
            return Err(LiError::input(
                "/distribution/feedDistribution",
                "INVALID_ENUM_VALUE",
                "must be MAIN_FEED or NONE",
            ));
        }
    }
    if body
        .get("isReshareDisabledByAuthor")
        .is_some_and(|v| !v.is_boolean())
    {
        return Err(LiError::input(
            "/isReshareDisabledByAuthor",
            "INVALID_VALUE_TYPE",
            "must be a boolean",
        ));
    }
    let media_ids: Vec<String> = match body.get("content") {
        None => Vec::new(),
        Some(c) => {
            if let Some(id) = c
                .get("media")
                .and_then(|m| m.get("id"))
                .and_then(Value::as_str)
            {
                vec![id.to_string()]
            } else if let Some(images) = c
                .get("multiImage")
                .and_then(|m| m.get("images"))
                .and_then(Value::as_array)
            {
                if !(2..=20).contains(&images.len()) {
                    return Err(LiError::input(
                        "/content/multiImage/images",
                        "INVALID_ARRAY_LENGTH",
                        "a multi-image post has 2 to 20 images",
                    ));
                }
                images
                    .iter()
                    .map(|i| {
                        i.get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect()
            } else if c.get("article").is_some() {
                Vec::new()
            } else {
                return Err(LiError::input(
                    "/content",
                    "INVALID_CONTENT",
                    "content must hold media, multiImage or article",
                ));
            }
        }
    };
    if commentary.is_empty() && media_ids.is_empty() && body.get("content").is_none() {
        return Err(LiError::input(
            "/commentary",
            "MISSING_FIELD",
            "a post needs commentary or content",
        ));
    }
    let now = state.clock.now_unix();
    let processing = state.config.linkedin.video_processing_secs;
    let mut li = lock(&state.linkedin);
    for id in &media_ids {
        let ready = if id.starts_with("urn:li:image:") {
            li.images
                .get(id)
                .is_some_and(|i| i.uploaded_bytes.is_some())
        } else if id.starts_with("urn:li:video:") {
            li.videos
                .get(id)
                .is_some_and(|v| !v.fails && v.finalized_at.is_some_and(|f| now >= f + processing))
        } else {
            false
        };
        if !ready {
            return Err(LiError::input(
                "/content/media/id",
                "INVALID_MEDIA",
                &format!("{id} is not an uploaded, available image or video"),
            ));
        }
    }
    let urn = format!(
        "urn:li:share:{}",
        7_000_000_000_000_000_000u64 + state.next_id()
    );
    let mut stored = Value::Object(body);
    stored["id"] = json!(urn);
    stored["createdAt"] = json!(now * 1000);
    stored["lastModifiedAt"] = json!(now * 1000);
    if stored["lifecycleState"] == "PUBLISHED" {
        stored["publishedAt"] = json!(now * 1000);
    }
    li.posts.insert(urn.clone(), LiPost { body: stored });
    let mut resp = http::empty(StatusCode::CREATED);
    http::set_header(&mut resp, "x-restli-id", &urn);
    http::set_header(&mut resp, "x-linkedin-id", &urn);
    Ok(resp)
}

/// `GET /rest/posts/{urn}`.
pub(super) fn get(state: &SandboxState, urn: &str) -> Result<Response, LiError> {
    let li = lock(&state.linkedin);
    let p = li.posts.get(urn).ok_or_else(LiError::not_found)?;
    Ok(http::json(StatusCode::OK, &p.body))
}

/// `DELETE /rest/posts/{url-encoded urn}` -> 204 (unconfirmed officially).
pub(super) fn delete(
    state: &SandboxState,
    member: &Member,
    urn: &str,
) -> Result<Response, LiError> {
    let mut li = lock(&state.linkedin);
    let author = li
        .posts
        .get(urn)
        .and_then(|p| {
            p.body
                .get("author")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(LiError::not_found)?;
    if !li.may_act_as(member.id(), &author) {
        return Err(LiError::denied("partnerApiPostsExternal.DELETE"));
    }
    li.posts.remove(urn);
    Ok(http::empty(StatusCode::NO_CONTENT))
}

/// Largest page of the author finder.
const MAX_COUNT: usize = 100;

/// `GET /rest/posts?author=<urn>&q=author[&count=10][&start=0][&sortBy=LAST_MODIFIED|CREATED]`: the
/// author's posts, newest first by last modification (the default) or by creation. Reading a
/// member's posts takes `r_member_social`, an organization's `r_organization_social` and an
/// administrator.
pub(super) fn by_author(
    state: &SandboxState,
    req: &Req,
    member: &Member,
) -> Result<Response, LiError> {
    if req.q("q") != Some("author") {
        return Err(LiError::bad(
            "Invalid query parameters passed to request: q must be author",
        ));
    }
    let author = req
        .q("author")
        .ok_or_else(|| LiError::bad("author is required"))?;
    let scope = if author.starts_with("urn:li:person:") {
        "r_member_social"
    } else if author.starts_with("urn:li:organization:") {
        "r_organization_social"
    } else {
        return Err(LiError::bad("author must be a person or organization URN"));
    };
    if !member.has(scope) || !lock(&state.linkedin).may_act_as(member.id(), author) {
        return Err(LiError::denied("partnerApiPostsExternal.FINDER-author"));
    }
    let number = |name: &str, default: usize| match req.q(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| LiError::bad(format!("{name} must be a non-negative number"))),
    };
    let count = number("count", 10)?.clamp(1, MAX_COUNT);
    let start = number("start", 0)?;
    let sort_key = match req.q("sortBy").unwrap_or("LAST_MODIFIED") {
        "LAST_MODIFIED" => "lastModifiedAt",
        "CREATED" => "createdAt",
        other => {
            return Err(LiError::bad(format!(
                "sortBy must be LAST_MODIFIED or CREATED, not {other}"
            )));
        }
    };
    let li = lock(&state.linkedin);
    let mut posts: Vec<&Value> = li
        .posts
        .values()
        .map(|p| &p.body)
        .filter(|b| b.get("author").and_then(Value::as_str) == Some(author))
        .collect();
    posts.reverse();
    posts.sort_by_key(|b| std::cmp::Reverse(b.get(sort_key).and_then(Value::as_i64)));
    let total = posts.len();
    let page: Vec<&Value> = posts.into_iter().skip(start).take(count).collect();
    Ok(http::json(
        StatusCode::OK,
        &json!({"elements": page, "paging": {"start": start, "count": count, "total": total, "links": []}}),
    ))
}
