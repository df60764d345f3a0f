//! What an accepted event does: the customer is told through the notifications outbox (one
//! notification per event id, so a repeat after a crash writes nothing new), and the built-in
//! backend's data follows an order's status.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::*;
use crate::adapters::builtin::Builtin;
use crate::adapters::{Courier as OrderCourier, Delivery};
use crate::bot::Ctx;
use crate::domain::Locale;
use crate::domain::money::format_money;
use crate::i18n::Arg;
use crate::notify::{Category, Message, NewNotification, Notifier, Urgency};

/// The sink of a running bot.
pub struct NotifyingSink {
    pub ctx: Arc<Ctx>,
    pub notifier: Notifier,
    /// The built-in backend, when it serves `logistics`: its orders follow the events.
    pub builtin: Option<Builtin>,
}

impl NotifyingSink {
    /// The text of `key` in every language, for a [`Message::Text`] (plain text: the values
    /// go in raw, as the message is escaped when it is sent).
    fn texts(&self, key: &str, args: &dyn Fn(Locale) -> Vec<(&'static str, Arg)>) -> BTreeMap<String, String> {
        Locale::ALL.into_iter().map(|l| (l.as_str().to_owned(), self.ctx.i18n.t(l, key, &args(l)))).collect()
    }

    fn currency(&self, given: &Option<String>) -> String {
        given.clone().unwrap_or_else(|| self.ctx.settings.currency.clone())
    }

    async fn notify(
        &self,
        customer: &CustomerId,
        key: String,
        category: Category,
        urgency: Urgency,
        message: Message,
    ) -> Result<u32, SinkError> {
        let notification =
            NewNotification { customer_id: customer.clone(), category, urgency, key, message, not_before: None };
        self.notifier.enqueue(notification).await.map_err(|e| SinkError(e.to_string()))?;
        Ok(1)
    }
}

impl NotifyingSink {
    /// News to every bound customer in the segment (asked of the CRM and the billing), one
    /// notification each, keyed by the event and the customer; how many were written.
    async fn news(&self, id: &str, news: &News) -> Result<u32, SinkError> {
        let fail = |e: &dyn std::fmt::Display| SinkError(e.to_string());
        let audience = crate::notify::Audience::from(&news.segment);
        let mut written = 0;
        for customer in crate::notify::broadcast::members(&self.ctx, &audience).await.map_err(|e| fail(&e))? {
            let message = Message::Text { texts: news.text.clone() };
            let key = format!("event:{id}:{customer}");
            written += self.notify(&customer, key, Category::News, Urgency::Normal, message).await?;
        }
        Ok(written)
    }
}

impl NotifyingSink {
    /// A payment through a payment link the bot gave (its `reference`) is marked paid, once,
    /// when it is this customer's: the billing that reported it has credited it already.
    async fn link_paid(&self, id: &str, e: &PaymentReceived) -> Result<(), SinkError> {
        let Some(reference) = e.reference.as_deref() else { return Ok(()) };
        let store = &self.ctx.store;
        let top_up = store.top_up(reference).await.map_err(|e| SinkError(e.to_string()))?;
        match top_up {
            Some(top_up) if top_up.customer_id == e.customer_id && !top_up.paid => {
                store
                    .mark_top_up_paid(reference, &format!("event:{id}"), self.ctx.clock.now())
                    .await
                    .map_err(|e| SinkError(e.to_string()))?;
            }
            Some(top_up) if top_up.customer_id != e.customer_id => {
                tracing::warn!(event = id, "a payment's reference belongs to another customer's top-up; left as it is");
            }
            _ => {}
        }
        Ok(())
    }
}

#[async_trait]
impl EventSink for NotifyingSink {
    async fn accept(&self, event: &Event) -> Result<Outcome, SinkError> {
        let key = format!("event:{}", event.id);
        let notifications = match &event.what {
            EventKind::OrderStatusChanged(e) => {
                if let Some(builtin) = &self.builtin {
                    let delivery = Delivery {
                        address: None,
                        carrier: e.carrier.clone(),
                        tracking: e.tracking.clone(),
                        eta_from: e.eta_from,
                        eta_to: e.eta_to,
                        courier: e
                            .courier
                            .as_ref()
                            .map(|c| OrderCourier { name: c.name.clone(), phone: c.phone.clone() }),
                        note: None,
                        location: None,
                    };
                    builtin
                        .apply_order_status(&e.customer_id, &e.number, &e.status, &delivery)
                        .await
                        .map_err(|e| SinkError(e.to_string()))?;
                }
                let message = Message::OrderUpdate {
                    number: e.number.clone(),
                    status: Some(e.status.clone()),
                    tracking: e.tracking.clone(),
                    carrier: e.carrier.clone(),
                };
                self.notify(&e.customer_id, key, Category::Orders, Urgency::Normal, message).await?
            }
            EventKind::PaymentDue(e) => {
                let message =
                    Message::PaymentDue { date: e.due_date, amount: e.amount, currency: self.currency(&e.currency) };
                self.notify(&e.customer_id, key, Category::Payments, Urgency::Normal, message).await?
            }
            EventKind::PaymentReceived(e) => {
                self.link_paid(&event.id, e).await?;
                let currency = self.currency(&e.currency);
                let texts = self.texts("event-payment-received", &|l| {
                    let balance = e.balance.map_or_else(|| "none".to_owned(), |b| format_money(b, &currency, l));
                    vec![("amount", Arg::Raw(format_money(e.amount, &currency, l))), ("balance", Arg::Raw(balance))]
                });
                self.notify(&e.customer_id, key, Category::Payments, Urgency::Urgent, Message::Text { texts }).await?
            }
            EventKind::InvoiceIssued(e) => {
                // The document itself goes, fetched from the documents backend when it is sent.
                let message = Message::Document {
                    document_id: e.document_id.clone(),
                    titles: e.title.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
                };
                self.notify(&e.customer_id, key, Category::Payments, Urgency::Normal, message).await?
            }
            EventKind::BalanceLow(e) => {
                let message = Message::LowBalance {
                    balance: e.balance,
                    currency: self.currency(&e.currency),
                    days: e.days_left.unwrap_or(2),
                };
                self.notify(&e.customer_id, key, Category::Payments, Urgency::Normal, message).await?
            }
            EventKind::BookingChanged(e) => {
                crate::bot::reminders::booking_id_changed(&self.ctx, &e.customer_id, &e.booking_id)
                    .await
                    .map_err(|e| SinkError(format!("{e:#}")))?;
                let change = match e.change {
                    BookingChange::Booked => "booked",
                    BookingChange::Moved => "moved",
                    BookingChange::Cancelled => "cancelled",
                };
                let message = Message::BookingUpdate {
                    booking_id: e.booking_id.clone(),
                    change: change.to_owned(),
                    start: e.start,
                };
                self.notify(&e.customer_id, key, Category::Bookings, Urgency::Normal, message).await?
            }
            EventKind::News(news) => self.news(&event.id, news).await?,
        };
        Ok(Outcome { notifications })
    }
}
