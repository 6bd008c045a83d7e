//! Which real base URL each sandbox base URL stands for, so a host can point a connector's
//! configured base URLs at the sandbox.

use serde::Serialize;

use crate::platform::Platform;

/// One real base URL and its sandbox counterpart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The platform.
    pub platform: Platform,
    /// The real base URL; `{dc}` stands for a Mailchimp data centre, `{version}` for a Graph version.
    pub real: &'static str,
    /// The sandbox base URL (same placeholders).
    pub sandbox: String,
}

/// (platform, real base URL, path under the platform prefix).
const MAP: &[(Platform, &str, &str)] = &[
    (Platform::Meta, "https://graph.facebook.com", ""),
    (Platform::Meta, "https://www.facebook.com", ""),
    (Platform::Linkedin, "https://www.linkedin.com", ""),
    (Platform::Linkedin, "https://api.linkedin.com", ""),
    (Platform::Tiktok, "https://www.tiktok.com", ""),
    (Platform::Tiktok, "https://open.tiktokapis.com", ""),
    (
        Platform::Tiktok,
        "https://open-upload.tiktokapis.com",
        "/upload",
    ),
    (Platform::Gbp, "https://accounts.google.com", ""),
    (Platform::Gbp, "https://oauth2.googleapis.com", ""),
    (
        Platform::Gbp,
        "https://mybusinessaccountmanagement.googleapis.com",
        "",
    ),
    (
        Platform::Gbp,
        "https://mybusinessbusinessinformation.googleapis.com",
        "",
    ),
    (Platform::Gbp, "https://mybusiness.googleapis.com", ""),
    (
        Platform::Gbp,
        "https://businessprofileperformance.googleapis.com",
        "",
    ),
    (
        Platform::Gbp,
        "https://mybusinessnotifications.googleapis.com",
        "",
    ),
    (
        Platform::Mailchimp,
        "https://{dc}.api.mailchimp.com",
        "/{dc}",
    ),
    (Platform::Mailchimp, "https://login.mailchimp.com", "/login"),
];

/// Every real base URL the sandbox imitates, with its sandbox base URL under `base_url`.
pub fn endpoints(base_url: &str) -> Vec<Endpoint> {
    MAP.iter()
        .map(|(platform, real, sub)| Endpoint {
            platform: *platform,
            real,
            sandbox: format!("{base_url}/{}{sub}", platform.as_str()),
        })
        .collect()
}

/// Rewrites a real URL to its sandbox URL (`None` for a host the sandbox does not imitate).
/// `https://us6.api.mailchimp.com/3.0/ping` becomes `{base}/mailchimp/us6/3.0/ping`.
pub fn to_sandbox(base_url: &str, real_url: &str) -> Option<String> {
    let url = url::Url::parse(real_url).ok()?;
    let host = url.host_str()?;
    let mut rest = url.path().to_string();
    if let Some(q) = url.query() {
        rest.push('?');
        rest.push_str(q);
    }
    if let Some(dc) = host.strip_suffix(".api.mailchimp.com") {
        return Some(format!("{base_url}/mailchimp/{dc}{rest}"));
    }
    MAP.iter()
        .find(|(_, real, _)| real.strip_prefix("https://") == Some(host))
        .map(|(platform, _, sub)| format!("{base_url}/{}{sub}{rest}", platform.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_real_urls() {
        let base = "http://127.0.0.1:7700";
        assert_eq!(
            to_sandbox(base, "https://graph.facebook.com/v20.0/me?fields=id").as_deref(),
            Some("http://127.0.0.1:7700/meta/v20.0/me?fields=id")
        );
        assert_eq!(
            to_sandbox(base, "https://us6.api.mailchimp.com/3.0/ping").as_deref(),
            Some("http://127.0.0.1:7700/mailchimp/us6/3.0/ping")
        );
        assert_eq!(
            to_sandbox(
                base,
                "https://open-upload.tiktokapis.com/video/?upload_id=1"
            )
            .as_deref(),
            Some("http://127.0.0.1:7700/tiktok/upload/video/?upload_id=1")
        );
        assert_eq!(
            to_sandbox(
                base,
                "https://mybusiness.googleapis.com/v4/accounts/1/locations/2/localPosts"
            )
            .as_deref(),
            Some("http://127.0.0.1:7700/gbp/v4/accounts/1/locations/2/localPosts")
        );
        assert_eq!(to_sandbox(base, "https://example.com/x"), None);
        assert_eq!(endpoints(base).len(), MAP.len());
    }
}
