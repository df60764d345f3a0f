//! Every conversation transcript in `tests/conversations/*.txt` played against the demo bot
//! in the sandbox (PRODUCT §6), one test per file named after it
//! (`t60_two_accounts_one_phone_ru`), so that a failure names its file and files run in
//! parallel; and each again with the demo business served through the HTTP backend (the
//! reference server over the built-in adapters, read by the HTTP client):
//! `http::t60_two_accounts_one_phone_ru`. `build.rs` writes the tests when the directory
//! changes.

use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conversations")
}

/// Plays one transcript on a fresh demo bot; fails with the report of its first failed step.
async fn play(file: &str) {
    if let Err(report) = cabinet::replay::run_file(&dir().join(file)).await {
        panic!("\n{report}");
    }
}

/// Plays one transcript on a fresh demo bot whose adapters are read over HTTP.
async fn play_http(file: &str) {
    if let Err(report) = cabinet::replay::run_file_with(&dir().join(file), |o| o.http_backend = true).await {
        panic!("\n{report}");
    }
}

include!(concat!(env!("OUT_DIR"), "/transcripts.rs"));

#[test]
fn every_transcript_has_a_test() {
    let dir = dir();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").file_name().into_string().expect("a UTF-8 file name"))
        .filter(|name| name.ends_with(".txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());
    assert_eq!(TRANSCRIPTS, files, "the tests were generated for other transcripts than {} has now", dir.display());
}
