//! `reply_markup` as the sandbox reads it: inline keyboards (validated like Telegram), reply
//! keyboards, keyboard removal and force-reply.

use serde_json::{Map, Value};

use super::methods::Failure;
use super::{InlineButton, ReplyButton};

/// The `reply_markup` of a request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Markup {
    None,
    /// Rows of inline buttons, and the rows as they are echoed back in messages.
    Inline {
        rows: Vec<Vec<InlineButton>>,
        json: Value,
    },
    Reply {
        rows: Vec<Vec<ReplyButton>>,
        one_time: bool,
    },
    Remove,
    ForceReply,
}

/// The inline button fields Telegram knows, one of which a button must carry.
const INLINE_KINDS: &[&str] = &[
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
];

fn cant_parse() -> Failure {
    Failure::bad("can't parse reply keyboard markup JSON object")
}

fn button_error(what: &str) -> Failure {
    Failure::bad(format!("can't parse inline keyboard button: {what}"))
}

/// Reads a `reply_markup` value (already parsed from JSON).
pub(crate) fn parse(value: Option<Value>) -> Result<Markup, Failure> {
    let Some(value) = value else { return Ok(Markup::None) };
    let Value::Object(obj) = value else { return Err(cant_parse()) };
    if let Some(rows) = obj.get("inline_keyboard") {
        return parse_inline(rows);
    }
    if let Some(rows) = obj.get("keyboard") {
        let one_time = obj.get("one_time_keyboard").is_some_and(truthy);
        return Ok(Markup::Reply { rows: parse_reply_rows(rows)?, one_time });
    }
    if obj.get("remove_keyboard").is_some_and(truthy) {
        return Ok(Markup::Remove);
    }
    if obj.get("force_reply").is_some_and(truthy) {
        return Ok(Markup::ForceReply);
    }
    Err(cant_parse())
}

/// Whether any button of the rows is a pay button.
pub(crate) fn has_pay_button(rows: &[Vec<InlineButton>]) -> bool {
    rows.iter().flatten().any(|b| b.pay)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true" || s == "1",
        Value::Number(n) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn parse_inline(rows: &Value) -> Result<Markup, Failure> {
    let Value::Array(rows) = rows else {
        return Err(Failure::bad("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array"));
    };
    let mut out_rows = Vec::with_capacity(rows.len());
    let mut json_rows = Vec::with_capacity(rows.len());
    for row in rows {
        let Value::Array(row) = row else {
            return Err(Failure::bad(
                "field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays",
            ));
        };
        let mut out_row = Vec::with_capacity(row.len());
        let mut json_row = Vec::with_capacity(row.len());
        for button in row {
            let (b, json) = parse_inline_button(button)?;
            out_row.push(b);
            json_row.push(json);
        }
        out_rows.push(out_row);
        json_rows.push(Value::Array(json_row));
    }
    Ok(Markup::Inline { rows: out_rows, json: Value::Array(json_rows) })
}

fn parse_inline_button(button: &Value) -> Result<(InlineButton, Value), Failure> {
    let Value::Object(obj) = button else { return Err(button_error("InlineKeyboardButton must be an Object")) };
    let Some(Value::String(text)) = obj.get("text") else {
        return Err(button_error("Field \"text\" must be of type String"));
    };
    // `"pay": false` is no pay button at all.
    let present = |k: &str| obj.get(k).is_some_and(|v| !v.is_null() && (k != "pay" || *v != Value::Bool(false)));
    let kinds: Vec<&str> = INLINE_KINDS.iter().copied().filter(|k| present(k)).collect();
    let Some(&kind) = kinds.first() else {
        return Err(Failure::bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ));
    };
    let value = &obj[kind];
    let mut button = InlineButton { text: text.clone(), callback_data: None, url: None, web_app_url: None, pay: false };
    match kind {
        "callback_data" => {
            let data = value.as_str().ok_or_else(|| button_error("Field \"callback_data\" must be of type String"))?;
            if data.is_empty() || data.len() > 64 {
                return Err(Failure::bad("BUTTON_DATA_INVALID"));
            }
            button.callback_data = Some(data.to_owned());
        }
        "url" => {
            let url = value.as_str().ok_or_else(|| button_error("Field \"url\" must be of type String"))?;
            match url::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https" | "tg") => button.url = Some(url.to_owned()),
                _ => return Err(Failure::bad("BUTTON_URL_INVALID")),
            }
        }
        "web_app" => {
            let url = value
                .get("url")
                .and_then(Value::as_str)
                .ok_or_else(|| button_error("Field \"url\" must be of type String"))?;
            if !web_app_url_ok(url) {
                return Err(Failure::bad(format!(
                    "inline keyboard button Web App URL '{url}' is invalid: Only HTTPS links are allowed"
                )));
            }
            button.web_app_url = Some(url.to_owned());
        }
        "pay" => {
            if !truthy(value) {
                return Err(button_error("Field \"pay\" must be of type Boolean"));
            }
            button.pay = true;
        }
        _ => {}
    }
    let mut json = Map::new();
    json.insert("text".to_owned(), Value::String(text.clone()));
    let echoed = if kind == "pay" { Value::Bool(true) } else { value.clone() };
    json.insert(kind.to_owned(), echoed);
    Ok((button, Value::Object(json)))
}

/// Telegram allows only HTTPS Mini App links; the sandbox also allows plain HTTP on the
/// loopback interface so a locally served Mini App can be tried.
fn web_app_url_ok(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => true,
        Ok(u) if u.scheme() == "http" => {
            matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
        }
        _ => false,
    }
}

fn parse_reply_rows(rows: &Value) -> Result<Vec<Vec<ReplyButton>>, Failure> {
    let Value::Array(rows) = rows else {
        return Err(Failure::bad("field \"keyboard\" of the ReplyKeyboardMarkup must be an Array"));
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Value::Array(row) = row else {
            return Err(Failure::bad("field \"keyboard\" of the ReplyKeyboardMarkup must be an Array of Arrays"));
        };
        let mut out_row = Vec::with_capacity(row.len());
        for button in row {
            let b = match button {
                Value::String(text) => ReplyButton { text: text.clone(), request_contact: false },
                Value::Object(obj) => match obj.get("text") {
                    Some(Value::String(text)) => ReplyButton {
                        text: text.clone(),
                        request_contact: obj.get("request_contact").is_some_and(truthy),
                    },
                    _ => {
                        return Err(Failure::bad("can't parse keyboard button: Field \"text\" must be of type String"));
                    }
                },
                _ => {
                    return Err(Failure::bad(
                        "can't parse keyboard button: KeyboardButton must be a String or an Object",
                    ));
                }
            };
            if b.text.trim().is_empty() {
                return Err(Failure::bad("can't parse keyboard button: Text must be non-empty"));
            }
            out_row.push(b);
        }
        out.push(out_row);
    }
    Ok(out)
}
