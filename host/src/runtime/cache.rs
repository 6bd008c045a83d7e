//! Compiled components on disk, keyed by the wasm's sha256 and the engine's compatibility hash,
//! so a restart or a rollback does not compile again.

use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;

use super::error::LoadProblem;

/// The artifact cache. Without a directory it only compiles.
#[derive(Debug, Clone)]
pub struct ArtifactCache {
    dir: Option<PathBuf>,
    engine_hash: String,
}

impl ArtifactCache {
    /// A cache in `dir` (created when missing, readable only by the host's user) for artifacts
    /// of an engine with `engine_hash`.
    pub fn new(dir: Option<PathBuf>, engine_hash: String) -> Self {
        if let Some(dir) = &dir
            && let Err(error) = create_private_dir(dir)
        {
            tracing::warn!(dir = %dir.display(), %error, "artifact cache unavailable; compiling every time");
            return ArtifactCache {
                dir: None,
                engine_hash,
            };
        }
        ArtifactCache { dir, engine_hash }
    }

    fn path(&self, sha256: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(format!("{sha256}-{}.cwasm", self.engine_hash)))
    }

    /// The component for `bytes` (whose digest is `sha256`), from the cache or freshly compiled
    /// (and then cached). Blocking: call it off the async executor.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
    ) -> Result<Component, LoadProblem> {
        let path = self.path(sha256);
        if let Some(path) = path.as_ref().filter(|p| p.exists()) {
            // Read into memory rather than mapping the file: a mapped file truncated by someone
            // else would fault the host (SIGBUS) the next time its code ran.
            let cached = std::fs::read(path).map_err(|e| e.to_string());
            // SAFETY: files in the cache directory are written only by `store` below, from
            // `Component::serialize` of this engine configuration, into a directory only the
            // host's user can write; the file name carries the source digest and the engine's
            // compatibility hash, and wasmtime re-checks compatibility while deserializing.
            let loaded = cached.and_then(|bytes| {
                unsafe { Component::deserialize(engine, bytes) }.map_err(|e| e.to_string())
            });
            match loaded {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "discarding unusable cached artifact")
                }
            }
        }
        let component =
            Component::new(engine, bytes).map_err(|e| LoadProblem::Invalid(format!("{e:#}")))?;
        if let Some(path) = path
            && let Err(error) = store(&component, &path)
        {
            tracing::warn!(path = %path.display(), %error, "could not cache the compiled component");
        }
        Ok(component)
    }
}

fn store(component: &Component, path: &PathBuf) -> std::io::Result<()> {
    let bytes = component
        .serialize()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    crate::files::write_private(&partial, &bytes)?;
    std::fs::rename(partial, path)
}

fn create_private_dir(dir: &PathBuf) -> std::io::Result<()> {
    crate::files::create_private_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
