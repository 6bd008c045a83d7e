//! The five platform imitations and the dispatch the server uses to reach them.

pub mod gbp;
pub mod linkedin;
pub mod mailchimp;
pub mod meta;
pub mod tiktok;
pub(crate) mod tokens;

use std::sync::Arc;

use axum::http::HeaderMap;
use axum::http::Method;
use axum::response::Response;

use crate::http::Req;
use crate::platform::Platform;
use crate::server::IssuedToken;
use crate::state::SandboxState;

/// Routes a request to its platform.
pub(crate) async fn handle(platform: Platform, state: &Arc<SandboxState>, req: Req) -> Response {
    match platform {
        Platform::Meta => meta::handle(state, req).await,
        Platform::Linkedin => linkedin::handle(state, req).await,
        Platform::Tiktok => tiktok::handle(state, req).await,
        Platform::Gbp => gbp::handle(state, req).await,
        Platform::Mailchimp => mailchimp::handle(state, req).await,
    }
}

/// Renders an injected error named `name` in the platform's own shape (`None` for unknown names).
pub(crate) fn render_named_error(platform: Platform, name: &str, req: &Req) -> Option<Response> {
    match platform {
        Platform::Meta => meta::errors::named(name, req),
        Platform::Linkedin => linkedin::errors::named(name, req),
        Platform::Tiktok => tiktok::errors::named(name, req),
        Platform::Gbp => gbp::errors::named(name, req),
        Platform::Mailchimp => mailchimp::errors::named(name, req),
    }
}

/// Whether `platform` can render an error named `name` (or `answer-lost:` and such a name).
pub(crate) fn knows_error(platform: Platform, name: &str) -> bool {
    let name = crate::faults::answer_lost(name).1;
    if [
        crate::faults::HANG,
        crate::faults::RESET,
        crate::faults::THROTTLE,
    ]
    .contains(&name)
    {
        return true;
    }
    let probe = Req::new(Method::GET, "/", None, HeaderMap::new(), Vec::new());
    render_named_error(platform, name, &probe).is_some()
}

/// Examples of the error names each platform knows, for control API messages.
pub(crate) fn error_names(platform: Platform) -> &'static str {
    match platform {
        Platform::Meta => meta::errors::NAMES,
        Platform::Linkedin => linkedin::errors::NAMES,
        Platform::Tiktok => tiktok::errors::NAMES,
        Platform::Gbp => gbp::errors::NAMES,
        Platform::Mailchimp => mailchimp::errors::NAMES,
    }
}

/// Revokes a token of `platform` and the grant it belongs to.
pub(crate) fn revoke_token(platform: Platform, state: &SandboxState, token: &str) -> bool {
    match platform {
        Platform::Meta => meta::revoke(state, token),
        Platform::Linkedin => linkedin::revoke(state, token),
        Platform::Tiktok => tiktok::revoke(state, token),
        Platform::Gbp => gbp::revoke(state, token),
        Platform::Mailchimp => mailchimp::revoke(state, token),
    }
}

/// Issues a token for the platform's seeded account, skipping OAuth; every scope unless `scopes` is given.
pub(crate) fn issue_token(
    platform: Platform,
    state: &SandboxState,
    scopes: Option<Vec<String>>,
) -> IssuedToken {
    match platform {
        Platform::Meta => meta::issue_token(state, scopes),
        Platform::Linkedin => linkedin::issue_token(state, scopes),
        Platform::Tiktok => tiktok::issue_token(state, scopes),
        Platform::Gbp => gbp::issue_token(state, scopes),
        Platform::Mailchimp => mailchimp::issue_token(state, scopes),
    }
}

/// A deterministic made-up count, for insights and statistics.
pub(crate) fn fake_count(id: &str, metric: &str, day: i64) -> u64 {
    let mut seed = day as u64;
    for b in id.bytes().chain(metric.bytes()) {
        seed = seed.wrapping_mul(31).wrapping_add(u64::from(b));
    }
    crate::faults::splitmix64(&mut seed) % 500
}

/// Anything held for the duration of a call (Mailchimp's simultaneous-connection slot).
pub(crate) type Admission = Option<mailchimp::ConnectionSlot>;

/// Admission before a call runs: Mailchimp counts simultaneous connections per account.
#[allow(clippy::result_large_err)] // the refusal is the answer itself
pub(crate) fn admit(
    platform: Platform,
    state: &Arc<SandboxState>,
    req: &Req,
) -> Result<Admission, Response> {
    match platform {
        Platform::Mailchimp => mailchimp::admit(state, req),
        _ => Ok(None),
    }
}
