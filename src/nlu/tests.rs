//! Recogniser tests: intents and entities end to end, with the demo-like catalogue.

use chrono::{NaiveDate, NaiveDateTime};

use super::*;

/// 2025-01-11 10:00, a Saturday.
fn now() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2025, 1, 11).and_then(|d| d.and_hms_opt(10, 0, 0)).expect("valid")
}

fn named(code: &str, names: &[&str]) -> Named {
    Named { code: code.to_string(), names: names.iter().map(|s| s.to_string()).collect() }
}

fn catalog() -> Catalog {
    Catalog {
        services: vec![
            named("haircut", &["Стрижка", "Haircut"]),
            named("manicure", &["Маникюр", "Manicure"]),
            named("massage", &["Массаж", "Massage"]),
        ],
        staff: vec![named("anna", &["Анна", "Anna"]), named("maria", &["Мария", "Maria"]), named("oleg", &["Олег", "Oleg"])],
    }
}

fn nlu() -> &'static Nlu {
    static NLU: std::sync::OnceLock<Nlu> = std::sync::OnceLock::new();
    NLU.get_or_init(|| Nlu::embedded(catalog()).expect("embedded data loads"))
}

fn classify(text: &str) -> Classification {
    nlu().classify(text, now(), None)
}

#[test]
fn debug_dump() {
    let Ok(list) = std::env::var("NLU_DUMP") else { return };
    for line in list.split(';') {
        let c = classify(line.trim());
        println!("{:40} → {:18} {:.2} {:?} alt={:?}", line.trim(), c.intent.as_str(), c.confidence, serde_json::to_string(&c.entities).unwrap_or_default(), c.alternatives);
    }
}

#[test]
fn debug_tokens() {
    let Ok(text) = std::env::var("NLU_TOK") else { return };
    let n = nlu();
    let norm = text::normalize(&text);
    let r = n.lexicon.resolve(&norm);
    for i in 0..norm.tokens.len() {
        let names: Vec<&str> = r.lexemes(i).iter().map(|&l| n.lexicon.lexeme_name(l)).collect();
        println!("{} {:?} fuzzy={} lex={:?}", norm.tok(i), norm.tokens[i].kind, r.fuzzy[i], names);
    }
    for m in n.lexicon.find_matches(&r) {
        println!("{:?} {:?}", m, n.lexicon.rules[m.rule as usize].target);
    }
}
