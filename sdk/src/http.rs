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

/// A Rest.li 2.0 value for a URL query: its structure (`List(…)`, `(key:value,…)`) is written
/// as it is, and each leaf and key is percent-encoded in full.
///
/// LinkedIn's "Protocol Versions" guide
/// (<https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version>)
/// and the Rest.li protocol (<https://linkedin.github.io/rest.li/spec/protocol>): under
/// `X-Restli-Protocol-Version: 2.0.0` the `(`, `)`, `,` and `:` that shape a query value stay
/// unencoded, while the same characters inside a value are encoded, as in
/// `authors=List(urn%3Ali%3Aorganization%3A12345)`. Passing such a value through
/// [`Request::query`] would encode the structure too, and the server would read one literal
/// string instead of a list. Ordinary values keep using [`Request::query`].
///
/// ```text
/// let shares = http::Restli::list(["urn:li:share:1", "urn:li:share:2"]);
/// http::Request::get(url).query_restli("shares", &shares);
/// // ?shares=List(urn%3Ali%3Ashare%3A1,urn%3Ali%3Ashare%3A2)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restli {
    /// A string, number or URN, encoded in full (the empty string is Rest.li's `''`).
    Leaf(String),
    /// `List(a,b,…)`.
    List(Vec<Restli>),
    /// `(key:value,…)`, keys encoded like leaves.
    Object(Vec<(String, Restli)>),
}

impl Restli {
    /// A leaf value.
    pub fn leaf(value: impl Into<String>) -> Self {
        Restli::Leaf(value.into())
    }

    /// `List(…)` of `items`.
    pub fn list<T: Into<Restli>>(items: impl IntoIterator<Item = T>) -> Self {
        Restli::List(items.into_iter().map(Into::into).collect())
    }

    /// `(key:value,…)` of `fields`, in the order given.
    pub fn object<K: Into<String>, V: Into<Restli>>(
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Restli::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    /// The value as it goes in a URL query: structure as is, leaves and keys encoded.
    pub fn to_query_value(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Restli::Leaf(value) => out.push_str(&leaf(value)),
            Restli::List(items) => {
                out.push_str("List(");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(')');
            }
            Restli::Object(fields) => {
                out.push('(');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&leaf(key));
                    out.push(':');
                    value.write(out);
                }
                out.push(')');
            }
        }
    }
}

/// One encoded leaf: every character but RFC 3986's unreserved ones is escaped, which covers
/// Rest.li's own `(`, `)`, `,`, `:` and `'`; the empty string is `''`.
fn leaf(value: &str) -> String {
    if value.is_empty() {
        "''".to_string()
    } else {
        encode(value)
    }
}

impl From<&str> for Restli {
    fn from(value: &str) -> Self {
        Restli::Leaf(value.to_string())
    }
}

impl From<String> for Restli {
    fn from(value: String) -> Self {
        Restli::Leaf(value)
    }
}

impl From<&String> for Restli {
    fn from(value: &String) -> Self {
        Restli::Leaf(value.clone())
    }
}

impl From<i64> for Restli {
    fn from(value: i64) -> Self {
        Restli::Leaf(value.to_string())
    }
}

impl From<u64> for Restli {
    fn from(value: u64) -> Self {
        Restli::Leaf(value.to_string())
    }
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
    pub fn query(self, name: &str, value: &str) -> Self {
        self.append_query(name, &encode(value))
    }

    /// Appends one query parameter holding a Rest.li 2.0 value: its name encoded, the value's
    /// structure kept and its leaves encoded (see [`Restli`]).
    pub fn query_restli(self, name: &str, value: &Restli) -> Self {
        self.append_query(name, &value.to_query_value())
    }

    /// Appends `name` (encoded here) `=` `value` (already in its wire form) to the URL.
    fn append_query(mut self, name: &str, value: &str) -> Self {
        let separator = if self.inner.url.contains('?') {
            '&'
        } else {
            '?'
        };
        self.inner.url = format!("{}{separator}{}={value}", self.inner.url, encode(name));
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
        Ok(wit::send(&self.inner)?.into())
    }

    /// The request as the contract carries it.
    pub(crate) fn as_wit(&self) -> &wit::Request {
        &self.inner
    }
}

impl From<wit::Response> for Response {
    fn from(answer: wit::Response) -> Self {
        Response {
            status: answer.status,
            headers: answer.headers,
            body: answer.body,
        }
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
    fn restli_values_keep_their_structure_and_encode_their_leaves() {
        // The guide's own example.
        let request = Request::get("https://api.linkedin.com/v2/ugcPosts")
            .query("q", "authors")
            .query_restli("authors", &Restli::list(["urn:li:organization:12345"]));
        assert_eq!(
            request.url(),
            "https://api.linkedin.com/v2/ugcPosts?q=authors&authors=List(urn%3Ali%3Aorganization%3A12345)"
        );
        // Rest.li's reserved characters inside a leaf are data, so they are encoded.
        let nested = Restli::object([
            (
                "timeRange",
                Restli::object([("start", 1_i64), ("end", 2_i64)]),
            ),
            ("tag", Restli::leaf("a(b),c:d'e f")),
            ("empty", Restli::leaf("")),
            ("ids", Restli::list(Vec::<Restli>::new())),
        ]);
        assert_eq!(
            nested.to_query_value(),
            "(timeRange:(start:1,end:2),tag:a%28b%29%2Cc%3Ad%27e%20f,empty:'',ids:List())"
        );
        // The ordinary encoder still encodes everything, for ordinary values.
        let plain = Request::get("https://x.example").query("p", "List(a)");
        assert_eq!(plain.url(), "https://x.example?p=List%28a%29");
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
