//! `postd-sandbox`: serves the platform imitations until interrupted.
//!
//! Usage: `postd-sandbox [--listen 127.0.0.1:7700] [--public-url http://sandbox:7700]`

use std::net::SocketAddr;

use anyhow::{Context, bail};
use postd_sandbox::{Platform, Sandbox, SandboxConfig};

const DEFAULT_LISTEN: &str = "127.0.0.1:7700";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Logs go to stderr; stdout carries only the URLs, for scripts that read them.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let mut listen = DEFAULT_LISTEN.to_string();
    let mut public_url = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => {
                listen = args
                    .next()
                    .context("--listen needs an address, e.g. 127.0.0.1:7700")?
            }
            "--public-url" => {
                public_url = Some(
                    args.next()
                        .context("--public-url needs a URL, e.g. http://sandbox:7700")?,
                );
            }
            "-h" | "--help" => {
                println!("usage: postd-sandbox [--listen {DEFAULT_LISTEN}] [--public-url URL]");
                return Ok(());
            }
            other => bail!(
                "unknown argument {other:?}; usage: postd-sandbox [--listen {DEFAULT_LISTEN}] [--public-url URL]"
            ),
        }
    }
    let listen: SocketAddr = listen
        .parse()
        .with_context(|| format!("--listen {listen:?} is not an address"))?;
    let config = SandboxConfig {
        listen,
        public_url,
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).await?;
    println!("postd-sandbox listening on {}", sandbox.base_url());
    for p in Platform::ALL {
        println!("  {:<10} {}", p.as_str(), sandbox.url(p));
    }
    println!("  {:<10} {}/_control", "control", sandbox.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}
