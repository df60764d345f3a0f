//! The `cabinet` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cabinet::cli::Cli::parse();
    // Chatty commands log what they do; interactive and scripted ones keep the terminal clean.
    let default_level = match cli.command {
        cabinet::cli::Command::Run { .. } | cabinet::cli::Command::Migrate | cabinet::cli::Command::Import { .. } => {
            "info"
        }
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)))
        .with_writer(std::io::stderr)
        .init();
    match cabinet::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
