//! How the bot behaves in operation, where real Telegram and real hosts differ from the happy
//! path: Bot API calls that fail (a late button answer, a refused command menu), stopping on
//! SIGTERM, reminders sent late, and a Docker image whose build context is complete.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use cabinet::config::Config;
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::{ButtonRef, Sandbox, SandboxEvent};

use super::support::{WAIT, at, collect, erlan, fixed, identify, identify_as, john, press, reminders_in, say};

/// Telegram's answer to `answerCallbackQuery` after downtime or a backlog.
const QUERY_TOO_OLD: &str = "Bad Request: query is too old and response timeout expired or query ID is invalid";

// --- a failed answerCallbackQuery ----------------------------------------------------------

/// Whether the bot answered a button press (successfully) since event `seq`.
fn answered_since(bot: &SandboxedBot, seq: usize) -> bool {
    bot.sandbox.events_since(seq).iter().any(|e| matches!(e, SandboxEvent::CallbackAnswered { .. }))
}

#[tokio::test]
async fn a_button_whose_answer_telegram_refuses_still_does_what_it_says() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = erlan();
    identify(&bot, &user, "+77011234567").await;

    // Too late to answer (the bot was down while the user pressed): the balance comes anyway.
    bot.sandbox.fail_next("answerCallbackQuery", 400, QUERY_TOO_OLD, None);
    let seq = bot.sandbox.event_seq();
    let replies = press(&bot, &user, "Баланс").await;
    assert!(!answered_since(&bot, seq), "the answer was refused");
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    assert!(!replies.contains("Что-то пошло не так"), "{}", replies.dump());

    // Flood control on answers: the same.
    bot.sandbox.fail_next("answerCallbackQuery", 429, "Too Many Requests: retry after 5", Some(5));
    let seq = bot.sandbox.event_seq();
    let replies = press(&bot, &user, "Баланс").await;
    assert!(!answered_since(&bot, seq), "the answer was refused");
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    assert!(!replies.contains("Что-то пошло не так"), "{}", replies.dump());

    // A button the bot no longer honours, whose toast cannot be shown: silence, not an error.
    bot.sandbox.fail_next("answerCallbackQuery", 400, QUERY_TOO_OLD, None);
    let Some(ButtonRef::Inline { message_id, .. }) = bot.sandbox.find_button(user.id, &|l: &str| l.contains("Баланс"))
    else {
        panic!("no balance button");
    };
    let seq = bot.sandbox.event_seq();
    let id = bot.sandbox.press_inline(&user, message_id, "forged-data");
    let replies = collect(&bot, &user, seq, id).await;
    assert!(replies.is_empty(), "{}", replies.dump());

    // Nothing stuck: the next press is answered as usual.
    let seq = bot.sandbox.event_seq();
    let replies = press(&bot, &user, "Баланс").await;
    assert!(answered_since(&bot, seq));
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;
}

// --- a failed setMyCommands ----------------------------------------------------------------

/// Whether the command menu is registered in Russian, English and without a language.
fn menu_registered(sandbox: &Sandbox) -> bool {
    [Some("ru"), Some("en"), None].into_iter().all(|lang| !sandbox.my_commands(lang).is_empty())
}

#[tokio::test]
async fn the_bot_starts_when_telegram_refuses_the_command_menu_and_registers_it_later() {
    let failures = vec![
        ("setMyCommands".to_owned(), 500, "Internal Server Error".to_owned(), None),
        ("setMyCommands".to_owned(), 429, "Too Many Requests: retry after 1".to_owned(), Some(1)),
    ];
    let bot = SandboxedBot::start(SandboxOptions { fail_first: failures, ..fixed() }).await.unwrap();
    // Telegram answers 5xx (teloxide waits 10 seconds before it reports that): the bot
    // answers meanwhile.
    let user = erlan();
    let replies = say(&bot, &user, "/start").await;
    assert!(replies.contains("Здравствуйте"), "{}", replies.dump());
    assert!(!menu_registered(&bot.sandbox));

    // Then 429 with retry_after, then the menu is there.
    let calls = |s: &Sandbox| s.calls().into_iter().filter(|(method, _)| method == "setMyCommands").count();
    let registered = bot.sandbox.wait_until(Duration::from_secs(30), menu_registered).await;
    assert!(registered, "the command menu was never registered ({} calls)", calls(&bot.sandbox));
    let ru = bot.sandbox.my_commands(Some("ru"));
    assert!(ru.iter().any(|(command, _)| command == "start"), "{ru:?}");
    assert_eq!(calls(&bot.sandbox), 2 + 3, "two refused calls, then the three of a registration");
    bot.stop().await;
}

// --- stopping --------------------------------------------------------------------------------

/// A database with the demo business, and the config `cabinet run` would have against the
/// sandbox.
async fn run_config(sandbox: &Sandbox, dir: &Path) -> Config {
    let mut config = Config::default();
    config.database.url = format!("sqlite://{}", dir.join("cabinet.db").display());
    config.telegram.token = Some(secrecy::SecretString::from(sandbox.token()));
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/demo-business.json");
    cabinet::app::import_file(&config, &demo, false).await.unwrap();
    config
}

/// Whether the bot has asked the sandbox for updates (it is polling).
fn polling(sandbox: &Sandbox) -> bool {
    sandbox.calls().iter().any(|(method, _)| method == "getUpdates")
}

/// Whether the bot has sent this chat a message containing `needle`.
fn has_sent(sandbox: &Sandbox, chat: i64, needle: &str) -> bool {
    sandbox.messages(chat).iter().any(|m| m.text.contains(needle))
}

#[tokio::test]
async fn run_stops_cleanly_when_asked_while_polling() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(&sandbox, dir.path()).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let api_url = sandbox.api_url().to_string();
    let task = tokio::spawn(async move {
        cabinet::app::run_until(&config, Some(api_url), async {
            let _ = stopped.await;
        })
        .await
    });

    let user = erlan();
    sandbox.send_text(&user, "/start");
    assert!(sandbox.wait_until(WAIT, |s| has_sent(s, user.id, "Здравствуйте")).await, "no answer to /start");
    assert!(menu_registered(&sandbox));

    // Asked to stop while waiting in a 25-second long poll: it stops at once, and the update it
    // handled is confirmed, so a restart does not handle it again.
    stop.send(()).unwrap();
    let result = tokio::time::timeout(WAIT, task).await.expect("run did not stop").expect("run panicked");
    result.unwrap();
    assert_eq!(sandbox.pending_updates(), 0);

    // The database was closed, not left mid-write: it opens again with everything in it.
    let store =
        cabinet::app::open_store(&format!("sqlite://{}", dir.path().join("cabinet.db").display())).await.unwrap();
    assert!(store.consent(user.id).await.unwrap().is_none(), "/start alone gives no consent");
    assert!(store.user(user.id).await.unwrap().is_some(), "the user was recorded");
}

#[tokio::test]
async fn run_stops_cleanly_when_asked_before_it_polls() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(&sandbox, dir.path()).await;
    let run = cabinet::app::run_until(&config, Some(sandbox.api_url().to_string()), std::future::ready(()));
    tokio::time::timeout(WAIT, run).await.expect("run did not stop").unwrap();
}

/// `cabinet run` as a container runs it, stopped with SIGTERM as `docker stop` does.
#[cfg(unix)]
#[tokio::test]
async fn cabinet_run_stops_gracefully_on_sigterm() {
    let sandbox = Sandbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = run_config(&sandbox, dir.path()).await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .args(["run", "--api-url", sandbox.api_url().as_str()])
        .env_clear()
        .env("TELOXIDE_TOKEN", sandbox.token())
        .env("DATABASE_URL", &config.database.url)
        .env("RUST_LOG", "info")
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cannot start cabinet");
    let pid = child.id().to_string();
    let stderr = child.stderr.take().expect("stderr");
    let log = std::thread::spawn(move || std::io::read_to_string(stderr).unwrap_or_default());
    let waited = tokio::task::spawn_blocking(move || child.wait());

    let user = erlan();
    assert!(sandbox.wait_until(WAIT, polling).await, "cabinet never polled");
    sandbox.send_text(&user, "/start");
    assert!(sandbox.wait_until(WAIT, |s| has_sent(s, user.id, "Здравствуйте")).await, "no answer to /start");

    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("cannot run kill");
    assert!(killed.success());
    let status = match tokio::time::timeout(WAIT, waited).await {
        Ok(status) => status.expect("waiting panicked").expect("cannot wait for cabinet"),
        Err(_) => {
            let _ = std::process::Command::new("kill").args(["-KILL", &pid]).status();
            panic!("cabinet did not stop within {WAIT:?} of SIGTERM");
        }
    };
    let log = log.join().unwrap_or_default();
    assert!(status.success(), "cabinet exited with {status}:\n{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert_eq!(sandbox.pending_updates(), 0, "the handled update was confirmed");
}

// --- late reminders ------------------------------------------------------------------------

// John's massage (B-3001) is on 13 January at 15:00 (Almaty): the 24-hour reminder is due on
// the 12th at 15:00, the 2-hour one on the 13th at 13:00.

#[tokio::test]
async fn a_late_24_hour_reminder_is_sent_until_the_2_hour_one_is_due() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = john();
    identify_as(&bot, &user, "+447700900123", "I agree", "Hello").await;

    // The clock jumps past the 24-hour moment, before the 2-hour one.
    bot.set_now(at("2025-01-13T09:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    let sent = reminders_in(&bot, user.id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("today at 15:00"), "{sent:?}");

    // The 2-hour one follows at its time.
    bot.set_now(at("2025-01-13T13:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    let sent = reminders_in(&bot, user.id);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[1].contains("In 2 hours"), "{sent:?}");
    bot.stop().await;
}

#[tokio::test]
async fn past_the_2_hour_moment_only_the_2_hour_reminder_is_sent() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = john();
    identify_as(&bot, &user, "+447700900123", "I agree", "Hello").await;

    // The 24-hour reminder is planned, then the bot is down until after the 2-hour moment.
    bot.set_now(at("2025-01-12T14:30:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert_eq!(bot.store.jobs_with_prefix("reminder:B-3001:").await.unwrap().len(), 1);
    bot.set_now(at("2025-01-13T14:00:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    let sent = reminders_in(&bot, user.id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("Soon, at 15:00"), "{sent:?}");
    let kinds: Vec<String> = bot.store.reminders("B-3001").await.unwrap().into_iter().map(|r| r.kind).collect();
    assert_eq!(kinds, ["2h"]);
    // The 24-hour job is done with, not left to be retried.
    let jobs = bot.store.jobs_with_prefix("reminder:B-3001:").await.unwrap();
    assert!(jobs.iter().all(|j| j.status == "done"), "{jobs:?}");
    bot.stop().await;
}

#[tokio::test]
async fn past_the_start_no_reminder_is_sent() {
    let bot = SandboxedBot::start(fixed()).await.unwrap();
    let user = john();
    identify_as(&bot, &user, "+447700900123", "I agree", "Hello").await;

    // The 24-hour reminder is planned, then the bot is down until after the massage began.
    bot.set_now(at("2025-01-12T14:30:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert_eq!(bot.store.jobs_with_prefix("reminder:B-3001:").await.unwrap().len(), 1);
    bot.set_now(at("2025-01-13T15:30:00+05:00"));
    bot.run_due_jobs().await.unwrap();
    assert!(reminders_in(&bot, user.id).is_empty());
    assert!(bot.store.reminders("B-3001").await.unwrap().is_empty());
    let jobs = bot.store.jobs_with_prefix("reminder:B-3001:").await.unwrap();
    assert!(jobs.iter().all(|j| j.status == "done"), "{jobs:?}");
    bot.stop().await;
}

// --- the Docker image ----------------------------------------------------------------------

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// The Dockerfile's instructions: (instruction in upper case, arguments), continuation lines
/// joined and comments dropped.
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (current.is_empty() && trimmed.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    joined
        .into_iter()
        .filter_map(|line| {
            let (instruction, args) = line.split_once(char::is_whitespace)?;
            Some((instruction.to_ascii_uppercase(), args.trim().to_owned()))
        })
        .collect()
}

/// The paths COPY takes from the build context (not from another stage), as written.
fn copied_paths(instructions: &[(String, String)]) -> Vec<String> {
    let mut paths = Vec::new();
    for (instruction, args) in instructions {
        if instruction != "COPY" && instruction != "ADD" {
            continue;
        }
        let words: Vec<&str> = args.split_whitespace().collect();
        if words.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        let operands: Vec<&str> = words.into_iter().filter(|w| !w.starts_with("--")).collect();
        assert!(operands.len() >= 2 && !args.starts_with('['), "COPY {args}: write it as `COPY SRC… DEST`");
        for source in &operands[..operands.len() - 1] {
            paths.push(source.trim_start_matches("./").trim_end_matches('/').to_owned());
        }
    }
    paths
}

/// `path` relative to the repository, `..` and `.` resolved.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The files the crate's sources include at compile time (`include_str!`, `include_bytes!`),
/// relative to the repository.
fn compile_time_includes() -> BTreeSet<PathBuf> {
    let root = repo();
    let pattern = regex::Regex::new(r#"include_(?:str|bytes)!\(\s*"([^"]+)"\s*\)"#).unwrap();
    let mut found = BTreeSet::new();
    let mut dirs = vec![root.join("src"), root.join("crates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                for capture in pattern.captures_iter(&text) {
                    let target = path.parent().unwrap().join(&capture[1]);
                    found.insert(normalize(target.strip_prefix(&root).unwrap()));
                }
            }
        }
    }
    found
}

/// The files Cargo.toml's explicit targets need for cargo to read the manifest: benches,
/// tests, examples and binaries (their `path`, else the conventional one), and build.rs.
fn manifest_targets() -> BTreeSet<PathBuf> {
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    let mut found = BTreeSet::new();
    for (section, dir) in [("bench", "benches"), ("test", "tests"), ("example", "examples"), ("bin", "src/bin")] {
        for target in manifest.get(section).and_then(|v| v.as_array()).into_iter().flatten() {
            let path = match (target.get("path").and_then(|p| p.as_str()), target.get("name").and_then(|n| n.as_str()))
            {
                (Some(path), _) => PathBuf::from(path),
                (None, Some(name)) => PathBuf::from(format!("{dir}/{name}.rs")),
                (None, None) => panic!("a [[{section}]] without name or path"),
            };
            found.insert(path);
        }
    }
    let build = manifest.get("package").and_then(|p| p.get("build")).and_then(|b| b.as_str()).unwrap_or("build.rs");
    if repo().join(build).exists() {
        found.insert(PathBuf::from(build));
    }
    found
}

#[test]
fn the_dockerfile_copies_everything_the_build_needs_and_nothing_that_is_missing() {
    let instructions = instructions(&read("Dockerfile"));
    let copied = copied_paths(&instructions);
    assert!(!copied.is_empty(), "the Dockerfile copies nothing");

    // (a) Every path copied from the build context exists.
    for path in &copied {
        assert!(!path.contains(['*', '?', '[']), "COPY {path}: name the paths, tests check them");
        assert!(repo().join(path).exists(), "the Dockerfile copies {path}, which does not exist");
    }

    // (b) Everything compiled in, and every target the manifest declares, is copied.
    let covered = |file: &Path| copied.iter().any(|c| file == Path::new(c) || file.starts_with(c));
    let mut needed = compile_time_includes();
    assert!(needed.contains(Path::new("assets/fonts/NotoSans-Regular.ttf")), "{needed:?}");
    needed.extend(manifest_targets());
    needed.extend(["Cargo.toml", "Cargo.lock", "src/main.rs", "src/lib.rs"].map(PathBuf::from));
    // Every crate of the workspace, its manifest and its sources.
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).unwrap();
    let members = manifest
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(|m| m.as_array())
        .cloned()
        .unwrap_or_default();
    assert!(members.len() > 1, "the workspace lists its crates: {members:?}");
    for member in members.iter().filter_map(|m| m.as_str()).filter(|m| *m != ".") {
        needed.insert(PathBuf::from(member).join("Cargo.toml"));
        needed.insert(PathBuf::from(member).join("src/lib.rs"));
    }
    for file in &needed {
        assert!(repo().join(file).exists(), "{} is needed and missing", file.display());
        assert!(covered(file), "the build needs {}, which the Dockerfile does not copy", file.display());
    }

    // (c) The build context leaves target/ out, and keeps everything the Dockerfile copies.
    let ignored: Vec<String> = read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.trim_start_matches('/').trim_end_matches('/').to_owned())
        .collect();
    assert!(ignored.iter().any(|p| p == "target"), ".dockerignore must leave target/ out: {ignored:?}");
    for path in &copied {
        for pattern in &ignored {
            let excluded = match pattern.strip_prefix('*') {
                Some(suffix) => !suffix.contains(['*', '/']) && path.ends_with(suffix),
                None => Path::new(path).starts_with(pattern),
            };
            assert!(!excluded, ".dockerignore's {pattern:?} leaves out {path}, which the Dockerfile copies");
        }
    }
}

#[test]
fn the_image_builds_like_ci_and_runs_the_bot_as_a_non_root_user_that_gets_sigterm() {
    let instructions = instructions(&read("Dockerfile"));
    // (d) The image is built with the lock file, as CI tests it.
    let builds: Vec<&String> = instructions
        .iter()
        .filter(|(i, args)| i == "RUN" && args.contains("cargo build"))
        .map(|(_, args)| args)
        .collect();
    assert!(!builds.is_empty(), "no cargo build in the Dockerfile");
    for args in &builds {
        assert!(args.contains("cargo build --release --locked --bin cabinet"), "RUN {args}");
    }
    let ci = read(".ci/run");
    // Every cargo command that resolves dependencies (all but `cargo fmt`), with or without
    // environment variables before it.
    let ci_cargo: Vec<&str> = ci
        .lines()
        .map(str::trim)
        .filter_map(|l| l.find("cargo ").filter(|at| *at == 0 || l[..*at].ends_with(' ')).map(|at| &l[at..]))
        .filter(|l| !l.starts_with("cargo fmt"))
        .collect();
    assert!(ci_cargo.iter().any(|l| l.starts_with("cargo test")), "no cargo test in .ci/run: {ci_cargo:?}");
    assert!(ci_cargo.iter().all(|l| l.contains("--locked")), "{ci_cargo:?}");

    // The last stage: a numeric non-root user, and the binary itself as PID 1 (exec form), so
    // that `docker stop`'s SIGTERM reaches it.
    let last_stage = instructions.iter().rposition(|(i, _)| i == "FROM").unwrap();
    let runtime = &instructions[last_stage..];
    let user = runtime.iter().rev().find(|(i, _)| i == "USER").map(|(_, args)| args.as_str()).expect("no USER");
    let uid = user.split(':').next().unwrap_or_default();
    assert!(uid.parse::<u32>().is_ok_and(|uid| uid != 0), "USER {user}: a numeric non-root user");
    let entrypoint =
        runtime.iter().find(|(i, _)| i == "ENTRYPOINT").map(|(_, args)| args.as_str()).expect("no ENTRYPOINT");
    let entrypoint: Vec<String> = serde_json::from_str(entrypoint).expect("ENTRYPOINT in exec form (a JSON array)");
    assert_eq!(entrypoint, ["cabinet"]);
    if let Some((_, signal)) = runtime.iter().find(|(i, _)| i == "STOPSIGNAL") {
        assert_eq!(signal, "SIGTERM");
    }
}
