//! Posts (`/rest/posts`: 201 with the URN in `x-restli-id`, get, delete -> 204), the organizations a
//! member administers, and organization share statistics.

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

/// `GET /v2/organizationalEntityAcls?q=roleAssignee&state=APPROVED&projection=...`.
pub(super) fn org_acls(
    state: &SandboxState,
    req: &Req,
    member: &Member,
) -> Result<Response, LiError> {
    if req.q("q") != Some("roleAssignee") {
        return Err(LiError::bad(
            "Invalid query parameters passed to request: q must be roleAssignee",
        ));
    }
    if !(member.has("rw_organization_admin") || member.has("r_organization_admin")) {
        return Err(LiError::denied(
            "organizationalEntityAcls.FINDER-roleAssignee",
        ));
    }
    if req.q("state").is_some_and(|s| s != "APPROVED") {
        return Ok(http::json(
            StatusCode::OK,
            &json!({"elements": [], "paging": {"count": 10, "start": 0, "total": 0, "links": []}}),
        ));
    }
    let decorate = req
        .q("projection")
        .is_some_and(|p| p.contains("organizationalTarget~"));
    let li = lock(&state.linkedin);
    let elements: Vec<Value> = li
        .orgs
        .iter()
        .filter(|o| o.admin)
        .map(|o| {
            let mut e = json!({
                "role": "ADMINISTRATOR",
                "state": "APPROVED",
                "roleAssignee": format!("urn:li:person:{}", member.id()),
                "organizationalTarget": format!("urn:li:organization:{}", o.id),
            });
            if decorate {
                e["organizationalTarget~"] =
                    json!({"localizedName": o.name, "vanityName": o.vanity});
            }
            e
        })
        .collect();
    let total = elements.len();
    Ok(http::json(
        StatusCode::OK,
        &json!({"elements": elements, "paging": {"count": 10, "start": 0, "total": total, "links": []}}),
    ))
}

fn stats(seed_text: &str) -> Value {
    let n = |m: &str| crate::platforms::fake_count(seed_text, m, 0);
    let impressions = n("impressions") + 100;
    let clicks = n("clicks") % 50;
    let likes = n("likes") % 40;
    let comments = n("comments") % 10;
    let shares = n("shares") % 5;
    json!({
        "uniqueImpressionsCount": impressions * 3 / 4,
        "shareCount": shares,
        "engagement": (clicks + likes + comments + shares) as f64 / impressions as f64,
        "clickCount": clicks,
        "likeCount": likes,
        "impressionCount": impressions,
        "commentCount": comments,
    })
}

/// `GET /v2/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=<urn>[&shares=List(<urn>,...)]`.
pub(super) fn share_statistics(
    state: &SandboxState,
    req: &Req,
    member: &Member,
) -> Result<Response, LiError> {
    if req.q("q") != Some("organizationalEntity") {
        return Err(LiError::bad(
            "Invalid query parameters passed to request: q must be organizationalEntity",
        ));
    }
    let org = req
        .q("organizationalEntity")
        .ok_or_else(|| LiError::bad("organizationalEntity is required"))?;
    if !org.starts_with("urn:li:organization:") {
        return Err(LiError::bad(
            "organizationalEntity must be an organization URN (member analytics are not available)",
        ));
    }
    if !lock(&state.linkedin).may_act_as(member.id(), org)
        || !(member.has("r_organization_social") || member.has("rw_organization_admin"))
    {
        return Err(LiError::denied(
            "organizationalEntityShareStatistics.FINDER-organizationalEntity",
        ));
    }
    let mut shares: Vec<String> = Vec::new();
    for value in req.q_all("shares") {
        let inner = value
            .strip_prefix("List(")
            .and_then(|v| v.strip_suffix(')'))
            .unwrap_or(value);
        shares.extend(
            inner
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
    }
    let elements: Vec<Value> = if shares.is_empty() {
        vec![json!({"organizationalEntity": org, "totalShareStatistics": stats(org)})]
    } else {
        let li = lock(&state.linkedin);
        let mut out = Vec::new();
        for s in &shares {
            if li
                .posts
                .get(s)
                .is_none_or(|p| p.body.get("author").and_then(Value::as_str) != Some(org))
            {
                return Err(LiError::bad(format!("{s} is not a share of {org}")));
            }
            out.push(
                json!({"organizationalEntity": org, "share": s, "totalShareStatistics": stats(s)}),
            );
        }
        out
    };
    Ok(http::json(
        StatusCode::OK,
        &json!({"elements": elements, "paging": {"count": 10, "start": 0, "links": []}}),
    ))
}
