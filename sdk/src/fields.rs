//! Lookups in the contract's name/value lists: a post's options, a webhook's headers and query.

use crate::{Post, WebhookRequest};

/// The value of the first pair named `name` (exactly).
pub fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The value of the first pair named `name`, ignoring ASCII case (HTTP header names).
pub fn field_ignoring_case<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Post {
    /// The option `name`, trimmed; a blank option counts as absent.
    pub fn option(&self, name: &str) -> Option<&str> {
        field(&self.options, name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

impl WebhookRequest {
    /// The header `name`, in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        field_ignoring_case(&self.headers, name)
    }

    /// The query parameter `name`.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        field(&self.query, name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn headers_ignore_case_and_options_ignore_blanks() {
        let request = WebhookRequest {
            method: "POST".into(),
            path: "/".into(),
            query: pairs(&[("hub.mode", "subscribe")]),
            headers: pairs(&[("X-Hub-Signature-256", "sha256=ab")]),
            body: vec![],
        };
        assert_eq!(request.header("x-hub-signature-256"), Some("sha256=ab"));
        assert_eq!(request.query_param("hub.mode"), Some("subscribe"));
        assert_eq!(request.query_param("HUB.MODE"), None);
        let mut post = Post {
            account_id: "a".into(),
            text: "t".into(),
            link: None,
            media: vec![],
            scheduled_for: None,
            options: pairs(&[("blank", "  "), ("topic", " news ")]),
        };
        assert_eq!(post.option("topic"), Some("news"));
        assert_eq!(post.option("blank"), None);
        post.options.clear();
        assert_eq!(post.option("topic"), None);
    }
}
