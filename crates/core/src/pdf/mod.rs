//! PDF rendering of business documents (acts, invoices, receipts, contracts, statements).
//!
//! The caller hands over a [`PdfDocument`] whose every string is already localized and formatted;
//! [`render`] lays it out on A4 pages (title, number and date, the two parties, a table of lines
//! that flows over as many pages as needed with its header repeated, the total, notes, and a
//! footer with page numbers on every page) and returns the PDF bytes.
//!
//! The text is set in Noto Sans (embedded, subset per document, with a `ToUnicode` map so the
//! text can be copied and searched), which covers Latin, Cyrillic with the Kazakh letters, and ₸.
//! A character the font lacks is drawn as the font's `.notdef` box. Writing the PDF itself is
//! left to the `krilla` crate.
//!
//! - `text`: measuring and wrapping.
//! - `layout`: blocks and pages.
//! - `fonts`: the embedded fonts.

mod fonts;
mod layout;
mod text;

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::TextDirection;

use fonts::Fonts;
use layout::{Op, PAGE_HEIGHT, PAGE_WIDTH, Tone};

/// One party of a document (the business or the customer).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Party {
    /// Printed in bold under the party's label.
    pub name: String,
    /// Requisites, address, account and the like, one entry per line (long ones are wrapped).
    pub lines: Vec<String>,
}

/// One line of the document's table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Line {
    /// Left-aligned and wrapped within its column.
    pub description: String,
    /// Right-aligned, like the two amounts.
    pub qty: String,
    pub unit_price: String,
    pub amount: String,
}

/// Everything printed, already localized and formatted by the caller (money strings like
/// "3 450 ₸" with U+00A0 no-break spaces, or "₸3,450"). Text is wrapped at plain spaces only,
/// so no-break spaces keep an amount on one line; a `'\n'` in a wrapped field starts a new line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PdfDocument {
    /// "Акт выполненных работ за декабрь 2024"; also the PDF's title metadata.
    pub title: String,
    /// "№ D-1001 от 31 декабря 2024".
    pub number_and_date: String,
    /// "Исполнитель" / "Provider".
    pub seller_label: String,
    pub seller: Party,
    /// "Заказчик" / "Customer".
    pub buyer_label: String,
    pub buyer: Party,
    /// Table headings: description, quantity, unit price, amount.
    pub columns: [String; 4],
    /// The table's lines; none gives a table with its header only.
    pub lines: Vec<Line>,
    /// "Итого".
    pub total_label: String,
    pub total: String,
    /// Paragraphs under the table, wrapped to the page width.
    pub notes: Vec<String>,
    /// Small text at the bottom of each page, e.g. "Demo Service · сформировано 11 января 2025"; at
    /// most three lines of it are printed. The page number ("2 / 3") is added on the right.
    pub footer: String,
}

/// What can go wrong while rendering.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The fonts built into the binary could not be read (a broken build).
    #[error("the embedded fonts cannot be read")]
    Font,
    /// The page size was rejected.
    #[error("invalid page size")]
    PageSize,
    /// krilla failed to write the PDF.
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// Renders `doc` as a PDF (A4 portrait) and returns its bytes.
pub fn render(doc: &PdfDocument) -> Result<Vec<u8>, PdfError> {
    let fonts = Fonts::get()?;
    let flow = layout::flow(fonts, doc);
    let pages = layout::paginate(&flow.blocks, Some(&flow.table_header), flow.body_top, flow.body_bottom);
    let settings = PageSettings::from_wh(PAGE_WIDTH, PAGE_HEIGHT).ok_or(PdfError::PageSize)?;

    let mut document = Document::new();
    let mut metadata = Metadata::new().creator("cabinet".to_string());
    if !doc.title.trim().is_empty() {
        metadata = metadata.title(doc.title.clone());
    }
    document.set_metadata(metadata);
    let count = pages.len();
    for (i, placed) in pages.iter().enumerate() {
        let mut page = document.start_page_with(settings.clone());
        {
            let mut painter = Painter { surface: page.surface(), fonts, tone: None };
            for p in placed {
                for op in &p.block.ops {
                    painter.draw(op, p.y);
                }
            }
            for op in flow.footer_ops(fonts, i + 1, count) {
                painter.draw(&op, 0.0);
            }
            painter.surface.finish();
        }
        page.finish();
    }
    document.finish().map_err(|e| PdfError::Write(e.to_string()))
}

/// Draws operations on one page, switching the fill colour only when the tone changes.
struct Painter<'a> {
    surface: Surface<'a>,
    fonts: &'static Fonts,
    tone: Option<Tone>,
}

impl Painter<'_> {
    fn set_tone(&mut self, tone: Tone) {
        if self.tone == Some(tone) {
            return;
        }
        let color = match tone {
            Tone::Ink => rgb::Color::new(0x1a, 0x1a, 0x1a),
            Tone::Muted => rgb::Color::new(0x6b, 0x6b, 0x6b),
            Tone::Faint => rgb::Color::new(0xc8, 0xc8, 0xc8),
        };
        let fill = Fill { paint: color.into(), opacity: NormalizedF32::ONE, rule: Default::default() };
        self.surface.set_fill(Some(fill));
        self.tone = Some(tone);
    }

    /// Draws `op` with its block's top at `top`.
    fn draw(&mut self, op: &Op, top: f32) {
        match op {
            Op::Text { x, baseline, weight, size, tone, text } => {
                self.set_tone(*tone);
                let font = self.fonts.face(*weight).font.clone();
                let at = Point::from_xy(*x, top + baseline);
                self.surface.draw_text(at, font, *size, text, false, TextDirection::Auto);
            }
            Op::Rule { x, y, width, thickness, tone } => {
                let Some(rect) = Rect::from_xywh(*x, top + y, *width, *thickness) else { return };
                let mut path = PathBuilder::new();
                path.push_rect(rect);
                if let Some(path) = path.finish() {
                    self.set_tone(*tone);
                    self.surface.draw_path(&path);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
