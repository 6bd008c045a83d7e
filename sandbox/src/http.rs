//! Request parsing and response helpers shared by every platform.
//!
//! The platforms route by hand over a parsed [`Req`] rather than through axum extractors, so a malformed
//! request always gets the platform's own error shape instead of a framework rejection.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use serde_json::Value;

/// A request as a platform handler sees it: path relative to the platform prefix, decoded segments.
#[derive(Debug)]
pub(crate) struct Req {
    pub method: Method,
    /// Path after the platform prefix, starting with `/`.
    pub path: String,
    /// Percent-decoded path segments of `path`.
    pub segments: Vec<String>,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The query string as received, undecoded (platforms whose syntax lives in the encoding, such
    /// as LinkedIn's Rest.li values, read it here).
    pub raw_query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(
        method: Method,
        path: &str,
        raw_query: Option<&str>,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Req {
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(percent_decode)
            .collect();
        let query = raw_query
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Req {
            method,
            path: path.to_string(),
            segments,
            query,
            raw_query: raw_query.map(str::to_string),
            headers,
            body,
        }
    }

    /// Segments as `&str`, for slice patterns.
    pub fn segs(&self) -> Vec<&str> {
        self.segments.iter().map(String::as_str).collect()
    }

    /// First query value named `key`.
    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every query value named `key`.
    pub fn q_all(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// Every value named `key` as received, undecoded (a key is compared decoded).
    pub fn raw_q_all(&self, key: &str) -> Vec<&str> {
        self.raw_query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter_map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(&k.replace('+', " ")) == key).then_some(v)
            })
            .collect()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The token of an `Authorization: Bearer <token>` header.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }

    /// The body decoded as `application/x-www-form-urlencoded` pairs (empty when it is not).
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .into_owned()
            .collect()
    }

    /// First value named `key` in the form body.
    pub fn form_value(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<Value, String> {
        if self.body.is_empty() {
            return Err("request body is empty".into());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| format!("request body is not valid JSON: {e}"))
    }

    /// Whether the body claims to be JSON.
    pub fn is_json(&self) -> bool {
        self.header("content-type")
            .is_some_and(|c| c.contains("json"))
    }
}

/// Percent-decodes `s`; a `+` stays a plus.
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but unreserved characters (for URLs the sandbox builds).
pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: &Value) -> Response {
    with_body(status, "application/json; charset=UTF-8", value.to_string())
}

/// A response with a content type and body.
pub(crate) fn with_body(status: StatusCode, content_type: &str, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        resp.headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, v);
    }
    resp
}

/// An empty response.
pub(crate) fn empty(status: StatusCode) -> Response {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = status;
    resp
}

/// A `302 Found` to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    let mut resp = empty(StatusCode::FOUND);
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    resp
}

/// Sets a header on a response (ignored when the value is not a valid header value).
pub(crate) fn set_header(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(HeaderName::from_static(name), v);
    }
}

/// Appends `key=value` pairs to a URL, keeping its existing query.
pub(crate) fn append_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = base.to_string();
    let mut sep = if base.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        out.push(sep);
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
        sep = '&';
    }
    out
}

/// Text of a body when it is UTF-8, else base64.
pub(crate) fn body_text_or_base64(body: &[u8]) -> (Option<String>, Option<String>) {
    match std::str::from_utf8(body) {
        Ok(t) => (Some(t.to_string()), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(body)),
        ),
    }
}

/// Parses an HTTP `Content-Range: bytes first-last/total` header.
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let rest = value.trim().strip_prefix("bytes")?.trim_start();
    let (range, total) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        total.trim().parse().ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_percent_segments() {
        assert_eq!(percent_decode("urn%3Ali%3Ashare%3A1"), "urn:li:share:1");
        assert_eq!(percent_decode("bad%zz"), "bad%zz");
        assert_eq!(percent_decode("end%"), "end%");
    }

    #[test]
    fn raw_query_values_stay_undecoded() {
        let req = Req::new(
            Method::GET,
            "/x",
            Some("a=List(urn%3Ali%3A1)&b=List%28x%29&a=2&c"),
            HeaderMap::new(),
            Vec::new(),
        );
        assert_eq!(req.raw_q_all("a"), ["List(urn%3Ali%3A1)", "2"]);
        assert_eq!(req.raw_q_all("b"), ["List%28x%29"]);
        assert_eq!(req.q("b"), Some("List(x)"));
        assert_eq!(req.raw_q_all("c"), [""]);
        assert!(req.raw_q_all("d").is_empty());
    }

    #[test]
    fn content_range() {
        assert_eq!(parse_content_range("bytes 0-9/20"), Some((0, 9, 20)));
        assert_eq!(parse_content_range("bytes x-9/20"), None);
    }
}
