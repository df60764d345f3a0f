//! Plays every conversation transcript in `tests/conversations/*.txt` against the demo bot
//! in the sandbox (PRODUCT §6) and fails when any of them fails.

use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_conversation_transcript_passes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conversations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no transcripts in {}", dir.display());

    let mut out = Vec::new();
    let summary = cabinet::replay::run_files(&files, &mut out).await.expect("writing the report");
    let report = String::from_utf8_lossy(&out);
    println!("{report}");

    assert_eq!(summary.passed + summary.failed, files.len(), "{report}");
    assert_eq!(summary.failed, 0, "{report}");
}
