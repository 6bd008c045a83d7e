//! Host bindings of the connector contract, one module per WIT version.
//!
//! `since_v0_2_0` binds the newest contract, `wit/since_v0.2.0`: the capabilities implement its
//! `Host` traits and the rest of the host speaks its types (re-exported here). Each older
//! version keeps a module of its own that forwards its imports to the newest implementations
//! and converts its exports' arguments and answers ([`convert`]), so components built against
//! an older SDK keep loading. A component's version is read from the `connector` interface it
//! exports.

pub(crate) mod convert;
pub mod since_v0_1_0;
pub mod since_v0_2_0;

pub use since_v0_2_0::*;

use wasmtime::component::{Component, HasSelf, InstancePre, Linker};
use wasmtime::{Engine, Store};

use super::invoke::{Answer, Invocation};
use super::state::CallState;

/// A contract version the host serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractVersion {
    /// `postd:connector@0.1.0`.
    V0_1,
    /// `postd:connector@0.2.0`.
    V0_2,
}

impl ContractVersion {
    /// Every version the host serves, newest first.
    pub const ALL: [ContractVersion; 2] = [ContractVersion::V0_2, ContractVersion::V0_1];

    /// The WIT package version (`0.2.0`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }

    /// The `connector` interface a component of this version exports.
    fn export_name(self) -> String {
        format!("postd:connector/connector@{}", self.as_str())
    }

    /// The `postd-sdk` minor version that builds components of this version (the contract's
    /// own minor): a connector's manifest must name an SDK `0.<minor>.x` matching its contract.
    pub fn sdk_minor(self) -> &'static str {
        self.as_str()
            .split('.')
            .nth(1)
            .expect("a contract version is x.y.z")
    }

    /// The version `component` exports, if it is one the host serves.
    pub fn of(component: &Component, engine: &Engine) -> Option<ContractVersion> {
        let exports: Vec<String> = component
            .component_type()
            .exports(engine)
            .map(|(name, _)| name.to_string())
            .collect();
        ContractVersion::ALL
            .into_iter()
            .find(|version| exports.contains(&version.export_name()))
    }
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Defines every version's capability imports (`http`, `vault`, `queue`, `log`, and 0.2's
/// `media`) in `linker`.
pub(crate) fn add_capabilities(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    http::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.http)?;
    vault::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.vault)?;
    queue::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.queue)?;
    media::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.http)?;
    since_v0_1_0::add_capabilities(linker)?;
    add_logging(linker)
}

/// Defines every version's `log` import in `linker`.
pub(crate) fn add_logging(linker: &mut Linker<CallState>) -> wasmtime::Result<()> {
    log::add_to_linker::<_, HasSelf<_>>(linker, |s: &mut CallState| &mut s.log)?;
    since_v0_1_0::add_logging(linker)
}

/// A component linked and ready to instantiate, in the version it was built for.
#[derive(Clone)]
pub enum ConnectorPre {
    /// Built against `postd:connector@0.1.0`.
    V0_1(since_v0_1_0::ConnectorPluginPre<CallState>),
    /// Built against `postd:connector@0.2.0`.
    V0_2(ConnectorPluginPre<CallState>),
}

impl ConnectorPre {
    /// Types `pre` by the contract version its component exports.
    pub fn new(pre: InstancePre<CallState>) -> wasmtime::Result<Self> {
        let version = ContractVersion::of(pre.component(), &pre.engine().clone());
        match version {
            Some(ContractVersion::V0_2) => Ok(ConnectorPre::V0_2(ConnectorPluginPre::new(pre)?)),
            Some(ContractVersion::V0_1) => Ok(ConnectorPre::V0_1(
                since_v0_1_0::ConnectorPluginPre::new(pre)?,
            )),
            None => wasmtime::bail!(
                "the component exports no `postd:connector/connector` of a version this host serves ({})",
                super::SERVED_CONTRACTS.join(", ")
            ),
        }
    }

    /// The contract version of the component.
    pub fn version(&self) -> ContractVersion {
        match self {
            ConnectorPre::V0_1(_) => ContractVersion::V0_1,
            ConnectorPre::V0_2(_) => ContractVersion::V0_2,
        }
    }

    /// Instantiates the component in `store` and calls `invocation` on it.
    pub(crate) async fn call(
        &self,
        store: &mut Store<CallState>,
        invocation: Invocation,
    ) -> wasmtime::Result<Answer> {
        match self {
            ConnectorPre::V0_2(pre) => {
                let instance = pre.instantiate_async(&mut *store).await?;
                invocation
                    .call_newest(instance.postd_connector_connector(), store)
                    .await
            }
            ConnectorPre::V0_1(pre) => {
                let instance = pre.instantiate_async(&mut *store).await?;
                since_v0_1_0::call(instance.postd_connector_connector(), store, invocation).await
            }
        }
    }
}
