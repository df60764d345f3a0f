#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use super::*;
use crate::adapters::builtin::Builtin;
use crate::adapters::builtin::import::{self, BusinessData};
use crate::clock::{Clock as _, FixedClock};

/// A sink that records what it was given, or fails while `failing`.
#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<Event>>,
    failing: Mutex<bool>,
}

#[async_trait]
impl EventSink for Recorder {
    async fn accept(&self, event: &Event) -> Result<Outcome, SinkError> {
        if *self.failing.lock().unwrap() {
            return Err(SinkError("the outbox is down".into()));
        }
        self.events.lock().unwrap().push(event.clone());
        Ok(Outcome { notifications: 1 })
    }
}

struct Api {
    url: String,
    store: Store,
    sink: Arc<Recorder>,
    clock: Arc<FixedClock>,
    http: reqwest::Client,
    secret: &'static str,
}

const SECRET: &str = "events-secret";
const TOKEN: &str = "events-token";

async fn api(config: EventsConfig) -> Api {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    crate::adapters::builtin::migrate(&store).await.unwrap();
    import::import(&store, &BusinessData::demo(), chrono::Duration::zero()).await.unwrap();
    let clock = FixedClock::new(BusinessData::demo().demo_now_utc().unwrap());
    let sink = Arc::new(Recorder::default());
    let state = EventsState {
        store: store.clone(),
        crm: Builtin::new(store.clone()).adapters().crm,
        sink: sink.clone(),
        clock: clock.clone(),
        config,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{EVENTS_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    Api { url, store, sink, clock, http: reqwest::Client::new(), secret: SECRET }
}

async fn signed_api() -> Api {
    api(EventsConfig { secret: Some(SECRET.into()), ..Default::default() }).await
}

impl Api {
    /// Posts `body` signed at `at` (unix seconds).
    async fn post_at(&self, body: &str, at: i64) -> (u16, Value) {
        let signature = sign::signature(self.secret.as_bytes(), at, "POST", EVENTS_PATH, body.as_bytes());
        let response = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header(sign::TIMESTAMP_HEADER, at.to_string())
            .header(sign::SIGNATURE_HEADER, signature)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn post(&self, body: &str) -> (u16, Value) {
        self.post_at(body, self.clock.now().timestamp()).await
    }

    fn accepted(&self) -> usize {
        self.sink.events.lock().unwrap().len()
    }

    async fn stored(&self) -> i64 {
        store::count(&self.store).await.unwrap()
    }
}

fn shipped(id: &str) -> String {
    json!({
        "id": id,
        "type": "order_status_changed",
        "data": {
            "customer_id": "C1",
            "number": "78234",
            "status": "in_transit",
            "carrier": "CDEK",
            "tracking": "1234567890",
            "eta_from": "2025-01-12T04:00:00Z",
            "eta_to": "2025-01-12T09:00:00Z",
            "courier": { "name": "Асхат", "phone": "+77010000000" }
        }
    })
    .to_string()
}

#[tokio::test]
async fn a_signed_event_is_accepted_once_and_a_repeat_gets_the_same_answer() {
    let api = signed_api().await;
    let (status, first) = api.post(&shipped("evt-1")).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["accepted"], true);
    assert_eq!(first["notifications"], 1);
    assert_eq!(first["duplicate"], false);
    let (status, again) = api.post(&shipped("evt-1")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["notifications"], 1);
    assert_eq!(api.accepted(), 1, "acted on once");
    let event = api.sink.events.lock().unwrap()[0].clone();
    let EventKind::OrderStatusChanged(order) = event.what else { panic!("{event:?}") };
    assert_eq!((order.number.as_str(), order.status), ("78234", OrderStatus::InTransit));
    assert_eq!(order.courier.unwrap().name, "Асхат");
}

#[tokio::test]
async fn a_bad_signature_or_an_old_timestamp_is_refused_and_nothing_is_stored() {
    let mut api = signed_api().await;
    let now = api.clock.now().timestamp();
    let (status, answer) = api.post_at(&shipped("evt-2"), now - 301).await;
    assert_eq!((status, answer["error"].as_str()), (401, Some("unauthorized")), "{answer}");
    api.secret = "someone-elses";
    let (status, _) = api.post(&shipped("evt-2")).await;
    assert_eq!(status, 401);
    let unsigned = api.http.post(&api.url).body(shipped("evt-2")).send().await.unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    assert_eq!((api.accepted(), api.stored().await), (0, 0));
}

#[tokio::test]
async fn a_bearer_token_is_the_other_way_in() {
    let api = api(EventsConfig { token: Some(TOKEN.into()), ..Default::default() }).await;
    let send = |token: &'static str| {
        api.http.post(&api.url).bearer_auth(token).header("content-type", "application/json").body(shipped("evt-3"))
    };
    assert_eq!(send("wrong").send().await.unwrap().status().as_u16(), 401);
    assert_eq!(send(TOKEN).send().await.unwrap().status().as_u16(), 202);
    assert_eq!(api.accepted(), 1);
}

#[tokio::test]
async fn without_a_secret_or_token_the_api_is_off() {
    let api = api(EventsConfig::default()).await;
    let (status, answer) = api.post(&shipped("evt-4")).await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("disabled")));
}

#[tokio::test]
async fn bad_bodies_get_a_clear_4xx_and_nothing_is_stored() {
    let api = signed_api().await;
    let cases: [(&str, u16, &str); 7] = [
        ("{not json", 400, "invalid_json"),
        (r#"{"id":"e","type":"order_teleported","data":{}}"#, 422, "unknown_type"),
        (r#"{"id":"e","type":"payment_due","data":{"customer_id":"C1","amount":"100"}}"#, 422, "invalid_event"),
        (
            r#"{"id":"e","type":"payment_due","data":{"customer_id":"C1","amount":"x","due_date":"2025-01-15"}}"#,
            422,
            "invalid_event",
        ),
        (r#"{"id":"","type":"balance_low","data":{"customer_id":"C1","balance":"10"}}"#, 422, "invalid_event"),
        (r#"{"id":"e","type":"balance_low","data":{"customer_id":"C999","balance":"10"}}"#, 422, "unknown_customer"),
        (r#"{"id":"e","type":"news","data":{"segment":{"kind":"all"},"text":{"ru":" "}}}"#, 422, "invalid_event"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = api.post(body).await;
        assert_eq!((got, answer["error"].as_str()), (status, Some(code)), "{body}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    let big = format!(
        r#"{{"id":"e","type":"news","data":{{"segment":{{"kind":"all"}},"text":{{"ru":"{}"}}}}}}"#,
        "я".repeat(40_000)
    );
    let (status, _) = api.post(&big).await;
    assert_eq!(status, 413);
    assert_eq!((api.accepted(), api.stored().await), (0, 0));
}

#[tokio::test]
async fn an_id_used_for_another_event_is_a_conflict() {
    let api = signed_api().await;
    assert_eq!(api.post(&shipped("evt-5")).await.0, 202);
    let other = json!({"id":"evt-5","type":"balance_low","data":{"customer_id":"C1","balance":"120"}}).to_string();
    let (status, answer) = api.post(&other).await;
    assert_eq!((status, answer["error"].as_str()), (409, Some("id_reused")), "{answer}");
    assert_eq!(api.accepted(), 1);
}

#[tokio::test]
async fn an_event_the_sink_cannot_take_now_is_not_kept_and_a_retry_acts_on_it() {
    let api = signed_api().await;
    *api.sink.failing.lock().unwrap() = true;
    let (status, answer) = api.post(&shipped("evt-6")).await;
    assert_eq!((status, answer["error"].as_str()), (503, Some("unavailable")));
    assert_eq!(api.stored().await, 0);
    *api.sink.failing.lock().unwrap() = false;
    assert_eq!(api.post(&shipped("evt-6")).await.0, 202);
    assert_eq!(api.accepted(), 1);
}

#[tokio::test]
async fn every_type_reads_from_its_documented_shape() {
    let api = signed_api().await;
    let events = [
        json!({"id":"t1","type":"payment_due","data":{"customer_id":"C1","amount":"7990","due_date":"2025-01-15","currency":"KZT"}}),
        json!({"id":"t2","type":"payment_received","data":{"customer_id":"C1","amount":"2000","reference":"top-up-1","balance":"5450"}}),
        json!({"id":"t3","type":"invoice_issued","data":{"customer_id":"C1","document_id":"D-1002","title":{"ru":"Счёт за январь"}}}),
        json!({"id":"t4","type":"balance_low","data":{"customer_id":"C1","balance":"450","days_left":2}}),
        json!({"id":"t5","type":"booking_changed","data":{"customer_id":"C2","booking_id":"B-2001","change":"moved","start":"2025-01-14T08:00:00Z"}}),
        json!({"id":"t6","type":"news","data":{"segment":{"kind":"tag","value":"vip"},"text":{"ru":"Скидка","en":"A discount"}}}),
    ];
    for event in &events {
        let (status, answer) = api.post(&event.to_string()).await;
        assert_eq!(status, 202, "{event}: {answer}");
        assert_eq!(answer["type"], event["type"]);
    }
    let kinds: Vec<&str> = api.sink.events.lock().unwrap().iter().map(|e| e.what.name()).collect();
    assert_eq!(kinds, ["payment_due", "payment_received", "invoice_issued", "balance_low", "booking_changed", "news"]);
}
