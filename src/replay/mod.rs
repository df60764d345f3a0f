//! Conversation transcripts (PRODUCT §6): the parser and the runner that plays each file
//! against the demo business in the sandbox, with a fresh database and a fixed clock. The
//! format is described in [`parse`]; a file's `@config` lines choose how its bot is started
//! (step-up codes, Telegram payments), `> @otp` reads the codes the bot sent from the bot's
//! in-memory code gateway, and `@now` runs the bot's scheduled jobs due by the new time.

pub mod parse;
pub mod run;

#[cfg(test)]
mod bot_tests;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::app::{SandboxOptions, SandboxedBot};

pub use parse::{
    Action, ContactOwner, Expectation, LabelMatch, ParseError, Pattern, Step, StepKind, Transcript, TranscriptConfig,
    UserSpec, parse,
};
pub use run::{ActionReplies, Failure, HANDLE_TIMEOUT, Reply, run_transcript};

/// The outcome of a run over several files.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    /// One human-readable report per failed file (file, line, expectation, bot messages).
    pub failures: Vec<String>,
}

/// Plays every file; prints progress and failures to `out`, and the closing line
/// `N passed, M failed`.
///
/// Each file gets its own freshly started demo bot on a fixed clock; files run one after
/// another. A file that cannot be read or parsed, or whose bot cannot start, counts as
/// failed. The error is only for failures to write to `out`.
pub async fn run_files(files: &[PathBuf], out: &mut (dyn std::io::Write + Send)) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    for path in files {
        match run_file(path).await {
            Ok(title) => {
                summary.passed += 1;
                writeln!(out, "PASS {} — {title}", path.display())?;
            }
            Err(report) => {
                summary.failed += 1;
                write!(out, "{report}")?;
                summary.failures.push(report);
            }
        }
        out.flush()?;
    }
    writeln!(out, "{} passed, {} failed", summary.passed, summary.failed)?;
    out.flush()?;
    Ok(summary)
}

/// Plays one file on a fresh demo bot: its title when it passes, the failure report when not.
async fn run_file(path: &Path) -> Result<String, String> {
    let head = format!("FAIL {}", path.display());
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| format!("{head}\n  cannot read the file: {e}\n"))?;
    let transcript = parse(&text).map_err(|e| format!("{head}\n  line {}: {}\n", e.line, e.message))?;
    let title = transcript.title.clone();
    let head = format!("{head} — {title}");

    // A separate task, so that a panic in the bot's start-up or the sandbox fails this
    // file only.
    match tokio::spawn(play_on_demo_bot(transcript)).await {
        Ok(Ok(())) => Ok(title),
        Ok(Err(FileError::Start(e))) => Err(format!("{head}\n  the demo bot did not start: {e}\n")),
        Ok(Err(FileError::Step(failure))) => Err(format!("{head}\n{}", failure.render())),
        Err(e) if e.is_panic() => Err(format!("{head}\n  panicked: {}\n", panic_message(e.into_panic()))),
        Err(e) => Err(format!("{head}\n  the run was cancelled: {e}\n")),
    }
}

/// How long stopping a file's bot may take.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

enum FileError {
    Start(String),
    Step(Failure),
}

/// How a transcript's bot is started: on a fixed clock, with the file's `@config`.
fn sandbox_options(config: &TranscriptConfig) -> SandboxOptions {
    SandboxOptions {
        fixed_clock: true,
        step_up: config.step_up,
        telegram_payments: config.telegram_payments,
        holidays: config.holidays.clone(),
        ..Default::default()
    }
}

async fn play_on_demo_bot(transcript: Transcript) -> Result<(), FileError> {
    let bot = SandboxedBot::start(sandbox_options(&transcript.config))
        .await
        .map_err(|e| FileError::Start(format!("{e:#}")))?;
    let result =
        run_transcript(&transcript, &bot.sandbox, bot.clock.as_deref(), Some(bot.otp.as_ref()), Some(&bot.scheduler))
            .await;
    // A dispatcher that has not started dispatching yet (a file that failed before its
    // first action) does not accept a shutdown; do not wait for it forever.
    let _ = tokio::time::timeout(STOP_TIMEOUT, bot.stop()).await;
    result.map_err(FileError::Step)
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}
