//! `manifest()` run with no capabilities at all, for `postd-host check`: the contract says it
//! must not do I/O, and a connector whose manifest reads the vault or sends a request would
//! otherwise pass validation (the load path only withholds egress and secrets).

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceType};

use super::invoke::Invocation;
use super::registry::SlotConfig;
use super::state::CallState;
use super::wit::{self, ConnectorPre};
use super::{Runtime, load::HOST_TENANT};
use crate::capability::CallContext;
use crate::config::PluginEntry;

/// Why `manifest()` failed when run without capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedManifest {
    /// It answered without touching a capability.
    Answered,
    /// It called this import (`postd:connector/http@0.1.0#send`).
    CalledImport(String),
    /// It failed some other way (the load path reports those too).
    Failed(String),
}

/// Starts the trap message of a stubbed import; the import's name follows, in backticks.
const STUBBED_IMPORT: &str = "capability import called: `";

/// The contract's interfaces `manifest()` may use (logging); every other `postd:connector/*`
/// import is stubbed.
const ALLOWED: &str = "postd:connector/log@";

/// Defines every function of the component's `postd:connector/*` imports but logging as one that
/// traps naming itself. WASI comes from the host's own bindings (which serve every 0.2.x a
/// component names), so it is not stubbed.
fn stub_capabilities(
    linker: &mut Linker<CallState>,
    component: &Component,
    engine: &wasmtime::Engine,
) -> wasmtime::Result<()> {
    let kind = component.component_type();
    for (name, import) in kind.imports(engine) {
        if !name.starts_with("postd:connector/") || name.starts_with(ALLOWED) {
            continue;
        }
        let ComponentItem::ComponentInstance(instance) = import.ty else {
            continue;
        };
        let mut stubs = linker.instance(name)?;
        for (item, export) in instance.exports(engine) {
            match export.ty {
                ComponentItem::ComponentFunc(_) => {
                    let qualified = format!("{name}#{item}");
                    stubs.func_new(item, move |_, _, _, _| {
                        wasmtime::bail!("{STUBBED_IMPORT}{qualified}`")
                    })?;
                }
                ComponentItem::Resource(_) => {
                    stubs.resource(item, ResourceType::host::<()>(), |_, _| Ok(()))?;
                }
                _ => {}
            }
        }
    }
    Ok(())
}

impl Runtime {
    /// Runs `manifest()` of the component `bytes` with logging and WASI only: every `http`,
    /// `vault` and `queue` import traps, and the trap names the import.
    pub async fn manifest_without_capabilities(&self, bytes: Vec<u8>) -> SealedManifest {
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
        let component = match self.compile(bytes, sha).await {
            Ok(component) => component,
            Err(problem) => return SealedManifest::Failed(problem.to_string()),
        };
        let pre = (|| {
            let mut linker: Linker<CallState> = Linker::new(&self.engine);
            wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
            wit::add_logging(&mut linker)?;
            stub_capabilities(&mut linker, &component, &self.engine)?;
            ConnectorPre::new(linker.instantiate_pre(&component)?)
        })();
        let pre = match pre {
            Ok(pre) => pre,
            Err(error) => return SealedManifest::Failed(format!("{error:#}")),
        };
        let config = SlotConfig::new(PluginEntry::new("check", PathBuf::from("<check>")))
            .expect("no grants to parse")
            .for_validation();
        let called = self
            .run(
                &pre,
                Arc::from("check"),
                &config,
                CallContext::tenant(HOST_TENANT),
                Invocation::Manifest,
                None,
            )
            .await;
        match called {
            Ok(_) => SealedManifest::Answered,
            Err(error) => {
                let message = error.to_string();
                match message.split_once(STUBBED_IMPORT) {
                    Some((_, rest)) => SealedManifest::CalledImport(
                        rest.split('`').next().unwrap_or(rest).to_string(),
                    ),
                    None => SealedManifest::Failed(message),
                }
            }
        }
    }
}
