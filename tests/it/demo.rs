//! The demo as `cabinet demo` starts it: its database afresh or kept, and its data moved to
//! another day with the months named in titles and PDFs moving along.

use std::process::Command;

use cabinet::adapters::builtin::import::{self, BusinessData};
use cabinet::demo::prepare_demo_database;
use cabinet::replay::harness::{SandboxOptions, SandboxedBot};
use cabinet::sandbox::{BotContent, SandboxUser};
use cabinet::testenv::{self, Requirement};
use chrono::NaiveDate;

use super::support::{erlan, identify_as, press, say};

/// Consent and identification as Ерлан, the demo's customer C1.
async fn identify(bot: &SandboxedBot, user: &SandboxUser) {
    identify_as(bot, user, "+77011234567", "Принимаю", "Здравствуйте, Ерлан").await;
}

fn on(database_url: &str) -> SandboxOptions {
    SandboxOptions { database_url: Some(database_url.to_owned()), fixed_clock: true, ..Default::default() }
}

#[tokio::test]
async fn every_demo_starts_afresh_unless_kept() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cabinet-demo.db");
    let url = format!("sqlite://{}", file.display());
    let user = erlan();

    assert_eq!(prepare_demo_database(&url, false).unwrap(), None, "nothing to reset the first time");
    let bot = SandboxedBot::start(on(&url)).await.unwrap();
    identify(&bot, &user).await;
    bot.stop().await;
    assert!(file.exists());

    // --keep: the customer is still identified, in a new chat.
    assert_eq!(prepare_demo_database(&url, true).unwrap(), None);
    let bot = SandboxedBot::start(on(&url)).await.unwrap();
    let replies = say(&bot, &user, "баланс").await;
    assert!(replies.contains("Ваш баланс"), "{}", replies.dump());
    bot.stop().await;

    // The next plain run starts afresh: the file and its WAL are gone, nobody is identified.
    assert_eq!(prepare_demo_database(&url, false).unwrap(), Some(file.clone()));
    assert!(!file.exists());
    for suffix in ["-wal", "-shm"] {
        assert!(!dir.path().join(format!("cabinet-demo.db{suffix}")).exists(), "{suffix}");
    }
    let bot = SandboxedBot::start(on(&url)).await.unwrap();
    let replies = say(&bot, &user, "баланс").await;
    assert!(!replies.contains("Ваш баланс"), "{}", replies.dump());
    identify(&bot, &user).await;
    bot.stop().await;

    // Other databases are never dropped.
    assert_eq!(prepare_demo_database("sqlite::memory:", false).unwrap(), None);
    assert_eq!(prepare_demo_database("postgres://u@h/db", false).unwrap(), None);
}

/// `pdftotext -layout` of a PDF; `None` without poppler-utils (the test is named as skipped),
/// a failure under `CI=true`.
fn pdf_text(pdf: &[u8]) -> Option<String> {
    if !testenv::require(Requirement::Poppler) {
        return None;
    }
    let file = tempfile::Builder::new().suffix(".pdf").tempfile().unwrap();
    std::fs::write(file.path(), pdf).unwrap();
    let out = Command::new("pdftotext").args(["-layout", "-enc", "UTF-8"]).arg(file.path()).arg("-").output();
    let out = out.unwrap_or_else(|e| panic!("pdftotext cannot be run: {e}"));
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8(out.stdout).unwrap().replace(['\u{a0}', '\u{202f}'], " "))
}

/// The last document the bot sent the user: (caption, bytes).
fn last_document(bot: &SandboxedBot, user: &SandboxUser) -> (String, Vec<u8>) {
    let (caption, file_id) = bot
        .sandbox
        .messages(user.id)
        .into_iter()
        .rev()
        .find_map(|m| match m.content {
            BotContent::Document { file_id, .. } => Some((m.text, file_id)),
            _ => None,
        })
        .expect("a document was sent");
    let bytes = bot.sandbox.file_bytes(&file_id).expect("the upload is kept");
    (caption, bytes)
}

#[tokio::test]
async fn a_demo_moved_by_23_months_names_the_moved_months_in_titles_and_pdfs() {
    let bot = SandboxedBot::start(SandboxOptions { fixed_clock: true, ..Default::default() }).await.unwrap();
    // As `--real-clock` on 2026-12-11 moves it.
    let data = BusinessData::demo();
    let shift = NaiveDate::from_ymd_opt(2026, 12, 11).unwrap() - NaiveDate::from_ymd_opt(2025, 1, 11).unwrap();
    import::import(&bot.store, &data, shift).await.unwrap();
    bot.set_now(data.demo_now_utc().unwrap() + shift);
    let user = erlan();
    identify(&bot, &user).await;

    // No act for this month: the acts offered are named by their moved months.
    let replies = say(&bot, &user, "пришли акт за декабрь").await;
    assert!(replies.contains("Мы не нашли актов за декабрь 2026"), "{}", replies.dump());
    assert!(bot.sandbox.find_button(user.id, &|l: &str| l.contains("Акт выполненных работ за ноябрь 2026")).is_some());
    assert!(bot.sandbox.find_button(user.id, &|l: &str| l.contains("2024")).is_none(), "{}", replies.dump());

    say(&bot, &user, "пришли акт за ноябрь").await;
    let (caption, pdf) = last_document(&bot, &user);
    assert_eq!(caption, "Акт выполненных работ за ноябрь 2026");
    if let Some(text) = pdf_text(&pdf) {
        for wanted in ["Акт выполненных работ за ноябрь 2026", "№ D-1001 от 30 ноября 2026", "Услуги за ноябрь 2026"]
        {
            assert!(text.contains(wanted), "{wanted:?} is missing from:\n{text}");
        }
        assert!(!text.contains("декабрь 2024") && !text.contains("2024"), "{text}");
    }

    say(&bot, &user, "/language").await;
    press(&bot, &user, "English").await;
    say(&bot, &user, "send me the act for November").await;
    let (caption, pdf) = last_document(&bot, &user);
    assert_eq!(caption, "Certificate of completion, November 2026");
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("Certificate of completion, November 2026"), "{text}");
        assert!(text.contains("November 30, 2026") && text.contains("November 2026"), "{text}");
        assert!(!text.contains("2024"), "{text}");
    }
    bot.stop().await;
}

/// `cabinet demo` as a newcomer runs it: the business's system reports events and the bot
/// tells the customer first.
#[test]
fn the_terminal_demo_shows_events_arriving() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .args(["demo", "--database-url", &format!("sqlite://{}", dir.path().join("demo.db").display())])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let script =
        "/start\n1\n/contact +77011234567\n/event order_shipped\n/event payment_received\n/event nothing\n/quit\n";
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("order_status_changed: 202"), "{out}");
    assert!(out.contains("Заказ №78234: в пути") && out.contains("Трек-номер: 1234567890"), "{out}");
    assert!(out.contains("Оплата 2") && out.contains("получена"), "{out}");
    assert!(out.contains("Usage: /event order_shipped"), "{out}");
}

/// `cabinet demo`: a staff member broadcasts from the staff group, the customer's chat gets
/// it, and the report follows once the clock moves.
#[test]
fn the_terminal_demo_broadcasts_from_the_staff_group() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .args(["demo", "--database-url", &format!("sqlite://{}", dir.path().join("demo.db").display())])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let script = "/start\n1\n/contact +77011234567\n/staff 9001 Анна\n\
                  /broadcast all service Завтра с 2:00 до 4:00 плановые работы\n1\n/now +1m\n/customer\n/quit\n";
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("Рассылка №1 — черновик") && out.contains("Получателей: 1 (в сегменте 1"), "{out}");
    assert!(out.contains("Рассылка №1 запущена"), "{out}");
    assert!(out.contains("✅ Рассылка №1 завершена: отправлено 1 из 1."), "{out}");
    // Back in the customer's chat, the broadcast is there.
    let customer = out.rsplit("You are Demo").next().unwrap_or_default();
    assert!(customer.contains("Завтра с 2:00 до 4:00 плановые работы"), "{out}");
}

/// `cabinet demo` prints the Mini App's URL for its chat's user: its init data is valid for
/// the demo's (fixed) clock, so the page's API answers — "identify first" before they share
/// their contact in the chat, their cabinet after.
#[tokio::test]
async fn the_demo_prints_a_mini_app_url_whose_init_data_opens_the_cabinet_once_identified() {
    use std::io::{BufRead as _, Write as _};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .args(["demo", "--database-url", &format!("sqlite://{}", dir.path().join("demo.db").display())])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines, read) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |wanted: &dyn Fn(&str) -> bool| -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match read.recv_timeout(left) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                    if wanted(&line) {
                        return line;
                    }
                }
                Err(_) => panic!("not seen in time; the output so far:\n{seen}"),
            }
        }
    };
    let line = wait_for(&|l| l.contains("/app/#tgWebAppData="));
    assert!(line.contains("Mini App"), "{line}");
    let note = wait_for(&|l| l.contains("browser"));
    assert!(note.contains("/contact +77011234567") && note.contains("reload"), "{note}");
    let url = line.split_whitespace().find(|w| w.starts_with("http://127.0.0.1:")).unwrap().to_owned();
    let (base, fragment) = url.split_once("/app/#").unwrap();
    let (_, init_data) = url::form_urlencoded::parse(fragment.as_bytes()).find(|(k, _)| k == "tgWebAppData").unwrap();
    let me = |init_data: String| {
        let request = reqwest::Client::new()
            .get(format!("{base}/api/v1/app/me"))
            .header("authorization", format!("tma {init_data}"));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
        }
    };
    // Valid init data of somebody not identified yet: sent to the chat (not 401).
    let (status, body) = me(init_data.to_string()).await;
    assert_eq!((status, body["error"].as_str()), (403, Some("not_identified")), "{body}");

    stdin.write_all(b"/start\n1\n/contact +77011234567\n").unwrap();
    wait_for(&|l| l.contains("Здравствуйте, Ерлан"));
    let (status, body) = me(init_data.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["first_name"], "Ерлан", "{body}");
    // Altered, it is refused.
    let (status, _) = me(init_data.replace("5001", "5002")).await;
    assert_eq!(status, 401);

    stdin.write_all(b"/quit\n").unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success(), "{seen}");

    // `cabinet demo --help` tells of it.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_cabinet")).args(["demo", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("Mini App") && help.contains("browser") && help.contains("reload"), "{help}");
}
