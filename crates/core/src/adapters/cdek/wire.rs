//! CDEK's JSON as it comes (API v2), read leniently: only the fields cabinet uses, unknown
//! fields ignored, `cdek_number` as a number or a string, times with `+0700` or `+07:00`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};

/// The answer of `POST /v2/oauth/token`. CDEK also sends `scope` and `jti`: they are not
/// needed.
#[derive(Debug, Deserialize)]
pub(super) struct TokenAnswer {
    pub access_token: String,
    /// "bearer".
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds the token lives (about 3600).
    pub expires_in: u64,
}

/// The answer of `GET /v2/orders?…`: the order, or errors in `requests`.
#[derive(Debug, Deserialize)]
pub(super) struct OrderAnswer {
    #[serde(default)]
    pub entity: Option<Entity>,
    #[serde(default)]
    pub requests: Option<Vec<RequestInfo>>,
}

impl OrderAnswer {
    /// The error codes CDEK gave, in order.
    pub fn error_codes(&self) -> Vec<&str> {
        self.requests.iter().flatten().flat_map(|r| r.errors.iter().flatten()).map(|e| e.code.as_str()).collect()
    }

    /// CDEK does not know the order (`v2_entity_not_found`, `v2_entity_not_found_im_number`).
    pub fn is_not_found(&self) -> bool {
        self.error_codes().iter().any(|code| code.starts_with("v2_entity_not_found"))
    }
}

/// One request CDEK reports on, with its errors.
#[derive(Debug, Deserialize)]
pub(super) struct RequestInfo {
    #[serde(default)]
    pub errors: Option<Vec<ApiError>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct ApiError {
    pub code: String,
}

/// A CDEK order (the fields cabinet shows).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Entity {
    /// CDEK's number of the parcel: documented as a number, sent as a string.
    #[serde(default, deserialize_with = "number_or_string")]
    pub cdek_number: Option<String>,
    #[serde(default)]
    pub to_location: Option<Location>,
    /// "2025-01-12".
    #[serde(default)]
    pub planned_delivery_date: Option<String>,
    /// Newest first.
    #[serde(default)]
    pub statuses: Option<Vec<Status>>,
}

impl Entity {
    /// The newest status that is not deleted.
    pub fn current_status(&self) -> Option<&Status> {
        // Newest first as documented; the latest time wins if the order is ever different,
        // the first listed among equal times.
        self.statuses.iter().flatten().filter(|s| !s.deleted).fold(None, |best: Option<&Status>, s| match best {
            Some(b) if b.date_time >= s.date_time => Some(b),
            _ => Some(s),
        })
    }

    /// The planned delivery date, when CDEK gives one that reads as a date.
    pub fn planned_date(&self) -> Option<NaiveDate> {
        let text = self.planned_delivery_date.as_deref()?.trim();
        NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
    }
}

/// Where the parcel goes.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Location {
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl Location {
    /// "Алматы, ул. Ленина 15, кв. 42" (the city once).
    pub fn text(&self) -> Option<String> {
        let city = self.city.as_deref().map(str::trim).filter(|c| !c.is_empty());
        let address = self.address.as_deref().map(str::trim).filter(|a| !a.is_empty());
        match (city, address) {
            (Some(city), Some(address)) if address.to_lowercase().contains(&city.to_lowercase()) => {
                Some(address.to_owned())
            }
            (Some(city), Some(address)) => Some(format!("{city}, {address}")),
            (city, address) => city.or(address).map(str::to_owned),
        }
    }
}

/// One status of a CDEK order.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Status {
    /// "DELIVERED".
    pub code: String,
    /// CDEK's Russian wording: "Вручен".
    #[serde(default)]
    pub name: String,
    #[serde(deserialize_with = "cdek_time")]
    pub date_time: DateTime<Utc>,
    #[serde(default)]
    pub city: Option<String>,
    /// The status was withdrawn: it does not count.
    #[serde(default)]
    pub deleted: bool,
}

fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Value {
        Number(u64),
        Text(String),
    }
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Text(s)) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        None => None,
    })
}

fn cdek_time<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let text = String::deserialize(d)?;
    parse_time(&text).ok_or_else(|| serde::de::Error::custom(format!("not a CDEK time: {text:?}")))
}

/// `yyyy-MM-dd'T'HH:mm:ssZ` as CDEK documents it (`+0700`), and RFC 3339 (`+07:00`, `Z`).
pub(super) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_come_with_and_without_a_colon_in_the_offset() {
        let expected = DateTime::parse_from_rfc3339("2025-01-11T02:12:44Z").unwrap().to_utc();
        assert_eq!(parse_time("2025-01-11T09:12:44+0700"), Some(expected));
        assert_eq!(parse_time("2025-01-11T09:12:44+07:00"), Some(expected));
        assert_eq!(parse_time("2025-01-11T02:12:44Z"), Some(expected));
        assert_eq!(parse_time("2025-01-11T09:12:44.000+0700"), Some(expected));
        assert_eq!(parse_time("11.01.2025 09:12"), None);
    }

    #[test]
    fn the_cdek_number_is_a_number_or_a_string() {
        let entity: Entity = serde_json::from_str(r#"{"cdek_number": 1106207236}"#).unwrap();
        assert_eq!(entity.cdek_number.as_deref(), Some("1106207236"));
        let entity: Entity = serde_json::from_str(r#"{"cdek_number": "1106207236"}"#).unwrap();
        assert_eq!(entity.cdek_number.as_deref(), Some("1106207236"));
        let entity: Entity = serde_json::from_str(r#"{"cdek_number": null}"#).unwrap();
        assert_eq!(entity.cdek_number, None);
    }

    #[test]
    fn the_address_names_the_city_once() {
        let at = |city: Option<&str>, address: Option<&str>| {
            Location { city: city.map(str::to_owned), address: address.map(str::to_owned) }.text()
        };
        assert_eq!(at(Some("Алматы"), Some("ул. Ленина 15")).as_deref(), Some("Алматы, ул. Ленина 15"));
        assert_eq!(at(Some("Алматы"), Some("г. Алматы, ул. Ленина 15")).as_deref(), Some("г. Алматы, ул. Ленина 15"));
        assert_eq!(at(Some("Алматы"), None).as_deref(), Some("Алматы"));
        assert_eq!(at(None, Some(" ")), None);
    }
}
