//! OAuth bookkeeping shared by the platforms: authorization codes, access and refresh tokens, grants.
//!
//! Every token belongs to a grant (one user consenting to one app); revoking any token of a grant
//! revokes all of them, as when a user removes the app.

use std::collections::{HashMap, HashSet};

/// A one-time authorization code.
#[derive(Clone, Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub subject: String,
    pub expires_at: i64,
    /// Extra, platform-specific (e.g. Google `access_type=offline`).
    pub offline: bool,
}

/// What a token stands for.
#[derive(Clone, Debug)]
pub(crate) struct TokenInfo {
    pub grant: u64,
    pub subject: String,
    pub scopes: Vec<String>,
    /// Unix seconds; `None` never expires.
    pub expires_at: Option<i64>,
    /// Platform-specific kind (`user`, `page:<id>`, `short`, ...).
    pub kind: String,
}

/// Why a token is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// Never issued (or malformed).
    Unknown,
    /// Past its expiry.
    Expired,
    /// Revoked, or its grant was.
    Revoked,
    /// A rotated refresh token used again.
    Reused,
}

/// Why a code exchange is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CodeProblem {
    Unknown,
    Expired,
    Used,
    ClientMismatch,
    RedirectMismatch,
}

/// Codes and tokens of one platform.
#[derive(Clone, Debug, Default)]
pub(crate) struct TokenStore {
    codes: HashMap<String, AuthCode>,
    used_codes: HashSet<String>,
    access: HashMap<String, TokenInfo>,
    refresh: HashMap<String, TokenInfo>,
    /// Refresh tokens that were rotated away.
    retired_refresh: HashSet<String>,
    revoked_grants: HashSet<u64>,
    next_grant: u64,
}

impl TokenStore {
    pub fn new_grant(&mut self) -> u64 {
        self.next_grant += 1;
        self.next_grant
    }

    pub fn add_code(&mut self, code: String, auth: AuthCode) {
        self.codes.insert(code, auth);
    }

    /// Consumes a code; the same code never works twice.
    pub fn take_code(
        &mut self,
        code: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        now: i64,
    ) -> Result<AuthCode, CodeProblem> {
        if self.used_codes.contains(code) {
            return Err(CodeProblem::Used);
        }
        let auth = self.codes.get(code).ok_or(CodeProblem::Unknown)?.clone();
        if auth.client_id != client_id {
            return Err(CodeProblem::ClientMismatch);
        }
        if let Some(r) = redirect_uri
            && r != auth.redirect_uri
        {
            return Err(CodeProblem::RedirectMismatch);
        }
        self.codes.remove(code);
        self.used_codes.insert(code.to_string());
        if now >= auth.expires_at {
            return Err(CodeProblem::Expired);
        }
        Ok(auth)
    }

    pub fn add_access(&mut self, token: String, info: TokenInfo) {
        self.access.insert(token, info);
    }

    pub fn add_refresh(&mut self, token: String, info: TokenInfo) {
        self.refresh.insert(token, info);
    }

    /// The access token's info if it is usable at `now`.
    pub fn check_access(&self, token: &str, now: i64) -> Result<&TokenInfo, TokenProblem> {
        let info = self.access.get(token).ok_or(TokenProblem::Unknown)?;
        if self.revoked_grants.contains(&info.grant) {
            return Err(TokenProblem::Revoked);
        }
        if info.expires_at.is_some_and(|e| now >= e) {
            return Err(TokenProblem::Expired);
        }
        Ok(info)
    }

    /// The refresh token's info if it is usable at `now`.
    pub fn check_refresh(&self, token: &str, now: i64) -> Result<&TokenInfo, TokenProblem> {
        if self.retired_refresh.contains(token) {
            return Err(TokenProblem::Reused);
        }
        let info = self.refresh.get(token).ok_or(TokenProblem::Unknown)?;
        if self.revoked_grants.contains(&info.grant) {
            return Err(TokenProblem::Revoked);
        }
        if info.expires_at.is_some_and(|e| now >= e) {
            return Err(TokenProblem::Expired);
        }
        Ok(info)
    }

    /// Retires a refresh token after rotation: using it again fails.
    pub fn retire_refresh(&mut self, token: &str) {
        if self.refresh.remove(token).is_some() {
            self.retired_refresh.insert(token.to_string());
        }
    }

    /// Revokes the grant a token belongs to. True if the token was known.
    pub fn revoke(&mut self, token: &str) -> bool {
        let grant = self
            .access
            .get(token)
            .or_else(|| self.refresh.get(token))
            .map(|i| i.grant);
        match grant {
            Some(g) => {
                self.revoked_grants.insert(g);
                true
            }
            None => false,
        }
    }
}

/// `redirect_uri?code=...&state=...`.
pub(crate) fn redirect_with_code(redirect_uri: &str, code: &str, state: Option<&str>) -> String {
    let mut pairs = vec![("code", code)];
    if let Some(s) = state {
        pairs.push(("state", s));
    }
    crate::http::append_query(redirect_uri, &pairs)
}

/// Whether a redirect URI is an absolute http(s) URL.
pub(crate) fn valid_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}
