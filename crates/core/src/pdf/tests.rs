//! Rendering tests: the PDF is read back with poppler's `pdftotext` / `pdfinfo`.
//!
//! Without poppler-utils the extraction part is skipped ([`crate::testenv`]), except under
//! `CI=true`, where it fails: CI installs poppler-utils (`.ci/run`).

use std::io::Write;
use std::process::Command;

use regex::Regex;

use super::layout::{MARGIN, PAGE_WIDTH};
use super::*;

const NBSP: char = '\u{a0}';

fn party(name: &str, lines: &[&str]) -> Party {
    Party { name: name.to_string(), lines: lines.iter().map(|l| l.to_string()).collect() }
}

fn line(description: &str, qty: &str, unit_price: &str, amount: &str) -> Line {
    Line {
        description: description.to_string(),
        qty: qty.to_string(),
        unit_price: unit_price.to_string(),
        amount: amount.to_string(),
    }
}

fn tenge(amount: &str) -> String {
    format!("{}{NBSP}₸", amount.replace(' ', &NBSP.to_string()))
}

fn russian_act() -> PdfDocument {
    PdfDocument {
        title: "Акт выполненных работ за декабрь 2024".into(),
        number_and_date: "№ D-1001 от 31 декабря 2024".into(),
        seller_label: "Исполнитель".into(),
        seller: party(
            "ТОО «Қазақстан Сервис»",
            &["БИН 123456789012", "г. Алматы, ул. Абая 10", "ИИК KZ12 3456 7890 1234 5678, АО «Kaspi Bank»"],
        ),
        buyer_label: "Заказчик".into(),
        buyer: party("Иванова Анна Сергеевна", &["ул. Ленина 15, кв. 42", "+7 701 234-56-78"]),
        columns: ["Наименование".into(), "Кол-во".into(), "Цена".into(), "Сумма".into()],
        lines: vec![
            line("Стрижка женская, мастер Әлия", "1", &tenge("3 450"), &tenge("3 450")),
            line("Окрашивание волос в один тон с учётом материалов мастера", "1", &tenge("12 000"), &tenge("12 000")),
            line("Укладка", "2", &tenge("2 500"), &tenge("5 000")),
        ],
        total_label: "Итого".into(),
        total: tenge("20 450"),
        notes: vec![
            "Вышеперечисленные услуги выполнены полностью и в срок. Заказчик претензий по объёму, качеству \
             и срокам оказания услуг не имеет."
                .into(),
            "Сумма прописью: двадцать тысяч четыреста пятьдесят тенге 00 тиын.".into(),
        ],
        footer: "Demo Service · сформировано 11 января 2025".into(),
    }
}

fn english_invoice(lines: usize) -> PdfDocument {
    PdfDocument {
        title: "Invoice for December 2024".into(),
        number_and_date: "No. INV-2024-0042 of December 31, 2024".into(),
        seller_label: "Provider".into(),
        seller: party("Demo Service LLP", &["BIN 123456789012", "10 Abay Ave, Almaty"]),
        buyer_label: "Customer".into(),
        buyer: party("John Smith", &["15 Lenin St, apt. 42", "john@example.com"]),
        columns: ["Description".into(), "Qty".into(), "Price".into(), "Amount".into()],
        lines: (1..=lines)
            .map(|i| line(&format!("Item {i:02}: monthly maintenance"), "1", "₸3,450", &format!("₸{},450", i + 2)))
            .collect(),
        total_label: "Total".into(),
        total: "₸3,450".into(),
        notes: vec!["Payment is due within 10 days.".into()],
        footer: "Demo Service · generated January 11, 2025".into(),
    }
}

/// Runs a poppler tool on `pdf`; `None` when poppler-utils is not installed (the test is
/// named as skipped), a failure when that happens under `CI=true`.
fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> Option<String> {
    if !crate::testenv::require(crate::testenv::Requirement::Poppler) {
        return None;
    }
    let mut file = tempfile::Builder::new().suffix(".pdf").tempfile().expect("a temporary file");
    file.write_all(pdf).expect("the PDF is written");
    let mut command = Command::new(tool);
    command.args(args).arg(file.path());
    if tool == "pdftotext" {
        // Text to standard output.
        command.arg("-");
    }
    let output = command.output().unwrap_or_else(|e| panic!("{tool} cannot be run: {e}"));
    assert!(output.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&output.stderr));
    Some(String::from_utf8(output.stdout).expect("poppler prints UTF-8"))
}

/// `pdftotext -layout` output with no-break spaces turned into spaces.
fn text_of(pdf: &[u8]) -> Option<String> {
    poppler("pdftotext", &["-layout", "-enc", "UTF-8"], pdf).map(|t| t.replace([NBSP, '\u{202f}'], " "))
}

fn pages_of(pdf: &[u8]) -> Option<usize> {
    let info = poppler("pdfinfo", &[], pdf)?;
    let pages = Regex::new(r"(?m)^Pages:\s+(\d+)$").expect("a valid regex").captures(&info)?;
    pages[1].parse().ok()
}

fn assert_contains(text: &str, wanted: &str) {
    let wanted = wanted.replace(NBSP, " ");
    assert!(text.contains(&wanted), "{wanted:?} is missing from the extracted text:\n{text}");
}

/// The footer's "2 / 3" (pdftotext may drop the narrow spaces around the slash).
fn assert_page_number(text: &str, page: usize, pages: usize) {
    let re = Regex::new(&format!(r"(?m)\s{page}\s?/\s?{pages}\s*$")).expect("a valid regex");
    assert!(re.is_match(text), "no page number {page} / {pages} in:\n{text}");
}

#[test]
fn russian_act_renders_with_cyrillic_kazakh_and_tenge() {
    let doc = russian_act();
    let pdf = render(&doc).expect("the act renders");
    assert!(pdf.starts_with(b"%PDF-"));
    // The fonts are subset: the whole regular font alone is about 500 KB.
    assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
    eprintln!("Russian act: {} bytes", pdf.len());
    let Some(text) = text_of(&pdf) else { return };
    for wanted in [
        &doc.title,
        &doc.number_and_date,
        &doc.seller_label,
        &doc.seller.name,
        &doc.buyer_label,
        &doc.buyer.name,
        "ул. Ленина 15, кв. 42",
        "БИН 123456789012",
        "Стрижка женская, мастер Әлия",
        "Укладка",
        "3 450 ₸",
        "12 000 ₸",
        "5 000 ₸",
        "Итого",
        "20 450 ₸",
        "Наименование",
        "Сумма",
        "Сумма прописью: двадцать тысяч четыреста пятьдесят тенге 00 тиын.",
        "Demo Service · сформировано 11 января 2025",
    ] {
        assert_contains(&text, wanted);
    }
    assert_page_number(&text, 1, 1);
    // The total's label and amount are on one line.
    assert!(text.lines().any(|l| l.contains("Итого") && l.contains("20 450 ₸")), "{text}");
    assert_eq!(pages_of(&pdf), Some(1));
    let info = poppler("pdfinfo", &[], &pdf).unwrap_or_default();
    assert!(info.contains("Акт выполненных работ за декабрь 2024"), "no title metadata:\n{info}");
}

#[test]
fn english_invoice_renders() {
    let doc = english_invoice(3);
    let pdf = render(&doc).expect("the invoice renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let Some(text) = text_of(&pdf) else { return };
    for wanted in [
        "Invoice for December 2024",
        "No. INV-2024-0042 of December 31, 2024",
        "Provider",
        "Demo Service LLP",
        "Customer",
        "John Smith",
        "15 Lenin St, apt. 42",
        "Item 01: monthly maintenance",
        "Item 03: monthly maintenance",
        "₸3,450",
        "₸5,450",
        "Total",
        "Payment is due within 10 days.",
    ] {
        assert_contains(&text, wanted);
    }
    assert!(text.lines().any(|l| l.contains("Total") && l.contains("₸3,450")), "{text}");
}

#[test]
fn sixty_lines_flow_onto_further_pages_with_the_header_repeated() {
    let doc = english_invoice(60);
    let pdf = render(&doc).expect("the long invoice renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let Some(text) = text_of(&pdf) else { return };
    let pages: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert!(pages.len() > 1, "one page only:\n{text}");
    assert_eq!(pages_of(&pdf), Some(pages.len()));
    for (i, page) in pages.iter().enumerate() {
        assert!(page.contains("Description") && page.contains("Amount"), "page {} has no table header", i + 1);
        assert_page_number(page, i + 1, pages.len());
        assert_contains(page, "Demo Service · generated January 11, 2025");
    }
    // Every line is there once, in order.
    let mut at = 0;
    for i in 1..=60 {
        let wanted = format!("Item {i:02}: monthly maintenance");
        let found = text[at..].find(&wanted).unwrap_or_else(|| panic!("{wanted:?} missing or out of order"));
        at += found + wanted.len();
        assert_eq!(text.matches(&wanted).count(), 1);
    }
    assert_contains(pages[pages.len() - 1], "Total");
}

#[test]
fn a_document_without_lines_still_renders() {
    let mut doc = russian_act();
    doc.lines.clear();
    doc.notes.clear();
    let pdf = render(&doc).expect("an empty table renders");
    assert!(pdf.starts_with(b"%PDF-"));
    let Some(text) = text_of(&pdf) else { return };
    assert_contains(&text, "Наименование");
    assert_contains(&text, "Итого");
    assert_contains(&text, "20 450 ₸");
}

#[test]
fn an_entirely_empty_document_renders_one_page() {
    let pdf = render(&PdfDocument::default()).expect("an empty document renders");
    assert!(pdf.starts_with(b"%PDF-"));
    assert_eq!(pages_of(&pdf).unwrap_or(1), 1);
}

#[test]
fn characters_the_font_lacks_do_not_break_rendering() {
    let mut doc = russian_act();
    doc.title = "Акт 😀 文字 שלום مرحبا".into();
    doc.lines.push(line("Emoji 🎉🎉🎉 and control\u{0}chars\u{7}\ttab\r\nnext line", "1\u{200b}", "∞", "𝟙𝟚𝟛 ₸"));
    doc.buyer.lines.push("\u{feff}\u{fffd}\u{10ffff}".into());
    let pdf = render(&doc).expect("renders with .notdef glyphs");
    assert!(pdf.starts_with(b"%PDF-"));
    let Some(text) = text_of(&pdf) else { return };
    assert_contains(&text, "Emoji");
    assert_contains(&text, "next line");
    assert_contains(&text, "20 450 ₸");
}

/// Word boxes from `pdftotext -bbox`: (xMin, xMax, word).
fn word_boxes(pdf: &[u8]) -> Option<Vec<(f32, f32, String)>> {
    let html = poppler("pdftotext", &["-bbox", "-enc", "UTF-8"], pdf)?;
    let re = Regex::new(r#"<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>"#)
        .expect("a valid regex");
    let boxes: Vec<_> = re
        .captures_iter(&html)
        .filter_map(|c| Some((c[1].parse().ok()?, c[2].parse().ok()?, c[3].to_string())))
        .collect();
    assert!(!boxes.is_empty(), "no words in:\n{html}");
    Some(boxes)
}

#[test]
fn long_words_are_broken_and_amounts_are_right_aligned_on_the_page() {
    let mut doc = russian_act();
    let long = "Сверхдлинноенаименованиеуслугибезединогопробела".repeat(3);
    doc.lines.push(line(&long, "1", &tenge("1 000"), &tenge("1 000")));
    doc.notes.push(format!("Ссылка: https://example.kz/{}", "очень-длинный-путь/".repeat(12)));
    let pdf = render(&doc).expect("renders");
    let Some(boxes) = word_boxes(&pdf) else { return };
    let right = PAGE_WIDTH - MARGIN;
    for (x_min, x_max, word) in &boxes {
        assert!(*x_min >= MARGIN - 1.0 && *x_max <= right + 1.0, "{word:?} spans {x_min}..{x_max}");
    }
    // The long word came out whole, in pieces on consecutive lines.
    let pieces: String =
        boxes.iter().filter(|b| long.contains(&b.2) && b.2.chars().count() > 5).map(|b| b.2.clone()).collect();
    assert!(pieces.contains(&long), "{pieces}");
    // Krilla's shaping and our measuring agree: the amount column ends at the right margin.
    let tenge_ends: Vec<f32> = boxes.iter().filter(|b| b.2 == "₸").map(|b| b.1).collect();
    let at_edge = tenge_ends.iter().filter(|x| (**x - right).abs() < 1.0).count();
    // Four amounts and the total.
    assert_eq!(at_edge, 5, "₸ ends at {tenge_ends:?}, right margin {right}");
}
