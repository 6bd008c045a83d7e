//! `manifest()` run with no capabilities at all, for `postd-host check`: the contract says it
//! must not do I/O, and a connector whose manifest reads the vault or sends a request would
//! otherwise pass validation (the load path only withholds egress and secrets).

use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::invoke::Invocation;
use super::registry::SlotConfig;
use super::state::CallState;
use super::wit::{self, ConnectorPluginPre};
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

/// Marks the trap of an import stubbed by `define_unknown_imports_as_traps`.
const UNKNOWN_IMPORT: &str = "unknown import: `";

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
            wit::log::add_to_linker::<_, HasSelf<_>>(&mut linker, |s: &mut CallState| &mut s.log)?;
            linker.define_unknown_imports_as_traps(&component)?;
            ConnectorPluginPre::new(linker.instantiate_pre(&component)?)
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
                match message.split_once(UNKNOWN_IMPORT) {
                    Some((_, rest)) => SealedManifest::CalledImport(
                        rest.split('`').next().unwrap_or(rest).to_string(),
                    ),
                    None => SealedManifest::Failed(message),
                }
            }
        }
    }
}
