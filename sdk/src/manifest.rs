//! Conveniences for building a [`Manifest`].

use crate::export::PluginManifest;
use crate::{
    AuthKind, Capabilities, ContentLimits, Manifest, RateBudget, ScheduleWindow, SettingSpec, oauth,
};

impl Manifest {
    /// A manifest with no capabilities, no limits and no scopes; add them with the `with_*`
    /// methods. `version` is usually `env!("CARGO_PKG_VERSION")`.
    pub fn new(id: &str, display_name: &str, version: &str, auth: AuthKind) -> Self {
        PluginManifest {
            id: id.to_string(),
            display_name: display_name.to_string(),
            version: version.to_string(),
            sdk_version: crate::SDK_VERSION.to_string(),
            auth,
            scopes: Vec::new(),
            capabilities: Capabilities::empty(),
            limits: ContentLimits::none(),
            rate_budget: None,
            refresh_before_expiry_secs: None,
            schedule_window: None,
            settings: Vec::new(),
        }
    }

    /// Declares a plain setting (`[plugins.<id>.settings]`, read with [`crate::vault::app_setting`]).
    /// The host refuses a plugin entry naming a setting or secret the manifest does not declare.
    pub fn with_setting(self, name: &str, required: bool, description: &str) -> Self {
        self.declare(name, false, required, description)
    }

    /// Declares a secret (`[plugins.<id>.secrets]`, read with [`crate::vault::app_secret`]).
    pub fn with_secret(self, name: &str, required: bool, description: &str) -> Self {
        self.declare(name, true, required, description)
    }

    /// Declares what `app` reads: its client id and secret (required when connections
    /// authenticate by OAuth, optional beside API keys) and the base-URL settings of its
    /// endpoints (optional; they default to the platform). Declare the manifest's auth first.
    pub fn with_oauth(self, app: &oauth::App) -> Self {
        let platform = app.platform;
        let required = self.auth == AuthKind::Oauth2;
        let client_id = format!("the {platform} app's client id (a setting or a secret)");
        let secret = format!("the {platform} app's client secret");
        let manifest = self
            .with_secret(app.client_id_setting, required, &client_id)
            .with_secret("client-secret", required, &secret);
        let (authorize, token) = (app.authorize, app.token);
        let manifest = if authorize.setting == token.setting {
            let what = format!(
                "{platform}'s consent page and token endpoint (default {})",
                authorize.default
            );
            manifest.with_setting(authorize.setting, false, &what)
        } else {
            let consent = format!("{platform}'s consent page (default {})", authorize.default);
            let tokens = format!("{platform}'s token endpoint (default {})", token.default);
            manifest
                .with_setting(authorize.setting, false, &consent)
                .with_setting(token.setting, false, &tokens)
        };
        [authorize, token]
            .into_iter()
            .fold(manifest, |manifest, endpoint| match endpoint.former {
                Some(former) => manifest.with_former(former, endpoint.setting),
                None => manifest,
            })
    }

    /// Declares `former` as the deprecated name of the setting `name` (declare `name` too).
    pub fn with_former(self, former: &str, name: &str) -> Self {
        let what = format!("deprecated: the former name of `{name}`");
        self.declare(former, false, false, &what)
    }

    /// Adds one declaration, once per name (a later one with the same name is ignored).
    fn declare(mut self, name: &str, secret: bool, required: bool, description: &str) -> Self {
        if !self.settings.iter().any(|s| s.name == name) {
            self.settings.push(SettingSpec {
                name: name.to_string(),
                secret,
                required,
                description: description.to_string(),
            });
        }
        self
    }

    /// Sets the capabilities.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sets the default OAuth scopes.
    pub fn with_scopes(mut self, scopes: &[&str]) -> Self {
        self.scopes = scopes.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the content limits.
    pub fn with_limits(mut self, limits: ContentLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the default request budget: `requests` per `per_seconds`.
    pub fn with_rate_budget(mut self, requests: u32, per_seconds: u32) -> Self {
        self.rate_budget = Some(RateBudget {
            requests,
            per_seconds,
        });
        self
    }

    /// Refresh tokens this long before they expire.
    pub fn with_refresh_before_expiry(mut self, seconds: u64) -> Self {
        self.refresh_before_expiry_secs = Some(seconds);
        self
    }

    /// The native scheduling window, in seconds from now.
    pub fn with_schedule_window(mut self, min_lead_secs: u64, max_lead_secs: u64) -> Self {
        self.schedule_window = Some(ScheduleWindow {
            min_lead_secs,
            max_lead_secs,
        });
        self
    }
}

impl ContentLimits {
    /// No limits known.
    pub fn none() -> Self {
        ContentLimits {
            max_text_chars: None,
            max_media_count: None,
            max_image_bytes: None,
            max_video_bytes: None,
            max_video_seconds: None,
        }
    }
}
