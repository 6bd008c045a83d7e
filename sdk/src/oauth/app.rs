//! A platform's OAuth 2.0 app, described once: the flow (consent URL, code exchange, refresh,
//! storing tokens) is the SDK's, so a connector states only what differs on its platform.
//!
//! ```text
//! const OAUTH: oauth::App = oauth::App::new(
//!     "LinkedIn",
//!     oauth::Endpoint::new("auth-base-url", "https://www.linkedin.com/oauth/v2", "/authorization"),
//!     oauth::Endpoint::new("auth-base-url", "https://www.linkedin.com/oauth/v2", "/accessToken"),
//! )
//! .scopes(&["openid", "profile", "w_member_social"]);
//!
//! fn complete_auth(callback: AuthCallback) -> Result<ConnectionInfo> {
//!     let tokens = OAUTH.exchange_code(&callback)?;           // stored in the vault already
//!     let me = whoami(&tokens.token.access_token)?;
//!     Ok(tokens.connection(me.id, me.name))
//! }
//! ```

use crate::oauth::TokenResponse;
use crate::oauth::tokens::{self, Tokens};
use crate::{AuthCallback, AuthorizeRequest, Error, Result, http, vault};

/// Where an OAuth endpoint lives: a base-URL setting, its default (the real platform) and the
/// path under that base.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The plugin setting that moves the base (to a sandbox or a proxy).
    pub setting: &'static str,
    /// The platform's own base, used when the setting is absent.
    pub default: &'static str,
    /// The path under the base, with its leading slash (or empty).
    pub path: &'static str,
    /// The setting's former name, still read when the new one is absent.
    pub former: Option<&'static str>,
}

impl Endpoint {
    /// The endpoint at `path` under the base `setting` names, defaulting to `default`.
    pub const fn new(setting: &'static str, default: &'static str, path: &'static str) -> Self {
        Self {
            setting,
            default,
            path,
            former: None,
        }
    }

    /// The setting was called `name` before: read it when `setting` is absent.
    pub const fn formerly(mut self, name: &'static str) -> Self {
        self.former = Some(name);
        self
    }

    /// The configured base (its former name's value, else the platform's default).
    pub fn base(&self) -> String {
        match self.former {
            Some(former) => vault::app_base_url_formerly(self.setting, former, self.default),
            None => vault::app_base_url(self.setting, self.default),
        }
    }

    /// The endpoint's URL under the configured base.
    pub fn url(&self) -> String {
        format!("{}{}", self.base(), self.path)
    }
}

/// What differs between platforms' OAuth 2.0 authorization-code flows (RFC 6749 §4.1).
#[derive(Debug, Clone, Copy)]
pub struct App {
    /// The platform's name, in messages ("LinkedIn").
    pub platform: &'static str,
    /// The consent page.
    pub authorize: Endpoint,
    /// The token endpoint (form posts, RFC 6749 §4.1.3 and §6).
    pub token: Endpoint,
    /// Scopes asked for when the host names none.
    pub default_scopes: &'static [&'static str],
    /// How the platform separates scopes: a space (the RFC), a comma (TikTok, Meta).
    pub scope_separator: &'static str,
    /// The plugin setting (or secret) holding the client id.
    pub client_id_setting: &'static str,
    /// The parameter name the platform gives the client id (`client_key` on TikTok).
    pub client_id_param: &'static str,
    /// Parameters the consent URL carries besides the standard ones.
    pub authorize_extra: &'static [(&'static str, &'static str)],
}

impl App {
    /// An app with the RFC's conventions: no default scopes, space-separated, `client-id`
    /// setting sent as `client_id`, no extra consent parameters.
    pub const fn new(platform: &'static str, authorize: Endpoint, token: Endpoint) -> Self {
        Self {
            platform,
            authorize,
            token,
            default_scopes: &[],
            scope_separator: " ",
            client_id_setting: "client-id",
            client_id_param: "client_id",
            authorize_extra: &[],
        }
    }

    /// The scopes asked for when the host names none.
    pub const fn scopes(mut self, scopes: &'static [&'static str]) -> Self {
        self.default_scopes = scopes;
        self
    }

    /// Scopes joined by `separator` instead of a space.
    pub const fn scope_separator(mut self, separator: &'static str) -> Self {
        self.scope_separator = separator;
        self
    }

    /// The client id read from the setting `setting` and sent as the parameter `param`.
    pub const fn client_id_named(mut self, setting: &'static str, param: &'static str) -> Self {
        self.client_id_setting = setting;
        self.client_id_param = param;
        self
    }

    /// Extra parameters on the consent URL (`access_type=offline`, `prompt=consent`).
    pub const fn authorize_extra(mut self, extra: &'static [(&'static str, &'static str)]) -> Self {
        self.authorize_extra = extra;
        self
    }

    /// The configured client id.
    pub fn client_id(&self) -> Result<String> {
        vault::require_app_credential(
            self.client_id_setting,
            &format!("{} client id", self.platform),
        )
    }

    /// The configured client secret (`client-secret`).
    pub fn client_secret(&self) -> Result<String> {
        vault::require_app_secret("client-secret")
    }

    /// The consent URL at the configured authorize endpoint.
    pub fn authorize_url(&self, request: AuthorizeRequest) -> Result<String> {
        self.authorize_url_at(&self.authorize.url(), request)
    }

    /// The consent URL at `endpoint` (for a platform whose consent page is not a fixed path,
    /// such as Meta's versioned dialog). Every value is encoded; the scope parameter is left
    /// out when the platform has no scopes (Mailchimp).
    pub fn authorize_url_at(&self, endpoint: &str, request: AuthorizeRequest) -> Result<String> {
        Ok(self.consent_url(endpoint, &self.client_id()?, &request))
    }

    /// The consent URL at `endpoint` for `client_id`: no I/O.
    pub fn consent_url(
        &self,
        endpoint: &str,
        client_id: &str,
        request: &AuthorizeRequest,
    ) -> String {
        let scopes = if request.scopes.is_empty() {
            self.default_scopes.join(self.scope_separator)
        } else {
            request.scopes.join(self.scope_separator)
        };
        let mut pairs: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            (self.client_id_param, client_id),
            ("redirect_uri", &request.redirect_uri),
        ];
        if !scopes.is_empty() {
            pairs.push(("scope", &scopes));
        }
        pairs.push(("state", &request.state));
        pairs.extend_from_slice(self.authorize_extra);
        super::with_query(endpoint, &pairs)
    }

    /// Exchanges the callback's code for tokens and stores them ([`tokens::store`]). A refused
    /// consent is permission-missing, naming the platform's reason.
    pub fn exchange_code(&self, callback: &AuthCallback) -> Result<Tokens> {
        let code = callback.code(self.platform)?;
        let client_id = self.client_id()?;
        let secret = self.client_secret()?;
        self.grant(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &callback.redirect_uri),
            (self.client_id_param, &client_id),
            ("client_secret", &secret),
        ])
    }

    /// Exchanges the stored refresh token for new tokens and stores them; a rotated refresh
    /// token replaces the old one in the same commit. Without a stored refresh token the grant
    /// is gone (auth-revoked): the user must connect again.
    pub fn refresh(&self) -> Result<Tokens> {
        let Some(refresh) = tokens::refresh_token()? else {
            return Err(Error::AuthRevoked(format!(
                "no {} refresh token is stored for this connection; connect again",
                self.platform
            )));
        };
        let client_id = self.client_id()?;
        let secret = self.client_secret()?;
        self.grant(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            (self.client_id_param, &client_id),
            ("client_secret", &secret),
        ])
    }

    /// Posts `pairs` to the token endpoint and stores the answer.
    fn grant(&self, pairs: &[(&str, &str)]) -> Result<Tokens> {
        let issued_at = http::now_unix();
        let token = self.token_request(pairs)?;
        tokens::store(&token)?;
        Ok(Tokens { token, issued_at })
    }

    /// A form post to the token endpoint: a 5xx passes, a 429 waits as the platform says, an
    /// OAuth error body maps as [`super::oauth_error`] does (`invalid_grant` is auth-revoked).
    pub fn token_request(&self, pairs: &[(&str, &str)]) -> Result<TokenResponse> {
        let response = http::Request::post(self.token.url()).form(pairs).send()?;
        if response.status >= 500 {
            return Err(Error::transient(format!(
                "{}'s token endpoint answered HTTP {}",
                self.platform, response.status
            )));
        }
        if response.status == 429 {
            return Err(Error::from_status(429, &response.headers, http::now_unix()));
        }
        TokenResponse::parse(&response.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENDPOINT: Endpoint = Endpoint::new("auth-base-url", "https://x.example", "/auth");

    fn request(scopes: &[&str]) -> AuthorizeRequest {
        AuthorizeRequest {
            state: "st/1".into(),
            redirect_uri: "https://app.example/cb".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn consent_urls_follow_each_platform_s_conventions() {
        let tiktok = App::new("TikTok", ENDPOINT, ENDPOINT)
            .scopes(&["user.info.basic", "video.publish"])
            .scope_separator(",")
            .client_id_named("client-key", "client_key");
        assert_eq!(
            tiktok.consent_url("https://x.example/auth", "k 1", &request(&[])),
            "https://x.example/auth?response_type=code&client_key=k%201\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fcb\
             &scope=user.info.basic%2Cvideo.publish&state=st%2F1"
        );
        // The host's scopes win over the defaults; extras come last; an existing query is kept.
        let google = App::new("Google", ENDPOINT, ENDPOINT)
            .scopes(&["a"])
            .authorize_extra(&[("access_type", "offline")]);
        assert_eq!(
            google.consent_url("https://x.example/auth?v=2", "c", &request(&["b", "c"])),
            "https://x.example/auth?v=2&response_type=code&client_id=c\
             &redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=b%20c&state=st%2F1\
             &access_type=offline"
        );
        // A platform without scopes gets no `scope` parameter.
        let mailchimp = App::new("Mailchimp", ENDPOINT, ENDPOINT);
        assert!(
            !mailchimp
                .consent_url("https://x.example/auth", "c", &request(&[]))
                .contains("scope")
        );
    }
}
