//! Command-line interface: the dispatch and the commands' shared glue (logs,
//! signals, output). The flags are in `args.rs`; `main.rs` only parses and
//! calls [`run`].

mod args;
mod audit;
mod check;
mod controller;
mod expand;
mod inventory;
mod log_line;
mod log_sink;
mod serve;
mod status;

pub use crate::expand::restart::RestartScope;
pub use args::{
    AuditArgs, CertsArgs, CheckArgs, Cli, ClusterMode, Command, ControllerArgs, ExpandArgs,
    InventoryArgs, Output, RuleArgs, ServeArgs, StatusArgs,
};

/// JSON logs on stderr. A broken log pipe must not turn into a panic.
/// JSON lines on stderr, written by a thread of their own (see
/// [`log_sink`]); keep the returned sink until the command ends, so the last
/// lines are written out before the process exits.
#[must_use = "dropping the sink writes each later line directly"]
pub(crate) fn init_logging(level: tracing_subscriber::filter::LevelFilter) -> log_sink::Sink {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let sink = log_sink::Sink::stderr();
    tracing_subscriber::fmt()
        .log_internal_errors(false)
        .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
        .event_format(log_line::JsonLine)
        .with_max_level(level)
        .with_writer(sink.lines())
        .finish()
        // kube-runtime warns of a 403 on every retry of a watch, and
        // kube-client's request tracing logs every failed request as an
        // error: the watches say each failure once per change
        // (src/kube/health.rs), one-shot commands return theirs.
        .with(
            tracing_subscriber::filter::Targets::new()
                .with_default(tracing_subscriber::filter::LevelFilter::TRACE)
                .with_target(
                    "kube_runtime",
                    tracing_subscriber::filter::LevelFilter::ERROR,
                )
                .with_target(
                    "kube_client::client::builder",
                    tracing_subscriber::filter::LevelFilter::OFF,
                ),
        )
        .init();
    sink
}

/// Completes on the first SIGTERM or SIGINT; a second one aborts at once.
/// The handlers are installed when this is called, not when it is first
/// awaited: a signal during startup or a long first step is not lost.
pub(crate) fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            // Without signal handlers, never shut down on our own.
            return std::future::pending().await;
        };
        tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
        tracing::info!("signal received; stopping (send again to abort)");
        tokio::spawn(async move {
            tokio::select! { _ = term.recv() => {}, _ = int.recv() => {} }
            std::process::exit(1);
        });
    }
}

/// `s` in an ANSI style when `color` (a terminal without NO_COLOR).
pub(crate) fn paint(color: bool, code: &str, s: &str) -> String {
    if color {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// Colour only on a terminal, and never with NO_COLOR set.
pub(crate) fn color() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// Writes to stdout; a closed pipe (`| head`) is not worth a panic.
pub(crate) fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Exit status: 0 success/allowed, 1 denied, 2 could not run.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Check(args) => check::run(&args).await,
        Command::Status(args) => status::run(&args).await,
        Command::Expand(args) => expand::run(&args).await,
        Command::Controller(args) => controller::run(args).await.map(|()| 0),
        Command::Audit(args) => audit::run(&args),
        Command::Serve(args) => serve::run(args).await.map(|()| 0),
        Command::Certs(args) => {
            let bundle = crate::certs::generate(&args.dns)?;
            crate::certs::write(&args.out, &bundle)?;
            out(&format!(
                "wrote {0}/ca.crt, {0}/tls.crt and {0}/tls.key for {1}
",
                args.out.display(),
                args.dns.join(", ")
            ));
            Ok(0)
        }
    }
}
