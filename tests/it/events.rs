//! The events API against its published contract: every example of `docs/events-api.yaml`
//! is accepted as documented, signed the documented way.

use std::sync::{Arc, Mutex};

use cabinet::adapters::builtin::Builtin;
use cabinet::adapters::builtin::import::{self, BusinessData};
use cabinet::adapters::http::sign;
use cabinet::clock::{Clock as _, FixedClock};
use cabinet::events::{EVENTS_PATH, Event, EventSink, EventsConfig, EventsState, Outcome, SinkError};
use serde_json::Value;

const CONTRACT: &str = include_str!("../../docs/events-api.yaml");

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl EventSink for Recorder {
    async fn accept(&self, event: &Event) -> Result<Outcome, SinkError> {
        self.0.lock().unwrap().push(event.id.clone());
        Ok(Outcome { notifications: 1 })
    }
}

#[tokio::test]
async fn every_example_of_the_events_contract_is_accepted_as_documented() {
    let contract: Value =
        serde_json::to_value(serde_norway::from_str::<serde_norway::Value>(CONTRACT).unwrap()).unwrap();
    let post = &contract["paths"][EVENTS_PATH]["post"];
    let examples = post["requestBody"]["content"]["application/json"]["examples"].as_object().unwrap();
    let types = contract["components"]["schemas"]["Event"]["properties"]["type"]["enum"].as_array().unwrap();
    assert_eq!(examples.len(), types.len(), "one example per type");

    let store = cabinet::app::open_store("sqlite::memory:").await.unwrap();
    import::import(&store, &BusinessData::demo(), chrono::Duration::zero()).await.unwrap();
    let clock = FixedClock::new(BusinessData::demo().demo_now_utc().unwrap());
    let sink = Arc::new(Recorder::default());
    let secret = "a-secret-of-sixteen+";
    let state = EventsState {
        store: store.clone(),
        crm: Builtin::new(store.clone()).adapters().crm,
        sink: sink.clone(),
        clock: clock.clone(),
        config: EventsConfig { secret: Some(secret.into()), ..Default::default() },
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{EVENTS_PATH}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, cabinet::events::router(state)).await });

    let http = reqwest::Client::new();
    for (name, example) in examples {
        let body = example["value"].to_string();
        let at = clock.now().timestamp();
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .header(sign::TIMESTAMP_HEADER, at.to_string())
            .header(
                sign::SIGNATURE_HEADER,
                sign::signature(secret.as_bytes(), at, "POST", EVENTS_PATH, body.as_bytes()),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, 202, "{name}: {answer}");
        assert_eq!(answer["type"].as_str(), Some(name.as_str()));
    }
    assert_eq!(sink.0.lock().unwrap().len(), examples.len());
    // The documented signing example is what the code computes.
    let worked = sign::signature(b"demo-secret", 1_736_575_200, "POST", EVENTS_PATH, b"{}");
    assert!(CONTRACT.contains("1736575200.POST./api/v1/events.{}"), "the contract shows the signed string");
    assert!(worked.starts_with("v1=") && worked.len() == 67, "{worked}");
}
