//! The dialogue state machine and its storage in cabinet's own database, so that a restart
//! does not lose a customer's place in a dialogue. The states that ask a question are
//! branches of the schema (`case![State::…]`).

use std::sync::Arc;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;

use crate::adapters::{NewOrder, Slot, SubscriptionChange};
use crate::nlu::Entities;
use crate::store::{Store, StoreError};

/// Where a chat is in its conversation with the bot. What the customer may see is decided
/// by the store (consent, binding), never by this state alone.
///
/// One value per chat, read from the store once per update: its size (the drafted order in
/// `Ready`) costs nothing worth boxing for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Nothing asked yet.
    #[default]
    Start,
    /// The terms were shown with the «Принимаю» button.
    AwaitingConsent,
    /// The terms were accepted; the contact button was shown.
    AwaitingContact,
    /// Identified: the main menu and free text.
    Ready {
        /// Free-text messages not understood in a row.
        #[serde(default)]
        misunderstood: u8,
        /// What the last unclear message named (an order number, a period…), kept while the
        /// bot asks "did you mean…?" so the answer can use it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pending: Option<Entities>,
        /// An order or subscription change shown for confirmation.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        draft: Option<Draft>,
    },
    /// «Пополнить»: the amount is asked.
    AwaitingTopUpAmount,
    /// A sensitive change waits for the one-time code sent to the customer's phone.
    AwaitingCode { key: String, change: SubscriptionChange },
    /// Free times were shown for a booking (or a move); a typed time is read as a choice.
    ChoosingTime {
        service: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        staff: Option<String>,
        /// The booking being moved, if this is a move.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        moving: Option<String>,
    },
}

/// Something shown with Confirm / Cancel buttons, waiting for the customer's decision. The
/// buttons carry `key`, which is also the idempotency key of the request it makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Draft {
    Order {
        key: String,
        order: NewOrder,
    },
    Change {
        key: String,
        change: SubscriptionChange,
    },
    /// A new booking, or a move of `moving` to `slot`.
    Booking {
        key: String,
        service: String,
        slot: Slot,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        moving: Option<String>,
    },
    /// The booking `key` confirmed: a second tap on its button is told so.
    Booked {
        key: String,
        booking_id: String,
    },
}

impl State {
    /// Identified, with nothing pending.
    pub fn ready() -> State {
        State::Ready { misunderstood: 0, pending: None, draft: None }
    }

    /// Identified, with this draft waiting for confirmation.
    pub fn with_draft(draft: Draft) -> State {
        State::Ready { misunderstood: 0, pending: None, draft: Some(draft) }
    }

    /// The draft waiting for confirmation, if any.
    pub fn draft(&self) -> Option<&Draft> {
        match self {
            State::Ready { draft, .. } => draft.as_ref(),
            _ => None,
        }
    }
}

/// teloxide's dialogue storage over [`Store`].
pub struct StoreStorage {
    store: Store,
}

impl StoreStorage {
    pub fn new(store: Store) -> Arc<Self> {
        Arc::new(Self { store })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("dialogue state is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

impl Storage<State> for StoreStorage {
    type Error = StateError;

    fn remove_dialogue(self: Arc<Self>, chat_id: ChatId) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move { Ok(self.store.remove_dialogue_state(chat_id.0).await?) })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: State,
    ) -> BoxFuture<'static, Result<(), Self::Error>> {
        Box::pin(async move {
            let json = serde_json::to_string(&dialogue)?;
            Ok(self.store.set_dialogue_state(chat_id.0, &json).await?)
        })
    }

    fn get_dialogue(self: Arc<Self>, chat_id: ChatId) -> BoxFuture<'static, Result<Option<State>, Self::Error>> {
        Box::pin(async move {
            match self.store.dialogue_state(chat_id.0).await? {
                // A state written by another version that this one cannot read starts over
                // rather than locking the customer out.
                Some(json) => Ok(Some(serde_json::from_str(&json).unwrap_or_else(|e| {
                    tracing::warn!(chat = chat_id.0, error = %e, "unreadable dialogue state; starting over");
                    State::Start
                }))),
                None => Ok(None),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_stored_as_tagged_json() {
        let json = serde_json::to_string(&State::Ready { misunderstood: 1, pending: None, draft: None }).unwrap();
        assert_eq!(json, r#"{"state":"ready","misunderstood":1}"#);
        assert_eq!(serde_json::from_str::<State>(r#"{"state":"ready"}"#).unwrap(), State::ready());
        let pending = Entities { order_id: Some("78234".into()), ..Default::default() };
        let state = State::Ready { misunderstood: 1, pending: Some(pending), draft: None };
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(json, r#"{"state":"ready","misunderstood":1,"pending":{"order_id":"78234"}}"#);
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
        assert_eq!(serde_json::from_str::<State>(r#"{"state":"awaiting_contact"}"#).unwrap(), State::AwaitingContact);
        let draft =
            State::with_draft(Draft::Change { key: "k1".into(), change: SubscriptionChange::Tariff("max".into()) });
        let json = serde_json::to_string(&draft).unwrap();
        assert_eq!(
            json,
            r#"{"state":"ready","misunderstood":0,"draft":{"kind":"change","key":"k1","change":{"kind":"tariff","code":"max"}}}"#
        );
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), draft);
        let waiting = State::AwaitingCode { key: "k2".into(), change: SubscriptionChange::Pause };
        let json = serde_json::to_string(&waiting).unwrap();
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), waiting);
    }
}
