//! Fixed, fake test credentials and ids the sandbox starts with. None of these are real secrets.

/// Meta app id (`client_id`).
pub const META_APP_ID: &str = "710000000000001";
/// Meta app secret (signs webhooks, checked at the token endpoint).
pub const META_APP_SECRET: &str = "meta-sandbox-app-secret-not-real";
/// The seeded Meta user.
pub const META_USER_ID: &str = "10000000000001";
/// First Page, with a linked Instagram business account.
pub const META_PAGE_ID: &str = "200000000000001";
/// Second Page, no Instagram account.
pub const META_PAGE2_ID: &str = "200000000000002";
/// Instagram business account linked to [`META_PAGE_ID`].
pub const META_IG_USER_ID: &str = "17841400000000001";

/// LinkedIn client id.
pub const LINKEDIN_CLIENT_ID: &str = "86sandboxlinkedin";
/// LinkedIn client secret (signs webhooks and challenge answers).
pub const LINKEDIN_CLIENT_SECRET: &str = "linkedin-sandbox-secret-not-real";
/// The seeded member's id (`sub`); its URN is `urn:li:person:<id>`.
pub const LINKEDIN_MEMBER_ID: &str = "sbxMember01";
/// Organization the member administers.
pub const LINKEDIN_ORG_ID: &str = "1000001";
/// Organization the member does not administer.
pub const LINKEDIN_OTHER_ORG_ID: &str = "1000002";

/// TikTok client key.
pub const TIKTOK_CLIENT_KEY: &str = "awsandboxtiktok";
/// TikTok client secret (signs webhooks).
pub const TIKTOK_CLIENT_SECRET: &str = "tiktok-sandbox-secret-not-real";
/// The seeded creator's `open_id`.
pub const TIKTOK_OPEN_ID: &str = "_000sandboxcreator";

/// Google OAuth client id.
pub const GBP_CLIENT_ID: &str = "000000000000-sandbox.apps.googleusercontent.com";
/// Google OAuth client secret.
pub const GBP_CLIENT_SECRET: &str = "GOCSPX-sandbox-not-real";
/// Business account with [`GBP_LOCATION_COUNT`] locations (more than one page).
pub const GBP_ACCOUNT_ID: &str = "100000000000000000001";
/// Second business account, one location.
pub const GBP_ACCOUNT2_ID: &str = "100000000000000000002";
/// Locations of [`GBP_ACCOUNT_ID`].
pub const GBP_LOCATION_COUNT: usize = 25;
/// First location id of [`GBP_ACCOUNT_ID`]; the others follow in sequence.
pub const GBP_FIRST_LOCATION_ID: u64 = 3_000_000_000_000_000_001;

/// Mailchimp OAuth client id.
pub const MAILCHIMP_CLIENT_ID: &str = "100000000001";
/// Mailchimp OAuth client secret.
pub const MAILCHIMP_CLIENT_SECRET: &str = "mailchimp-sandbox-secret-not-real";
/// API key of the account in data centre `us6`.
pub const MAILCHIMP_API_KEY_US6: &str = "0123456789abcdef0123456789abcdef-us6";
/// API key of the account in data centre `us21`.
pub const MAILCHIMP_API_KEY_US21: &str = "fedcba9876543210fedcba9876543210-us21";
/// First audience of the `us6` account.
pub const MAILCHIMP_LIST_ID: &str = "a1b2c3d4e5";
/// Second audience of the `us6` account.
pub const MAILCHIMP_LIST2_ID: &str = "f6e7d8c9b0";
/// Audience of the `us21` account.
pub const MAILCHIMP_US21_LIST_ID: &str = "b0c9d8e7f6";
