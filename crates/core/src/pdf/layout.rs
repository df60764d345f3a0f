//! Page layout: the document becomes a flow of blocks (a title line, the parties, a table row,
//! a line of notes, ...), each with its height and drawing operations relative to its top, and
//! the blocks are then cut into pages. Nothing here talks to krilla, so it is tested directly.

use super::PdfDocument;
use super::fonts::{Fonts, Weight};
use super::text::{Align, align_x, wrap};

/// A4 portrait, in points.
pub(crate) const PAGE_WIDTH: f32 = 595.28;
/// A4 portrait, in points.
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
/// Margin on every side.
pub(crate) const MARGIN: f32 = 50.0;
/// Width between the left and right margins.
pub(crate) const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN;
const RIGHT: f32 = MARGIN + CONTENT_WIDTH;

/// Gap between the table's columns and between the two parties.
const COLUMN_GAP: f32 = 10.0;
const PARTY_GAP: f32 = 24.0;
/// Room between the last body line and the footer.
const FOOTER_GAP: f32 = 12.0;
/// At most this many footer lines are printed; the rest of a very long footer is left out.
const FOOTER_MAX_LINES: usize = 3;
/// Cell padding above and below the text of a table row.
const CELL_PAD: f32 = 4.0;
const HEADER_PAD: f32 = 5.0;
/// Narrowest and widest the quantity, price and amount columns get (the description takes the rest).
const NUMERIC_MIN: [f32; 3] = [36.0, 56.0, 64.0];
const NUMERIC_MAX: [f32; 3] = [80.0, 110.0, 120.0];

/// How dark a piece of text or a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Body text.
    Ink,
    /// Labels and the footer.
    Muted,
    /// Thin lines between table rows.
    Faint,
}

/// A font, size, line height and tone.
#[derive(Debug, Clone, Copy)]
struct Style {
    weight: Weight,
    size: f32,
    line_height: f32,
    tone: Tone,
}

const TITLE: Style = Style { weight: Weight::Bold, size: 16.0, line_height: 21.0, tone: Tone::Ink };
const SUBTITLE: Style = Style { weight: Weight::Regular, size: 10.5, line_height: 15.0, tone: Tone::Ink };
const PARTY_LABEL: Style = Style { weight: Weight::Regular, size: 8.5, line_height: 12.0, tone: Tone::Muted };
const PARTY_NAME: Style = Style { weight: Weight::Bold, size: 10.5, line_height: 14.0, tone: Tone::Ink };
const PARTY_LINE: Style = Style { weight: Weight::Regular, size: 9.0, line_height: 12.0, tone: Tone::Ink };
const HEAD: Style = Style { weight: Weight::Bold, size: 9.0, line_height: 12.0, tone: Tone::Ink };
const CELL: Style = Style { weight: Weight::Regular, size: 9.0, line_height: 12.0, tone: Tone::Ink };
const TOTAL: Style = Style { weight: Weight::Bold, size: 11.0, line_height: 15.0, tone: Tone::Ink };
const NOTE: Style = Style { weight: Weight::Regular, size: 9.0, line_height: 12.5, tone: Tone::Ink };
const FOOTER: Style = Style { weight: Weight::Regular, size: 7.5, line_height: 10.0, tone: Tone::Muted };

/// One drawing operation; `y` values are relative to the top of the block holding it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    /// One line of text, its baseline at `baseline`.
    Text { x: f32, baseline: f32, weight: Weight, size: f32, tone: Tone, text: String },
    /// A horizontal rule whose top edge is at `y`.
    Rule { x: f32, y: f32, width: f32, thickness: f32, tone: Tone },
}

/// A piece of the flow that is never split across pages.
#[derive(Debug, Clone, Default)]
pub(crate) struct Block {
    /// Height taken on the page.
    pub(crate) height: f32,
    /// Space above the block, dropped at the top of a page.
    pub(crate) space_before: f32,
    /// Move to the next page together with the following block rather than be left alone at a page end.
    pub(crate) keep_with_next: bool,
    /// A table row: a page that starts with it repeats the table header first.
    pub(crate) in_table: bool,
    pub(crate) ops: Vec<Op>,
}

/// The document as blocks, plus what every page repeats.
pub(crate) struct Flow {
    pub(crate) blocks: Vec<Block>,
    /// The table header, repeated at the top of a page that continues the table.
    pub(crate) table_header: Block,
    /// Footer lines, at most [`FOOTER_MAX_LINES`].
    footer: Vec<String>,
    /// The top and bottom of the area the blocks flow in.
    pub(crate) body_top: f32,
    pub(crate) body_bottom: f32,
}

/// Lays out `doc` with `fonts`.
pub(crate) fn flow(fonts: &Fonts, doc: &PdfDocument) -> Flow {
    let page_number_room = fonts.metrics(FOOTER.weight).width("9999 / 9999", FOOTER.size) + COLUMN_GAP;
    let mut footer = wrap_style(fonts, &doc.footer, FOOTER, CONTENT_WIDTH - page_number_room);
    footer.truncate(FOOTER_MAX_LINES);
    let footer_height = footer.len().max(1) as f32 * FOOTER.line_height;
    let body_top = MARGIN;
    let body_bottom = PAGE_HEIGHT - MARGIN - footer_height - FOOTER_GAP;
    let body_height = body_bottom - body_top;

    let mut blocks = Vec::new();
    for line in wrap_style(fonts, &doc.title, TITLE, CONTENT_WIDTH) {
        blocks.push(line_block(fonts, TITLE, &line, MARGIN, CONTENT_WIDTH, Align::Left, 0.0));
    }
    for (i, line) in wrap_style(fonts, &doc.number_and_date, SUBTITLE, CONTENT_WIDTH).into_iter().enumerate() {
        let space = if i == 0 { 2.0 } else { 0.0 };
        blocks.push(line_block(fonts, SUBTITLE, &line, MARGIN, CONTENT_WIDTH, Align::Left, space));
    }
    parties(fonts, doc, body_height, &mut blocks);

    let columns = Columns::measure(fonts, doc);
    let mut table_header = columns.header(fonts, &doc.columns);
    table_header.space_before = 20.0;
    table_header.keep_with_next = true;
    blocks.push(table_header.clone());
    table_header.space_before = 0.0;
    let max_row = body_height - table_header.height;
    for line in &doc.lines {
        blocks.extend(columns.row(fonts, line, max_row));
    }
    total(fonts, doc, &mut blocks);
    notes(fonts, doc, &mut blocks);

    Flow { blocks, table_header, footer, body_top, body_bottom }
}

impl Flow {
    /// The footer of page `page` (from 1) of `pages`, in page coordinates.
    pub(crate) fn footer_ops(&self, fonts: &Fonts, page: usize, pages: usize) -> Vec<Op> {
        let top = self.body_bottom + FOOTER_GAP;
        let rule_y = top - FOOTER_GAP / 2.0;
        let mut ops = vec![Op::Rule { x: MARGIN, y: rule_y, width: CONTENT_WIDTH, thickness: 0.4, tone: Tone::Faint }];
        ops.extend(text_ops(fonts, FOOTER, &self.footer, MARGIN, CONTENT_WIDTH, Align::Left, top));
        ops.extend(text_ops(fonts, FOOTER, &[format!("{page} / {pages}")], MARGIN, CONTENT_WIDTH, Align::Right, top));
        ops
    }
}

fn wrap_style(fonts: &Fonts, text: &str, style: Style, width: f32) -> Vec<String> {
    wrap(fonts.metrics(style.weight), text, style.size, width)
}

/// Text operations for `lines` in a box from `x` `width` wide, the first line box at `top`.
fn text_ops(fonts: &Fonts, style: Style, lines: &[String], x: f32, width: f32, align: Align, top: f32) -> Vec<Op> {
    let metrics = fonts.metrics(style.weight);
    let baseline = metrics.baseline(style.size, style.line_height);
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| Op::Text {
            x: align_x(align, x, width, metrics.width(line, style.size)),
            baseline: top + i as f32 * style.line_height + baseline,
            weight: style.weight,
            size: style.size,
            tone: style.tone,
            text: line.clone(),
        })
        .collect()
}

/// A block holding one line of text.
fn line_block(fonts: &Fonts, style: Style, line: &str, x: f32, width: f32, align: Align, space_before: f32) -> Block {
    Block {
        height: style.line_height,
        space_before,
        ops: text_ops(fonts, style, &[line.to_string()], x, width, align, 0.0),
        ..Block::default()
    }
}

/// One party's lines: label, name, requisites, each wrapped to `width`; `true` marks the label
/// and name lines, which should not end a page.
fn party_lines(fonts: &Fonts, label: &str, party: &super::Party, width: f32) -> Vec<(Style, String, bool)> {
    let mut out = Vec::new();
    for line in wrap_style(fonts, label, PARTY_LABEL, width) {
        out.push((PARTY_LABEL, line, true));
    }
    for line in wrap_style(fonts, &party.name, PARTY_NAME, width) {
        out.push((PARTY_NAME, line, true));
    }
    for text in &party.lines {
        for line in wrap_style(fonts, text, PARTY_LINE, width) {
            out.push((PARTY_LINE, line, false));
        }
    }
    out
}

/// The two parties side by side; stacked one line per block when that would not fit on one page.
fn parties(fonts: &Fonts, doc: &PdfDocument, body_height: f32, blocks: &mut Vec<Block>) {
    let half = (CONTENT_WIDTH - PARTY_GAP) / 2.0;
    let seller = party_lines(fonts, &doc.seller_label, &doc.seller, half);
    let buyer = party_lines(fonts, &doc.buyer_label, &doc.buyer, half);
    let column = |lines: &[(Style, String, bool)], x: f32, ops: &mut Vec<Op>| {
        let mut top = 0.0;
        for (style, line, _) in lines {
            ops.extend(text_ops(fonts, *style, std::slice::from_ref(line), x, half, Align::Left, top));
            top += style.line_height;
        }
        top
    };
    let mut side_by_side = Block { space_before: 18.0, ..Block::default() };
    let left = column(&seller, MARGIN, &mut side_by_side.ops);
    let right = column(&buyer, MARGIN + half + PARTY_GAP, &mut side_by_side.ops);
    side_by_side.height = left.max(right);
    if side_by_side.height <= body_height {
        if side_by_side.height > 0.0 {
            blocks.push(side_by_side);
        }
        return;
    }
    for (i, party) in [(&doc.seller_label, &doc.seller), (&doc.buyer_label, &doc.buyer)].into_iter().enumerate() {
        let lines = party_lines(fonts, party.0, party.1, CONTENT_WIDTH);
        for (j, (style, line, heading)) in lines.iter().enumerate() {
            let mut block = line_block(fonts, *style, line, MARGIN, CONTENT_WIDTH, Align::Left, 0.0);
            if j == 0 {
                block.space_before = if i == 0 { 18.0 } else { 12.0 };
            }
            block.keep_with_next = *heading;
            blocks.push(block);
        }
    }
}

/// The table's column positions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns {
    pub(crate) x: [f32; 4],
    pub(crate) width: [f32; 4],
}

const ALIGN: [Align; 4] = [Align::Left, Align::Right, Align::Right, Align::Right];

impl Columns {
    /// Quantity, price and amount get the width of their widest cell (within limits), the
    /// description the rest.
    fn measure(fonts: &Fonts, doc: &PdfDocument) -> Columns {
        let head = fonts.metrics(HEAD.weight);
        let cell = fonts.metrics(CELL.weight);
        let mut width = [0.0_f32; 4];
        for j in 1..4 {
            let cells = doc.lines.iter().map(|l| match j {
                1 => &l.qty,
                2 => &l.unit_price,
                _ => &l.amount,
            });
            let natural =
                cells.map(|c| cell.width(c, CELL.size)).fold(head.width(&doc.columns[j], HEAD.size), f32::max);
            width[j] = natural.clamp(NUMERIC_MIN[j - 1], NUMERIC_MAX[j - 1]);
        }
        width[0] = CONTENT_WIDTH - width[1..].iter().sum::<f32>() - 3.0 * COLUMN_GAP;
        let mut x = [MARGIN; 4];
        for j in 1..4 {
            x[j] = x[j - 1] + width[j - 1] + COLUMN_GAP;
        }
        Columns { x, width }
    }

    /// Cells wrapped into their columns, one list of lines per column.
    fn wrap_cells(&self, fonts: &Fonts, style: Style, cells: [&str; 4]) -> [Vec<String>; 4] {
        std::array::from_fn(|j| wrap_style(fonts, cells[j], style, self.width[j]))
    }

    /// The ops of one table row made of `cells[j][from..to]`, its rule under it.
    fn row_ops(
        &self,
        fonts: &Fonts,
        style: Style,
        cells: &[Vec<String>; 4],
        from: usize,
        to: usize,
        pad: f32,
    ) -> (Vec<Op>, f32) {
        let mut ops = Vec::new();
        for j in 0..4 {
            let lines = &cells[j][from.min(cells[j].len())..to.min(cells[j].len())];
            ops.extend(text_ops(fonts, style, lines, self.x[j], self.width[j], ALIGN[j], pad));
        }
        let height = 2.0 * pad + (to - from) as f32 * style.line_height;
        (ops, height)
    }

    /// The header row, with a rule above and below.
    fn header(&self, fonts: &Fonts, titles: &[String; 4]) -> Block {
        let cells = self.wrap_cells(fonts, HEAD, [&titles[0], &titles[1], &titles[2], &titles[3]]);
        let rows = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let (mut ops, height) = self.row_ops(fonts, HEAD, &cells, 0, rows, HEADER_PAD);
        ops.push(Op::Rule { x: MARGIN, y: 0.0, width: CONTENT_WIDTH, thickness: 0.8, tone: Tone::Ink });
        ops.push(Op::Rule { x: MARGIN, y: height - 0.8, width: CONTENT_WIDTH, thickness: 0.8, tone: Tone::Ink });
        Block { height, ops, ..Block::default() }
    }

    /// One line of the table: a block, or several when its text is taller than `max_height`.
    fn row(&self, fonts: &Fonts, line: &super::Line, max_height: f32) -> Vec<Block> {
        let cells = self.wrap_cells(fonts, CELL, [&line.description, &line.qty, &line.unit_price, &line.amount]);
        let rows = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        let per_block = (((max_height - 2.0 * CELL_PAD) / CELL.line_height).floor() as usize).max(1);
        let mut blocks = Vec::new();
        let mut from = 0;
        while from < rows {
            let to = (from + per_block).min(rows);
            let (mut ops, height) = self.row_ops(fonts, CELL, &cells, from, to, CELL_PAD);
            ops.push(Op::Rule { x: MARGIN, y: height - 0.4, width: CONTENT_WIDTH, thickness: 0.4, tone: Tone::Faint });
            blocks.push(Block { height, in_table: true, keep_with_next: to < rows, ops, ..Block::default() });
            from = to;
        }
        blocks
    }
}

/// The rule closing the table and the total, right-aligned: label and amount on one line when
/// they fit, otherwise each on its own lines.
fn total(fonts: &Fonts, doc: &PdfDocument, blocks: &mut Vec<Block>) {
    let metrics = fonts.metrics(TOTAL.weight);
    let label_width = metrics.width(&doc.total_label, TOTAL.size);
    let total_width = metrics.width(&doc.total, TOTAL.size);
    let rule = Op::Rule { x: MARGIN, y: 0.0, width: CONTENT_WIDTH, thickness: 0.8, tone: Tone::Ink };
    let pad = 6.0;
    if label_width + COLUMN_GAP + total_width <= CONTENT_WIDTH {
        let mut ops = vec![rule];
        let total_x = RIGHT - total_width;
        ops.extend(text_ops(fonts, TOTAL, std::slice::from_ref(&doc.total), total_x, total_width, Align::Left, pad));
        let label_x = total_x - COLUMN_GAP - label_width;
        let label = std::slice::from_ref(&doc.total_label);
        ops.extend(text_ops(fonts, TOTAL, label, label_x, label_width, Align::Left, pad));
        blocks.push(Block { height: pad + TOTAL.line_height, ops, ..Block::default() });
        return;
    }
    let mut lines = wrap_style(fonts, &doc.total_label, TOTAL, CONTENT_WIDTH);
    lines.extend(wrap_style(fonts, &doc.total, TOTAL, CONTENT_WIDTH));
    blocks.push(Block { height: pad, ops: vec![rule], keep_with_next: true, ..Block::default() });
    for line in lines {
        blocks.push(line_block(fonts, TOTAL, &line, MARGIN, CONTENT_WIDTH, Align::Right, 0.0));
    }
}

/// The notes, wrapped to the page width, one block per line.
fn notes(fonts: &Fonts, doc: &PdfDocument, blocks: &mut Vec<Block>) {
    let mut first = true;
    for paragraph in &doc.notes {
        let lines = wrap_style(fonts, paragraph, NOTE, CONTENT_WIDTH);
        for (i, line) in lines.iter().enumerate() {
            let space = match (i, first) {
                (0, true) => 16.0,
                (0, false) => 5.0,
                _ => 0.0,
            };
            blocks.push(line_block(fonts, NOTE, line, MARGIN, CONTENT_WIDTH, Align::Left, space));
        }
        if !lines.is_empty() {
            first = false;
        }
    }
}

/// Where a block lands: the y of its top on the page.
pub(crate) struct Placed<'a> {
    pub(crate) y: f32,
    pub(crate) block: &'a Block,
}

/// Cuts `blocks` into pages whose body runs from `top` to `bottom`.
///
/// A block that does not fit below what the page already holds starts a new page (its
/// `space_before` dropped there); a table row starting a page has `header` put above it. A block
/// marked `keep_with_next` moves on together with the block after it. A block taller than a
/// whole page is placed anyway, on a page of its own. There is always at least one page.
pub(crate) fn paginate<'a>(
    blocks: &'a [Block],
    header: Option<&'a Block>,
    top: f32,
    bottom: f32,
) -> Vec<Vec<Placed<'a>>> {
    let mut pages: Vec<Vec<Placed<'a>>> = vec![Vec::new()];
    let mut y = top;
    // Nothing but a repeated header on the page yet: whatever comes is placed here.
    let mut fresh = true;
    for (i, block) in blocks.iter().enumerate() {
        let gap = if fresh { 0.0 } else { block.space_before };
        let mut need = gap + block.height;
        if let (true, Some(next)) = (block.keep_with_next, blocks.get(i + 1)) {
            need += next.space_before + next.height;
        }
        if !fresh && y + need > bottom {
            pages.push(Vec::new());
            y = top;
            if let (true, Some(header)) = (block.in_table, header) {
                if let Some(page) = pages.last_mut() {
                    page.push(Placed { y, block: header });
                }
                y += header.height;
            }
            fresh = true;
        }
        let gap = if fresh { 0.0 } else { block.space_before };
        y += gap;
        if let Some(page) = pages.last_mut() {
            page.push(Placed { y, block });
        }
        y += block.height;
        fresh = false;
    }
    pages
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(height: f32) -> Block {
        Block { height, ..Block::default() }
    }

    fn row(height: f32) -> Block {
        Block { height, in_table: true, ..Block::default() }
    }

    /// Heights of the blocks on each page, the repeated header shown as a negative height.
    fn shape(pages: &[Vec<Placed<'_>>], header: &Block) -> Vec<Vec<f32>> {
        pages
            .iter()
            .map(|page| {
                page.iter()
                    .map(|p| if std::ptr::eq(p.block, header) { -p.block.height } else { p.block.height })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn blocks_fill_a_page_then_flow_on() {
        let blocks: Vec<Block> = (0..25).map(|_| block(10.0)).collect();
        let pages = paginate(&blocks, None, 0.0, 100.0);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![10, 10, 5]);
        // Stacked without gaps from the top.
        let ys: Vec<f32> = pages[1].iter().map(|p| p.y).collect();
        assert_eq!(ys, (0..10).map(|i| i as f32 * 10.0).collect::<Vec<_>>());
        for page in &pages {
            for p in page {
                assert!(p.y + p.block.height <= 100.0);
            }
        }
    }

    #[test]
    fn nothing_to_place_still_gives_one_page() {
        assert_eq!(paginate(&[], None, 0.0, 100.0).len(), 1);
    }

    #[test]
    fn space_before_is_dropped_at_the_top_of_a_page() {
        let mut blocks = vec![block(90.0), block(10.0)];
        blocks[1].space_before = 5.0;
        let pages = paginate(&blocks, None, 20.0, 120.0);
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[1][0].y, 20.0);
        // On the same page the space is kept.
        let mut blocks = vec![block(50.0), block(10.0)];
        blocks[1].space_before = 5.0;
        let pages = paginate(&blocks, None, 0.0, 100.0);
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0][1].y, 55.0);
    }

    #[test]
    fn table_rows_repeat_the_header_on_a_new_page() {
        let header = block(20.0);
        let mut blocks = vec![block(30.0), header.clone()];
        blocks.extend((0..12).map(|_| row(10.0)));
        blocks.push(block(15.0)); // the total
        let pages = paginate(&blocks, Some(&header), 0.0, 100.0);
        let shape = shape(&pages, &header);
        assert_eq!(shape[0], [vec![30.0, 20.0], vec![10.0; 5]].concat());
        assert_eq!(shape[1], [vec![-20.0], vec![10.0; 7]].concat());
        // The total does not fit after the last row: it moves on, without a table header.
        assert_eq!(shape[2], vec![15.0]);
    }

    #[test]
    fn keep_with_next_moves_a_header_with_its_first_row() {
        let header = block(20.0);
        let mut first_header = header.clone();
        first_header.keep_with_next = true;
        let blocks = vec![block(75.0), first_header, row(10.0)];
        let pages = paginate(&blocks, Some(&header), 0.0, 100.0);
        // The header alone would fit (75 + 20) but not with its row: both go to page two, and the
        // row does not get a second header above it.
        assert_eq!(shape(&pages, &header), vec![vec![75.0], vec![20.0, 10.0]]);
    }

    #[test]
    fn a_block_taller_than_a_page_is_placed_alone() {
        let blocks = vec![block(10.0), block(250.0), block(10.0)];
        let pages = paginate(&blocks, None, 0.0, 100.0);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 1, 1]);
    }

    fn sample(lines: usize, description: &str) -> PdfDocument {
        let party = |name: &str| super::super::Party {
            name: name.into(), lines: vec!["ул. Ленина 15, кв. 42".into()]
        };
        PdfDocument {
            title: "Акт".into(),
            number_and_date: "№ 1".into(),
            seller_label: "Исполнитель".into(),
            seller: party("ИП Иванов"),
            buyer_label: "Заказчик".into(),
            buyer: party("Петров"),
            columns: ["Наименование".into(), "Кол-во".into(), "Цена".into(), "Сумма".into()],
            lines: (0..lines)
                .map(|i| super::super::Line {
                    description: format!("{description} {i}"),
                    qty: "1".into(),
                    unit_price: "3\u{a0}450\u{a0}₸".into(),
                    amount: "3\u{a0}450\u{a0}₸".into(),
                })
                .collect(),
            total_label: "Итого".into(),
            total: "3\u{a0}450\u{a0}₸".into(),
            notes: vec!["Работы выполнены полностью.".into()],
            footer: "Demo Service".into(),
        }
    }

    /// Every text op's horizontal extent, with the block placed.
    fn text_extents(fonts: &Fonts, block: &Block) -> Vec<(f32, f32, String)> {
        block
            .ops
            .iter()
            .filter_map(|op| match op {
                Op::Text { x, weight, size, text, .. } => {
                    Some((*x, *x + fonts.metrics(*weight).width(text, *size), text.clone()))
                }
                Op::Rule { .. } => None,
            })
            .collect()
    }

    #[test]
    fn columns_fill_the_content_width() {
        let fonts = Fonts::get().expect("fonts");
        let columns = Columns::measure(fonts, &sample(3, "Стрижка"));
        assert_eq!(columns.x[0], MARGIN);
        assert!((columns.x[3] + columns.width[3] - RIGHT).abs() < 1e-3);
        assert!(columns.width[0] > 150.0, "{columns:?}");
        for j in 1..4 {
            assert!(columns.x[j] >= columns.x[j - 1] + columns.width[j - 1] + COLUMN_GAP - 1e-3);
        }
    }

    #[test]
    fn amounts_end_at_the_right_edge_and_nothing_leaves_the_page() {
        let fonts = Fonts::get().expect("fonts");
        let long = format!("Очень длинное наименование услуги {}", "Сверхдлинноесловобезпробелов".repeat(6));
        let flow = flow(fonts, &sample(70, &long));
        for block in &flow.blocks {
            for (left, right, text) in text_extents(fonts, block) {
                assert!(left >= MARGIN - 1e-3 && right <= RIGHT + 1e-3, "{text:?} spans {left}..{right}");
            }
        }
        let amount = "3\u{a0}450\u{a0}₸";
        let rows: Vec<_> = flow.blocks.iter().filter(|b| b.in_table).collect();
        assert!(!rows.is_empty());
        for row in rows {
            for (_, right, text) in text_extents(fonts, row) {
                if text == amount {
                    // Either the amount (ends at the right edge) or the price (ends before the amount column).
                    assert!((right - RIGHT).abs() < 1e-3 || right < RIGHT - 64.0, "{right}");
                }
            }
        }
    }

    #[test]
    fn a_long_document_flows_onto_pages_each_with_the_header() {
        let fonts = Fonts::get().expect("fonts");
        let flow = flow(fonts, &sample(60, "Стрижка"));
        let pages = paginate(&flow.blocks, Some(&flow.table_header), flow.body_top, flow.body_bottom);
        assert!(pages.len() >= 2, "{} pages", pages.len());
        for page in &pages[1..] {
            // Continuation pages that start inside the table start with the header.
            if page.get(1).is_some_and(|p| p.block.in_table) {
                assert!(std::ptr::eq(page[0].block, &flow.table_header));
            }
            for p in page {
                assert!(p.y >= flow.body_top && p.y + p.block.height <= flow.body_bottom + 1e-3);
            }
        }
        assert!(std::ptr::eq(pages[1][0].block, &flow.table_header));
    }

    #[test]
    fn a_row_taller_than_a_page_is_split_between_pages() {
        let fonts = Fonts::get().expect("fonts");
        let huge = "слово ".repeat(3000);
        let flow = flow(fonts, &sample(1, &huge));
        let rows: Vec<_> = flow.blocks.iter().filter(|b| b.in_table).collect();
        assert!(rows.len() > 1, "the row was not split");
        let room = flow.body_bottom - flow.body_top - flow.table_header.height;
        for row in rows {
            assert!(row.height <= room + 1e-3);
        }
    }

    #[test]
    fn no_lines_still_gives_the_header_and_the_total() {
        let fonts = Fonts::get().expect("fonts");
        let flow = flow(fonts, &sample(0, ""));
        assert!(flow.blocks.iter().all(|b| !b.in_table));
        let texts: Vec<String> = flow.blocks.iter().flat_map(|b| text_extents(fonts, b)).map(|t| t.2).collect();
        assert!(texts.contains(&"Наименование".to_string()));
        assert!(texts.contains(&"Итого".to_string()));
    }
}
