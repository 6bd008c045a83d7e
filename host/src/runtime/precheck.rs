//! A component's outline, read before it is compiled.
//!
//! Compiling is the expensive step of a load (seconds for a connector, far more for a large or
//! pathological module), so what can be refused by reading the binary's sections is refused
//! first: a core module instead of a component, a component that does not export the connector
//! interface, or one that imports something this host does not provide. Each refusal names the
//! fix. Whatever passes is validated in full by the compiler and the linker afterwards.

use wasmparser::{Encoding, Parser, Payload};

use super::error::LoadProblem;
use super::wit::ContractVersion;

/// The export every connector component has, followed by its contract version.
pub const CONNECTOR_EXPORT: &str = "postd:connector/connector@";

/// Import namespaces the host's linker provides: the contract's own interfaces and WASI.
const PROVIDED_IMPORTS: &[&str] = &["postd:connector/", "wasi:"];

/// The versions of the connector contract this host serves, newest first (the host binds
/// each in `wit/`).
pub const SERVED_CONTRACTS: &[&str] = &[
    ContractVersion::ALL[0].as_str(),
    ContractVersion::ALL[1].as_str(),
];

/// The contract version of an import or export name of the contract (`postd:connector/http@0.1.0`).
fn contract_version(name: &str) -> Option<&str> {
    name.strip_prefix("postd:connector/")?
        .split_once('@')
        .map(|(_, v)| v)
}

fn unserved_contract(name: &str, version: &str) -> LoadProblem {
    LoadProblem::ForeignWorld(format!(
        "`{name}` is from postd:connector@{version}; this host serves postd:connector@{}: \
         build the connector with a postd-sdk release for that contract",
        SERVED_CONTRACTS.join(", @")
    ))
}

/// Reads the top-level imports and exports of `bytes` and refuses what cannot be a connector.
pub fn check_outline(bytes: &[u8]) -> Result<(), LoadProblem> {
    let mut depth = 0usize;
    let mut exports_connector = false;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(|e| LoadProblem::Invalid(e.to_string()))?;
        match payload {
            Payload::Version { encoding, .. } => {
                if depth == 0 && encoding == Encoding::Module {
                    return Err(LoadProblem::Invalid(
                        "this is a core WebAssembly module, not a component: build the \
                         connector with `cargo build --target wasm32-wasip2` (a crate with \
                         `crate-type = [\"cdylib\"]`)"
                            .into(),
                    ));
                }
                depth += 1;
            }
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(imports) if depth == 1 => {
                for import in imports {
                    let import = import.map_err(|e| LoadProblem::Invalid(e.to_string()))?;
                    let name = import.name.name;
                    if let Some(version) = contract_version(name)
                        && !SERVED_CONTRACTS.contains(&version)
                    {
                        return Err(unserved_contract(name, version));
                    }
                    if !PROVIDED_IMPORTS.iter().any(|p| name.starts_with(p)) {
                        return Err(LoadProblem::ForeignWorld(format!(
                            "it imports `{name}`, which this host does not provide (a \
                             connector may import only postd:connector/* and wasi:*)"
                        )));
                    }
                }
            }
            Payload::ComponentExportSection(exports) if depth == 1 => {
                for export in exports {
                    let export = export.map_err(|e| LoadProblem::Invalid(e.to_string()))?;
                    let name = export.name.name;
                    if name.starts_with(CONNECTOR_EXPORT)
                        && let Some(version) = contract_version(name)
                    {
                        if !SERVED_CONTRACTS.contains(&version) {
                            return Err(unserved_contract(name, version));
                        }
                        exports_connector = true;
                    }
                }
            }
            _ => {}
        }
    }
    if !exports_connector {
        return Err(LoadProblem::ForeignWorld(format!(
            "it does not export `{CONNECTOR_EXPORT}{}`: implement `Connector` and call \
             `register_connector!(YourType)` once in the crate",
            SERVED_CONTRACTS[0]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_module_is_named_as_such() {
        // The smallest valid core module: magic and version 1.
        let module = b"\0asm\x01\0\0\0";
        let problem = check_outline(module).unwrap_err();
        assert!(
            problem.to_string().contains("core WebAssembly module"),
            "{problem}"
        );
    }

    #[test]
    fn contract_versions_are_read_from_names() {
        assert_eq!(
            contract_version("postd:connector/http@0.1.0"),
            Some("0.1.0")
        );
        assert_eq!(
            contract_version("postd:connector/http@0.9.0"),
            Some("0.9.0")
        );
        assert_eq!(contract_version("wasi:io/streams@0.2.0"), None);
        let problem = unserved_contract("postd:connector/connector@0.9.0", "0.9.0").to_string();
        assert!(
            problem.contains("serves postd:connector@0.2.0, @0.1.0"),
            "{problem}"
        );
    }

    #[test]
    fn every_bound_contract_version_is_served() {
        let bound: Vec<&str> = ContractVersion::ALL.map(ContractVersion::as_str).to_vec();
        assert_eq!(SERVED_CONTRACTS, bound.as_slice());
        assert_eq!(ContractVersion::V0_2.sdk_minor(), "2");
    }

    #[test]
    fn garbage_is_invalid() {
        assert!(matches!(
            check_outline(b"not wasm at all"),
            Err(LoadProblem::Invalid(_))
        ));
    }

    #[test]
    fn an_empty_component_exports_no_connector() {
        // The smallest valid component: magic, version 0x0d, layer 1.
        let component = b"\0asm\x0d\0\x01\0";
        let problem = check_outline(component).unwrap_err();
        assert!(
            problem.to_string().contains("register_connector!"),
            "{problem}"
        );
    }
}
