#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = terway_guard::cli::Cli::parse();
    let code = match terway_guard::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "terway-guard: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
