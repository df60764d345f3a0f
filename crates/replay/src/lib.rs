//! Conversation transcripts (docs/transcripts.md): the parser and the runner that plays each file
//! against the demo business in the sandbox, with a fresh database and a fixed clock. The
//! format is described in [`mod@parse`]; a file's `@config` lines choose how its bot is started
//! (step-up codes, Telegram payments), `> @otp` reads the codes the bot sent from the bot's
//! in-memory code gateway, and `@now` runs the bot's scheduled jobs due by the new time. A
//! file with staff steps (`@staff`, `<staff`) runs with a staff group: the forum supergroup
//! [`STAFF_CHAT_ID`] ("Support") in the sandbox, given to the bot in its options.
//!
//! # Layout
//! - [`mod@parse`]: a transcript's text to its steps (the format, line by line).
//! - [`run`]: plays the steps against a running bot and checks the replies.
//! - [`drive`]: acting for a user or a staff member (send, press, share a contact) and
//!   collecting what the bot answered once it has handled the update; the runner and the
//!   integration tests both use it.
//! - [`harness`]: [`harness::SandboxedBot`], the demo bot in the sandbox (the demo, replay and
//!   tests start it).
//! - this file: [`run_files`], playing files and printing `N passed, M failed`;
//!   [`run_file_with`] and [`run_files_with`] adjust the bot's options first (e.g.
//!   [`SandboxOptions::http_backend`]: the demo business read through the HTTP backend).

pub mod drive;
pub mod harness;
pub mod parse;
pub mod run;

#[cfg(test)]
mod bot_tests;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::path::{Path, PathBuf};

use crate::harness::{SandboxOptions, SandboxedBot};

pub use drive::{Driver, HANDLE_TIMEOUT, Place, Replies, Reply, Sent};
pub use parse::{
    Action, ContactOwner, Expectation, LabelMatch, ParseError, Pattern, StaffSpec, Step, StepKind, Transcript,
    TranscriptConfig, UserSpec, parse,
};
pub use run::{ActionReplies, Failure, StaffSide, run_transcript};

/// The chat id of the staff group a transcript's bot gets when the file has staff steps: a
/// forum supergroup titled [`STAFF_CHAT_TITLE`] in the sandbox.
pub const STAFF_CHAT_ID: i64 = -1_001_000_000_001;

/// The title of the transcripts' staff group.
pub const STAFF_CHAT_TITLE: &str = "Support";

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
    run_files_with(files, out, |_| {}).await
}

/// [`run_files`] with each file's bot options adjusted by `adjust` (e.g.
/// `|o| o.http_backend = true`).
pub async fn run_files_with(
    files: &[PathBuf],
    out: &mut (dyn std::io::Write + Send),
    adjust: impl Fn(&mut SandboxOptions),
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    for path in files {
        match run_file_with(path, &adjust).await {
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

/// Plays one file on a fresh demo bot: its title when it passes, the failure report (as
/// [`run_files`] prints it) when not.
pub async fn run_file(path: &Path) -> Result<String, String> {
    run_file_with(path, |_| {}).await
}

/// [`run_file`] with the bot's options (as the file's `@config` sets them) adjusted by
/// `adjust`: `run_file_with(path, |o| o.http_backend = true)` plays the file with the
/// adapters served through the HTTP backend.
pub async fn run_file_with(path: &Path, adjust: impl FnOnce(&mut SandboxOptions)) -> Result<String, String> {
    let head = format!("FAIL {}", path.display());
    let text = tokio::fs::read_to_string(path).await.map_err(|e| format!("{head}\n  cannot read the file: {e}\n"))?;
    let transcript = parse(&text).map_err(|e| format!("{head}\n  line {}: {}\n", e.line, e.message))?;
    let title = transcript.title.clone();
    let head = format!("{head} — {title}");

    // A separate task, so that a panic in the bot's start-up or the sandbox fails this
    // file only.
    let mut options = sandbox_options(&transcript);
    adjust(&mut options);
    match tokio::spawn(play_on_demo_bot(transcript, options)).await {
        Ok(Ok(())) => Ok(title),
        Ok(Err(FileError::Start(e))) => Err(format!("{head}\n  the demo bot did not start: {e}\n")),
        Ok(Err(FileError::Step(failure))) => Err(format!("{head}\n{}", failure.render())),
        Err(e) if e.is_panic() => Err(format!("{head}\n  panicked: {}\n", panic_message(e.into_panic()))),
        Err(e) => Err(format!("{head}\n  the run was cancelled: {e}\n")),
    }
}

enum FileError {
    Start(String),
    Step(Failure),
}

/// How a transcript's bot is started: on a fixed clock, with the file's `@config`, and with
/// the staff group when the file has staff steps.
fn sandbox_options(transcript: &Transcript) -> SandboxOptions {
    let config = &transcript.config;
    SandboxOptions {
        fixed_clock: true,
        step_up: config.step_up,
        telegram_payments: config.telegram_payments,
        holidays: config.holidays.clone(),
        backends: config.backends.clone(),
        miniapp_url: config.miniapp.clone(),
        staff_chat_id: transcript.uses_staff().then_some(STAFF_CHAT_ID),
        ..Default::default()
    }
}

async fn play_on_demo_bot(transcript: Transcript, options: SandboxOptions) -> Result<(), FileError> {
    let bot = SandboxedBot::start(options.clone()).await.map_err(|e| FileError::Start(format!("{e:#}")))?;
    // A customer's topic: the one the bot keeps for the customer this Telegram user is bound
    // to, or (after /logout or /forget) escalated a case about.
    let store = bot.store.clone();
    let topic_of = move |user: i64| -> futures::future::BoxFuture<'static, Option<i32>> {
        let store = store.clone();
        Box::pin(async move {
            let customer = match store.binding(user).await.ok().flatten() {
                Some(binding) => binding.customer_id,
                None => store.last_case_escalated_by(user).await.ok().flatten()?.customer_id,
            };
            let (chat, thread) = store.support_topic(&customer).await.ok().flatten()?;
            (chat == STAFF_CHAT_ID).then_some(thread)
        })
    };
    let staff = options.staff_chat_id.map(|chat_id| {
        bot.sandbox.add_forum_group(chat_id, STAFF_CHAT_TITLE);
        StaffSide { chat_id, topic_of: &topic_of }
    });
    let result = run_transcript(
        &transcript,
        &bot.sandbox,
        bot.clock.as_deref(),
        Some(bot.otp.as_ref()),
        Some(&bot.scheduler),
        staff.as_ref(),
        Some(&bot),
    )
    .await;
    bot.stop().await;
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
