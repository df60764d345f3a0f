//! The connectors against the conformance suite (`cabinet::adapters::contract`), each for the
//! capabilities it serves, talking over HTTP to a wiremock server that keeps state as the real
//! system does: what the suite creates (a lead, a booking) is answered by the next requests.
//! The records are the connectors' own fixtures, plus another customer's records made in the
//! same shapes, so that scoping is checked.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use cabinet::adapters::CustomerId;
use cabinet::adapters::bitrix24::{Bitrix24, Bitrix24Config};
use cabinet::adapters::contract::{self, Fixture};
use cabinet::domain::Phone;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::any;
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
