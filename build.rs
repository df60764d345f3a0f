//! Lists the conversation transcripts, `tests/conversations/*.txt`, for the integration
//! tests: `$OUT_DIR/transcripts.rs` gets one test per file, named after it
//! (`60_two_accounts_one_phone_ru.txt` → `t60_two_accounts_one_phone_ru`), a second one in
//! the module `http` that plays the file with the adapters served through the HTTP backend
//! (`http::t60_two_accounts_one_phone_ru`), and the list of files. `tests/it/conversations.rs` includes it; nothing else uses it. Without the
//! directory (the Docker build leaves `tests/` out) the list is empty.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::PathBuf;

const DIR: &str = "tests/conversations";

fn main() {
    let mut files: Vec<String> = match std::fs::read_dir(DIR) {
        Ok(entries) => {
            println!("cargo:rerun-if-changed={DIR}");
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| entry.file_name().into_string().ok())
                .filter(|name| name.ends_with(".txt"))
                .collect()
        }
        Err(_) => {
            println!("cargo:rerun-if-changed=build.rs");
            Vec::new()
        }
    };
    files.sort();

    let mut out = String::new();
    let mut http = String::new();
    let mut taken = HashSet::new();
    for file in &files {
        let stem = file.trim_end_matches(".txt");
        let base: String =
            stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
        let mut name = format!("t{base}");
        let mut n = 1;
        while !taken.insert(name.clone()) {
            n += 1;
            name = format!("t{base}_{n}");
        }
        let _ = writeln!(out, "#[tokio::test(flavor = \"multi_thread\", worker_threads = 2)]");
        let _ = writeln!(out, "async fn {name}() {{\n    play({file:?}).await;\n}}\n");
        let _ = writeln!(http, "    #[tokio::test(flavor = \"multi_thread\", worker_threads = 2)]");
        let _ = writeln!(http, "    async fn {name}() {{\n        super::play_http({file:?}).await;\n    }}\n");
    }
    let _ = writeln!(out, "/// Every transcript again, with the adapters served through the HTTP backend.");
    let _ = writeln!(out, "mod http {{\n{}}}\n", http.trim_end_matches('\n').to_owned() + "\n");
    let _ = writeln!(out, "/// The transcripts the tests above play, as listed at build time.");
    let _ = writeln!(out, "const TRANSCRIPTS: &[&str] = &{files:?};");

    let Some(dir) = std::env::var_os("OUT_DIR") else {
        panic!("cargo sets OUT_DIR for build scripts");
    };
    let path = PathBuf::from(dir).join("transcripts.rs");
    // Unchanged, the file is left alone.
    if std::fs::read_to_string(&path).ok().as_deref() != Some(out.as_str())
        && let Err(e) = std::fs::write(&path, out)
    {
        panic!("cannot write {}: {e}", path.display());
    }
}
