//! F6 documents: «пришли акт за декабрь», «чек за февраль», «счёт», «договор». The customer's
//! own documents are filtered by kind and period; one match is sent as a file, several are
//! offered as buttons, none is answered with what there is. A document the business's system
//! has no file of is rendered to PDF here. Telegram's file_id of every sent file is kept, so a
//! second request does not upload it again. Owns [`DocumentButton`] (read in [`buttons`]).
//!
//! ```text
//! > пришли акт за декабрь
//! < (document act-2024-12-D-1001.pdf) Акт выполненных работ за декабрь 2024
//! > чек
//! < Нашёл несколько документов, какой прислать?   [Чек … февраль 2024] [Чек … декабрь 2024]
//! ```

use rust_decimal::Decimal;
use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardMarkup, InputFile, ParseMode};

use super::keyboards::{ButtonKind, arg, id, order_number, pressed, tag_and_arg};
use super::{Ctx, HandlerResult, Turn};
use crate::adapters::{CustomerId, DocumentData, DocumentFile, DocumentInfo};
use crate::domain::datetime::format_date_with_year;
use crate::domain::money::format_money;
use crate::domain::{Locale, Period};
use crate::error::BotError;
use crate::i18n::Arg;
use crate::nlu::Entities;
use crate::pdf::{Line, Party, PdfDocument};

/// How many documents are offered as buttons at most.
const MAX_BUTTONS: usize = 10;

/// The document buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum DocumentButton {
    /// Send this document (an id among the customer's own).
    Document(String),
    /// The documents of the month of this order.
    OfOrder(String),
}

impl ButtonKind for DocumentButton {
    fn needs(&self) -> &'static [super::Capability] {
        use super::Capability;
        &[Capability::Documents]
    }

    const TAGS: &'static [&'static str] = &["d", "od"];

    fn encode(&self) -> String {
        match self {
            DocumentButton::Document(id) => format!("d:{}", arg(id)),
            DocumentButton::OfOrder(number) => format!("od:{}", arg(number)),
        }
    }

    fn decode(payload: &str) -> Option<Self> {
        Some(match tag_and_arg(payload) {
            ("d", doc) => DocumentButton::Document(id(doc)?),
            ("od", number) => DocumentButton::OfOrder(order_number(number)?),
            _ => return None,
        })
    }
}

pub(super) fn buttons() -> UpdateHandler<BotError> {
    pressed::<DocumentButton>().endpoint(|turn: Turn, button: DocumentButton| async move {
        match button {
            DocumentButton::Document(id) => by_id(&turn, &id).await,
            DocumentButton::OfOrder(number) => of_order(&turn, &number).await,
        }
    })
}

/// The documents the customer asked for by kind and period.
pub(super) async fn find(turn: &Turn, entities: &Entities) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let kind = entities.doc_kind.as_deref();
    let period = entities.period.as_deref().and_then(|p| Period::parse(p).ok());
    let this_month = Period::of_date(turn.ctx.local_now().date());
    if let Some(period) = period.filter(|p| *p > this_month) {
        let args = [("period", Arg::from(period.display(turn.locale)))];
        return turn.say(turn.t("documents-future", &args)).await.map(drop);
    }
    let documents = turn.ctx.adapters.documents.clone();
    let all = turn.call(documents.documents(&id)).await?;
    turn.audit("documents.list", None).await?;
    let matching: Vec<&DocumentInfo> =
        all.iter().filter(|d| kind.is_none_or(|k| d.kind == k) && period.is_none_or(|p| d.period == p)).collect();
    match matching.as_slice() {
        [one] => send(turn, one).await,
        [] if all.is_empty() => turn.say(turn.t("documents-none-at-all", &[])).await.map(drop),
        [] => {
            let what = describe(turn, kind, period);
            let text = turn.t("documents-none", &[("what", Arg::from(what))]);
            offer(turn, text, &all.iter().collect::<Vec<_>>()).await
        }
        several => offer(turn, turn.t("documents-several", &[]), several).await,
    }
}

/// The documents of the month an order was placed in (the «Документы» button of an order).
pub(super) async fn of_order(turn: &Turn, number: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let logistics = turn.ctx.adapters.logistics.clone();
    let Some(order) = turn.call(logistics.order(&id, number)).await? else {
        turn.audit("order.not_found", Some(number)).await?;
        return turn.say(turn.t("order-not-found", &[("number", Arg::from(number))])).await.map(drop);
    };
    let period = Period::of_date(turn.ctx.to_local(order.created).date());
    let entities = Entities { period: Some(period.to_string()), ..Entities::default() };
    find(turn, &entities).await
}

/// A button press: the document with this id, if it is the customer's.
pub(super) async fn by_id(turn: &Turn, doc_id: &str) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let documents = turn.ctx.adapters.documents.clone();
    match turn.call(documents.document(&id, doc_id)).await? {
        Some(doc) => send(turn, &doc).await,
        None => {
            turn.audit("document.not_found", Some(doc_id)).await?;
            turn.say(turn.t("document-not-found", &[])).await.map(drop)
        }
    }
}

/// «актов за декабрь 2023» — what was asked for, for the "none found" answer.
fn describe(turn: &Turn, kind: Option<&str>, period: Option<Period>) -> String {
    let kind = kind.map_or_else(|| turn.t("doc-kind-any", &[]), |k| turn.t(&format!("doc-kinds-{k}"), &[]));
    match period {
        Some(p) => {
            turn.t("documents-what-period", &[("kind", Arg::from(kind)), ("period", Arg::from(p.display(turn.locale)))])
        }
        None => kind,
    }
}

/// A message with a button per document.
async fn offer(turn: &Turn, text: String, docs: &[&DocumentInfo]) -> HandlerResult {
    let rows = docs
        .iter()
        .take(MAX_BUTTONS)
        .map(|d| vec![(d.title.get(turn.locale).to_owned(), DocumentButton::Document(d.id.clone()))])
        .collect();
    turn.say_with(text, turn.buttons().markup(rows)).await?;
    Ok(())
}

/// Sends a document: by its cached file_id when it was sent before, else its file (bytes, a
/// URL, or a PDF rendered from its data), then remembers the file_id Telegram gave it.
async fn send(turn: &Turn, doc: &DocumentInfo) -> HandlerResult {
    let Some(id) = turn.customer_id() else { return Ok(()) };
    let Some(prepared) = prepare_info(&turn.ctx, &id, doc.clone(), turn.locale).await? else {
        turn.audit("document.not_found", Some(&doc.id)).await?;
        return turn.say(turn.t("document-not-found", &[])).await.map(drop);
    };
    let caption = crate::i18n::escape_html(doc.title.get(turn.locale));
    // The history keeps its order: the turn's records before the document's line.
    turn.flush().await?;
    deliver(&turn.ctx, &turn.bot, turn.chat, &id, prepared, turn.locale, &caption, None).await?;
    if turn.has_consent {
        // The history records that a document went out, not its bytes.
        let _ = turn
            .ctx
            .store
            .log_message(turn.chat.0, "out", &format!("[document] {caption}"), turn.ctx.clock.now())
            .await;
    }
    turn.audit("document.sent", Some(&doc.id)).await?;
    Ok(())
}

/// A customer's document ready to be sent: by the file_id Telegram gave it before, or its
/// file fetched from the documents backend (or rendered to PDF).
pub(crate) struct Prepared {
    /// What the backend says of it.
    pub info: DocumentInfo,
    source: Source,
}

enum Source {
    /// Telegram's file_id of the file sent before.
    Cached(String),
    /// The file, and the variant its file_id is remembered as.
    Upload(InputFile, String),
}

/// The customer's document `doc_id` made ready to send in `locale` (see [`prepare_info`]);
/// `None` when the customer has no such document.
pub(crate) async fn prepare(
    ctx: &Ctx,
    customer: &CustomerId,
    doc_id: &str,
    locale: Locale,
) -> Result<Option<Prepared>, BotError> {
    match ctx.adapters.documents.document(customer, doc_id).await? {
        Some(info) => prepare_info(ctx, customer, info, locale).await,
        None => Ok(None),
    }
}

/// The document made ready to send in `locale`: its cached file_id when it was sent before
/// (a rendered PDF differs by language; a file from the business does not), else its file,
/// fetched now; `None` when the backend has no file of it.
async fn prepare_info(
    ctx: &Ctx,
    customer: &CustomerId,
    info: DocumentInfo,
    locale: Locale,
) -> Result<Option<Prepared>, BotError> {
    for variant in [rendered_variant(locale).as_str(), "file"] {
        if let Some(file_id) = ctx.store.cached_file_id(customer, &info.id, variant).await? {
            return Ok(Some(Prepared { info, source: Source::Cached(file_id) }));
        }
    }
    Ok(fetch(ctx, customer, &info, locale)
        .await?
        .map(|(file, variant)| Prepared { info, source: Source::Upload(file, variant) }))
}

fn rendered_variant(locale: Locale) -> String {
    format!("pdf-{}", locale.as_str())
}

/// The document's file from the documents backend (bytes, a URL, or a PDF rendered from its
/// data) and the variant its file_id is remembered as; `None` when there is none.
async fn fetch(
    ctx: &Ctx,
    customer: &CustomerId,
    info: &DocumentInfo,
    locale: Locale,
) -> Result<Option<(InputFile, String)>, BotError> {
    let Some(file) = ctx.adapters.documents.file(customer, &info.id).await? else { return Ok(None) };
    Ok(Some(match file {
        DocumentFile::Bytes { file_name, bytes } => (InputFile::memory(bytes).file_name(file_name), "file".to_owned()),
        DocumentFile::Url { file_name, url } => {
            let url = url::Url::parse(&url)
                .map_err(|e| crate::adapters::AdapterError::Invalid(format!("document URL: {e}")))?;
            (InputFile::url(url).file_name(file_name), "file".to_owned())
        }
        DocumentFile::Data(data) => {
            let pdf = render(ctx, locale, &data)?;
            (InputFile::memory(pdf).file_name(file_name(&data.info)), rendered_variant(locale))
        }
    }))
}

/// Sends a prepared document to `chat` with `caption` (HTML) and `keyboard`, and remembers
/// the file_id Telegram gave it. A cached file_id Telegram refuses (it forgot the file, or it
/// was another bot's) is uploaded again; a refusal of the chat (blocked, 429) is returned.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn deliver(
    ctx: &Ctx,
    bot: &Bot,
    chat: ChatId,
    customer: &CustomerId,
    prepared: Prepared,
    locale: Locale,
    caption: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<Message, BotError> {
    let Prepared { info, source } = prepared;
    let (file, variant) = match source {
        Source::Cached(file_id) => {
            match send_file(bot, chat, InputFile::file_id(file_id.into()), caption, keyboard.clone()).await {
                Ok(sent) => return Ok(sent),
                Err(teloxide::RequestError::Api(error)) if !crate::notify::refuses_chat(&error) => {
                    tracing::info!(chat = chat.0, %error, "a cached file_id was refused; uploading");
                    fetch(ctx, customer, &info, locale)
                        .await?
                        .ok_or_else(|| BotError::Internal(format!("document {} has no file any more", info.id)))?
                }
                Err(error) => return Err(error.into()),
            }
        }
        Source::Upload(file, variant) => (file, variant),
    };
    let sent = send_file(bot, chat, file, caption, keyboard).await?;
    if let Some(document) = sent.document() {
        ctx.store.cache_file_id(customer, &info.id, &variant, &document.file.id.0, ctx.clock.now()).await?;
    }
    Ok(sent)
}

async fn send_file(
    bot: &Bot,
    chat: ChatId,
    file: InputFile,
    caption: &str,
    keyboard: Option<InlineKeyboardMarkup>,
) -> Result<Message, teloxide::RequestError> {
    let mut request = bot.send_document(chat, file).caption(caption.to_owned()).parse_mode(ParseMode::Html);
    if let Some(keyboard) = keyboard {
        request = request.reply_markup(keyboard);
    }
    request.await
}

/// "act-2024-12-D-1001.pdf": ASCII, so every client shows it the same.
pub(crate) fn file_name(doc: &DocumentInfo) -> String {
    let id: String = doc.id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    format!("{}-{}-{}.pdf", doc.kind, doc.period, id)
}

/// The PDF of a document the business's system has no file of, in `locale` (the chat and
/// the Mini App send the same bytes).
pub(crate) fn render(ctx: &Ctx, locale: Locale, data: &DocumentData) -> Result<Vec<u8>, BotError> {
    let pdf = layout(ctx, locale, data);
    crate::pdf::render(&pdf).map_err(|e| BotError::Internal(format!("rendering a document failed: {e}")))
}

fn layout(ctx: &Ctx, locale: Locale, data: &DocumentData) -> PdfDocument {
    let t = |key: &str, args: &[(&str, Arg)]| ctx.i18n.t(locale, key, args);
    let money = |amount: Decimal| format_money(amount, &data.currency, locale);
    let settings = &ctx.settings;
    let issued = format_date_with_year(data.issued, locale);
    let kind = data.info.kind.as_str();
    PdfDocument {
        title: data.info.title.get(locale).to_owned(),
        number_and_date: t(
            "pdf-number-date",
            &[("number", Arg::Raw(data.info.id.clone())), ("date", Arg::Raw(issued.clone()))],
        ),
        seller_label: t(if kind == "receipt" { "pdf-seller-receipt" } else { "pdf-seller" }, &[]),
        seller: Party { name: settings.business_name.clone(), lines: settings.requisites.clone() },
        buyer_label: t("pdf-buyer", &[]),
        buyer: Party {
            name: data.customer_name.clone(),
            lines: data
                .customer_lines
                .iter()
                .cloned()
                .chain(data.account.iter().map(|a| t("pdf-account", &[("account", Arg::Raw(a.clone()))])))
                .collect(),
        },
        columns: [
            t("pdf-col-description", &[]),
            t("pdf-col-qty", &[]),
            t("pdf-col-price", &[]),
            t("pdf-col-amount", &[]),
        ],
        lines: data
            .lines
            .iter()
            .map(|l| Line {
                description: l.description.get(locale).to_owned(),
                qty: l.qty.normalize().to_string(),
                unit_price: money(l.unit_price),
                amount: money(l.amount),
            })
            .collect(),
        total_label: t("pdf-total", &[]),
        total: money(data.total),
        notes: vec![t(
            &format!("pdf-note-{}", note_kind(kind)),
            &[("period", Arg::Raw(data.info.period.display(locale)))],
        )],
        footer: t(
            "pdf-footer",
            &[
                ("business", Arg::Raw(settings.business_name.clone())),
                ("date", Arg::Raw(format_date_with_year(ctx.local_now().date(), locale))),
            ],
        ),
    }
}

fn note_kind(kind: &str) -> &'static str {
    match kind {
        "act" => "act",
        "invoice" => "invoice",
        "receipt" => "receipt",
        "contract" => "contract",
        _ => "statement",
    }
}
