//! Classification per message over the phrases of the public evaluation set (a realistic mix
//! of short and long, Russian and English, with typos and entities).
//! Run with `cargo bench --bench classify`.

#![allow(clippy::unwrap_used)] // a benchmark that cannot go on stops with its message

use std::hint::black_box;

use cabinet::adapters::builtin::import::BusinessData;
use cabinet::nlu::Nlu;
use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const EVAL: &str = include_str!("../tests/nlu_eval/eval.jsonl");

fn phrases() -> Vec<String> {
    EVAL.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("the evaluation set is valid JSON");
            v["text"].as_str().expect("every line has a text").to_string()
        })
        .collect()
}

fn classify(c: &mut Criterion) {
    let nlu = Nlu::embedded(BusinessData::demo().catalog()).expect("the embedded dialogues load");
    let now = NaiveDate::from_ymd_opt(2025, 1, 11).and_then(|d| d.and_hms_opt(10, 0, 0)).expect("a valid time");
    let phrases = phrases();

    let mut group = c.benchmark_group("classify");
    // One message per iteration, going round the whole set: the time shown is per message.
    group.throughput(Throughput::Elements(1));
    group.bench_function("per_message", |b| {
        let mut i = 0;
        b.iter(|| {
            let text = &phrases[i % phrases.len()];
            i += 1;
            black_box(nlu.classify(black_box(text), now, None))
        })
    });
    group.finish();

    c.bench_function("load_embedded_dialogues", |b| {
        b.iter(|| black_box(Nlu::embedded(BusinessData::demo().catalog()).expect("loads")))
    });
}

criterion_group!(benches, classify);
criterion_main!(benches);
