//! [`Booking`] served by YCLIENTS (api.yclients.com, API v2 headers): services, staff and
//! free times from the online-booking API, the customer's records from the company's records.
//!
//! Every request carries `Accept: application/vnd.yclients.v2+json` and
//! `Authorization: Bearer <partner token>[, User <user token>]`; every answer is an envelope
//! `{success, data, meta}`. YCLIENTS ids are numbers; the bot's service codes and staff ids
//! are mapped to them by [`YclientsConfig::service_codes`] and [`YclientsConfig::staff_codes`]
//! (an id not mapped is used as it is). How each capability is asked:
//!
//! - services: `GET /book_services/{company}` (one call). The duration is the service's
//!   `seance_length` (which YCLIENTS gives only with a staff filter: without it
//!   [`DEFAULT_DURATION_MIN`]), the price its `price_min`.
//! - staff: the services, then `GET /book_staff/{company}?service_ids[]=…` once per service
//!   (one call plus one per service): each bookable staff member with the services they
//!   were listed for.
//! - free times: `GET /book_dates/{company}?service_ids[]=…[&staff_id=…]`, then
//!   `GET /book_times/{company}/{staff}/{date}?service_ids[]=…` for each of the first
//!   [`YclientsConfig::max_days`] bookable dates in the range and each staff member (the one
//!   asked for, or every bookable one listed for the service, one more call). At most
//!   `2 + max_days × staff` calls.
//! - booking: `POST /book_check/{company}`, then `POST /book_record/{company}` with the
//!   customer's phone (digits only) and name from the CRM. The idempotency key goes into the
//!   record's comment (`cabinet:<key>`): before booking, the records of the slot's day are
//!   searched for it (and the records this process made are remembered), so a repeat answers
//!   with the record already made. Without the user token only the remembered ones are found.
//!   A time in the past is [`BookingRefusal::InPast`] without a request.
//! - the customer's records: the client is found by phone
//!   (`POST /company/{company}/clients/search`), then `GET /records/{company}?client_id=…`;
//!   one record by id is `GET /record/{company}/{id}`. A record counts as the customer's only
//!   when its client's phone is the customer's: another customer's record is `None` /
//!   [`BookingRefusal::NotFound`]. These need the user token.
//! - moving: `PUT /book_record/{company}/{id}` with the new `datetime` after checking that the
//!   new time is among the staff member's free times (a new time overlapping the record's own
//!   is therefore refused as taken), keeping the record's comment; a move to another staff
//!   member is [`BookingRefusal::NotOffered`] (that endpoint moves a record in time only).
//!   Cancelling: `DELETE /record/{company}/{id}`.
//! - the customer's regular staff member: the staff member of their latest record that is not
//!   deleted, within 180 days either side of today.
//! - reminders (`upcoming`): `GET /records/{company}` for the days of the range (pages of 50,
//!   at most 20 pages), each record's client found in the CRM by phone (each phone asked once
//!   per call); records of clients the CRM does not know are left out.
//!
//! Refusals of `book_check` / `book_record` (HTTP 422, codes in `meta.errors`): 433 (time
//! taken) and 437 (the customer's own records overlap the time: they cannot be there twice)
//! are [`BookingRefusal::SlotTaken`], so the customer is offered other times; 436 (no such
//! staff member for the service) is [`BookingRefusal::Unknown`]; 431 (phone rejected), 432
//! (SMS code) and 435 (no name) are [`AdapterError::Invalid`]: the customer's data does not
//! suit YCLIENTS and staff have to look. A blacklisted customer (HTTP 403 or code 434 on
//! booking) is refused as [`BookingRefusal::NotOffered`] with a warning in the log (masked
//! phone): an outage would open the circuit breaker for every customer.
//!
//! 401 and 403 elsewhere, 429 and 5xx are [`AdapterError::Unavailable`] (401/403 are logged
//! for the operator, without the tokens); transport timeouts are [`AdapterError::Timeout`];
//! `success: false` and bodies that are not what the API documents are
//! [`AdapterError::Invalid`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use reqwest::Method;
use reqwest::header::HeaderValue;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    AdapterError, AdapterResult, Appointment, Booking, BookingRefusal, BookingStatus, Crm, CustomerId, CustomerProfile,
    LocalizedText, Service, Slot, StaffMember,
};
use crate::clock::{SharedClock, SystemClock};
use crate::domain::Phone;

/// The duration of a service whose `seance_length` YCLIENTS does not give.
pub const DEFAULT_DURATION_MIN: u32 = 60;
/// Records asked for per page of `GET /records` (YCLIENTS' default page).
const PAGE_SIZE: u32 = 50;
/// Pages of `GET /records` read at most per call.
const MAX_PAGES: u32 = 20;
/// How far ahead a customer's appointments are looked for.
const APPOINTMENTS_AHEAD_DAYS: u64 = 365;
/// How far back (and ahead) the customer's latest record is looked for.
const PREFERRED_WINDOW_DAYS: u64 = 180;
/// What the idempotency key is prefixed with in a record's comment.
const KEY_PREFIX: &str = "cabinet:";

fn default_base_url() -> String {
    "https://api.yclients.com/api/v1".to_owned()
}

fn default_max_days() -> u32 {
    7
}

/// The `[backends.yclients]` table: where YCLIENTS is and how cabinet signs in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YclientsConfig {
    /// The API's base URL (default `https://api.yclients.com/api/v1`).
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// The company (branch) whose services and records are used.
    pub company_id: u64,
    /// The partner (developer) token: `Authorization: Bearer <partner_token>`.
    pub partner_token: SecretString,
    /// The token of a company user (`…, User <user_token>`): needed to list, move and cancel
    /// the customer's records. Without it, only services, staff, free times and new bookings
    /// work.
    #[serde(default)]
    pub user_token: Option<SecretString>,
    /// The bot's service codes by YCLIENTS service id (`"1001" = "haircut"`); a service not
    /// listed has its id as its code.
    #[serde(default)]
    pub service_codes: BTreeMap<String, String>,
    /// The bot's staff ids by YCLIENTS staff id (`"501" = "anna"`), so that the names the bot
    /// recognises ("к Анне") find them; a staff member not listed has their YCLIENTS id.
    #[serde(default)]
    pub staff_codes: BTreeMap<String, String>,
    /// How many bookable dates are asked for free times in one request for free times
    /// (default 7).
    #[serde(default = "default_max_days")]
    pub max_days: u32,
}

/// The YCLIENTS booking connector. It makes no network call until asked.
pub struct Yclients {
    http: reqwest::Client,
    base_url: String,
    company: u64,
    /// `Bearer <partner>[, User <user>]`, marked sensitive (kept out of debug output).
    authorization: HeaderValue,
    /// Whether a user token is configured (records need it).
    has_user_token: bool,
    /// The bot's code by YCLIENTS service id.
    codes: BTreeMap<String, String>,
    /// The YCLIENTS service id by the bot's code.
    ids: BTreeMap<String, String>,
    /// The bot's staff id by YCLIENTS staff id.
    staff_codes: BTreeMap<String, String>,
    /// The YCLIENTS staff id by the bot's staff id.
    staff_ids: BTreeMap<String, String>,
    max_days: usize,
    crm: Arc<dyn Crm>,
    tz: Tz,
    clock: SharedClock,
    /// The records booked by this process, by customer and idempotency key.
    made: Mutex<HashMap<(CustomerId, String), Appointment>>,
}

/// What YCLIENTS answered: the envelope's data, or a refusal the caller interprets.
enum Answer {
    Data(Value),
    /// 403, 404 or 422: the status, the codes of `meta.errors` and `meta.message`.
    Refused {
        status: u16,
        codes: Vec<i64>,
        message: String,
    },
}

impl Yclients {
    /// A connector for `config`; `crm` gives the customers' phones and names, `time_zone` is
    /// the business's. Reads the system clock until [`Yclients::with_clock`].
    pub fn new(config: &YclientsConfig, crm: Arc<dyn Crm>, time_zone: Tz) -> anyhow::Result<Yclients> {
        let base_url = config.base_url.trim_end_matches('/').to_owned();
        url::Url::parse(&base_url).map_err(|e| anyhow::anyhow!("backends.yclients.base_url: {e}"))?;
        anyhow::ensure!(config.max_days >= 1, "backends.yclients.max_days: expected at least 1");
        let http = reqwest::Client::builder().build()?;
        let authorization = match &config.user_token {
            Some(user) => format!("Bearer {}, User {}", config.partner_token.expose_secret(), user.expose_secret()),
            None => format!("Bearer {}", config.partner_token.expose_secret()),
        };
        let mut authorization = HeaderValue::from_str(&authorization)
            .map_err(|_| anyhow::anyhow!("backends.yclients: a token holds characters a header cannot"))?;
        authorization.set_sensitive(true);
        Ok(Yclients {
            http,
            base_url,
            company: config.company_id,
            authorization,
            has_user_token: config.user_token.is_some(),
            ids: config.service_codes.iter().map(|(id, code)| (code.clone(), id.clone())).collect(),
            codes: config.service_codes.clone(),
            staff_ids: config.staff_codes.iter().map(|(id, code)| (code.clone(), id.clone())).collect(),
            staff_codes: config.staff_codes.clone(),
            max_days: usize::try_from(config.max_days).unwrap_or(usize::MAX),
            crm,
            tz: time_zone,
            clock: Arc::new(SystemClock),
            made: Mutex::default(),
        })
    }

    /// The same connector reading "now" (what is in the past) from `clock`.
    pub fn with_clock(mut self, clock: SharedClock) -> Yclients {
        self.clock = clock;
        self
    }

    /// The bot's code of a YCLIENTS service id.
    fn code_of(&self, service_id: &str) -> String {
        self.codes.get(service_id).cloned().unwrap_or_else(|| service_id.to_owned())
    }

    /// The YCLIENTS service id of a bot's code.
    fn id_of<'a>(&'a self, code: &'a str) -> &'a str {
        self.ids.get(code).map(String::as_str).unwrap_or(code)
    }

    /// The bot's id of a YCLIENTS staff member.
    fn staff_code(&self, staff_id: &str) -> String {
        self.staff_codes.get(staff_id).cloned().unwrap_or_else(|| staff_id.to_owned())
    }

    /// The YCLIENTS id of the bot's staff member.
    fn staff_id<'a>(&'a self, code: &'a str) -> &'a str {
        self.staff_ids.get(code).map(String::as_str).unwrap_or(code)
    }

    fn require_user_token(&self, what: &str) -> AdapterResult<()> {
        if !self.has_user_token {
            tracing::error!(what, "YCLIENTS: reading or changing records needs backends.yclients.user_token");
            return Err(AdapterError::Unavailable("YCLIENTS user token not configured".to_owned()));
        }
        Ok(())
    }

    /// One request: `what` names it in logs and errors.
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
        what: &str,
    ) -> AdapterResult<Answer> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url))
            .header(reqwest::header::ACCEPT, "application/vnd.yclients.v2+json")
            .header(reqwest::header::AUTHORIZATION, self.authorization.clone())
            .query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                AdapterError::Timeout
            } else {
                tracing::warn!(what, error = %e.without_url(), "YCLIENTS did not answer");
                AdapterError::Unavailable(format!("YCLIENTS did not answer ({what})"))
            }
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| {
            if e.is_timeout() {
                AdapterError::Timeout
            } else {
                AdapterError::Unavailable(format!("YCLIENTS broke off its answer ({what})"))
            }
        })?;
        match status {
            200..=299 => {
                if text.trim().is_empty() {
                    return Ok(Answer::Data(Value::Null));
                }
                let envelope: Envelope = serde_json::from_str(&text)
                    .map_err(|e| AdapterError::Invalid(format!("YCLIENTS {what}: not the documented envelope: {e}")))?;
                if !envelope.success {
                    return Err(AdapterError::Invalid(format!(
                        "YCLIENTS {what}: success false: {}",
                        message_of(&envelope.meta)
                    )));
                }
                Ok(Answer::Data(envelope.data))
            }
            401 => {
                tracing::error!(
                    what,
                    "YCLIENTS refused the credentials (401): check backends.yclients.partner_token and user_token"
                );
                Err(AdapterError::Unavailable(format!("YCLIENTS refused the credentials ({what})")))
            }
            403 | 404 | 422 => {
                let meta = serde_json::from_str::<Envelope>(&text).map(|e| e.meta).unwrap_or(Value::Null);
                Ok(Answer::Refused { status, codes: codes_of(&meta), message: message_of(&meta) })
            }
            429 => Err(AdapterError::Unavailable(format!("YCLIENTS is limiting the request rate ({what})"))),
            500..=599 => Err(AdapterError::Unavailable(format!("YCLIENTS answered {status} ({what})"))),
            _ => Err(AdapterError::Invalid(format!("YCLIENTS answered {status} ({what})"))),
        }
    }

    /// The data of a request that is not expected to be refused.
    async fn data(&self, method: Method, path: &str, query: &[(&str, String)], what: &str) -> AdapterResult<Value> {
        let answer = self.call(method, path, query, None, what).await?;
        self.expect_data(answer, what)
    }

    fn expect_data(&self, answer: Answer, what: &str) -> AdapterResult<Value> {
        match answer {
            Answer::Data(data) => Ok(data),
            Answer::Refused { status: 403, message, .. } => {
                tracing::error!(
                    what,
                    message,
                    "YCLIENTS forbids this request (403): check the user's rights in the company"
                );
                Err(AdapterError::Unavailable(format!("YCLIENTS forbids {what}")))
            }
            Answer::Refused { status, codes, message } => {
                Err(AdapterError::Invalid(format!("YCLIENTS refused {what}: {status} {codes:?} {message}")))
            }
        }
    }

    /// The services as YCLIENTS lists them: (YCLIENTS id, service).
    async fn yservices(&self) -> AdapterResult<Vec<(String, Service)>> {
        let data = self.data(Method::GET, &format!("/book_services/{}", self.company), &[], "book_services").await?;
        let list = data
            .get("services")
            .and_then(Value::as_array)
            .ok_or_else(|| AdapterError::Invalid("YCLIENTS book_services: no data.services list".to_owned()))?;
        list.iter()
            .map(|s| {
                let id = id_field(s, "id", "book_services")?;
                let title = s.get("title").and_then(Value::as_str).unwrap_or_default().to_owned();
                let duration = s
                    .get("seance_length")
                    .and_then(Value::as_u64)
                    .filter(|&secs| secs > 0)
                    .map_or(DEFAULT_DURATION_MIN, |secs| u32::try_from(secs.div_ceil(60)).unwrap_or(u32::MAX));
                let price = s.get("price_min").and_then(decimal).unwrap_or_default();
                let service = Service {
                    code: self.code_of(&id),
                    name: LocalizedText(BTreeMap::from([("ru".to_owned(), title)])),
                    duration_min: duration,
                    price,
                };
                Ok((id, service))
            })
            .collect()
    }

    /// The bookable staff YCLIENTS lists for a service: (id, name).
    async fn bookable_staff(&self, service_id: &str) -> AdapterResult<Vec<(String, String)>> {
        let data = self
            .data(
                Method::GET,
                &format!("/book_staff/{}", self.company),
                &[("service_ids[]", service_id.to_owned())],
                "book_staff",
            )
            .await?;
        let list = data
            .as_array()
            .ok_or_else(|| AdapterError::Invalid("YCLIENTS book_staff: data is not a list".to_owned()))?;
        let mut staff = Vec::new();
        for member in list {
            if member.get("bookable").and_then(Value::as_bool) == Some(false) {
                continue;
            }
            let id = id_field(member, "id", "book_staff")?;
            let name = member.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            staff.push((id, name));
        }
        Ok(staff)
    }

    /// The bookable dates of `[first, last]` for the service (and staff member), at most
    /// `max_days` of them.
    async fn booking_dates(
        &self,
        service_id: &str,
        staff: Option<&str>,
        first: NaiveDate,
        last: NaiveDate,
    ) -> AdapterResult<Vec<NaiveDate>> {
        let mut query = vec![("service_ids[]", service_id.to_owned())];
        if let Some(staff) = staff {
            query.push(("staff_id", staff.to_owned()));
        }
        let data = self.data(Method::GET, &format!("/book_dates/{}", self.company), &query, "book_dates").await?;
        let list = data
            .get("booking_dates")
            .and_then(Value::as_array)
            .ok_or_else(|| AdapterError::Invalid("YCLIENTS book_dates: no data.booking_dates list".to_owned()))?;
        let mut dates = Vec::new();
        for d in list {
            let day = match d {
                Value::String(s) => NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok(),
                other => instant(other, self.tz).map(|at| at.with_timezone(&self.tz).date_naive()),
            }
            .ok_or_else(|| AdapterError::Invalid(format!("YCLIENTS book_dates: not a date: {d}")))?;
            if day >= first && day <= last {
                dates.push(day);
            }
        }
        dates.sort();
        dates.dedup();
        dates.truncate(self.max_days);
        Ok(dates)
    }

    /// The free start times of a staff member on a date.
    async fn book_times(&self, service_id: &str, staff: &str, date: NaiveDate) -> AdapterResult<Vec<DateTime<Utc>>> {
        let data = self
            .data(
                Method::GET,
                &format!("/book_times/{}/{}/{}", self.company, path_id(staff)?, date.format("%Y-%m-%d")),
                &[("service_ids[]", service_id.to_owned())],
                "book_times",
            )
            .await?;
        let list = data
            .as_array()
            .ok_or_else(|| AdapterError::Invalid("YCLIENTS book_times: data is not a list".to_owned()))?;
        list.iter()
            .map(|t| {
                t.get("datetime")
                    .and_then(|v| instant(v, self.tz))
                    .ok_or_else(|| AdapterError::Invalid(format!("YCLIENTS book_times: no datetime in {t}")))
            })
            .collect()
    }

    /// The customer's profile; a customer the CRM does not know cannot book.
    async fn profile(&self, id: &CustomerId) -> AdapterResult<CustomerProfile> {
        self.crm.profile(id).await?.ok_or_else(|| AdapterError::Invalid(format!("no customer {id} in the CRM")))
    }

    /// The YCLIENTS client with this phone.
    async fn client_id(&self, phone: &Phone) -> AdapterResult<Option<String>> {
        let body = json!({
            "page": 1,
            "page_size": 10,
            "fields": ["id", "phone"],
            "filters": [{"type": "quick_search", "state": {"value": digits(phone.as_str())}}],
        });
        let answer = self
            .call(
                Method::POST,
                &format!("/company/{}/clients/search", self.company),
                &[],
                Some(&body),
                "clients/search",
            )
            .await?;
        let data = self.expect_data(answer, "clients/search")?;
        let list = data
            .as_array()
            .ok_or_else(|| AdapterError::Invalid("YCLIENTS clients/search: data is not a list".to_owned()))?;
        for client in list {
            if client.get("phone").and_then(Value::as_str).is_some_and(|p| Phone::parse(p).is_ok_and(|p| &p == phone)) {
                return Ok(Some(id_field(client, "id", "clients/search")?));
            }
        }
        Ok(None)
    }

    /// The company's records of the local days `[first, last]` (of one client when given),
    /// at most [`MAX_PAGES`] pages.
    async fn records(&self, client: Option<&str>, first: NaiveDate, last: NaiveDate) -> AdapterResult<Vec<Record>> {
        self.require_user_token("records")?;
        let mut records = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut query = vec![
                ("start_date", first.format("%Y-%m-%d").to_string()),
                ("end_date", last.format("%Y-%m-%d").to_string()),
                ("page", page.to_string()),
                ("count", PAGE_SIZE.to_string()),
            ];
            if let Some(client) = client {
                query.push(("client_id", client.to_owned()));
            }
            let data = self.data(Method::GET, &format!("/records/{}", self.company), &query, "records").await?;
            let list = data
                .as_array()
                .ok_or_else(|| AdapterError::Invalid("YCLIENTS records: data is not a list".to_owned()))?;
            for r in list {
                records.push(self.record(r)?);
            }
            if list.len() < PAGE_SIZE as usize {
                break;
            }
        }
        Ok(records)
    }

    /// A record as cabinet reads it.
    fn record(&self, r: &Value) -> AdapterResult<Record> {
        let id = id_field(r, "id", "record")?;
        let service = r
            .get("services")
            .and_then(Value::as_array)
            .and_then(|s| s.first())
            .map(|s| id_field(s, "id", "record.services"))
            .transpose()?
            .ok_or_else(|| AdapterError::Invalid(format!("YCLIENTS record {id}: no service")))?;
        let staff = match r.get("staff_id") {
            Some(v) if !v.is_null() => id_value(v),
            _ => r.get("staff").and_then(|s| s.get("id")).and_then(id_value),
        }
        .ok_or_else(|| AdapterError::Invalid(format!("YCLIENTS record {id}: no staff")))?;
        let start = r
            .get("datetime")
            .and_then(|v| instant(v, self.tz))
            .or_else(|| r.get("date").and_then(|v| instant(v, self.tz)))
            .ok_or_else(|| AdapterError::Invalid(format!("YCLIENTS record {id}: no datetime")))?;
        let seconds = r
            .get("seance_length")
            .and_then(Value::as_u64)
            .or_else(|| r.get("length").and_then(Value::as_u64))
            .unwrap_or(u64::from(DEFAULT_DURATION_MIN) * 60);
        let deleted = r.get("deleted").and_then(Value::as_bool).unwrap_or(false);
        let phone =
            r.get("client").and_then(|c| c.get("phone")).and_then(Value::as_str).and_then(|p| Phone::parse(p).ok());
        let comment = r.get("comment").and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(Record {
            appointment: Appointment {
                id,
                service: self.code_of(&service),
                staff: self.staff_code(&staff),
                start,
                duration_min: u32::try_from(seconds.div_ceil(60)).unwrap_or(u32::MAX),
                status: if deleted { BookingStatus::Cancelled } else { BookingStatus::Confirmed },
            },
            phone,
            comment,
        })
    }

    /// One record of the customer's by id: `None` for an unknown id and another's record.
    async fn own_record(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Option<Record>> {
        if booking_id.is_empty() || !booking_id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        self.require_user_token("record")?;
        let profile = self.profile(id).await?;
        let answer =
            self.call(Method::GET, &format!("/record/{}/{booking_id}", self.company), &[], None, "record").await?;
        let data = match answer {
            Answer::Refused { status: 404, .. } => return Ok(None),
            other => self.expect_data(other, "record")?,
        };
        // Some answers wrap the record in a list.
        let r = match &data {
            Value::Array(list) => match list.first() {
                Some(r) => r,
                None => return Ok(None),
            },
            Value::Null => return Ok(None),
            other => other,
        };
        let record = self.record(r)?;
        Ok(record.is_of(&profile.phone).then_some(record))
    }

    /// The record this process made with this key for the customer.
    fn remembered(&self, id: &CustomerId, key: &str) -> Option<Appointment> {
        self.made.lock().unwrap_or_else(|e| e.into_inner()).get(&(id.clone(), key.to_owned())).cloned()
    }

    /// The record made with this key for the customer with this phone, found among the
    /// records of the slot's day (none without the user token).
    async fn made_with(&self, phone: &Phone, key: &str, slot: &Slot) -> AdapterResult<Option<Appointment>> {
        if !self.has_user_token {
            return Ok(None);
        }
        let day = slot.start.with_timezone(&self.tz).date_naive();
        let mark = format!("{KEY_PREFIX}{key}");
        let records = self.records(None, day, day).await?;
        Ok(records.into_iter().find(|r| r.is_of(phone) && r.comment.contains(&mark)).map(|r| r.appointment))
    }

    /// The local wall time of an instant as YCLIENTS takes it ("2025-01-12T12:00:00+05:00").
    fn wall(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    /// What a refusal of `book_check`, `book_record` or a move means.
    fn refusal(&self, phone: &Phone, status: u16, codes: &[i64], message: &str) -> AdapterResult<BookingRefusal> {
        if status == 403 || codes.contains(&434) {
            tracing::warn!(phone = %phone.masked(), "YCLIENTS does not take online bookings from this client");
            return Ok(BookingRefusal::NotOffered);
        }
        if codes.contains(&433) || codes.contains(&437) {
            return Ok(BookingRefusal::SlotTaken);
        }
        if codes.contains(&436) {
            return Ok(BookingRefusal::Unknown);
        }
        if codes.contains(&431) {
            tracing::warn!(phone = %phone.masked(), "YCLIENTS rejected the customer's phone");
        }
        Err(AdapterError::Invalid(format!("YCLIENTS refused the booking: {status} {codes:?} {message}")))
    }
}

/// A record with what scopes it to a customer.
struct Record {
    appointment: Appointment,
    /// The client's phone.
    phone: Option<Phone>,
    comment: String,
}

impl Record {
    fn is_of(&self, phone: &Phone) -> bool {
        self.phone.as_ref() == Some(phone)
    }
}

/// The answer's envelope.
#[derive(Deserialize)]
struct Envelope {
    success: bool,
    #[serde(default)]
    data: Value,
    #[serde(default)]
    meta: Value,
}

fn message_of(meta: &Value) -> String {
    meta.get("message").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// The codes of `meta.errors` (objects with `code`, or bare numbers).
fn codes_of(meta: &Value) -> Vec<i64> {
    let Some(errors) = meta.get("errors") else { return Vec::new() };
    let items: Vec<&Value> = match errors {
        Value::Array(list) => list.iter().collect(),
        Value::Object(map) => map.values().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .filter_map(|e| {
            let code = e.get("code").unwrap_or(e);
            code.as_i64().or_else(|| code.as_str().and_then(|s| s.parse().ok()))
        })
        .collect()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// An id given as a number or a string.
fn id_value(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

fn id_field(v: &Value, field: &str, what: &str) -> AdapterResult<String> {
    v.get(field).and_then(id_value).ok_or_else(|| AdapterError::Invalid(format!("YCLIENTS {what}: no {field} in {v}")))
}

/// An id as a JSON number when it is one (YCLIENTS ids are numbers).
fn id_json(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| Value::String(id.to_owned()), Value::from)
}

/// An id that may go into a URL path: digits only.
fn path_id(id: &str) -> AdapterResult<&str> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(id)
    } else {
        Err(AdapterError::Invalid(format!("not a YCLIENTS id: {id:?}")))
    }
}

/// A price given as a number or a string.
fn decimal(v: &Value) -> Option<Decimal> {
    match v {
        Value::Number(n) => n.to_string().parse().ok(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// An instant given as ISO 8601 with an offset (`+04:00` or `+0400`), as a local wall time
/// ("2025-01-12 12:00:00", in `tz`), or as Unix seconds (a number or a string of digits).
fn instant(v: &Value, tz: Tz) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => n.as_i64().and_then(|secs| DateTime::from_timestamp(secs, 0)),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(secs) = s.parse::<i64>() {
                return DateTime::from_timestamp(secs, 0);
            }
            DateTime::parse_from_rfc3339(s)
                .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
                .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%z"))
                .map(|at| at.with_timezone(&Utc))
                .ok()
                .or_else(|| {
                    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
                        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
                        .ok()?;
                    tz.from_local_datetime(&local).earliest().map(|at| at.with_timezone(&Utc))
                })
        }
        _ => None,
    }
}

#[async_trait]
impl Booking for Yclients {
    async fn services(&self) -> AdapterResult<Vec<Service>> {
        Ok(self.yservices().await?.into_iter().map(|(_, s)| s).collect())
    }

    async fn staff(&self) -> AdapterResult<Vec<StaffMember>> {
        let mut staff: BTreeMap<String, StaffMember> = BTreeMap::new();
        for (service_id, service) in self.yservices().await? {
            for (staff_id, name) in self.bookable_staff(&service_id).await? {
                let id = self.staff_code(&staff_id);
                let member = staff.entry(id.clone()).or_insert_with(|| StaffMember {
                    id,
                    name: LocalizedText(BTreeMap::from([("ru".to_owned(), name)])),
                    services: Vec::new(),
                });
                if !member.services.contains(&service.code) {
                    member.services.push(service.code.clone());
                }
            }
        }
        Ok(staff.into_values().collect())
    }

    async fn preferred_staff(&self, id: &CustomerId) -> AdapterResult<Option<String>> {
        if !self.has_user_token {
            return Ok(None);
        }
        let profile = self.profile(id).await?;
        let Some(client) = self.client_id(&profile.phone).await? else { return Ok(None) };
        let today = self.clock.now().with_timezone(&self.tz).date_naive();
        let window = Days::new(PREFERRED_WINDOW_DAYS);
        let first = today.checked_sub_days(window).unwrap_or(today);
        let last = today.checked_add_days(window).unwrap_or(today);
        let records = self.records(Some(&client), first, last).await?;
        Ok(records
            .into_iter()
            .filter(|r| r.is_of(&profile.phone) && r.appointment.status == BookingStatus::Confirmed)
            .max_by_key(|r| r.appointment.start)
            .map(|r| r.appointment.staff))
    }

    async fn free_slots(
        &self,
        service: &str,
        staff: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> AdapterResult<Vec<Slot>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let service_id = self.id_of(service);
        let staff = staff.map(|code| self.staff_id(code));
        let providers = match staff {
            Some(staff) => vec![staff.to_owned()],
            None => self.bookable_staff(service_id).await?.into_iter().map(|(id, _)| id).collect(),
        };
        if providers.is_empty() {
            return Ok(Vec::new());
        }
        let first = from.with_timezone(&self.tz).date_naive();
        let last = (to - TimeDelta::nanoseconds(1)).with_timezone(&self.tz).date_naive();
        let dates = self.booking_dates(service_id, staff, first, last).await?;
        let mut slots = Vec::new();
        for date in dates {
            for member in &providers {
                let times = self.book_times(service_id, member, date).await?;
                let code = self.staff_code(member);
                slots.extend(
                    times.into_iter().filter(|&s| s >= from && s < to).map(|start| Slot { start, staff: code.clone() }),
                );
            }
        }
        slots.sort();
        slots.dedup();
        Ok(slots)
    }

    async fn book(
        &self,
        id: &CustomerId,
        service: &str,
        slot: &Slot,
        idempotency_key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        if let Some(made) = self.remembered(id, idempotency_key) {
            return Ok(Ok(made));
        }
        if slot.start < self.clock.now() {
            return Ok(Err(BookingRefusal::InPast));
        }
        let profile = self.profile(id).await?;
        if let Some(made) = self.made_with(&profile.phone, idempotency_key, slot).await? {
            return Ok(Ok(made));
        }
        let Some((service_id, service)) = self.yservices().await?.into_iter().find(|(_, s)| s.code == service) else {
            return Ok(Err(BookingRefusal::Unknown));
        };
        let appointments = json!([{
            "id": 1,
            "services": [id_json(&service_id)],
            "staff_id": id_json(self.staff_id(&slot.staff)),
            "datetime": self.wall(slot.start),
        }]);
        let check = json!({ "appointments": appointments });
        let answer =
            self.call(Method::POST, &format!("/book_check/{}", self.company), &[], Some(&check), "book_check").await?;
        if let Answer::Refused { status, codes, message } = answer {
            return self.refusal(&profile.phone, status, &codes, &message).map(Err);
        }
        let record = json!({
            "phone": digits(profile.phone.as_str()),
            "fullname": profile.name,
            "email": profile.email.clone().unwrap_or_default(),
            "comment": format!("{KEY_PREFIX}{idempotency_key}"),
            "appointments": appointments,
        });
        let answer = self
            .call(Method::POST, &format!("/book_record/{}", self.company), &[], Some(&record), "book_record")
            .await?;
        let data = match answer {
            Answer::Refused { status, codes, message } => {
                return self.refusal(&profile.phone, status, &codes, &message).map(Err);
            }
            Answer::Data(data) => data,
        };
        let record_id = data
            .as_array()
            .and_then(|list| list.first())
            .and_then(|r| r.get("record_id"))
            .and_then(id_value)
            .ok_or_else(|| AdapterError::Invalid(format!("YCLIENTS book_record: no record_id in {data}")))?;
        let appointment = Appointment {
            id: record_id,
            service: service.code,
            staff: slot.staff.clone(),
            start: slot.start,
            duration_min: service.duration_min,
            status: BookingStatus::Confirmed,
        };
        self.made
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((id.clone(), idempotency_key.to_owned()), appointment.clone());
        Ok(Ok(appointment))
    }

    async fn appointments(&self, id: &CustomerId, from: DateTime<Utc>) -> AdapterResult<Vec<Appointment>> {
        self.require_user_token("records")?;
        let profile = self.profile(id).await?;
        let Some(client) = self.client_id(&profile.phone).await? else { return Ok(Vec::new()) };
        let first = from.with_timezone(&self.tz).date_naive();
        let last = first.checked_add_days(Days::new(APPOINTMENTS_AHEAD_DAYS)).unwrap_or(first);
        let mut list: Vec<Appointment> = self
            .records(Some(&client), first, last)
            .await?
            .into_iter()
            .filter(|r| r.is_of(&profile.phone))
            .map(|r| r.appointment)
            .filter(|a| a.status == BookingStatus::Confirmed && a.start >= from)
            .collect();
        list.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
        Ok(list)
    }

    async fn appointment(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Option<Appointment>> {
        Ok(self.own_record(id, booking_id).await?.map(|r| r.appointment))
    }

    async fn reschedule(
        &self,
        id: &CustomerId,
        booking_id: &str,
        slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let (current, comment) = match self.own_record(id, booking_id).await? {
            None => return Ok(Err(BookingRefusal::NotFound)),
            Some(r) if r.appointment.status == BookingStatus::Cancelled => {
                return Ok(Err(BookingRefusal::AlreadyCancelled));
            }
            Some(r) => (r.appointment, r.comment),
        };
        if current.staff == slot.staff && current.start == slot.start {
            return Ok(Ok(current));
        }
        // `PUT /book_record` moves a record in time only.
        if current.staff != slot.staff {
            return Ok(Err(BookingRefusal::NotOffered));
        }
        if slot.start < self.clock.now() {
            return Ok(Err(BookingRefusal::InPast));
        }
        let free = self
            .free_slots(&current.service, Some(&slot.staff), slot.start, slot.start + TimeDelta::seconds(1))
            .await?;
        if !free.contains(slot) {
            return Ok(Err(BookingRefusal::SlotTaken));
        }
        // The comment (with the key of the booking) stays as it is.
        let body = json!({ "datetime": self.wall(slot.start), "comment": comment });
        let answer = self
            .call(
                Method::PUT,
                &format!("/book_record/{}/{}", self.company, path_id(booking_id)?),
                &[],
                Some(&body),
                "book_record (move)",
            )
            .await?;
        if let Answer::Refused { status, codes, message } = answer {
            let phone = self.profile(id).await?.phone;
            return self.refusal(&phone, status, &codes, &message).map(Err);
        }
        Ok(Ok(Appointment { start: slot.start, ..current }))
    }

    async fn cancel(&self, id: &CustomerId, booking_id: &str) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        let current = match self.own_record(id, booking_id).await? {
            None => return Ok(Err(BookingRefusal::NotFound)),
            Some(r) if r.appointment.status == BookingStatus::Cancelled => {
                return Ok(Err(BookingRefusal::AlreadyCancelled));
            }
            Some(r) => r.appointment,
        };
        let answer = self
            .call(
                Method::DELETE,
                &format!("/record/{}/{}", self.company, path_id(booking_id)?),
                &[],
                None,
                "record (delete)",
            )
            .await?;
        match answer {
            Answer::Refused { status: 404, .. } => Ok(Err(BookingRefusal::AlreadyCancelled)),
            other => {
                self.expect_data(other, "record (delete)")?;
                Ok(Ok(Appointment { status: BookingStatus::Cancelled, ..current }))
            }
        }
    }

    async fn upcoming(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> AdapterResult<Vec<(CustomerId, Appointment)>> {
        if from >= to {
            return Ok(Vec::new());
        }
        let first = from.with_timezone(&self.tz).date_naive();
        let last = (to - TimeDelta::nanoseconds(1)).with_timezone(&self.tz).date_naive();
        let mut customers: HashMap<Phone, Option<CustomerId>> = HashMap::new();
        let mut out = Vec::new();
        for record in self.records(None, first, last).await? {
            let a = &record.appointment;
            if a.status != BookingStatus::Confirmed || a.start < from || a.start >= to {
                continue;
            }
            let Some(phone) = record.phone else { continue };
            let customer = match customers.get(&phone) {
                Some(known) => known.clone(),
                None => {
                    let found = self.crm.find_by_phone(&phone).await?.map(|c| c.id);
                    customers.insert(phone, found.clone());
                    found
                }
            };
            if let Some(customer) = customer {
                out.push((customer, record.appointment));
            }
        }
        out.sort_by(|(_, a), (_, b)| (a.start, &a.id).cmp(&(b.start, &b.id)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
