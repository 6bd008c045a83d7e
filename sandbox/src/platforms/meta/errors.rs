//! Graph API errors: `{"error":{"message","type","code","error_subcode","error_user_title","error_user_msg","fbtrace_id"}}`.
//!
//! HTTP statuses are not in the platform facts; the sandbox answers 400 for most errors (as Graph does),
//! 403 for permission errors (10, 200-299), 429 for throttles (4, 17, 32, 613, 80001) and 500/503 for
//! the transient codes 1 and 2. Connectors must map by `code`, not by status.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::http::{self, Req};

/// Error names the control API accepts for Meta.
pub(crate) const NAMES: &str = "any Graph code, optionally with a subcode as `code/subcode` (e.g. 190, 190/463, 4, 17, 32, 613, 80001, 368/1390008, 506, 2635, 10, 200, 100, 1, 2), or an HTTP status such as 503";

/// One Graph error.
#[derive(Clone, Debug)]
pub(crate) struct GraphError {
    pub status: StatusCode,
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    pub error_type: &'static str,
    pub user_title: Option<String>,
    pub user_msg: Option<String>,
}

impl GraphError {
    pub fn new(code: i64, message: impl Into<String>) -> GraphError {
        GraphError {
            status: status_for(code),
            code,
            subcode: None,
            message: message.into(),
            error_type: "OAuthException",
            user_title: None,
            user_msg: None,
        }
    }

    pub fn sub(mut self, subcode: i64) -> GraphError {
        self.subcode = Some(subcode);
        self
    }

    pub fn status(mut self, status: StatusCode) -> GraphError {
        self.status = status;
        self
    }

    pub fn user(mut self, title: &str, msg: &str) -> GraphError {
        self.user_title = Some(title.into());
        self.user_msg = Some(msg.into());
        self
    }

    /// `(#100) <message>` for a parameter error.
    pub fn param(message: impl std::fmt::Display) -> GraphError {
        GraphError::new(100, format!("(#100) {message}"))
    }

    /// The "object does not exist" error.
    pub fn no_object(id: &str, method: &str) -> GraphError {
        GraphError::new(
            100,
            format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
        )
        .sub(33)
        .kind("GraphMethodException")
    }

    pub fn kind(mut self, error_type: &'static str) -> GraphError {
        self.error_type = error_type;
        self
    }

    pub fn into_response(self) -> Response {
        let mut body = json!({
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
            "fbtrace_id": fbtrace(self.code, self.subcode),
        });
        if let Some(s) = self.subcode {
            body["error_subcode"] = json!(s);
        }
        if let Some(t) = self.user_title {
            body["error_user_title"] = Value::String(t);
        }
        if let Some(m) = self.user_msg {
            body["error_user_msg"] = Value::String(m);
        }
        let mut resp = http::json(self.status, &json!({ "error": body }));
        if self.code == 190 {
            http::set_header(
                &mut resp,
                "www-authenticate",
                "OAuth \"Facebook Platform\" \"invalid_token\"",
            );
        }
        resp
    }
}

fn fbtrace(code: i64, subcode: Option<i64>) -> String {
    let mut seed = (code as u64) << 20 ^ subcode.unwrap_or(0) as u64;
    let a = crate::faults::splitmix64(&mut seed);
    format!("A{}", &format!("{a:016x}")[..10])
}

fn status_for(code: i64) -> StatusCode {
    match code {
        4 | 17 | 32 | 613 | 80001..=80009 => StatusCode::TOO_MANY_REQUESTS,
        10 | 200..=299 => StatusCode::FORBIDDEN,
        1 => StatusCode::INTERNAL_SERVER_ERROR,
        2 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn message_for(code: i64, subcode: Option<i64>) -> &'static str {
    match (code, subcode) {
        (1, _) => "An unknown error occurred",
        (2, _) => "An unexpected error has occurred. Please retry your request later.",
        (4, _) => "(#4) Application request limit reached",
        (17, _) => "(#17) User request limit reached",
        (32, _) => "(#32) Page request limit reached",
        (613, _) => "(#613) Calls to this api have exceeded the rate limit.",
        (80001, _) => {
            "(#80001) There have been too many calls to this Page account. Wait a bit and try again."
        }
        (190, Some(463)) => "Error validating access token: Session has expired.",
        (190, Some(460)) => {
            "Error validating access token: The session has been invalidated because the user changed their password."
        }
        (190, Some(458)) => {
            "Error validating access token: The user has not authorized application."
        }
        (190, Some(459)) => {
            "Error validating access token: You cannot access the app till you log in to www.facebook.com and follow the instructions given."
        }
        (190, _) => "Invalid OAuth access token - Cannot parse access token",
        (10, _) => "(#10) Application does not have permission for this action",
        (200..=299, _) => "(#200) Permissions error",
        (368, _) => {
            "It looks like you were misusing this feature by going too fast. You've been temporarily blocked from using it."
        }
        (506, _) => "(#506) Duplicate status message",
        (341, _) => "(#341) Application limit reached",
        (2635, _) => {
            "(#2635) You are calling a deprecated version of the Graph API. Please update to the latest version."
        }
        (9, Some(2207042)) => "Application request limit reached",
        (100, _) => "(#100) Invalid parameter",
        _ => "An error occurred",
    }
}

/// Renders an injected error: `190`, `190/463`, or an HTTP status (`503`).
/// Minutes an injected Page throttle (32, 80001) reports in `estimated_time_to_regain_access`.
pub(crate) const INJECTED_REGAIN_MINUTES: u64 = 5;

/// Renders an injected error: `190`, `190/463`, or an HTTP status (`503`). Injected throttles carry the
/// usage header at 100 %: `X-App-Usage` for 4, 17 and 613; `X-Business-Use-Case-Usage` for 32 and 80001
/// (for the Page named in the path, else the first seeded Page), with `estimated_time_to_regain_access`.
pub(crate) fn named(name: &str, req: &Req) -> Option<Response> {
    let (code, subcode) = match name.split_once('/') {
        Some((c, s)) => (
            c.trim().parse::<i64>().ok()?,
            Some(s.trim().parse::<i64>().ok()?),
        ),
        None => (name.trim().parse::<i64>().ok()?, None),
    };
    if (400..=599).contains(&code) && subcode.is_none() {
        let status = StatusCode::from_u16(code as u16).ok()?;
        let graph_code = if code >= 500 { 2 } else { 1 };
        return Some(
            GraphError::new(graph_code, message_for(graph_code, None))
                .status(status)
                .into_response(),
        );
    }
    let mut e = GraphError::new(code, message_for(code, subcode));
    if let Some(s) = subcode {
        e = e.sub(s);
    }
    if code == 368 && subcode == Some(1_390_008) {
        e = e.user(
            "You Can't Use This Feature Right Now",
            "You've been posting too fast. Please try again later.",
        );
    }
    let mut resp = e.into_response();
    match code {
        4 | 17 | 613 => {
            let usage = json!({"call_count": 100, "total_cputime": 100, "total_time": 100});
            http::set_header(&mut resp, "x-app-usage", &usage.to_string());
        }
        32 | 80001 => {
            let page = req
                .segments
                .iter()
                .find(|s| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                .cloned()
                .unwrap_or_else(|| crate::seed::META_PAGE_ID.to_string());
            let usage = json!({ page: [{
                "type": "pages",
                "call_count": 100,
                "total_cputime": 100,
                "total_time": 100,
                "estimated_time_to_regain_access": INJECTED_REGAIN_MINUTES,
            }]});
            http::set_header(&mut resp, "x-business-use-case-usage", &usage.to_string());
        }
        _ => {}
    }
    Some(resp)
}
