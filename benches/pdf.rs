//! Rendering business documents as PDF: a short Russian act and a 60-line invoice.
//! Run with `cargo bench --bench pdf`.

#![allow(clippy::unwrap_used)] // a benchmark that cannot go on stops with its message

use std::hint::black_box;

use cabinet::pdf::{Line, Party, PdfDocument, render};
use criterion::{Criterion, criterion_group, criterion_main};

fn tenge(amount: &str) -> String {
    format!("{}\u{a0}₸", amount.replace(' ', "\u{a0}"))
}

fn act(lines: usize) -> PdfDocument {
    let names = ["Стрижка женская, мастер Әлия", "Окрашивание волос в один тон с учётом материалов мастера", "Укладка"];
    PdfDocument {
        title: "Акт выполненных работ за декабрь 2024".into(),
        number_and_date: "№ D-1001 от 31 декабря 2024".into(),
        seller_label: "Исполнитель".into(),
        seller: Party {
            name: "ТОО «Қазақстан Сервис»".into(),
            lines: vec!["БИН 123456789012".into(), "г. Алматы, ул. Абая 10".into()],
        },
        buyer_label: "Заказчик".into(),
        buyer: Party {
            name: "Иванова Анна Сергеевна".into(),
            lines: vec!["ул. Ленина 15, кв. 42".into(), "+7 701 234-56-78".into()],
        },
        columns: ["Наименование".into(), "Кол-во".into(), "Цена".into(), "Сумма".into()],
        lines: (0..lines)
            .map(|i| Line {
                description: names[i % names.len()].into(),
                qty: "1".into(),
                unit_price: tenge("3 450"),
                amount: tenge("3 450"),
            })
            .collect(),
        total_label: "Итого".into(),
        total: tenge("20 450"),
        notes: vec![
            "Вышеперечисленные услуги выполнены полностью и в срок. Заказчик претензий по объёму, \
                     качеству и срокам оказания услуг не имеет."
                .into(),
        ],
        footer: "Demo Service · сформировано 11 января 2025".into(),
    }
}

fn pdf(c: &mut Criterion) {
    let short = act(3);
    let long = act(60);
    let size = |doc: &PdfDocument| render(doc).map(|b| b.len()).unwrap_or(0);
    eprintln!("sizes: 3-line act {} bytes, 60-line act {} bytes", size(&short), size(&long));
    c.bench_function("render_act_3_lines", |b| b.iter(|| black_box(render(black_box(&short)).expect("renders"))));
    c.bench_function("render_act_60_lines", |b| b.iter(|| black_box(render(black_box(&long)).expect("renders"))));
}

criterion_group!(benches, pdf);
criterion_main!(benches);
