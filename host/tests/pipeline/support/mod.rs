//! A pipeline over real backends, the pipeline fixture as plugin `pipeline`, and the test
//! platform it talks to.

pub mod backend;
pub mod otlp;
pub mod platform;
pub mod process;
pub mod receiver;
pub mod server;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use postd_host::capability::CallContext;
use postd_host::capability::http::Cidr;
use postd_host::capability::vault::LocalKeyProvider;
use postd_host::config::PluginEntry;
use postd_host::events::EventSettings;
use postd_host::jobs::{
    Clock, DispatchSettings, Dispatcher, ManualClock, Pipeline, PipelineSettings, SystemClock,
};
use postd_host::runtime::wit::connector::AuthCallback;
use postd_host::runtime::{Answer, Invocation, Runtime, RuntimeSettings};
use postd_host::store::{Accepted, Connection, NewConnection, NewPost, PostContent, Store, Target};

pub use backend::{Database, Kind, REDIS_URL};
pub use platform::Platform;

/// Generates one test per backend from an `async fn(Kind)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$scenario($crate::support::Kind::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres_redis() {
                    super::$scenario($crate::support::Kind::PostgresRedis).await
                }
            }
        )*
    };
}

/// The pipeline fixture's webhook signing secret in tests.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// The compile cache the tests share.
pub fn shared_cache() -> std::path::PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// The pipeline fixture's plugin entry, reaching `platform` on loopback.
pub fn plugin_entry(platform: &Platform) -> PluginEntry {
    let mut entry = PluginEntry::new("pipeline", postd_test_artifacts::PIPELINE);
    entry.allowed_hosts = vec![platform.url.clone()];
    entry.allowed_ranges = vec!["127.0.0.0/8".into()];
    entry.settings = BTreeMap::from([("base-url".to_string(), platform.url.clone())]);
    entry.secrets = BTreeMap::from([(
        "webhook-secret".to_string(),
        postd_host::config::SecretSource::Value(WEBHOOK_SECRET.into()),
    )]);
    entry
}

/// Everything a pipeline test needs.
pub struct Harness {
    pub kind: Kind,
    pub db: Database,
    pub store: Store,
    pub clock: ManualClock,
    pub platform: Platform,
    pub runtime: Arc<Runtime>,
    pub pipeline: Arc<Pipeline>,
}

/// Options for [`Harness::start`].
pub struct Setup {
    pub kind: Kind,
    /// Use the system clock instead of the manual one (for background workers).
    pub system_clock: bool,
    pub dispatch: DispatchSettings,
    /// Outbound events: loopback allowed (receivers run there).
    pub events: EventSettings,
}

impl Setup {
    pub fn new(kind: Kind) -> Self {
        Setup {
            kind,
            system_clock: false,
            dispatch: DispatchSettings::default(),
            events: EventSettings {
                allowed_ranges: vec![Cidr::parse("127.0.0.0/8").unwrap()],
                timeout: Duration::from_secs(5),
                ..EventSettings::default()
            },
        }
    }
}

impl Harness {
    pub async fn new(kind: Kind) -> Harness {
        Self::start(Setup::new(kind)).await
    }

    pub async fn start(setup: Setup) -> Harness {
        let db = Database::create(setup.kind).await;
        let store = Store::open(&db.url)
            .await
            .expect("opening the test database");
        let platform = Platform::start().await;
        let manual = ManualClock::new(SystemClock.now());
        let clock: Arc<dyn Clock> = if setup.system_clock {
            Arc::new(SystemClock)
        } else {
            Arc::new(manual.clone())
        };
        let key = LocalKeyProvider::open_or_create(&db.data_dir().join("vault.key")).unwrap();
        let services = postd_host::service::store_services(&store, Arc::new(key), clock.clone());
        let settings = RuntimeSettings {
            cache_dir: Some(shared_cache()),
            ..RuntimeSettings::default()
        };
        let runtime = Arc::new(Runtime::new(settings, services).expect("runtime"));
        runtime
            .configure_plugin(plugin_entry(&platform))
            .await
            .expect("loading the pipeline fixture");
        let dispatcher = match setup.kind {
            Kind::Sqlite => Dispatcher::local(),
            Kind::Postgres | Kind::PostgresRedis => Dispatcher::postgres(&store, &db.url),
        };
        let settings = PipelineSettings {
            worker_id: "test-worker".into(),
            dispatch: setup.dispatch.clone(),
            events: setup.events.clone(),
            ..PipelineSettings::default()
        };
        let pipeline = Pipeline::new(store.clone(), runtime.clone(), clock, dispatcher, settings);
        Harness {
            kind: setup.kind,
            db,
            store,
            clock: manual,
            platform,
            runtime,
            pipeline,
        }
    }

    /// Creates `tenant` and a connection `id` through the real OAuth flow: `complete-auth`
    /// exchanges a code at the platform, the connector stores its tokens in the vault.
    pub async fn connect(&self, tenant: &str, id: &str) -> Connection {
        let now = self.pipeline.now();
        self.store.create_tenant(tenant, tenant, now).await.unwrap();
        self.connect_to(tenant, id, "pipeline").await
    }

    /// Creates a connection `id` of `plugin` (a pipeline fixture of any contract version) for
    /// the existing `tenant`, through the same OAuth flow as [`Harness::connect`].
    pub async fn connect_to(&self, tenant: &str, id: &str, plugin: &str) -> Connection {
        let now = self.pipeline.now();
        let context = CallContext::tenant(tenant).with_connection(id);
        let callback = AuthCallback {
            params: vec![("code".into(), "test-code".into())],
            redirect_uri: "http://127.0.0.1/callback".into(),
        };
        let served = self
            .runtime
            .invoke(plugin, context, Invocation::CompleteAuth(callback))
            .await
            .unwrap();
        let Answer::CompleteAuth(Ok(info)) = served.answer else {
            panic!("complete-auth failed: {:?}", served.answer)
        };
        let new = NewConnection {
            id: id.into(),
            plugin: plugin.into(),
            external_id: info.external_id,
            display_name: info.display_name,
            scopes: info.scopes,
            expires_at: info.expires_at.map(|s| s * 1000),
            refresh_expires_at: info.refresh_expires_at.map(|s| s * 1000),
        };
        self.store
            .tenant(tenant)
            .upsert_connection(&new, "test", now)
            .await
            .unwrap()
            .0
    }

    /// Accepts a one-target post.
    pub async fn post(
        &self,
        tenant: &str,
        connection: &str,
        key: &str,
        text: &str,
        options: &[(&str, &str)],
    ) -> Accepted {
        self.pipeline
            .accept(tenant, &new_post(connection, key, text, options))
            .await
            .unwrap()
    }

    /// Accepts a one-target post with no options; returns its job's id.
    pub async fn post_job(&self, tenant: &str, connection: &str, key: &str, text: &str) -> String {
        self.post(tenant, connection, key, text, &[])
            .await
            .post()
            .jobs[0]
            .id
            .clone()
    }
}

/// A one-target post.
pub fn new_post(connection: &str, key: &str, text: &str, options: &[(&str, &str)]) -> NewPost {
    NewPost {
        idempotency_key: key.into(),
        content: PostContent {
            text: text.into(),
            options: options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..PostContent::default()
        },
        targets: vec![Target {
            connection_id: connection.into(),
            account_id: "acct-1".into(),
        }],
        scheduled_for: None,
    }
}

/// Polls `check` every 50 ms until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
