//! The sandbox's HTTP side: routes `/bot{token}/{method}`, reads parameters from JSON,
//! forms, multipart bodies and query strings, and answers in Telegram's envelope.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::methods::{self, Answer, Failure, Params, Upload};
use super::state::Shared;

/// Telegram's upload limit for bots (50 MB) plus room for the other fields.
const BODY_LIMIT: usize = 52 * 1024 * 1024;

/// Form fields that carry JSON objects or arrays.
const JSON_FIELDS: &[&str] = &[
    "reply_markup",
    "entities",
    "caption_entities",
    "reply_parameters",
    "link_preview_options",
    "commands",
    "scope",
    "menu_button",
    "allowed_updates",
    "prices",
];

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).layer(DefaultBodyLimit::max(BODY_LIMIT)).with_state(shared)
}

fn respond(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn fail(failure: &Failure) -> Response {
    respond(failure.code, failure.to_json().to_string())
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let mut segments = path.split('/').filter(|s| !s.is_empty());
    let (Some(bot), Some(method), None) = (segments.next(), segments.next(), segments.next()) else {
        return fail(&Failure::new(404, "Not Found"));
    };
    let Some(token) = bot.strip_prefix("bot") else {
        return fail(&Failure::new(404, "Not Found"));
    };
    if token != shared.token {
        return fail(&Failure::new(401, "Unauthorized"));
    }
    if request.method() != Method::GET && request.method() != Method::POST {
        return fail(&Failure::new(405, "Method Not Allowed"));
    }
    let method = methods::canonical(method).map_or_else(|| method.to_owned(), str::to_owned);
    let params = match read_params(request).await {
        Ok(p) => p,
        Err(f) => return fail(&f),
    };
    {
        let mut st = shared.lock();
        if st.keep_calls {
            st.calls.push((method.clone(), log_json(&params)));
        }
    }
    let answer = methods::call(&shared, &method, params).await;
    shared.calls_version.send_modify(|v| *v = v.wrapping_add(1));
    match answer {
        Ok(Answer::Value(v)) => respond(200, json!({ "ok": true, "result": v }).to_string()),
        Ok(Answer::Raw(result)) => {
            let mut body = String::with_capacity(result.len() + 24);
            body.push_str("{\"ok\":true,\"result\":");
            body.push_str(&result);
            body.push('}');
            respond(200, body)
        }
        Err(f) => fail(&f),
    }
}

/// Gathers the parameters: the query string first, then the body (JSON, urlencoded or
/// multipart) on top.
async fn read_params(request: Request) -> Result<Params, Failure> {
    let mut params = Params::default();
    if let Some(query) = request.uri().query() {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            params.map.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        read_multipart(request, &mut params).await?;
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| Failure::new(413, "Request Entity Too Large"))?;
        if content_type.starts_with("application/x-www-form-urlencoded") {
            for (k, v) in url::form_urlencoded::parse(&bytes) {
                params.map.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        } else if !bytes.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(obj)) => params.map.extend(obj),
                Ok(_) => return Err(Failure::bad("the request body must be a JSON object")),
                Err(e) => return Err(Failure::bad(format!("can't parse JSON request body: {e}"))),
            }
        }
    }
    for key in JSON_FIELDS {
        if let Some(Value::String(s)) = params.map.get(*key)
            && let Ok(v @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(s)
        {
            params.map.insert((*key).to_owned(), v);
        }
    }
    Ok(params)
}

async fn read_multipart(request: Request, params: &mut Params) -> Result<(), Failure> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Failure::new(413, "Request Entity Too Large")
        } else {
            Failure::bad(format!("can't parse multipart/form-data: {}", e.body_text()))
        }
    };
    let request = request.map(Body::new);
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| Failure::bad(format!("can't parse multipart/form-data: {}", e.body_text())))?;
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(str::to_owned);
        let bytes = field.bytes().await.map_err(malformed)?;
        match file_name {
            Some(file_name) => {
                params.files.insert(name, Upload { file_name, content_type, bytes });
            }
            None => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                params.map.insert(name, Value::String(text));
            }
        }
    }
    Ok(())
}

/// The parameters as the call log keeps them: files as their name and size.
fn log_json(params: &Params) -> Value {
    let mut map = params.map.clone();
    let describe = |u: &Upload| json!({ "file_name": u.file_name, "size": u.bytes.len() });
    for (field, upload) in &params.files {
        let reference = format!("attach://{field}");
        let referring: Vec<String> =
            map.iter().filter(|(_, v)| v.as_str() == Some(reference.as_str())).map(|(k, _)| k.clone()).collect();
        if referring.is_empty() {
            map.insert(field.clone(), describe(upload));
        }
        for key in referring {
            map.insert(key, describe(upload));
        }
    }
    Value::Object(map)
}
