//! The connectors against the conformance suite (`cabinet::adapters::contract`), each for the
//! capabilities it serves, talking over HTTP to a wiremock server that keeps state as the real
//! system does: what the suite creates (a lead, a booking) is answered by the next requests.
//! The records are the connectors' own fixtures, plus another customer's records made in the
//! same shapes, so that scoping is checked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cabinet::adapters::bitrix24::{Bitrix24, Bitrix24Config};
use cabinet::adapters::builtin::import::{self, BusinessData};
use cabinet::adapters::cdek::{Cdek, CdekConfig, CdekLookup};
use cabinet::adapters::contract::{self, Fixture};
use cabinet::adapters::yclients::{Yclients, YclientsConfig};
use cabinet::adapters::{Booking as _, CustomerId, Logistics as _};
use cabinet::clock::{Clock, FixedClock};
use cabinet::domain::Phone;
use cabinet::store::Store;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{any, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn assert_conforms(what: &str, broken: Vec<String>) {
    assert!(broken.is_empty(), "{what} breaks:\n{}", broken.join("\n"));
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

// --- Bitrix24 ------------------------------------------------------------------------------

macro_rules! bitrix {
    ($name:literal) => {
        include_str!(concat!("../../crates/core/src/adapters/bitrix24/fixtures/", $name, ".json"))
    };
}

const HOOK: &str = "/rest/1/secretcode/";

/// The `result` of a fixture, `PORTAL` replaced by the server's address.
fn bitrix_result(body: &str, uri: &str) -> Value {
    let mut parsed: Value = serde_json::from_str(&body.replace("PORTAL", uri)).unwrap();
    parsed["result"].take()
}

/// A Bitrix24 portal in memory: contacts, leads, deals with their product rows, smart
/// invoices and their generated documents, answered as the REST API answers (filters,
/// pages of 50, `batch`, errors as `{"error", "error_description"}`).
#[derive(Default)]
struct Portal {
    contacts: Vec<Value>,
    leads: Vec<Value>,
    deals: Vec<Value>,
    rows: BTreeMap<u64, Value>,
    invoices: Vec<Value>,
    documents: Vec<Value>,
    next_lead: u64,
}

/// The portal behind a responder: requests change it.
#[derive(Clone)]
struct PortalServer(Arc<Mutex<Portal>>);

/// A field of a record as text: strings as they are, numbers printed.
fn field(record: &Value, key: &str) -> Option<String> {
    match record.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether the record passes a Bitrix24 filter: `%FIELD` contains (any case), else equals.
fn passes(record: &Value, filter: &Value) -> bool {
    let Some(filter) = filter.as_object() else { return true };
    filter.iter().all(|(key, wanted)| {
        let wanted = match wanted {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match key.strip_prefix('%') {
            Some(key) => field(record, key).is_some_and(|v| v.to_lowercase().contains(&wanted.to_lowercase())),
            None => field(record, key).as_deref() == Some(wanted.as_str()),
        }
    })
}

/// One page of 50 from `start`, with `total` and `next` as the list methods give them.
fn page(records: Vec<Value>, start: u64) -> (Value, Option<u64>, Option<u64>) {
    let total = records.len() as u64;
    let items: Vec<Value> = records.into_iter().skip(start as usize).take(50).collect();
    let next = (start + 50 < total).then_some(start + 50);
    (Value::Array(items), Some(total), next)
}

fn phones_of(record: &Value) -> Vec<String> {
    record["PHONE"].as_array().into_iter().flatten().filter_map(|p| p["VALUE"].as_str()).map(str::to_owned).collect()
}

type Answer = Result<(Value, Option<u64>, Option<u64>), Value>;

impl Portal {
    fn not_found() -> Value {
        json!({ "error": "", "error_description": "Not found" })
    }

    fn call(&mut self, method: &str, params: &Value) -> Answer {
        let one = |v: Value| Ok((v, None, None));
        let start = params["start"].as_u64().unwrap_or(0);
        match method {
            "crm.duplicate.findbycomm" => {
                let values: Vec<&str> = params["values"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
                let kind = params["entity_type"].as_str().unwrap();
                let records = if kind == "LEAD" { &self.leads } else { &self.contacts };
                let ids: Vec<u64> = records
                    .iter()
                    .filter(|r| phones_of(r).iter().any(|p| values.contains(&p.as_str())))
                    .map(|r| field(r, "ID").unwrap().parse().unwrap())
                    .collect();
                one(if ids.is_empty() { json!([]) } else { json!({ kind: ids }) })
            }
            "crm.contact.get" => {
                let id = field(params, "id").unwrap();
                let found = self.contacts.iter().find(|c| field(c, "ID").as_deref() == Some(id.as_str()));
                found.cloned().map(one).unwrap_or_else(|| Err(Self::not_found()))
            }
            "crm.contact.list" => {
                let found = self.contacts.iter().filter(|c| passes(c, &params["filter"])).cloned();
                let mut found: Vec<Value> = found.collect();
                found.sort_by_key(|c| std::cmp::Reverse(field(c, "ID").unwrap().parse::<u64>().unwrap()));
                Ok(page(found, start))
            }
            "crm.lead.add" => {
                self.next_lead += 1;
                let mut lead = params["fields"].clone();
                lead["ID"] = json!(self.next_lead.to_string());
                self.leads.push(lead);
                one(json!(self.next_lead))
            }
            "crm.deal.list" => {
                let mut found: Vec<Value> =
                    self.deals.iter().filter(|d| passes(d, &params["filter"])).cloned().collect();
                found.sort_by_key(|d| {
                    let created = utc(d["DATE_CREATE"].as_str().unwrap());
                    std::cmp::Reverse((created, field(d, "ID").unwrap().parse::<u64>().unwrap()))
                });
                Ok(page(found, start))
            }
            "crm.deal.productrows.get" => {
                let id: u64 = field(params, "id").unwrap().parse().unwrap();
                match self.deals.iter().any(|d| field(d, "ID") == Some(id.to_string())) {
                    true => one(self.rows.get(&id).cloned().unwrap_or_else(|| json!([]))),
                    false => Err(Self::not_found()),
                }
            }
            "crm.item.list" => {
                assert_eq!(field(params, "entityTypeId").as_deref(), Some("31"), "smart invoices only");
                let found: Vec<Value> =
                    self.invoices.iter().filter(|i| passes(i, &params["filter"])).cloned().collect();
                let (items, total, next) = page(found, start);
                Ok((json!({ "items": items }), total, next))
            }
            "crm.documentgenerator.document.list" => {
                let found = self.documents.iter().filter(|d| passes(d, &params["filter"])).cloned();
                one(json!({ "documents": found.collect::<Vec<_>>() }))
            }
            "batch" => {
                let mut results = serde_json::Map::new();
                let mut errors = serde_json::Map::new();
                for (key, command) in params["cmd"].as_object().unwrap() {
                    let (method, query) = command.as_str().unwrap().split_once('?').unwrap();
                    let mut params = json!({ "filter": {} });
                    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
                        match name.strip_prefix("filter[").and_then(|n| n.strip_suffix(']')) {
                            Some(inner) => params["filter"][inner] = json!(value),
                            None => params[name.as_ref()] = json!(value),
                        }
                    }
                    match self.call(method, &params) {
                        Ok((result, _, _)) => results.insert(key.clone(), result),
                        Err(error) => errors.insert(key.clone(), error),
                    };
                }
                one(json!({ "result": results, "result_error": errors, "result_total": [], "result_next": [] }))
            }
            _ => Err(json!({ "error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!" })),
        }
    }
}

impl Respond for PortalServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Some(method) = request.url.path().strip_prefix(HOOK) else {
            return ResponseTemplate::new(404);
        };
        if method == "crm.documentgenerator.document.download/" {
            let id = request.url.query_pairs().find(|(k, _)| k == "id").map(|(_, v)| v.into_owned());
            let known = self.0.lock().unwrap().documents.iter().any(|d| field(d, "id") == id);
            return match known {
                true => ResponseTemplate::new(200).set_body_raw("%PDF-1.4 invoice", "application/pdf"),
                false => ResponseTemplate::new(400).set_body_json(Portal::not_found()),
            };
        }
        let params: Value = request.body_json().unwrap_or(json!({}));
        match self.0.lock().unwrap().call(method, &params) {
            Ok((result, total, next)) => {
                let mut body = json!({ "result": result, "time": { "start": 0, "finish": 0 } });
                if let Some(total) = total {
                    body["total"] = json!(total);
                }
                if let Some(next) = next {
                    body["next"] = json!(next);
                }
                ResponseTemplate::new(200).set_body_json(body)
            }
            Err(error) => {
                let status = if error["error"] == "ERROR_METHOD_NOT_FOUND" { 404 } else { 400 };
                ResponseTemplate::new(status).set_body_json(error)
            }
        }
    }
}

/// The portal of the Bitrix24 fixtures: contact 43 (Алия Нурланова, 8 701 123 45 67) with
/// deals 512, 505 and 498 and invoices 7 (document 21, its PDF made) and 5 (document 19, its
/// PDF being made); contact 44 (Ольга Ким) with deal 600, invoice 9 and document 31.
async fn bitrix_portal() -> (MockServer, Bitrix24, Fixture) {
    let server = MockServer::start().await;
    let uri = server.uri();
    let mut portal = Portal { next_lead: 3500, ..Default::default() };
    let aliya = bitrix_result(bitrix!("contact_43"), &uri);
    let mut olga = aliya.clone();
    olga["ID"] = json!("44");
    olga["NAME"] = json!("Ольга");
    olga["LAST_NAME"] = json!("Ким");
    olga["PHONE"][0]["VALUE"] = json!("+77019876543");
    olga["EMAIL"] = json!([]);
    portal.contacts = vec![aliya, olga];
    let mut deals = bitrix_result(bitrix!("deals_page"), &uri).as_array().unwrap().clone();
    deals.push(bitrix_result(bitrix!("deals_open"), &uri)[1].clone());
    let mut others = deals[1].clone();
    others["ID"] = json!("600");
    others["CONTACT_ID"] = json!("44");
    deals.push(others);
    portal.deals = deals;
    let rows = bitrix_result(bitrix!("batch_productrows"), &uri)["result"].clone();
    for (key, list) in rows.as_object().unwrap() {
        portal.rows.insert(key.trim_start_matches('p').parse().unwrap(), list.clone());
    }
    let mut invoices = bitrix_result(bitrix!("invoices"), &uri)["items"].as_array().unwrap().clone();
    let mut others = invoices[1].clone();
    others["id"] = json!(9);
    others["contactId"] = json!(44);
    others["parentId2"] = json!(600);
    invoices.push(others);
    portal.invoices = invoices;
    let documents = bitrix_result(bitrix!("batch_documents"), &uri)["result"].clone();
    let mut documents: Vec<Value> =
        documents.as_object().unwrap().values().flat_map(|d| d["documents"].as_array().unwrap().clone()).collect();
    let mut others = documents.iter().find(|d| d["id"] == "21").unwrap().clone();
    for key in ["pdfUrl", "pdfUrlMachine", "downloadUrl", "downloadUrlMachine"] {
        others[key] = json!(others[key].as_str().unwrap().replace("id=21", "id=31"));
    }
    others["id"] = json!("31");
    others["entityId"] = json!("9");
    documents.push(others);
    portal.documents = documents;
    Mock::given(any()).respond_with(PortalServer(Arc::new(Mutex::new(portal)))).mount(&server).await;

    let config = Bitrix24Config {
        webhook_url: Some(format!("{uri}{HOOK}").into()),
        requests_per_second: 1000,
        burst: 1000,
        limit_backoff_ms: 5,
        pdf_retry_ms: 5,
        ..Default::default()
    };
    let fixture = Fixture {
        customer: CustomerId("43".into()),
        phone: Phone::parse("+77011234567").unwrap(),
        name_word: "нурланова".into(),
        other: CustomerId("44".into()),
        own_order: "512".into(),
        others_order: "600".into(),
        own_document: "21".into(),
        others_document: "31".into(),
        search_by_phone_digits: false,
        ..Fixture::demo(utc("2024-12-07T12:00:00+06:00"))
    };
    (server, Bitrix24::new(&config).unwrap(), fixture)
}

#[tokio::test]
async fn bitrix24_crm_conforms() {
    let (server, bitrix, fixture) = bitrix_portal().await;
    assert_conforms("bitrix24 crm", contract::crm(&bitrix, &fixture).await);
    let leads = server.received_requests().await.unwrap();
    let added = leads.iter().filter(|r| r.url.path().ends_with("/crm.lead.add")).count();
    assert_eq!(added, 1, "the repeated lead is found, not added again");
}

#[tokio::test]
async fn bitrix24_logistics_conforms() {
    let (_server, bitrix, fixture) = bitrix_portal().await;
    assert_conforms("bitrix24 logistics", contract::logistics(&bitrix, &fixture).await);
}

#[tokio::test]
async fn bitrix24_documents_conforms() {
    let (_server, bitrix, fixture) = bitrix_portal().await;
    assert_conforms("bitrix24 documents", contract::documents(&bitrix, &fixture).await);
}

// --- YCLIENTS ------------------------------------------------------------------------------

macro_rules! yclients {
    ($name:literal) => {
        include_str!(concat!("../../crates/core/src/adapters/yclients/fixtures/", $name, ".json"))
    };
}

const COMPANY: &str = "4564";

/// The demo business in a fresh SQLite store, read at the demo's time: the customers YCLIENTS
/// and CDEK are asked about.
async fn demo_builtin() -> (cabinet::adapters::builtin::Builtin, Arc<FixedClock>) {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    cabinet::adapters::builtin::migrate(&store).await.unwrap();
    let demo = BusinessData::demo();
    import::import(&store, &demo, chrono::Duration::zero()).await.unwrap();
    let clock = FixedClock::new(demo.demo_now_utc().unwrap());
    (cabinet::adapters::builtin::Builtin::new(store).with_clock(clock.clone()), clock)
}

/// A YCLIENTS company in memory: its services and staff as the fixtures list them, working
/// hours at 10:00, 12:00, 14:00 and 16:00 (Almaty) on the ten days after `today`, and the
/// records made, moved and deleted through the API, answered in its envelopes.
struct Salon {
    tz: Tz,
    today: NaiveDate,
    records: Vec<Value>,
    /// Client ids by phone digits.
    clients: BTreeMap<String, u64>,
    next_record: u64,
}

#[derive(Clone)]
struct SalonServer(Arc<Mutex<Salon>>);

fn envelope(status: u16, data: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({ "success": true, "data": data, "meta": [] }))
}

fn refusal(status: u16, body: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.as_bytes().to_vec(), "application/json")
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404)
        .set_body_json(json!({ "success": false, "data": null, "meta": { "message": "Not found" } }))
}

/// A YCLIENTS id (a JSON number) as text.
fn id_text(id: &Value) -> String {
    id.to_string()
}

fn digits_of(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

impl Salon {
    fn bookable_staff(service: &str) -> Vec<String> {
        let list: Value = serde_json::from_str(if service == "1002" {
            yclients!("book_staff_manicure")
        } else {
            yclients!("book_staff_haircut")
        })
        .unwrap();
        list["data"].as_array().unwrap().iter().filter(|m| m["bookable"] == true).map(|m| m["id"].to_string()).collect()
    }

    fn start_of(&self, record: &Value) -> DateTime<Utc> {
        DateTime::parse_from_str(record["datetime"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%z").unwrap().to_utc()
    }

    /// Whether a record that is not deleted (other than `except`) holds the staff member then.
    fn taken(&self, staff: &str, at: DateTime<Utc>, except: Option<u64>) -> bool {
        self.records.iter().any(|r| {
            r["deleted"] == false
                && id_text(&r["staff_id"]) == staff
                && self.start_of(r) == at
                && Some(r["id"].as_u64().unwrap()) != except
        })
    }

    /// The working times of a day (every staff member works the same hours).
    fn hours(&self, date: NaiveDate) -> Vec<DateTime<Utc>> {
        if date <= self.today || date > self.today + chrono::Days::new(10) {
            return Vec::new();
        }
        [10, 12, 14, 16]
            .iter()
            .map(|h| self.tz.from_local_datetime(&date.and_hms_opt(*h, 0, 0).unwrap()).unwrap().to_utc())
            .collect()
    }

    fn free(&self, staff: &str, date: NaiveDate) -> Vec<DateTime<Utc>> {
        self.hours(date).into_iter().filter(|at| !self.taken(staff, *at, None)).collect()
    }

    fn wall(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz).format("%Y-%m-%dT%H:%M:%S%z").to_string()
    }

    /// Whether a time asked for is a working time of the staff member, free (but for `except`).
    fn bookable(&self, staff: &str, wall: &str, except: Option<u64>) -> Option<DateTime<Utc>> {
        let at = DateTime::parse_from_rfc3339(wall).ok()?.to_utc();
        let working = self.hours(at.with_timezone(&self.tz).date_naive()).contains(&at);
        (working && !self.taken(staff, at, except)).then_some(at)
    }

    fn record(&mut self, staff: &str, service: &str, at: DateTime<Utc>, phone: &str, name: &str, comment: &str) -> u64 {
        let digits = digits_of(phone);
        let next_client = 3901 + self.clients.len() as u64;
        let client = *self.clients.entry(digits.clone()).or_insert(next_client);
        self.next_record += 1;
        let mut record: Value = serde_json::from_str(yclients!("record_own")).unwrap();
        let record = &mut record["data"];
        record["id"] = json!(self.next_record);
        record["staff_id"] = json!(staff.parse::<u64>().unwrap());
        record["staff"]["id"] = record["staff_id"].clone();
        record["services"][0]["id"] = json!(service.parse::<u64>().unwrap());
        record["client"] = json!({ "id": client, "name": name, "phone": format!("+{digits}") });
        record["date"] = json!(at.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S").to_string());
        record["datetime"] = json!(self.wall(at));
        record["comment"] = json!(comment);
        record["deleted"] = json!(false);
        self.records.push(record.take());
        self.next_record
    }

    fn answer(&mut self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().strip_prefix("/api/v1").unwrap_or_default().to_owned();
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let query: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let service = query.get("service_ids[]").cloned().unwrap_or_default();
        let body: Value = request.body_json().unwrap_or(Value::Null);
        match (request.method.as_str(), parts.as_slice()) {
            ("GET", ["book_services", COMPANY]) => refusal(200, yclients!("book_services")),
            ("GET", ["book_staff", COMPANY]) => refusal(
                200,
                if service == "1002" { yclients!("book_staff_manicure") } else { yclients!("book_staff_haircut") },
            ),
            ("GET", ["book_dates", COMPANY]) => {
                let staff =
                    query.get("staff_id").map(|s| vec![s.clone()]).unwrap_or_else(|| Self::bookable_staff(&service));
                let dates: Vec<String> = (1..=10)
                    .map(|d| self.today + chrono::Days::new(d))
                    .filter(|date| staff.iter().any(|s| !self.free(s, *date).is_empty()))
                    .map(|date| date.format("%Y-%m-%d").to_string())
                    .collect();
                envelope(200, json!({ "booking_dates": dates, "booking_days": {}, "working_days": {} }))
            }
            ("GET", ["book_times", COMPANY, staff, date]) => {
                let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
                let times: Vec<Value> = self
                    .free(staff, date)
                    .into_iter()
                    .map(|at| {
                        let local = at.with_timezone(&self.tz);
                        json!({
                            "time": local.format("%H:%M").to_string(),
                            "seance_length": 3600,
                            "sum_length": 3600,
                            "datetime": local.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                        })
                    })
                    .collect();
                envelope(200, json!(times))
            }
            ("POST", ["book_check" | "book_record", COMPANY]) => {
                let wanted = &body["appointments"][0];
                let staff = wanted["staff_id"].to_string();
                let Some(at) = self.bookable(&staff, wanted["datetime"].as_str().unwrap_or_default(), None) else {
                    return refusal(422, yclients!("error_433"));
                };
                if parts[0] == "book_check" {
                    return refusal(201, yclients!("book_check"));
                }
                let service = wanted["services"][0].to_string();
                let (phone, name, comment) = (
                    body["phone"].as_str().unwrap(),
                    body["fullname"].as_str().unwrap(),
                    body["comment"].as_str().unwrap(),
                );
                let id = self.record(&staff, &service, at, phone, name, comment);
                envelope(201, json!([{ "id": 1, "record_id": id, "record_hash": "567df655ec1ee4c1ff3e5d3c5e2a0b59" }]))
            }
            ("PUT", ["book_record", COMPANY, id]) => {
                let id: u64 = id.parse().unwrap();
                let Some(index) = self.records.iter().position(|r| r["id"] == id && r["deleted"] == false) else {
                    return not_found();
                };
                let staff = self.records[index]["staff_id"].to_string();
                let Some(at) = self.bookable(&staff, body["datetime"].as_str().unwrap_or_default(), Some(id)) else {
                    return refusal(422, yclients!("error_433"));
                };
                let (date, wall) = (at.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S").to_string(), self.wall(at));
                let record = &mut self.records[index];
                record["datetime"] = json!(wall);
                record["date"] = json!(date);
                if let Some(comment) = body["comment"].as_str() {
                    record["comment"] = json!(comment);
                }
                envelope(200, record.clone())
            }
            ("GET", ["record", COMPANY, id]) => match self.records.iter().find(|r| id_text(&r["id"]) == *id) {
                Some(record) => envelope(200, record.clone()),
                None => not_found(),
            },
            ("DELETE", ["record", COMPANY, id]) => {
                match self.records.iter_mut().find(|r| id_text(&r["id"]) == *id && r["deleted"] == false) {
                    Some(record) => {
                        record["deleted"] = json!(true);
                        ResponseTemplate::new(204)
                    }
                    None => not_found(),
                }
            }
            ("GET", ["records", COMPANY]) => {
                let day = |key: &str| NaiveDate::parse_from_str(&query[key], "%Y-%m-%d").unwrap();
                let (first, last) = (day("start_date"), day("end_date"));
                let page: usize = query["page"].parse().unwrap();
                let count: usize = query["count"].parse().unwrap();
                let mut found: Vec<Value> = self
                    .records
                    .iter()
                    .filter(|r| {
                        let date = self.start_of(r).with_timezone(&self.tz).date_naive();
                        let client = query.get("client_id").is_none_or(|c| id_text(&r["client"]["id"]) == *c);
                        date >= first && date <= last && client
                    })
                    .cloned()
                    .collect();
                found.sort_by_key(|r| self.start_of(r));
                let found: Vec<Value> = found.into_iter().skip((page - 1) * count).take(count).collect();
                envelope(200, json!(found))
            }
            ("POST", ["company", COMPANY, "clients", "search"]) => {
                let wanted = body["filters"][0]["state"]["value"].as_str().unwrap_or_default().to_owned();
                let found: Vec<Value> = self
                    .clients
                    .iter()
                    .filter(|(phone, _)| !wanted.is_empty() && phone.contains(&wanted))
                    .map(|(phone, id)| json!({ "id": id, "phone": format!("+{phone}") }))
                    .collect();
                envelope(200, json!(found))
            }
            _ => ResponseTemplate::new(500).set_body_string(format!("not served: {} {path}", request.method)),
        }
    }
}

impl Respond for SalonServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().answer(request)
    }
}

#[tokio::test]
async fn yclients_booking_conforms() {
    let (builtin, clock) = demo_builtin().await;
    let tz = chrono_tz::Asia::Almaty;
    let now = clock.now();
    let mut salon = Salon {
        tz,
        today: now.with_timezone(&tz).date_naive(),
        records: Vec::new(),
        clients: BTreeMap::new(),
        next_record: 2_820_098,
    };
    // Ольга (the demo's C2) has a haircut with Анна in four days.
    let others_at = tz.from_local_datetime(&(salon.today + chrono::Days::new(4)).and_hms_opt(12, 0, 0).unwrap());
    let others = salon.record("501", "1001", others_at.unwrap().to_utc(), "+77025556677", "Ольга", "");
    let server = MockServer::start().await;
    Mock::given(any()).respond_with(SalonServer(Arc::new(Mutex::new(salon)))).mount(&server).await;

    let config = YclientsConfig {
        base_url: format!("{}/api/v1", server.uri()),
        company_id: COMPANY.parse().unwrap(),
        partner_token: SecretString::from("partner"),
        user_token: Some(SecretString::from("user")),
        service_codes: BTreeMap::from([("1001".into(), "haircut".into())]),
        staff_codes: BTreeMap::from([("501".into(), "anna".into())]),
        max_days: 7,
    };
    let adapters = builtin.adapters();
    let yclients = Yclients::new(&config, adapters.crm.clone(), tz).unwrap().with_clock(clock.clone());
    let fixture = Fixture { others_booking: others.to_string(), ..Fixture::demo(now) };
    assert_conforms("yclients booking", contract::booking(&yclients, &fixture).await);
    let records_made = || async {
        let asked = server.received_requests().await.unwrap();
        asked.iter().filter(|r| r.method.as_str() == "POST" && r.url.path().ends_with("/book_record/4564")).count()
    };
    assert_eq!(records_made().await, 1, "the repeated key made no second record");

    // A key repeated after a restart (nothing remembered in the process) is found in YCLIENTS.
    let restarted = || Yclients::new(&config, adapters.crm.clone(), tz).unwrap().with_clock(clock.clone());
    let (from, to) = (now + chrono::Duration::days(3), now + chrono::Duration::days(6));
    let slot = restarted().free_slots("haircut", None, from, to).await.unwrap()[0].clone();
    let first = restarted().book(&fixture.customer, "haircut", &slot, "restart-key").await.unwrap().unwrap();
    let again = restarted().book(&fixture.customer, "haircut", &slot, "restart-key").await.unwrap().unwrap();
    assert_eq!(first, again);
    assert_eq!(records_made().await, 2);
}

// --- CDEK ----------------------------------------------------------------------------------

macro_rules! cdek {
    ($name:literal) => {
        include_str!(concat!("../../crates/core/src/adapters/cdek/fixtures/", $name, ".json"))
    };
}

/// The demo's orders tracked through a CDEK that knows the parcel of Ерлан's order 78234
/// (tracking number 1234567890, at a pick-up point) and no other.
#[tokio::test]
async fn cdek_logistics_conforms() {
    let (builtin, clock) = demo_builtin().await;
    let server = MockServer::start().await;
    let json = |status: u16, body: &str| refusal(status, body);
    Mock::given(method("POST"))
        .and(path("/v2/oauth/token"))
        .respond_with(json(200, cdek!("token")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/orders"))
        .and(query_param("cdek_number", "1234567890"))
        .respond_with(json(200, cdek!("order_at_pick_up_point")))
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/v2/orders")).respond_with(json(400, cdek!("not_found"))).mount(&server).await;
    let config = CdekConfig {
        base_url: format!("{}/v2", server.uri()),
        client_id: "demo-client".into(),
        client_secret: SecretString::from("demo-secret"),
        lookup: CdekLookup::CdekNumber,
        timeout_ms: 1000,
        orders: "builtin".into(),
    };
    let cdek = Cdek::new(&config, builtin.adapters().logistics).unwrap().with_time_zone(chrono_tz::Asia::Almaty);
    let fixture = Fixture::demo(clock.now());
    assert_conforms("cdek logistics", contract::logistics(&cdek, &fixture).await);
    // CDEK was asked about the customer's parcel, and its wording is the order's.
    let own = cdek.order(&fixture.customer, &fixture.own_order).await.unwrap().unwrap();
    assert!(own.delivery.and_then(|d| d.note).is_some(), "CDEK's status is not shown");
    let asked = server.received_requests().await.unwrap();
    assert!(asked.iter().any(|r| r.url.query().is_some_and(|q| q.contains("cdek_number=1234567890"))));
}
