//! Bitrix24 as the business's CRM ([`Crm`]), its deals as orders ([`Logistics`]) and its smart
//! invoices' generated documents as the customer's documents ([`Documents`]), over the REST
//! API (an inbound webhook or an OAuth token).
//!
//! How Bitrix24's records become cabinet's:
//! - **Customer**: a contact; its id ("43") is the [`CustomerId`]. A phone is looked up with
//!   `crm.duplicate.findbycomm`, which compares whole numbers: the number is asked in each form
//!   Bitrix24 may have stored ("+77011234567", "77011234567" and, for +7, "87011234567").
//!   When several contacts match, the ones whose stored phone really is this number are kept
//!   and the most recently modified one (`DATE_MODIFY`, then the highest id) is the customer;
//!   the count is logged, the phone is not. Of more than 50 matches the 50 newest ids are read.
//! - **Order**: a deal whose primary contact (`CONTACT_ID`) is the customer (deals linked to
//!   the contact only as a further contact are not its orders). The order number is the
//!   deal's id, or its [`Bitrix24Config::order_number_field`] when that is set and filled.
//!   Its status comes from [`Bitrix24Config::stages`], else from the stage's semantics
//!   (won → delivered, lost → cancelled, in progress → new); its total from
//!   `OPPORTUNITY` and `CURRENCY_ID`; its items from the deal's product rows.
//! - **Document**: a generated document (`crm.documentgenerator`) of one of the contact's smart
//!   invoices, of kind "invoice", for the month of the invoice's `begindate`. Its PDF is
//!   downloaded by the connector and handed over as bytes: the portal's download URLs carry
//!   the webhook code or the token and never reach Telegram. An invoice without a generated
//!   document is not listed.
//!
//! Every read is scoped: a deal or document is looked up within the contact's own.

mod client;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use self::client::{Client, Endpoint, LimitRetry, MAX_BATCH, Reply};
use super::{
    AdapterError, AdapterResult, Crm, CustomerId, CustomerProfile, DocumentFile, DocumentInfo, Documents,
    LocalizedText, Logistics, NewLead, Order, OrderItem, OrderPage, OrderStatus, OrderSummary,
};
use crate::domain::{Period, Phone};

/// The `[backends.bitrix24]` table: how to reach the portal and how its deals read as orders.
///
/// Exactly one way in: `webhook_url`, or `portal` with `access_token`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bitrix24Config {
    /// An inbound webhook, `https://{portal}/rest/{user_id}/{code}/`, with the `crm` and
    /// `documentgenerator` scopes. It is a secret: it is never logged.
    #[serde(default)]
    pub webhook_url: Option<SecretString>,
    /// The portal of an OAuth application ("example.bitrix24.kz", or a URL such as
    /// `https://crm.example.com`), used with `access_token`.
    #[serde(default)]
    pub portal: Option<String>,
    /// The OAuth access token, sent as the `auth` parameter.
    #[serde(default)]
    pub access_token: Option<SecretString>,
    /// The bot's order status ("new", "assembling", "in_transit", "delivered", "cancelled")
    /// of deal stages by their id ("C1:NEW", "WON", "C2:PREPARATION"). A stage not listed
    /// reads from its semantics: won is delivered, lost is cancelled, any other is new.
    #[serde(default)]
    pub stages: BTreeMap<String, String>,
    /// Requests a second this client makes at most (Bitrix24 drains 2 a second on most plans,
    /// 5 on Enterprise).
    #[serde(default = "defaults::requests_per_second")]
    pub requests_per_second: u32,
    /// Requests that may go at once after a quiet spell (Bitrix24 allows 50, 250 on
    /// Enterprise, shared by every application of the portal).
    #[serde(default = "defaults::burst")]
    pub burst: u32,
    /// The `SOURCE_ID` of the leads it creates: a source id of the portal's `SOURCE` list.
    #[serde(default = "defaults::lead_source")]
    pub lead_source: String,
    /// The currency of deals that name none (ISO 4217).
    #[serde(default = "defaults::currency")]
    pub currency: String,
    /// How often a request is tried again after Bitrix24 answered that its limit was reached.
    #[serde(default = "defaults::limit_retries")]
    pub limit_retries: u32,
    /// The first wait before such a retry, in milliseconds; each next wait doubles (with
    /// jitter). The waits together should stay under `bot.adapter_timeout_ms`.
    #[serde(default = "defaults::limit_backoff_ms")]
    pub limit_backoff_ms: u64,
    /// How often a document whose PDF is still being made is asked for again.
    #[serde(default = "defaults::pdf_retries")]
    pub pdf_retries: u32,
    /// The first wait before asking for such a document again, in milliseconds; each next
    /// wait doubles. Bitrix24 may take half a minute to make a PDF: the waits are kept short
    /// (under `bot.adapter_timeout_ms`) and the customer is told to ask again later.
    #[serde(default = "defaults::pdf_retry_ms")]
    pub pdf_retry_ms: u64,
    /// A deal field that holds the order number customers know ("UF_CRM_ORDER_NO"); a deal
    /// with it empty, or every deal when it is unset, is numbered by its id.
    #[serde(default)]
    pub order_number_field: Option<String>,
}

mod defaults {
    pub fn requests_per_second() -> u32 {
        2
    }
    pub fn burst() -> u32 {
        10
    }
    pub fn lead_source() -> String {
        "TELEGRAM".to_owned()
    }
    pub fn currency() -> String {
        "KZT".to_owned()
    }
    pub fn limit_retries() -> u32 {
        3
    }
    pub fn limit_backoff_ms() -> u64 {
        300
    }
    pub fn pdf_retries() -> u32 {
        2
    }
    pub fn pdf_retry_ms() -> u64 {
        500
    }
}

impl Default for Bitrix24Config {
    /// No way in yet (set `webhook_url` or `portal` and `access_token`); every other field at
    /// its default.
    fn default() -> Self {
        Bitrix24Config {
            webhook_url: None,
            portal: None,
            access_token: None,
            stages: BTreeMap::new(),
            requests_per_second: defaults::requests_per_second(),
            burst: defaults::burst(),
            lead_source: defaults::lead_source(),
            currency: defaults::currency(),
            limit_retries: defaults::limit_retries(),
            limit_backoff_ms: defaults::limit_backoff_ms(),
            pdf_retries: defaults::pdf_retries(),
            pdf_retry_ms: defaults::pdf_retry_ms(),
            order_number_field: None,
        }
    }
}

/// The Bitrix24 connector: [`Crm`], [`Logistics`] and [`Documents`] of one portal.
pub struct Bitrix24 {
    client: Client,
    stages: BTreeMap<String, OrderStatus>,
    lead_source: String,
    currency: String,
    pdf_retries: u32,
    pdf_retry: Duration,
    number_field: Option<String>,
}

/// A list method's page size.
const PAGE: u64 = 50;
/// The most pages read for one answer (active orders, invoices).
const MAX_PAGES: usize = 4;
/// Smart invoices' entity type.
const INVOICE_TYPE: u64 = 31;

const CONTACT_SELECT: [&str; 7] = ["ID", "NAME", "SECOND_NAME", "LAST_NAME", "PHONE", "EMAIL", "DATE_MODIFY"];
const DEAL_SELECT: [&str; 10] = [
    "ID",
    "TITLE",
    "STAGE_ID",
    "STAGE_SEMANTIC_ID",
    "CLOSED",
    "OPPORTUNITY",
    "CURRENCY_ID",
    "DATE_CREATE",
    "CLOSEDATE",
    "CONTACT_ID",
];

impl Bitrix24 {
    /// Checks `config` and prepares the client; no request is made.
    pub fn new(config: &Bitrix24Config) -> anyhow::Result<Bitrix24> {
        let endpoint = match (&config.webhook_url, &config.portal, &config.access_token) {
            (Some(webhook), None, None) => {
                let mut text = webhook.expose_secret().trim().to_owned();
                if !text.ends_with('/') {
                    text.push('/');
                }
                // The URL holds the code: the error names the field, not the value.
                let url = Url::parse(&text).ok().filter(|u| matches!(u.scheme(), "https" | "http"));
                let url = url.context("backends.bitrix24.webhook_url: not an http(s) URL")?;
                if !url.path().starts_with("/rest/") {
                    bail!("backends.bitrix24.webhook_url: expected https://{{portal}}/rest/{{user_id}}/{{code}}/");
                }
                Endpoint::Webhook(url)
            }
            (None, Some(portal), Some(token)) => {
                let portal = portal.trim().trim_end_matches('/');
                let text = if portal.contains("://") { portal.to_owned() } else { format!("https://{portal}") };
                let url = Url::parse(&text).ok().filter(|u| matches!(u.scheme(), "https" | "http") && u.has_host());
                let url = url.with_context(|| format!("backends.bitrix24.portal: not a portal: {portal:?}"))?;
                let base = url.join("/rest/").context("backends.bitrix24.portal")?;
                Endpoint::OAuth { base, token: token.clone() }
            }
            _ => bail!("backends.bitrix24: set either webhook_url, or portal and access_token"),
        };
        let mut stages = BTreeMap::new();
        for (stage, status) in &config.stages {
            let parsed = OrderStatus::parse(status);
            if matches!(parsed, OrderStatus::Other(_)) {
                bail!(
                    "backends.bitrix24.stages.{stage:?}: {status:?} is not new, assembling, in_transit, delivered \
                     or cancelled"
                );
            }
            stages.insert(stage.clone(), parsed);
        }
        let per_second =
            NonZeroU32::new(config.requests_per_second).context("backends.bitrix24.requests_per_second: above 0")?;
        let burst = NonZeroU32::new(config.burst).context("backends.bitrix24.burst: above 0")?;
        if config.currency.len() != 3 {
            bail!("backends.bitrix24.currency: an ISO 4217 code");
        }
        let number_field = config.order_number_field.clone();
        if let Some(field) = &number_field
            && (field.is_empty() || !field.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            bail!("backends.bitrix24.order_number_field: a field name such as UF_CRM_ORDER_NO");
        }
        let retry = LimitRetry {
            times: usize::try_from(config.limit_retries).unwrap_or(usize::MAX),
            delay: Duration::from_millis(config.limit_backoff_ms),
        };
        Ok(Bitrix24 {
            client: Client::new(endpoint, per_second, burst, retry),
            stages,
            lead_source: config.lead_source.clone(),
            currency: config.currency.clone(),
            pdf_retries: config.pdf_retries,
            pdf_retry: Duration::from_millis(config.pdf_retry_ms),
            number_field,
        })
    }

    // --- contacts ---------------------------------------------------------------------------

    /// The ids of `entity_type` records ("CONTACT", "LEAD") that have this phone.
    async fn duplicates(&self, phone: &Phone, entity_type: &str) -> AdapterResult<Vec<u64>> {
        let params = json!({ "type": "PHONE", "values": phone_forms(phone), "entity_type": entity_type });
        let reply = self.client.ask("crm.duplicate.findbycomm", &params).await?;
        match reply.result {
            // Nothing found is an empty array; keys appear only for the types found.
            Value::Array(list) if list.is_empty() => Ok(Vec::new()),
            Value::Object(map) => match map.get(entity_type) {
                None => Ok(Vec::new()),
                Some(Value::Array(ids)) => ids.iter().map(|v| number(v, "crm.duplicate.findbycomm id")).collect(),
                Some(_) => Err(invalid("crm.duplicate.findbycomm: the ids are not a list")),
            },
            _ => Err(invalid("crm.duplicate.findbycomm: unexpected result")),
        }
    }

    /// The contacts with these ids (unknown ones are left out): one `crm.contact.get`, or
    /// `batch` for several.
    async fn contacts(&self, ids: &[u64]) -> AdapterResult<Vec<Value>> {
        match ids {
            [] => Ok(Vec::new()),
            [id] => Ok(self.contact(*id).await?.into_iter().collect()),
            _ => {
                let commands: Vec<(String, String)> =
                    ids.iter().map(|id| (format!("c{id}"), format!("crm.contact.get?id={id}"))).collect();
                let (results, failed) = self.client.batch(&commands).await?;
                // A contact deleted meanwhile is left out; any other failure is the answer.
                if let Some(failure) = failed.into_iter().find(|f| !f.is_not_found()) {
                    return Err(failure.into_adapter("crm.contact.get"));
                }
                Ok(results.into_values().filter(Value::is_object).collect())
            }
        }
    }

    async fn contact(&self, id: u64) -> AdapterResult<Option<Value>> {
        match self.client.call("crm.contact.get", &json!({ "id": id })).await {
            Ok(reply) if reply.result.is_object() => Ok(Some(reply.result)),
            Ok(_) => Err(invalid("crm.contact.get: the result is not a contact")),
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(f.into_adapter("crm.contact.get")),
        }
    }

    /// Contacts whose `field` contains `word` (Bitrix24's `%` filter), one page.
    async fn contacts_like(&self, field: &str, word: &str) -> AdapterResult<Vec<Value>> {
        let params = json!({
            "filter": { format!("%{field}"): word },
            "select": CONTACT_SELECT,
            "order": { "ID": "DESC" },
            "start": 0,
        });
        list(self.client.ask("crm.contact.list", &params).await?, "crm.contact.list")
    }

    // --- deals ------------------------------------------------------------------------------

    /// One page of the contact's deals, newest first, from `start`.
    async fn deal_page(&self, filter: Value, start: u64) -> AdapterResult<(Vec<Value>, Option<u64>, Option<u64>)> {
        let mut select: Vec<&str> = DEAL_SELECT.to_vec();
        select.extend(self.number_field.as_deref());
        let params = json!({
            "filter": filter,
            "select": select,
            "order": { "DATE_CREATE": "DESC", "ID": "DESC" },
            "start": start,
        });
        let reply = self.client.ask("crm.deal.list", &params).await?;
        let (total, next) = (reply.total, reply.next);
        Ok((list(reply, "crm.deal.list")?, total, next))
    }

    fn status(&self, deal: &Value) -> OrderStatus {
        let stage = text(deal, "STAGE_ID").unwrap_or_default();
        if let Some(status) = self.stages.get(&stage) {
            return status.clone();
        }
        match text(deal, "STAGE_SEMANTIC_ID").as_deref() {
            Some("S") => OrderStatus::Delivered,
            Some("F") => OrderStatus::Cancelled,
            _ => OrderStatus::New,
        }
    }

    /// The deal's order number: its `order_number_field`, else its id.
    fn number(&self, deal: &Value) -> Option<String> {
        let field = self.number_field.as_deref().and_then(|f| text(deal, f)).filter(|n| !n.trim().is_empty());
        field.or_else(|| text(deal, "ID"))
    }

    /// The customer's deal with this order number: by the number field, then by id (a deal
    /// whose number field is set is not found by its id). Scoped twice: by the filter and by
    /// the deal's own contact.
    async fn deal_numbered(&self, contact: u64, number: &str) -> AdapterResult<Option<Value>> {
        let own = |d: &Value| {
            d.get("CONTACT_ID").and_then(as_number) == Some(contact) && self.number(d).as_deref() == Some(number)
        };
        if let Some(field) = &self.number_field {
            let (deals, _, _) = self.deal_page(json!({ field.as_str(): number, "CONTACT_ID": contact }), 0).await?;
            if let Some(deal) = deals.into_iter().find(own) {
                return Ok(Some(deal));
            }
        }
        let Some(deal_id) = numeric(number) else { return Ok(None) };
        let (deals, _, _) = self.deal_page(json!({ "ID": deal_id, "CONTACT_ID": contact }), 0).await?;
        Ok(deals.into_iter().find(|d| d.get("ID").and_then(as_number) == Some(deal_id) && own(d)))
    }

    fn summary(&self, deal: &Value) -> AdapterResult<OrderSummary> {
        Ok(OrderSummary {
            number: self.number(deal).ok_or_else(|| invalid("crm.deal.list: a deal without ID"))?,
            created: time(deal, "DATE_CREATE").ok_or_else(|| invalid("crm.deal.list: a deal without DATE_CREATE"))?,
            status: self.status(deal),
            total: decimal(deal.get("OPPORTUNITY"))?,
        })
    }

    fn deal_currency(&self, deal: &Value) -> String {
        text(deal, "CURRENCY_ID").filter(|c| !c.is_empty()).unwrap_or_else(|| self.currency.clone())
    }

    fn order_of(&self, deal: &Value, items: Vec<OrderItem>) -> AdapterResult<Order> {
        let summary = self.summary(deal)?;
        let delivered_at = match summary.status {
            OrderStatus::Delivered => time(deal, "CLOSEDATE"),
            _ => None,
        };
        Ok(Order {
            number: summary.number,
            created: summary.created,
            status: summary.status,
            total: summary.total,
            currency: self.deal_currency(deal),
            delivered_at,
            items,
            delivery: None,
        })
    }

    /// The product rows of these deals, by deal id (`batch`).
    async fn items(&self, deal_ids: &[String]) -> AdapterResult<BTreeMap<String, Vec<OrderItem>>> {
        let commands: Vec<(String, String)> =
            deal_ids.iter().map(|id| (format!("p{id}"), format!("crm.deal.productrows.get?id={id}"))).collect();
        let (results, failed) =
            if commands.is_empty() { (BTreeMap::new(), Vec::new()) } else { self.client.batch(&commands).await? };
        if let Some(failure) = failed.into_iter().next() {
            return Err(failure.into_adapter("crm.deal.productrows.get"));
        }
        let mut out = BTreeMap::new();
        for id in deal_ids {
            let rows = match results.get(&format!("p{id}")) {
                Some(Value::Array(rows)) => rows.iter().map(item).collect::<AdapterResult<Vec<_>>>()?,
                None | Some(Value::Null) => Vec::new(),
                Some(_) => return Err(invalid("crm.deal.productrows.get: the rows are not a list")),
            };
            out.insert(id.clone(), rows);
        }
        Ok(out)
    }

    // --- documents --------------------------------------------------------------------------

    /// The contact's smart invoices, newest first.
    async fn invoices(&self, contact: u64) -> AdapterResult<Vec<Value>> {
        let mut invoices = Vec::new();
        let mut start = 0;
        for _ in 0..MAX_PAGES {
            let params = json!({
                "entityTypeId": INVOICE_TYPE,
                "filter": { "contactId": contact },
                "select": ["id", "title", "accountNumber", "begindate", "contactId", "opportunity", "currencyId"],
                "order": { "begindate": "desc", "id": "desc" },
                "start": start,
            });
            let reply = self.client.ask("crm.item.list", &params).await?;
            let next = reply.next;
            let items = match reply.result.get("items") {
                Some(Value::Array(items)) => items.clone(),
                _ => return Err(invalid("crm.item.list: no items")),
            };
            // The filter already scopes them; a record of someone else is never shown.
            let full = items.len() as u64 >= PAGE;
            invoices.extend(items.into_iter().filter(|i| i.get("contactId").and_then(as_number) == Some(contact)));
            match next {
                Some(n) if full && n > start => start = n,
                _ => break,
            }
        }
        Ok(invoices)
    }

    /// The contact's generated invoice documents, each with its document record, newest
    /// period first.
    async fn own_documents(&self, id: &CustomerId) -> AdapterResult<Vec<(DocumentInfo, Value)>> {
        let Some(contact) = numeric(id.as_str()) else { return Ok(Vec::new()) };
        let invoices = self.invoices(contact).await?;
        let commands: Vec<(String, String)> = invoices
            .iter()
            .filter_map(|i| i.get("id").and_then(as_number))
            .map(|n| {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("filter[entityTypeId]", &INVOICE_TYPE.to_string())
                    .append_pair("filter[entityId]", &n.to_string())
                    .finish();
                (format!("d{n}"), format!("crm.documentgenerator.document.list?{query}"))
            })
            .collect();
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let (results, failed) = self.client.batch(&commands).await?;
        if let Some(failure) = failed.into_iter().next() {
            return Err(failure.into_adapter("crm.documentgenerator.document.list"));
        }
        let mut out = Vec::new();
        for invoice in &invoices {
            let Some(n) = invoice.get("id").and_then(as_number) else { continue };
            let documents = match results.get(&format!("d{n}")).and_then(|r| r.get("documents")) {
                Some(Value::Array(documents)) => documents,
                _ => continue,
            };
            for document in documents {
                // Documents of another entity never show, whatever the filter did.
                if document.get("entityId").and_then(as_number) != Some(n) {
                    continue;
                }
                out.push((document_info(invoice, document)?, document.clone()));
            }
        }
        out.sort_by(|(a, _), (b, _)| b.period.cmp(&a.period).then_with(|| a.id.cmp(&b.id)));
        Ok(out)
    }

    async fn own_document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<(DocumentInfo, Value)>> {
        Ok(self.own_documents(id).await?.into_iter().find(|(info, _)| info.id == doc_id))
    }
}

#[async_trait]
impl Crm for Bitrix24 {
    async fn find_by_phone(&self, phone: &Phone) -> AdapterResult<Option<CustomerProfile>> {
        let mut ids = self.duplicates(phone, "CONTACT").await?;
        if ids.is_empty() {
            return Ok(None);
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.truncate(MAX_BATCH);
        let contacts = self.contacts(&ids).await?;
        let mut matching: Vec<&Value> = contacts.iter().filter(|c| phones(c).contains(phone)).collect();
        if matching.len() > 1 {
            tracing::info!(
                matches = matching.len(),
                "bitrix24: several contacts have the phone; the most recently modified one is the customer"
            );
        }
        matching.sort_by_key(|c| (time(c, "DATE_MODIFY"), c.get("ID").and_then(as_number)));
        matching.last().map(|c| profile_of(c, Some(phone))).transpose().map(Option::flatten)
    }

    async fn profile(&self, id: &CustomerId) -> AdapterResult<Option<CustomerProfile>> {
        let Some(n) = numeric(id.as_str()) else { return Ok(None) };
        match self.contact(n).await? {
            Some(contact) => profile_of(&contact, None),
            None => Ok(None),
        }
    }

    /// A whole phone number is looked up as [`Crm::find_by_phone`] does; a part of one finds
    /// nobody (Bitrix24 filters phones by the whole number only). Names are asked with
    /// `crm.contact.list` filters on the longest word (`%NAME`, `%LAST_NAME`, a page each),
    /// then every word is checked here.
    async fn search(&self, query: &str, limit: u32) -> AdapterResult<Vec<CustomerProfile>> {
        let words: Vec<String> =
            fold(query).split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).map(str::to_owned).collect();
        let mut found: BTreeMap<u64, Value> = BTreeMap::new();
        if words.is_empty() {
            let Ok(phone) = Phone::parse(query) else { return Ok(Vec::new()) };
            if limit == 0 {
                return Ok(Vec::new());
            }
            let ids = self.duplicates(&phone, "CONTACT").await?;
            for contact in self.contacts(&ids.into_iter().take(MAX_BATCH).collect::<Vec<_>>()).await? {
                if let Some(n) = contact.get("ID").and_then(as_number) {
                    found.insert(n, contact);
                }
            }
        } else {
            if limit == 0 {
                return Ok(Vec::new());
            }
            // Asked as typed: the portal's database decides how letters compare.
            let longest = query
                .split_whitespace()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .max_by_key(|w| w.chars().count())
                .unwrap_or_default();
            for field in ["NAME", "LAST_NAME"] {
                for contact in self.contacts_like(field, longest).await? {
                    if let Some(n) = contact.get("ID").and_then(as_number) {
                        found.insert(n, contact);
                    }
                }
            }
            found.retain(|_, c| {
                let name = fold(&full_name(c));
                words.iter().all(|w| name.contains(w.as_str()))
            });
        }
        let mut profiles: Vec<CustomerProfile> =
            found.values().filter_map(|c| profile_of(c, None).ok().flatten()).collect();
        profiles.sort_by(|a, b| fold(&a.name).cmp(&fold(&b.name)).then_with(|| a.id.cmp(&b.id)));
        profiles.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(profiles)
    }

    /// A lead with the phone already in Bitrix24 is answered with (the oldest such lead);
    /// otherwise `crm.lead.add`.
    async fn create_lead(&self, lead: &NewLead) -> AdapterResult<Option<String>> {
        if let Some(existing) = self.duplicates(&lead.phone, "LEAD").await?.into_iter().min() {
            return Ok(Some(existing.to_string()));
        }
        let name = if lead.first_name.trim().is_empty() { "Telegram" } else { lead.first_name.trim() };
        let fields = json!({
            "TITLE": format!("Telegram: {name}"),
            "NAME": name,
            "PHONE": [{ "VALUE": lead.phone.as_str(), "VALUE_TYPE": "WORK" }],
            "SOURCE_ID": self.lead_source,
            "SOURCE_DESCRIPTION": format!("Telegram user {}", lead.telegram_user_id),
            "COMMENTS": format!(
                "Shared their phone with the Telegram bot on {} (Telegram user {}); no contact has this phone.",
                lead.at.format("%Y-%m-%d %H:%M UTC"),
                lead.telegram_user_id
            ),
        });
        let reply = self.client.ask("crm.lead.add", &json!({ "fields": fields })).await?;
        Ok(Some(number(&reply.result, "crm.lead.add result")?.to_string()))
    }

    /// A timeline comment on the contact (lowercase `fields`, as Bitrix24 requires).
    async fn add_note(&self, id: &CustomerId, text: &str) -> AdapterResult<bool> {
        let Some(n) = numeric(id.as_str()) else {
            return Err(invalid("crm.timeline.comment.add: the customer id is not a contact id"));
        };
        let params = json!({ "fields": { "entityId": n, "entityType": "contact", "comment": text } });
        self.client.ask("crm.timeline.comment.add", &params).await?;
        Ok(true)
    }
}

#[async_trait]
impl Logistics for Bitrix24 {
    async fn orders(&self, id: &CustomerId, offset: u32, limit: u32) -> AdapterResult<OrderPage> {
        let Some(contact) = numeric(id.as_str()) else {
            return Ok(OrderPage { orders: Vec::new(), total: 0, currency: self.currency.clone() });
        };
        let first = u64::from(offset) / PAGE * PAGE;
        let skip = usize::try_from(u64::from(offset) - first).unwrap_or(0);
        let want = skip + usize::try_from(limit).unwrap_or(usize::MAX);
        let mut deals = Vec::new();
        let mut total = 0;
        let mut start = first;
        loop {
            let (page, page_total, next) = self.deal_page(json!({ "CONTACT_ID": contact }), start).await?;
            total = page_total.unwrap_or(total.max(start + page.len() as u64));
            // A short page is the last, whatever `next` says.
            let full = page.len() as u64 >= PAGE;
            deals.extend(page);
            match next {
                Some(n) if full && deals.len() < want && n > start => start = n,
                _ => break,
            }
        }
        let currency = deals.first().map(|d| self.deal_currency(d)).unwrap_or_else(|| self.currency.clone());
        let orders =
            deals.iter().skip(skip).take(want - skip).map(|d| self.summary(d)).collect::<AdapterResult<_>>()?;
        Ok(OrderPage { orders, total: u32::try_from(total).unwrap_or(u32::MAX), currency })
    }

    /// Open deals (`CLOSED: N`) whose stage is not mapped to delivered or cancelled, up to 200.
    async fn active_orders(&self, id: &CustomerId) -> AdapterResult<Vec<Order>> {
        let Some(contact) = numeric(id.as_str()) else { return Ok(Vec::new()) };
        let mut deals = Vec::new();
        let mut start = 0;
        for _ in 0..MAX_PAGES {
            let (page, _, next) = self.deal_page(json!({ "CONTACT_ID": contact, "CLOSED": "N" }), start).await?;
            let full = page.len() as u64 >= PAGE;
            deals.extend(page);
            match next {
                Some(n) if full && n > start => start = n,
                _ => break,
            }
        }
        deals.retain(|d| self.status(d).is_active() && d.get("CONTACT_ID").and_then(as_number) == Some(contact));
        let ids: Vec<String> = deals.iter().filter_map(|d| text(d, "ID")).collect();
        let mut items = self.items(&ids).await?;
        deals
            .iter()
            .map(|d| {
                let rows = text(d, "ID").and_then(|id| items.remove(&id)).unwrap_or_default();
                self.order_of(d, rows)
            })
            .collect()
    }

    async fn order(&self, id: &CustomerId, number: &str) -> AdapterResult<Option<Order>> {
        let Some(contact) = numeric(id.as_str()) else { return Ok(None) };
        let number = number.trim();
        if number.is_empty() || number.len() > 64 {
            return Ok(None);
        }
        let Some(deal) = self.deal_numbered(contact, number).await? else { return Ok(None) };
        let deal_id = number_of(&deal, "ID")?;
        let reply = self.client.ask("crm.deal.productrows.get", &json!({ "id": deal_id })).await?;
        let rows = match &reply.result {
            Value::Array(rows) => rows.iter().map(item).collect::<AdapterResult<Vec<_>>>()?,
            _ => return Err(invalid("crm.deal.productrows.get: the rows are not a list")),
        };
        self.order_of(&deal, rows).map(Some)
    }
}

#[async_trait]
impl Documents for Bitrix24 {
    async fn documents(&self, id: &CustomerId) -> AdapterResult<Vec<DocumentInfo>> {
        Ok(self.own_documents(id).await?.into_iter().map(|(info, _)| info).collect())
    }

    async fn document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentInfo>> {
        Ok(self.own_document(id, doc_id).await?.map(|(info, _)| info))
    }

    /// The PDF, downloaded from the portal. A PDF still being made (an empty `pdfUrl`) is
    /// asked for again `pdf_retries` times, waiting longer each time; then the answer is
    /// [`AdapterError::Unavailable`] ("the document is being prepared").
    async fn file(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentFile>> {
        let Some((info, mut document)) = self.own_document(id, doc_id).await? else { return Ok(None) };
        let mut wait = self.pdf_retry;
        for attempt in 0..=self.pdf_retries {
            if document.get("isTransformationError").and_then(Value::as_bool) == Some(true) {
                tracing::warn!("bitrix24 could not convert a document to PDF; check its template");
                return Err(AdapterError::Unavailable("the document's PDF could not be made".into()));
            }
            if let Some(url) = pdf_url(&document) {
                let bytes = self.client.download(&url).await?;
                return Ok(Some(DocumentFile::Bytes { file_name: file_name(&info, &document), bytes }));
            }
            if attempt == self.pdf_retries {
                break;
            }
            tokio::time::sleep(wait).await;
            wait *= 2;
            let method = "crm.documentgenerator.document.get";
            let reply = match self.client.call(method, &json!({ "id": doc_id })).await {
                Ok(reply) => reply,
                // Deleted meanwhile.
                Err(f) if f.is_not_found() => return Ok(None),
                Err(f) => return Err(f.into_adapter(method)),
            };
            document = match reply.result.get("document") {
                Some(d) if d.is_object() => d.clone(),
                _ => return Err(invalid("crm.documentgenerator.document.get: no document")),
            };
        }
        tracing::info!(attempts = self.pdf_retries + 1, "bitrix24: a document's PDF is not ready yet");
        Err(AdapterError::Unavailable("the document is being prepared".into()))
    }
}

// --- reading Bitrix24's values ---------------------------------------------------------------

fn invalid(what: &str) -> AdapterError {
    AdapterError::Invalid(format!("bitrix24 {what}"))
}

/// A string or number field as text; empty strings are none.
fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An id given as a number or a string of digits.
fn as_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => numeric(s),
        _ => None,
    }
}

/// A record's id field.
fn number_of(record: &Value, key: &str) -> AdapterResult<u64> {
    record.get(key).and_then(as_number).ok_or_else(|| invalid(&format!("{key}: not an id")))
}

fn number(v: &Value, what: &str) -> AdapterResult<u64> {
    as_number(v).ok_or_else(|| invalid(&format!("{what}: not an id")))
}

/// Digits only ("43"), as Bitrix24's ids are; anything else is no id of it.
fn numeric(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A money amount: a string ("19999.99") or a number; missing or empty is zero.
fn decimal(v: Option<&Value>) -> AdapterResult<Decimal> {
    let text = match v {
        None | Some(Value::Null) => return Ok(Decimal::ZERO),
        Some(Value::String(s)) if s.is_empty() => return Ok(Decimal::ZERO),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(_) => return Err(invalid("amount: not a number")),
    };
    text.parse::<Decimal>()
        .or_else(|_| Decimal::from_scientific(&text))
        .map_err(|_| invalid(&format!("amount: not a number: {text:?}")))
}

/// An RFC 3339 time field ("2024-12-01T10:00:00+03:00").
fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    let s = v.get(key)?.as_str()?;
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.to_utc())
}

/// The forms in which Bitrix24 may have stored the number: it compares whole numbers.
fn phone_forms(phone: &Phone) -> Vec<String> {
    let e164 = phone.as_str().to_owned();
    let digits = e164.trim_start_matches('+').to_owned();
    let mut forms = vec![e164, digits.clone()];
    if let Some(national) = digits.strip_prefix('7') {
        forms.push(format!("8{national}"));
    }
    forms
}

/// The phones of a contact that are numbers (an extension or garbage is not).
fn phones(contact: &Value) -> Vec<Phone> {
    multi(contact, "PHONE").into_iter().filter_map(|v| Phone::parse(&v).ok()).collect()
}

/// The values of a multi-field (`PHONE`, `EMAIL`).
fn multi(contact: &Value, key: &str) -> Vec<String> {
    match contact.get(key) {
        Some(Value::Array(entries)) => {
            entries.iter().filter_map(|e| e.get("VALUE").and_then(Value::as_str)).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

fn full_name(contact: &Value) -> String {
    ["NAME", "SECOND_NAME", "LAST_NAME"]
        .iter()
        .filter_map(|k| text(contact, k))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Lower case, ё as е: how names are compared.
fn fold(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).map(|c| if c == 'ё' { 'е' } else { c }).collect()
}

/// The contact as a customer: `phone` is the number it was found by, else its first phone
/// that is a number. A contact without such a phone is no customer (`None`).
fn profile_of(contact: &Value, phone: Option<&Phone>) -> AdapterResult<Option<CustomerProfile>> {
    let id = text(contact, "ID").ok_or_else(|| invalid("crm.contact: a contact without ID"))?;
    let phone = match phone {
        Some(p) => p.clone(),
        None => match phones(contact).into_iter().next() {
            Some(p) => p,
            None => return Ok(None),
        },
    };
    let name = full_name(contact);
    let first_name = text(contact, "NAME").map(|s| s.trim().to_owned()).unwrap_or_else(|| name.clone());
    Ok(Some(CustomerProfile {
        id: CustomerId(id),
        name,
        first_name,
        phone,
        email: multi(contact, "EMAIL").into_iter().next(),
        locale: None,
        tags: Vec::new(),
        time_zone: None,
    }))
}

/// The list of a list method's result (`[]` or the records).
fn list(reply: Reply, method: &str) -> AdapterResult<Vec<Value>> {
    match reply.result {
        Value::Array(items) => Ok(items),
        _ => Err(invalid(&format!("{method}: the result is not a list"))),
    }
}

/// A text kept in one language, shown in every locale.
fn one_language(text: String) -> LocalizedText {
    LocalizedText(BTreeMap::from([("en".to_owned(), text.clone()), ("ru".to_owned(), text)]))
}

/// A product row as an order item: the product's id is the SKU (a row without a product is
/// "row-{ID}"), fractional quantities are rounded.
fn item(row: &Value) -> AdapterResult<OrderItem> {
    let sku = match row.get("PRODUCT_ID").and_then(as_number) {
        Some(n) if n > 0 => n.to_string(),
        _ => format!("row-{}", text(row, "ID").unwrap_or_default()),
    };
    let qty = decimal(row.get("QUANTITY"))?.round();
    Ok(OrderItem {
        sku,
        name: one_language(text(row, "PRODUCT_NAME").unwrap_or_default()),
        qty: i64::try_from(qty).map_err(|_| invalid("crm.deal.productrows.get: QUANTITY out of range"))?,
        price: decimal(row.get("PRICE"))?,
    })
}

fn document_info(invoice: &Value, document: &Value) -> AdapterResult<DocumentInfo> {
    let id = text(document, "id").ok_or_else(|| invalid("crm.documentgenerator.document.list: no id"))?;
    let date = invoice
        .get("begindate")
        .and_then(Value::as_str)
        .or_else(|| document.get("createTime").and_then(Value::as_str))
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| invalid("crm.item.list: an invoice without begindate"))?;
    let title = text(document, "title")
        .or_else(|| text(invoice, "title"))
        .unwrap_or_else(|| format!("Invoice {}", text(invoice, "accountNumber").unwrap_or_default()));
    Ok(DocumentInfo {
        id,
        kind: "invoice".to_owned(),
        period: Period::of_date(date.date_naive()),
        title: one_language(title),
    })
}

/// Where the PDF is, once made (`pdfUrl` is empty until then): the machine URL, else the
/// browser one.
fn pdf_url(document: &Value) -> Option<String> {
    let browser = text(document, "pdfUrl")?;
    Some(text(document, "pdfUrlMachine").unwrap_or(browser))
}

/// "invoice-{number}.pdf", letters, digits, '-' and '_' only.
fn file_name(info: &DocumentInfo, document: &Value) -> String {
    let number = text(document, "number").unwrap_or_else(|| info.id.clone());
    let safe: String =
        number.chars().map(|c| if c.is_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    format!("invoice-{safe}.pdf")
}
