//! The recogniser measured on the public labelled sets in `tests/nlu_eval/` (intent and entity
//! accuracy, see `docs/nlu.md` for the definitions), and `cabinet classify` run as a real
//! process on hostile input.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use cabinet::adapters::builtin::import::BusinessData;
use cabinet::nlu::{Intent, Nlu};
use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{Map, Value};

/// The reference time of the sets: 2025-01-11T10:00:00+05:00 (a Saturday), local.
const NOW_RFC3339: &str = "2025-01-11T10:00:00+05:00";
const MIN_INTENT_ACCURACY: f64 = 0.95;
const MIN_ENTITY_ACCURACY: f64 = 0.90;

const ALL_INTENTS: [&str; 24] = [
    "balance",
    "bonuses",
    "top_up",
    "order_status",
    "order_history",
    "repeat_order",
    "documents",
    "booking",
    "booking_list",
    "booking_reschedule",
    "booking_cancel",
    "subscription",
    "offers",
    "referral",
    "notifications",
    "operator",
    "privacy",
    "language",
    "help",
    "greeting",
    "thanks",
    "order_cancel",
    "faq",
    "unknown",
];

const ENTITY_KEYS: [&str; 11] = [
    "order_id",
    "doc_kind",
    "period",
    "date",
    "time",
    "time_from",
    "service",
    "staff",
    "subscription_action",
    "tariff",
    "faq",
];

fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 11).unwrap().and_hms_opt(10, 0, 0).unwrap()
}

/// The demo catalogue's recogniser over the embedded data files, or over the folder in
/// `NLU_DIALOGUES` when set (to try wording without rebuilding).
fn demo_nlu() -> Nlu {
    match std::env::var_os("NLU_DIALOGUES") {
        Some(dir) => {
            Nlu::from_dir(std::path::Path::new(&dir), BusinessData::demo().catalog()).expect("the dialogues load")
        }
        None => Nlu::embedded(BusinessData::demo().catalog()).expect("the embedded dialogues load"),
    }
}

#[derive(Debug, Clone)]
struct Case {
    line: usize,
    text: String,
    intent: String,
    entities: Map<String, Value>,
}

fn load_set(name: &str) -> Vec<Case> {
    let path = format!("{}/tests/nlu_eval/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut cases = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(raw).unwrap_or_else(|e| panic!("{path}:{}: {e}", i + 1));
        let text = v["text"].as_str().unwrap_or_else(|| panic!("{path}:{}: no text", i + 1));
        let intent = v["intent"].as_str().unwrap_or_else(|| panic!("{path}:{}: no intent", i + 1));
        assert!(ALL_INTENTS.contains(&intent), "{path}:{}: unknown intent {intent:?}", i + 1);
        let entities = v["entities"].as_object().cloned().unwrap_or_default();
        for (k, val) in &entities {
            assert!(ENTITY_KEYS.contains(&k.as_str()), "{path}:{}: unknown entity {k:?}", i + 1);
            assert!(val.is_string(), "{path}:{}: entity {k} must be a string", i + 1);
        }
        cases.push(Case { line: i + 1, text: text.to_string(), intent: intent.to_string(), entities });
    }
    cases
}

struct Miss {
    case: Case,
    got_intent: String,
    got_entities: Map<String, Value>,
}

struct Report {
    total: usize,
    intent_hits: usize,
    /// Phrases that expect entities or for which some were extracted.
    entity_scored: usize,
    entity_hits: usize,
    /// Per entity key: (expected and extracted equal, expected, extracted).
    per_key: BTreeMap<&'static str, (usize, usize, usize)>,
    intent_misses: Vec<Miss>,
    entity_misses: Vec<Miss>,
}

impl Report {
    fn intent_accuracy(&self) -> f64 {
        ratio(self.intent_hits, self.total)
    }

    fn entity_accuracy(&self) -> f64 {
        ratio(self.entity_hits, self.entity_scored)
    }

    fn summary(&self, name: &str) -> String {
        let mut s = String::new();
        s += &format!(
            "== {name}: {} phrases; intent accuracy {:.1}% ({}/{}); entity accuracy {:.1}% ({}/{})\n",
            self.total,
            100.0 * self.intent_accuracy(),
            self.intent_hits,
            self.total,
            100.0 * self.entity_accuracy(),
            self.entity_hits,
            self.entity_scored
        );
        s += "   per entity (correct / expected / extracted):";
        for (k, (ok, exp, got)) in &self.per_key {
            s += &format!(" {k} {ok}/{exp}/{got};");
        }
        s += "\n";
        let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
        for m in &self.intent_misses {
            *pairs.entry((m.case.intent.clone(), m.got_intent.clone())).or_default() += 1;
        }
        if !pairs.is_empty() {
            s += "   intent confusions (expected -> got: count):\n";
            for ((exp, got), n) in &pairs {
                s += &format!("     {exp} -> {got}: {n}\n");
            }
            s += "   intent misses:\n";
            for m in &self.intent_misses {
                s += &format!(
                    "     line {}: {:?} expected {} got {}\n",
                    m.case.line, m.case.text, m.case.intent, m.got_intent
                );
            }
        }
        if !self.entity_misses.is_empty() {
            s += "   entity misses:\n";
            for m in &self.entity_misses {
                s += &format!(
                    "     line {}: {:?} expected {} got {}\n",
                    m.case.line,
                    m.case.text,
                    Value::Object(m.case.entities.clone()),
                    Value::Object(m.got_entities.clone())
                );
            }
        }
        s
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn evaluate(nlu: &Nlu, cases: &[Case]) -> Report {
    let mut r = Report {
        total: cases.len(),
        intent_hits: 0,
        entity_scored: 0,
        entity_hits: 0,
        per_key: ENTITY_KEYS.iter().map(|k| (*k, (0, 0, 0))).collect(),
        intent_misses: Vec::new(),
        entity_misses: Vec::new(),
    };
    for case in cases {
        let c = nlu.classify(&case.text, now(), None);
        let got_intent = c.intent.as_str().to_string();
        let got_entities = match serde_json::to_value(&c.entities) {
            Ok(Value::Object(m)) => m,
            other => panic!("entities serialise to an object, got {other:?}"),
        };
        let miss = || Miss { case: case.clone(), got_intent: got_intent.clone(), got_entities: got_entities.clone() };
        if got_intent == case.intent {
            r.intent_hits += 1;
        } else {
            r.intent_misses.push(miss());
        }
        if !case.entities.is_empty() || !got_entities.is_empty() {
            r.entity_scored += 1;
            if got_entities == case.entities {
                r.entity_hits += 1;
            } else {
                r.entity_misses.push(miss());
            }
        }
        for k in ENTITY_KEYS {
            let exp = case.entities.get(k);
            let got = got_entities.get(k);
            let e = r.per_key.get_mut(k).expect("every key is present");
            e.1 += exp.is_some() as usize;
            e.2 += got.is_some() as usize;
            e.0 += (exp.is_some() && exp == got) as usize;
        }
    }
    r
}

#[test]
fn the_main_set_is_large_and_covers_every_intent_in_both_languages() {
    let cases = load_set("eval.jsonl");
    assert!(cases.len() >= 360, "only {} phrases", cases.len());
    let mut per_intent: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &cases {
        *per_intent.entry(c.intent.as_str()).or_default() += 1;
    }
    for intent in ALL_INTENTS {
        let n = per_intent.get(intent).copied().unwrap_or(0);
        assert!(n >= 8, "{intent} has only {n} phrases");
        assert!(Intent::parse(intent).is_some(), "{intent} is a contract intent");
    }
    let russian =
        cases.iter().filter(|c| c.text.chars().any(|ch| matches!(ch, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё'))).count();
    let share = russian as f64 / cases.len() as f64;
    assert!((0.5..=0.7).contains(&share), "Russian share {share:.2}");
}

#[test]
fn the_main_set_meets_the_accuracy_bars() {
    let nlu = demo_nlu();
    let report = evaluate(&nlu, &load_set("eval.jsonl"));
    let summary = report.summary("main set (tests/nlu_eval/eval.jsonl)");
    println!("{summary}");
    assert!(
        report.intent_accuracy() >= MIN_INTENT_ACCURACY && report.entity_accuracy() >= MIN_ENTITY_ACCURACY,
        "below the bars (intent ≥ {MIN_INTENT_ACCURACY}, entities ≥ {MIN_ENTITY_ACCURACY}):\n{summary}"
    );
}

#[test]
fn the_holdout_sets_are_reported() {
    let nlu = demo_nlu();
    // Reported, not asserted: each was written after the recogniser was tuned on the main set
    // and measured once before any change (docs/nlu.md records those first figures).
    for name in ["holdout.jsonl", "holdout2.jsonl", "holdout3.jsonl", "holdout4.jsonl"] {
        let cases = load_set(name);
        assert!(cases.len() >= 40, "only {} phrases in {name}", cases.len());
        let report = evaluate(&nlu, &cases);
        println!("{}", report.summary(&format!("holdout (tests/nlu_eval/{name})")));
    }
}

#[test]
fn the_evaluation_misses_a_wrong_label() {
    // The measure itself can fail: a deliberately wrong label and wrong entity are counted.
    let nlu = demo_nlu();
    let cases = vec![
        Case {
            line: 1, text: "где мой заказ 12345".into(), intent: "greeting".into(), entities: Map::new()
        },
        Case { line: 2, text: "привет".into(), intent: "greeting".into(), entities: Map::new() },
    ];
    let r = evaluate(&nlu, &cases);
    assert_eq!(r.intent_hits, 1);
    assert_eq!((r.entity_hits, r.entity_scored), (0, 1));
}

// --- `cabinet classify` as a process ------------------------------------------------------

fn run_classify(input: &[u8]) -> (Vec<u8>, String, bool) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cabinet"))
        .args(["classify", "--now", NOW_RFC3339])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cabinet starts");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        stdin.write_all(&input).expect("cabinet reads its input");
    });
    let out = child.wait_with_output().expect("cabinet finishes");
    writer.join().expect("the writer thread finishes");
    (out.stdout, String::from_utf8_lossy(&out.stderr).into_owned(), out.status.success())
}

#[test]
fn classify_keeps_one_valid_json_line_per_hostile_input_line() {
    // 10,000 characters: words, digits and one unbroken run.
    let long: String = "баланс заказ 12345 ".repeat(300).chars().chain(std::iter::repeat('x')).take(10_000).collect();
    // (the line, the intent it must get if that is certain)
    let lines: Vec<(Vec<u8>, Option<&str>)> = vec![
        (b"".to_vec(), Some("unknown")),
        (b"   \t  ".to_vec(), Some("unknown")),
        (long.into_bytes(), None),
        ("😂🔥👍🏽🇷🇺".into(), Some("unknown")),
        ("bаланс мой kакой".into(), None),
        ("\u{202E}ecnalab ym si tahw".into(), None),
        ("\u{202E}где мой заказ\u{202C}".into(), None),
        ("ба\u{200B}ла\u{200D}нс\u{FEFF}".into(), Some("balance")),
        ("'; DROP TABLE users; --".into(), Some("unknown")),
        ("1 OR 1=1; SELECT * FROM customers".into(), Some("unknown")),
        (vec![0xff, 0xfe, 0x80, 0xc3, 0x28, b' ', 0xed, 0xa0, 0x80], Some("unknown")),
        (b"\x00\x01\x02\x1b[31m".to_vec(), Some("unknown")),
        ("where is my order 555\r".into(), Some("order_status")),
        ("ﷺ مرحبا שלום 你好".into(), None),
        ("\u{0301}\u{0301}\u{0301}".into(), Some("unknown")),
        ("спасибо".into(), Some("thanks")),
    ];
    let mut input = Vec::new();
    for (l, _) in &lines {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    // A last line without a newline still counts.
    input.extend_from_slice("привет".as_bytes());
    let (stdout, stderr, ok) = run_classify(&input);
    assert!(ok, "cabinet classify failed: {stderr}");
    let out = String::from_utf8(stdout).expect("the output is UTF-8");
    let out_lines: Vec<&str> = out.lines().collect();
    assert_eq!(out_lines.len(), lines.len() + 1, "one output line per input line:\n{out}");
    let expected: Vec<Option<&str>> = lines.iter().map(|(_, i)| *i).chain([Some("greeting")]).collect();
    for (i, (line, want)) in out_lines.iter().zip(expected).enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}: {line}", i + 1));
        let intent = v["intent"].as_str().unwrap_or_else(|| panic!("line {}: no intent: {line}", i + 1));
        assert!(ALL_INTENTS.contains(&intent), "line {}: intent {intent}", i + 1);
        assert!(v["entities"].is_object(), "line {}: entities: {line}", i + 1);
        let conf = v["confidence"].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&conf), "line {}: confidence {conf}", i + 1);
        if let Some(want) = want {
            assert_eq!(intent, want, "line {}: {line}", i + 1);
        }
    }
}

#[test]
fn classify_answers_nothing_for_no_input() {
    let (stdout, stderr, ok) = run_classify(b"");
    assert!(ok, "{stderr}");
    assert!(stdout.is_empty());
}

/// Shows what the recogniser makes of the lines of `NLU_EXPLAIN` (a diagnostic aid):
/// `NLU_EXPLAIN='где мой заказ' cargo test --test nlu explain -- --ignored --nocapture`.
#[test]
#[ignore = "a diagnostic aid, run on demand"]
fn explain() {
    let nlu = demo_nlu();
    let text = std::env::var("NLU_EXPLAIN").unwrap_or_default();
    for line in text.lines() {
        let c = nlu.classify(line, now(), None);
        println!(
            "{line:?} -> {} {:.2} {} alternatives {:?}",
            c.intent.as_str(),
            c.confidence,
            serde_json::to_string(&c.entities).unwrap_or_default(),
            c.alternatives
        );
    }
}

#[test]
fn classify_reads_staff_names_from_the_configured_business() {
    // A business whose master is Алия, not one of the demo's.
    let mut data: serde_json::Value =
        serde_json::from_str(include_str!("../../demo/demo-business.json")).expect("the demo data is JSON");
    data["staff"][0]["name"] = serde_json::json!({"ru": "Алия", "en": "Aliya"});
    let dir = tempfile::tempdir().expect("a temporary directory");
    let file = dir.path().join("business.json");
    std::fs::write(&file, data.to_string()).expect("the data set is written");
    let url = format!("sqlite://{}", dir.path().join("cabinet.db").display());
    let cabinet = env!("CARGO_BIN_EXE_cabinet");
    let import = std::process::Command::new(cabinet)
        .args(["import", file.to_str().expect("a UTF-8 path")])
        .env("DATABASE_URL", &url)
        .env_remove("CABINET_CONFIG")
        .output()
        .expect("cabinet import runs");
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));

    let classify = |url: Option<&str>| {
        let mut command = std::process::Command::new(cabinet);
        command.args(["classify", "--now", "2025-01-11T10:00:00+05:00"]).env_remove("CABINET_CONFIG");
        match url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env("DATABASE_URL", format!("sqlite://{}", dir.path().join("absent.db").display())),
        };
        let mut child = command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("cabinet classify runs");
        use std::io::Write as _;
        child.stdin.take().expect("stdin").write_all("запишите к Алие на завтра\n".as_bytes()).expect("written");
        let out = child.wait_with_output().expect("classify finishes");
        String::from_utf8(out.stdout).expect("UTF-8 output")
    };
    let with_business = classify(Some(&url));
    assert!(with_business.contains(r#""staff":"anna""#), "{with_business}");
    let without = classify(None);
    assert!(!without.contains(r#""staff""#), "the demo has no Алия: {without}");
    assert!(!dir.path().join("absent.db").exists(), "classify must not create a database");
}
