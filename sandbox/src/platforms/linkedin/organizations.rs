//! The versioned organization endpoints: the roles a member holds (`/rest/organizationAcls`), the
//! organizations themselves (`/rest/organizations?ids=List(...)`) and their share statistics
//! (`/rest/organizationalEntityShareStatistics`). Rest.li lists are read from the raw query
//! (see [`super::restli`]).
//!
//! Sources: Organization Access Control by Role
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role>),
//! Organization Lookup
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api>),
//! Organization Share Statistics
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/share-statistics>).
//! The versioned APIs no longer decorate URNs (`~` in a projection): "Additional Info Fields are the
//! replacement for API Decoration"
//! (<https://learn.microsoft.com/en-us/linkedin/marketing/additional-info-field>), so names come
//! from the organizations lookup.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::errors::LiError;
use super::{Member, restli};
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::state::SandboxState;

fn paging(total: usize) -> Value {
    json!({"count": 10, "start": 0, "total": total, "links": []})
}

/// `GET /rest/organizationAcls?q=roleAssignee[&role=ADMINISTRATOR][&state=APPROVED]`.
pub(super) fn acls(state: &SandboxState, req: &Req, member: &Member) -> Result<Response, LiError> {
    if req.q("q") != Some("roleAssignee") {
        return Err(LiError::bad(
            "Invalid query parameters passed to request: q must be roleAssignee",
        ));
    }
    if !(member.has("rw_organization_admin") || member.has("r_organization_admin")) {
        return Err(LiError::denied("organizationAcls.FINDER-roleAssignee"));
    }
    if req.q("projection").is_some_and(|p| p.contains('~')) {
        return Err(LiError::bad(
            "Decoration is not supported in versioned APIs: read the organizations through /rest/organizations",
        )
        .service(100));
    }
    let role = req.q("role").unwrap_or("ADMINISTRATOR");
    let wanted_state = req.q("state").unwrap_or("APPROVED");
    let li = lock(&state.linkedin);
    let elements: Vec<Value> = li
        .orgs
        .iter()
        .filter(|o| o.admin && role == "ADMINISTRATOR" && wanted_state == "APPROVED")
        .map(|o| {
            json!({
                "role": "ADMINISTRATOR",
                "state": "APPROVED",
                "roleAssignee": format!("urn:li:person:{}", member.id()),
                "organization": format!("urn:li:organization:{}", o.id),
            })
        })
        .collect();
    let total = elements.len();
    Ok(http::json(
        StatusCode::OK,
        &json!({"elements": elements, "paging": paging(total)}),
    ))
}

/// `GET /rest/organizations?ids=List(1,2)` (BATCH_GET): `results`, `statuses` and `errors` keyed
/// by id.
pub(super) fn lookup(
    state: &SandboxState,
    req: &Req,
    member: &Member,
) -> Result<Response, LiError> {
    if !(member.has("rw_organization_admin") || member.has("r_organization_admin")) {
        return Err(LiError::denied("organizations.BATCH_GET"));
    }
    if req.raw_q_all("ids").is_empty() {
        return Err(LiError::bad(
            "ids is required: ids=List(<organization id>,...)",
        ));
    }
    let ids = restli::list_param(req, "ids")?;
    let li = lock(&state.linkedin);
    let (mut results, mut statuses, mut errors) = (Map::new(), Map::new(), Map::new());
    for id in ids {
        match li.orgs.iter().find(|o| o.id == id) {
            Some(o) => {
                results.insert(
                    id.clone(),
                    json!({
                        "id": o.id.parse::<u64>().unwrap_or_default(),
                        "localizedName": o.name,
                        "vanityName": o.vanity,
                        "name": {"localized": {"en_US": o.name}, "preferredLocale": {"country": "US", "language": "en"}},
                    }),
                );
                statuses.insert(id, json!(200));
            }
            None => {
                statuses.insert(id.clone(), json!(404));
                errors.insert(id, json!({"status": 404, "message": "Not Found"}));
            }
        }
    }
    Ok(http::json(
        StatusCode::OK,
        &json!({"results": results, "statuses": statuses, "errors": errors}),
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

/// `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&organizationalEntity=<urn>
/// [&shares=List(<urn>,...)][&ugcPosts=List(<urn>,...)]`.
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
    let mut posts = restli::list_param(req, "shares")?;
    posts.extend(restli::list_param(req, "ugcPosts")?);
    let elements: Vec<Value> = if posts.is_empty() {
        vec![json!({"organizationalEntity": org, "totalShareStatistics": stats(org)})]
    } else {
        let li = lock(&state.linkedin);
        let mut out = Vec::new();
        for s in &posts {
            if li
                .posts
                .get(s)
                .is_none_or(|p| p.body.get("author").and_then(Value::as_str) != Some(org))
            {
                return Err(LiError::bad(format!("{s} is not a share of {org}")));
            }
            let key = if s.starts_with("urn:li:ugcPost:") {
                "ugcPost"
            } else {
                "share"
            };
            out.push(
                json!({"organizationalEntity": org, key: s, "totalShareStatistics": stats(s)}),
            );
        }
        out
    };
    Ok(http::json(
        StatusCode::OK,
        &json!({"elements": elements, "paging": {"count": 10, "start": 0, "links": []}}),
    ))
}
