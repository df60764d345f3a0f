//! Understanding free text: intents and entities (PRODUCT §5), driven by the data files in
//! the top-level `dialogues/` folder (embedded in the binary; a directory given in the config
//! overrides them so a business can tune wording without recompiling).
//! (Stub interface: the full implementation replaces this.)

use std::io::{BufRead, Write};
use std::path::Path;

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domain::Locale;

/// The intents, exactly as named in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Balance,
    Bonuses,
    TopUp,
    OrderStatus,
    OrderHistory,
    RepeatOrder,
    Documents,
    Booking,
    BookingList,
    BookingReschedule,
    BookingCancel,
    Subscription,
    Offers,
    Referral,
    Notifications,
    Operator,
    Privacy,
    Language,
    Help,
    Greeting,
    Thanks,
    Unknown,
}

impl Intent {
    pub const ALL: [Intent; 22] = [
        Intent::Balance,
        Intent::Bonuses,
        Intent::TopUp,
        Intent::OrderStatus,
        Intent::OrderHistory,
        Intent::RepeatOrder,
        Intent::Documents,
        Intent::Booking,
        Intent::BookingList,
        Intent::BookingReschedule,
        Intent::BookingCancel,
        Intent::Subscription,
        Intent::Offers,
        Intent::Referral,
        Intent::Notifications,
        Intent::Operator,
        Intent::Privacy,
        Intent::Language,
        Intent::Help,
        Intent::Greeting,
        Intent::Thanks,
        Intent::Unknown,
    ];

    /// The contract name ("order_status").
    pub fn as_str(self) -> &'static str {
        todo!()
    }

    pub fn parse(s: &str) -> Option<Intent> {
        todo!("{s}")
    }
}

/// Entities found in a message; only those present are serialised.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Entities {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    /// act, invoice, receipt, contract, statement
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doc_kind: Option<String>,
    /// "YYYY-MM"
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// "YYYY-MM-DD"
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// "HH:MM"
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staff: Option<String>,
    /// change, pause, resume, add_option, remove_option
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_action: Option<String>,
}

/// The result for one message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub intent: Intent,
    pub entities: Entities,
    /// 0.0 ..= 1.0
    pub confidence: f32,
    /// The next likeliest intents with their scores, best first (for "did you mean…?").
    #[serde(skip)]
    pub alternatives: Vec<(Intent, f32)>,
    /// The language the message is written in.
    #[serde(skip)]
    pub locale: Locale,
}

/// A named thing of the business's catalogue (a service or a staff member) the customer may
/// mention: its code and its names in every language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub code: String,
    pub names: Vec<String>,
}

/// What of the business's catalogue the recogniser must know by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    pub services: Vec<Named>,
    pub staff: Vec<Named>,
}

#[derive(Debug, thiserror::Error)]
pub enum NluError {
    #[error("{file}:{line}: {message}")]
    Data { file: String, line: usize, message: String },
    #[error("{0}")]
    Io(String),
}

/// The recogniser. Cheap to share (`Arc`), immutable after loading.
pub struct Nlu {}

impl Nlu {
    /// From the data files compiled into the binary.
    pub fn embedded(catalog: Catalog) -> Result<Nlu, NluError> {
        todo!("{catalog:?}")
    }

    /// From the data files in `dir` (the same layout as the top-level `dialogues/`).
    pub fn from_dir(dir: &Path, catalog: Catalog) -> Result<Nlu, NluError> {
        todo!("{dir:?} {catalog:?}")
    }

    /// Classifies one message. `now` is the local wall time of the business (relative dates
    /// resolve against it); `hint` is the customer's language, a hint only.
    pub fn classify(&self, text: &str, now: NaiveDateTime, hint: Option<Locale>) -> Classification {
        todo!("{text} {now} {hint:?}")
    }
}

/// `cabinet classify`: one message per input line, one JSON object per output line, same order.
pub fn classify_lines(
    nlu: &Nlu,
    input: impl BufRead,
    mut output: impl Write,
    now: NaiveDateTime,
    hint: Option<Locale>,
) -> std::io::Result<()> {
    let _ = (nlu, input, &mut output, now, hint);
    todo!()
}
