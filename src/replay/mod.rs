//! Conversation transcripts (PRODUCT §6): the parser and the runner that plays each file
//! against the demo business in the sandbox, with a fresh database and a fixed clock.
//! (Stub interface: the full implementation replaces this.)

use std::path::PathBuf;

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
pub async fn run_files(files: &[PathBuf], out: &mut (dyn std::io::Write + Send)) -> anyhow::Result<Summary> {
    let _ = (files, out);
    todo!()
}
