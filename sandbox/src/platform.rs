//! The five imitated platforms and their path prefixes.

use serde::{Deserialize, Serialize};

/// One of the imitated platforms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Meta Graph API (Facebook Pages and Instagram professional accounts).
    Meta,
    /// LinkedIn (OAuth, `/v2` and the versioned `/rest` API).
    Linkedin,
    /// TikTok (OAuth v2 and the Content Posting API).
    Tiktok,
    /// Google Business Profile (Google OAuth, account management, business information, v4 local posts, performance).
    Gbp,
    /// Mailchimp Marketing API v3 (and its OAuth login host).
    Mailchimp,
}

impl Platform {
    /// Every platform, in a fixed order.
    pub const ALL: [Platform; 5] = [
        Platform::Meta,
        Platform::Linkedin,
        Platform::Tiktok,
        Platform::Gbp,
        Platform::Mailchimp,
    ];

    /// The lower-case name used in paths and JSON (`meta`, `linkedin`, `tiktok`, `gbp`, `mailchimp`).
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Meta => "meta",
            Platform::Linkedin => "linkedin",
            Platform::Tiktok => "tiktok",
            Platform::Gbp => "gbp",
            Platform::Mailchimp => "mailchimp",
        }
    }

    /// The platform named `name`, if any.
    pub fn parse(name: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
