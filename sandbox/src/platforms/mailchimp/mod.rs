//! Mailchimp Marketing API v3 under `/mailchimp/{dc}/3.0/...` (real host `https://{dc}.api.mailchimp.com/3.0`),
//! and the OAuth login host under `/mailchimp/login/oauth2/...` (real `https://login.mailchimp.com/oauth2`).
//!
//! Auth: HTTP Basic (any user name, API key as password) or Bearer (API key or OAuth token). An API key
//! is `<32 hex>-<dc>`; a malformed key or one used on another data centre gets 401 "API Key Invalid".
//! Every answer carries `X-Request-Id`.

mod campaign_list;
mod campaigns;
pub(crate) mod errors;
mod lists;
mod oauth;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::{Value, json};

use self::errors::Problem;
use super::tokens::TokenStore;
use crate::http::{self, Req};
use crate::request_log::lock;
use crate::seed;
use crate::server::IssuedToken;
use crate::state::SandboxState;

/// A seeded Mailchimp account.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub id: String,
    pub name: String,
    pub dc: String,
    pub api_key: String,
}

/// A list member.
#[derive(Clone, Debug)]
pub(crate) struct Member {
    pub email: String,
    pub status: String,
    pub merge_fields: Value,
    pub created_at: i64,
}

/// A list webhook.
#[derive(Clone, Debug)]
pub(crate) struct Webhook {
    pub id: String,
    pub url: String,
    pub events: Value,
    pub sources: Value,
}

/// An audience.
#[derive(Clone, Debug)]
pub(crate) struct List {
    pub id: String,
    pub account: String,
    pub name: String,
    pub created_at: i64,
    /// By subscriber hash (MD5 of the lower-cased email).
    pub members: BTreeMap<String, Member>,
    pub webhooks: Vec<Webhook>,
}

/// A campaign.
#[derive(Clone, Debug)]
pub(crate) struct Campaign {
    pub id: String,
    pub web_id: u64,
    pub account: String,
    pub kind: String,
    pub list_id: String,
    pub settings: Value,
    pub created_at: i64,
    /// Stored status; `effective_status` applies the clock.
    pub status: String,
    pub schedule_time: Option<i64>,
    pub send_started: Option<i64>,
    pub html: Option<String>,
    pub plain_text: Option<String>,
    pub recipients_at_send: u64,
}

impl Campaign {
    /// The status at `now`: a scheduled campaign starts sending at its time; sending lasts `send_secs`.
    pub fn effective_status(&self, now: i64, send_secs: i64) -> (&'static str, Option<i64>) {
        let started = match (self.status.as_str(), self.schedule_time, self.send_started) {
            ("schedule", Some(t), _) if now >= t => Some(t),
            ("sending", _, Some(s)) => Some(s),
            ("sent", _, s) => return ("sent", s),
            (s, _, _) => {
                return (
                    match s {
                        "schedule" => "schedule",
                        "paused" => "paused",
                        "canceled" => "canceled",
                        _ => "save",
                    },
                    None,
                );
            }
        };
        match started {
            Some(s) if now >= s + send_secs => ("sent", Some(s)),
            Some(s) => ("sending", Some(s)),
            None => ("save", None),
        }
    }
}

/// Everything the Mailchimp imitation holds.
#[derive(Debug)]
pub struct MailchimpState {
    pub(crate) accounts: Vec<Account>,
    pub(crate) lists: BTreeMap<String, List>,
    pub(crate) campaigns: BTreeMap<String, Campaign>,
    pub(crate) oauth: TokenStore,
    pub(crate) revoked_keys: HashSet<String>,
    /// Calls in flight per credential.
    pub(crate) connections: HashMap<String, usize>,
}

fn member(email: &str, first: &str) -> (String, Member) {
    (
        subscriber_hash(email),
        Member {
            email: email.into(),
            status: "subscribed".into(),
            merge_fields: json!({"FNAME": first, "LNAME": ""}),
            created_at: 1_700_000_000,
        },
    )
}

impl MailchimpState {
    pub(crate) fn seed() -> MailchimpState {
        let accounts = vec![
            Account {
                id: "8d3a3db4d97663a9074efcc16".into(),
                name: "Sandbox Shop".into(),
                dc: "us6".into(),
                api_key: seed::MAILCHIMP_API_KEY_US6.into(),
            },
            Account {
                id: "1f2e3d4c5b6a79880716253a4".into(),
                name: "Sandbox Studio".into(),
                dc: "us21".into(),
                api_key: seed::MAILCHIMP_API_KEY_US21.into(),
            },
        ];
        let mut lists = BTreeMap::new();
        let mk = |id: &str, account: &str, name: &str, members: &[(&str, &str)]| List {
            id: id.into(),
            account: account.into(),
            name: name.into(),
            created_at: 1_690_000_000,
            members: members.iter().map(|(e, f)| member(e, f)).collect(),
            webhooks: Vec::new(),
        };
        let us6 = accounts[0].id.clone();
        let us21 = accounts[1].id.clone();
        for l in [
            mk(
                seed::MAILCHIMP_LIST_ID,
                &us6,
                "Sandbox Newsletter",
                &[
                    ("ann@example.com", "Ann"),
                    ("bob@example.com", "Bob"),
                    ("cy@example.com", "Cy"),
                ],
            ),
            mk(
                seed::MAILCHIMP_LIST2_ID,
                &us6,
                "Sandbox Customers",
                &[("dee@example.com", "Dee")],
            ),
            mk(
                seed::MAILCHIMP_US21_LIST_ID,
                &us21,
                "Studio Friends",
                &[("eve@example.com", "Eve"), ("fay@example.com", "Fay")],
            ),
        ] {
            lists.insert(l.id.clone(), l);
        }
        MailchimpState {
            accounts,
            lists,
            campaigns: BTreeMap::new(),
            oauth: TokenStore::default(),
            revoked_keys: HashSet::new(),
            connections: HashMap::new(),
        }
    }

    pub(crate) fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }
}

/// MD5 of the lower-cased email, hex: Mailchimp's subscriber hash.
pub fn subscriber_hash(email: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(email.to_lowercase().as_bytes()))
}

/// The credential of a request: the API key or OAuth token from Basic or Bearer auth.
fn credential(req: &Req) -> Option<String> {
    let value = req.header("authorization")?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        Some(
            text.split_once(':')
                .map_or(text.clone(), |(_, k)| k.to_string()),
        )
    } else if scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth") {
        Some(rest.to_string())
    } else {
        None
    }
}

/// Whether `key` has the API key form `<32 hex>-<dc>`; returns the data centre.
pub(crate) fn key_dc(key: &str) -> Option<&str> {
    let (hexpart, dc) = key.rsplit_once('-')?;
    let hex_ok = hexpart.len() == 32 && hexpart.bytes().all(|c| c.is_ascii_hexdigit());
    let dc_ok = dc.len() >= 3
        && dc.starts_with(|c: char| c.is_ascii_lowercase())
        && dc
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (hex_ok && dc_ok).then_some(dc)
}

/// The account a credential opens on data centre `dc`.
fn authenticate(state: &SandboxState, req: &Req, dc: &str) -> Result<String, Problem> {
    let cred = credential(req).ok_or_else(|| {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "API Key Missing",
            "Your request did not include an API key.",
        )
    })?;
    let mc = lock(&state.mailchimp);
    if let Ok(info) = mc.oauth.check_access(&cred, state.clock.now_unix()) {
        let account = mc.account(&info.subject).ok_or_else(Problem::key_invalid)?;
        return if account.dc == dc {
            Ok(account.id.clone())
        } else {
            Err(Problem::key_invalid())
        };
    }
    let key_dc = key_dc(&cred).ok_or_else(Problem::key_invalid)?;
    if key_dc != dc || mc.revoked_keys.contains(&cred) {
        return Err(Problem::key_invalid());
    }
    mc.accounts
        .iter()
        .find(|a| a.api_key == cred)
        .map(|a| a.id.clone())
        .ok_or_else(Problem::key_invalid)
}

/// Held while a call runs; counts toward the 10 simultaneous connections.
#[derive(Debug)]
pub(crate) struct ConnectionSlot {
    state: Arc<SandboxState>,
    credential: String,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut mc = lock(&self.state.mailchimp);
        if let Some(n) = mc.connections.get_mut(&self.credential) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Counts a call against the simultaneous-connection limit of its credential.
#[allow(clippy::result_large_err)] // the refusal is the answer itself
pub(crate) fn admit(
    state: &Arc<SandboxState>,
    req: &Req,
) -> Result<Option<ConnectionSlot>, Response> {
    let Some(cred) = credential(req) else {
        return Ok(None);
    };
    if req.segments.first().is_some_and(|s| s == "login") {
        return Ok(None);
    }
    let mut mc = lock(&state.mailchimp);
    let n = mc.connections.entry(cred.clone()).or_insert(0);
    if *n >= state.config.mailchimp.max_connections {
        state
            .limits
            .note_refused(crate::Platform::Mailchimp.as_str());
        return Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            format!(
                "You have exceeded the limit of {} simultaneous connections.",
                state.config.mailchimp.max_connections
            ),
        )
        .into_response());
    }
    *n += 1;
    Ok(Some(ConnectionSlot {
        state: Arc::clone(state),
        credential: cred,
    }))
}

/// Routes one Mailchimp request.
pub(crate) async fn handle(state: &Arc<SandboxState>, req: Req) -> Response {
    let segs = req.segs();
    let mut resp = match segs.as_slice() {
        ["login", "oauth2", rest @ ..] => oauth::handle(state, &req, rest),
        [dc, "3.0", rest @ ..] => {
            let dc = dc.to_string();
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            match authenticate(state, &req, &dc) {
                Ok(account) => route(state, &req, &account, &rest)
                    .await
                    .unwrap_or_else(Problem::into_response),
                Err(p) => p.into_response(),
            }
        }
        _ => Problem::not_found().into_response(),
    };
    if !resp.headers().contains_key("x-request-id") {
        let id = errors::request_id(&req.path, "ok");
        http::set_header(&mut resp, "x-request-id", &id);
    }
    resp
}

async fn route(
    state: &Arc<SandboxState>,
    req: &Req,
    account: &str,
    segs: &[String],
) -> Result<Response, Problem> {
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let m = req.method.clone();
    match (m, segs.as_slice()) {
        (Method::GET, []) => root(state, account),
        (Method::GET, ["ping"]) => Ok(http::json(
            StatusCode::OK,
            &json!({"health_status": "Everything's Chimpy!"}),
        )),
        (Method::GET, ["lists"]) => lists::list_lists(state, req, account),
        (Method::GET, ["lists", id]) => lists::get_list(state, account, id),
        (Method::GET, ["lists", id, "members"]) => lists::list_members(state, req, account, id),
        (Method::POST, ["lists", id, "members"]) => lists::add_member(state, req, account, id),
        (Method::GET, ["lists", id, "members", hash]) => {
            lists::get_member(state, account, id, hash)
        }
        (Method::PUT, ["lists", id, "members", hash]) => {
            lists::upsert_member(state, req, account, id, hash)
        }
        (Method::GET, ["lists", id, "webhooks"]) => lists::list_webhooks(state, account, id),
        (Method::POST, ["lists", id, "webhooks"]) => {
            lists::create_webhook(state, req, account, id).await
        }
        (Method::DELETE, ["lists", id, "webhooks", wid]) => {
            lists::delete_webhook(state, account, id, wid)
        }
        (Method::GET, ["campaigns"]) => campaign_list::list(state, req, account),
        (Method::POST, ["campaigns"]) => campaigns::create(state, req, account),
        (Method::GET, ["campaigns", id]) => campaigns::get(state, account, id),
        (Method::PATCH, ["campaigns", id]) => campaigns::update(state, req, account, id),
        (Method::DELETE, ["campaigns", id]) => campaigns::delete(state, account, id),
        (Method::GET, ["campaigns", id, "content"]) => campaigns::get_content(state, account, id),
        (Method::PUT, ["campaigns", id, "content"]) => {
            campaigns::set_content(state, req, account, id)
        }
        (Method::POST, ["campaigns", id, "actions", action]) => {
            campaigns::action(state, req, account, id, action)
        }
        (Method::GET, ["reports", id]) => campaigns::report(state, account, id),
        (_, ["ping" | "lists" | "campaigns" | "reports", ..]) => Err(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method Not Allowed",
            "The requested method and resource are not compatible. See the Allow header for this resource's available methods.",
        )),
        _ => Err(Problem::not_found()),
    }
}

fn root(state: &SandboxState, account: &str) -> Result<Response, Problem> {
    let mc = lock(&state.mailchimp);
    let a = mc.account(account).ok_or_else(Problem::not_found)?;
    let total: usize = mc
        .lists
        .values()
        .filter(|l| l.account == account)
        .map(|l| l.members.len())
        .sum();
    Ok(http::json(
        StatusCode::OK,
        &json!({"account_id": a.id, "login_id": "100000001", "account_name": a.name, "email": "owner@example.com", "role": "owner", "total_subscribers": total}),
    ))
}

/// The body as a JSON object, or Mailchimp's error for it.
pub(crate) fn body_object(req: &Req) -> Result<serde_json::Map<String, Value>, Problem> {
    match req.json() {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(Problem::invalid("The request body must be a JSON object.")),
        Err(_) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "JSON Parse Exception",
            "We encountered an unspecified JSON parsing error.",
        )),
    }
}

/// Revokes an API key or OAuth token.
pub(crate) fn revoke(state: &SandboxState, token: &str) -> bool {
    let mut mc = lock(&state.mailchimp);
    if mc.oauth.revoke(token) {
        return true;
    }
    if mc.accounts.iter().any(|a| a.api_key == token) {
        mc.revoked_keys.insert(token.to_string());
        return true;
    }
    false
}

/// The `us6` account's API key.
pub(crate) fn issue_token(_state: &SandboxState, _scopes: Option<Vec<String>>) -> IssuedToken {
    IssuedToken {
        access_token: seed::MAILCHIMP_API_KEY_US6.into(),
        refresh_token: None,
    }
}
