//! Outbound HTTP through the host, with a request builder and answer helpers.
//!
//! ```text
//! let me: Me = http::Request::get("https://graph.facebook.com/v23.0/me")
//!     .query("fields", "id,name")
//!     .bearer(&token)
//!     .send()?
//!     .error_for_status()?
//!     .json()?;
//! ```

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::postd::connector::http as wit;
use crate::{Error, Result};

pub use wit::{HttpError, Method};

/// Characters left as they are in a query component or form value: RFC 3986 "unreserved".
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes `value` for a query string, form body or path segment.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, UNRESERVED).to_string()
}

/// `a=1&b=two%20words`: pairs encoded for a query string or an
/// `application/x-www-form-urlencoded` body.
pub fn query_string<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// Current time in Unix seconds, from the host's wall clock.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An outbound request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    inner: wit::Request,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: impl Into<String>) -> Self {
        Request {
            inner: wit::Request {
                method,
                url: url.into(),
                headers: Vec::new(),
                body: Vec::new(),
                timeout_ms: None,
            },
        }
    }

    /// `GET url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new(Method::Get, url)
    }

    /// `POST url`.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new(Method::Post, url)
    }

    /// `PUT url`.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new(Method::Put, url)
    }

    /// `PATCH url`.
    pub fn patch(url: impl Into<String>) -> Self {
        Self::new(Method::Patch, url)
    }

    /// `DELETE url`.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new(Method::Delete, url)
    }

    /// Adds a header (repeated names are kept in order).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.inner.headers.push((name.into(), value.into()));
        self
    }

    /// `Authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", format!("Bearer {token}"))
    }

    /// Appends one encoded query parameter to the URL.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        let separator = if self.inner.url.contains('?') {
            '&'
        } else {
            '?'
        };
        self.inner.url = format!(
            "{}{separator}{}={}",
            self.inner.url,
            encode(name),
            encode(value)
        );
        self
    }

    /// A JSON body with its content type.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        self.inner.body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid_input(format!("request body is not JSON: {e}")))?;
        Ok(self.header("content-type", "application/json"))
    }

    /// An `application/x-www-form-urlencoded` body.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        self.inner.body = query_string(pairs).into_bytes();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    /// A raw body with its content type.
    pub fn body(mut self, bytes: Vec<u8>, content_type: &str) -> Self {
        self.inner.body = bytes;
        self.header("content-type", content_type)
    }

    /// A per-request timeout; the host caps it by its own limit and the call's deadline.
    pub fn timeout_ms(mut self, timeout_ms: u32) -> Self {
        self.inner.timeout_ms = Some(timeout_ms);
        self
    }

    /// The URL, query included.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// The headers so far.
    pub fn headers(&self) -> &[(String, String)] {
        &self.inner.headers
    }

    /// The body so far.
    pub fn body_bytes(&self) -> &[u8] {
        &self.inner.body
    }

    /// Sends the request through the host; host refusals become [`Error`]s.
    pub fn send(self) -> Result<Response> {
        Ok(self.try_send()?)
    }

    /// Sends the request through the host, keeping the host's own error.
    pub fn try_send(self) -> core::result::Result<Response, HttpError> {
        let answer = wit::send(&self.inner)?;
        Ok(Response {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        })
    }
}

/// A platform's answer.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        Ok(serde_json::from_slice(&self.body)?)
    }

    /// `Ok(self)` for 2xx, otherwise the error [`Error::from_status`] maps the status to.
    pub fn error_for_status(self) -> Result<Self> {
        if self.is_success() {
            Ok(self)
        } else {
            Err(Error::from_status(self.status, &self.headers, now_unix()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_encoded_and_appended() {
        let request = Request::get("https://api.example/v1/items")
            .query("fields", "id,name")
            .query("q", "a b&c=d");
        assert_eq!(
            request.url(),
            "https://api.example/v1/items?fields=id%2Cname&q=a%20b%26c%3Dd"
        );
    }

    #[test]
    fn form_and_json_bodies_set_their_content_type() {
        let form = Request::post("https://x.example/token")
            .form(&[("grant_type", "refresh_token"), ("refresh_token", "r/1+")]);
        assert_eq!(
            form.body_bytes(),
            b"grant_type=refresh_token&refresh_token=r%2F1%2B"
        );
        assert!(form.headers().contains(&(
            "content-type".into(),
            "application/x-www-form-urlencoded".into()
        )));

        let json = Request::post("https://x.example")
            .json(&serde_json::json!({"a": 1}))
            .unwrap();
        assert_eq!(json.body_bytes(), br#"{"a":1}"#);
        assert!(
            json.headers()
                .contains(&("content-type".into(), "application/json".into()))
        );
    }

    #[test]
    fn response_helpers_read_headers_and_map_statuses() {
        let ok = Response {
            status: 201,
            headers: vec![("X-Restli-Id".into(), "urn:li:share:1".into())],
            body: b"{\"id\":7}".to_vec(),
        };
        assert_eq!(ok.header("x-restli-id"), Some("urn:li:share:1"));
        let parsed: serde_json::Value = ok.clone().error_for_status().unwrap().json().unwrap();
        assert_eq!(parsed["id"], 7);

        let limited = Response {
            status: 429,
            headers: vec![("retry-after".into(), "3".into())],
            body: vec![],
        };
        assert!(
            matches!(limited.error_for_status(), Err(Error::RateLimited(info)) if info.retry_after_ms == 3000)
        );
    }
}
