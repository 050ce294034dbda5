#![forbid(unsafe_code)]

use clap::Parser;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Few blocking threads: large reviews and fact recomputes run there, and
    // each extra thread may bring its own allocator arena (memory).
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(4)
        .build();
    let code = match rt {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "terway-guard: cannot start: {e}");
            2
        }
    };
    std::process::exit(code);
}

async fn run() -> i32 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = terway_guard::cli::Cli::parse();
    match terway_guard::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "terway-guard: {e:#}");
            2
        }
    }
}
