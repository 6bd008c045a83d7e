//! The host's job pipeline over a SQLite file, with a manual clock, driving a connector the way
//! production does: accept a post, run what is due, advance the clocks, run again.

use std::sync::Arc;

use postd_host::api::{ApiState, service};
use postd_host::capability::CallContext;
use postd_host::capability::http::Cidr;
use postd_host::capability::vault::{EncryptedSecretStore, KeyRing, LocalKeyProvider};
use postd_host::config::PluginEntry;
use postd_host::events::EventSettings;
use postd_host::jobs::{
    Clock, Dispatcher, ManualClock, Pipeline, PipelineSettings, StoreJobSink, SystemClock,
};
use postd_host::runtime::wit::connector::AuthCallback;
use postd_host::runtime::{Answer, HostServices, Invocation};
use postd_host::store::{NewConnection, Store};
use postd_sandbox::SandboxConfig;

use super::{Env, Settings, TENANT};

/// A pipeline, its store and clock, and the sandbox and runtime underneath.
pub struct Piped {
    pub env: Env,
    pub store: Store,
    pub clock: ManualClock,
    pub pipeline: Arc<Pipeline>,
    /// Where [`Piped::serve_api`] serves the host's HTTP API.
    pub api_url: String,
    listener: Option<tokio::net::TcpListener>,
    _dir: tempfile::TempDir,
}

impl Piped {
    /// Starts everything for `plugin`; `configure` gets the sandbox's base URL and the API's.
    pub async fn start(
        plugin: &'static str,
        path: &str,
        config: SandboxConfig,
        configure: impl FnOnce(&str, &str) -> Settings,
    ) -> Piped {
        Self::start_with(plugin, path, config, configure, |_| {}).await
    }

    /// [`Piped::start`], with `tweak` applied to the plugin entry before it loads.
    pub async fn start_with(
        plugin: &'static str,
        path: &str,
        config: SandboxConfig,
        configure: impl FnOnce(&str, &str) -> Settings,
        tweak: impl FnOnce(&mut PluginEntry),
    ) -> Piped {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api_url = format!("http://{}", listener.local_addr().unwrap());
        let configure = {
            let api_url = api_url.clone();
            move |base: &str| configure(base, &api_url)
        };
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("postd.db").display());
        let store = Store::open(&url).await.expect("opening the test database");
        let clock = ManualClock::new(SystemClock.now());
        let shared: Arc<dyn Clock> = Arc::new(clock.clone());
        let key = LocalKeyProvider::open_or_create(&dir.path().join("vault.key")).unwrap();
        let services = HostServices {
            secrets: Arc::new(EncryptedSecretStore::new(
                KeyRing::new(Arc::new(key)),
                Arc::new(store.clone()),
            )),
            jobs: Arc::new(StoreJobSink::new(store.clone(), shared.clone())),
            clock: shared.clone(),
            ..HostServices::in_memory()
        };
        let env = Env::start_on(plugin, path, config, configure, tweak, services).await;
        let pipeline = Pipeline::new(
            store.clone(),
            env.runtime.clone(),
            shared,
            Dispatcher::local(),
            PipelineSettings {
                worker_id: "test-worker".into(),
                // Event receivers in these tests listen on loopback.
                events: EventSettings {
                    allowed_ranges: vec![Cidr::parse("127.0.0.0/8").unwrap()],
                    ..EventSettings::default()
                },
                ..PipelineSettings::default()
            },
        );
        store
            .create_tenant(TENANT, TENANT, pipeline.now())
            .await
            .unwrap();
        Piped {
            env,
            store,
            clock,
            pipeline,
            api_url,
            listener: Some(listener),
            _dir: dir,
        }
    }

    /// Serves the host's HTTP API (webhooks included) at [`Piped::api_url`].
    pub fn serve_api(&mut self) {
        let listener = self.listener.take().expect("the API is served once");
        let state = Arc::new(ApiState::new(
            self.pipeline.clone(),
            None,
            self.api_url.clone(),
            None,
        ));
        tokio::spawn(async move { axum::serve(listener, service(state)).await.unwrap() });
    }

    /// Completes `callback` for connection `id` and records the connection as the API would.
    pub async fn connect(&self, id: &str, callback: AuthCallback) {
        let context = CallContext::tenant(TENANT).with_connection(id);
        let served = self
            .env
            .runtime
            .invoke(self.env.plugin, context, Invocation::CompleteAuth(callback))
            .await
            .unwrap();
        let Answer::CompleteAuth(Ok(info)) = served.answer else {
            panic!("complete-auth failed: {:?}", served.answer)
        };
        let new = NewConnection {
            id: id.into(),
            plugin: self.env.plugin.into(),
            external_id: info.external_id,
            display_name: info.display_name,
            scopes: info.scopes,
            expires_at: info.expires_at.map(|s| s * 1000),
            refresh_expires_at: info.refresh_expires_at.map(|s| s * 1000),
        };
        self.store
            .tenant(TENANT)
            .upsert_connection(&new, "test", self.pipeline.now())
            .await
            .unwrap();
    }
}
