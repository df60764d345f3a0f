//! The process's send budget: how many messages it may still send this second without
//! Telegram refusing one (429), shared by the bot's replies and the outbox.
//!
//! Telegram counts the messages arriving in any sliding second. The budget counts the sends
//! that *completed* in the last second by the clock (recorded after Telegram's answer): a
//! message arrives before its send completes, so a send counted here was counted by Telegram
//! no later, and a window kept under the limit here is under it there too.
//!
//! Replies to customers come first: each update of a private chat being handled counts as one
//! reply sent now ([`Budget::reply`]), and is never refused or held back. The outbox sends only
//! while fewer than `per_second` replies and notifications are counted in the last second
//! ([`Budget::free_at`]), so a broadcast uses what the replies leave.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

/// The window the limit is counted over.
const WINDOW: Duration = Duration::seconds(1);

/// A sliding one-second window of the messages sent, by the injected clock (in memory, per
/// process).
#[derive(Debug)]
pub struct Budget {
    per_second: usize,
    /// When the messages counted were sent, oldest first.
    sent: Mutex<VecDeque<DateTime<Utc>>>,
}

impl Budget {
    /// A budget of `per_second` messages in any second (at least one).
    pub fn new(per_second: u32) -> Budget {
        let per_second = usize::try_from(per_second.max(1)).unwrap_or(usize::MAX);
        Budget { per_second, sent: Mutex::new(VecDeque::with_capacity(per_second.min(1024))) }
    }

    /// The messages a second the budget allows.
    pub fn per_second(&self) -> usize {
        self.per_second
    }

    fn sent(&self) -> std::sync::MutexGuard<'_, VecDeque<DateTime<Utc>>> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a reply to a customer sent at `at`: never refused, never waits.
    pub fn reply(&self, at: DateTime<Utc>) {
        self.record(at);
    }

    /// Counts a message whose send completed at `at` (the outbox's, after Telegram answered).
    pub fn record(&self, at: DateTime<Utc>) {
        let mut sent = self.sent();
        forget_before(&mut sent, at);
        // Kept in order even when the clock was set back: a time earlier than the last counted
        // is counted at the last (it stays in the window no shorter).
        let at = sent.back().map_or(at, |last| at.max(*last));
        sent.push_back(at);
        // Replies are never refused, so the window may hold more than `per_second`; it is
        // bounded all the same (the oldest are the first to leave it anyway).
        let bound = self.per_second.saturating_mul(8).max(1024);
        while sent.len() > bound {
            sent.pop_front();
        }
    }

    /// Whether the outbox may send a message at `now`: `None` when fewer than `per_second`
    /// are counted in the second before `now`, else when one more may go (the time enough of
    /// them leave the window).
    pub fn free_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut sent = self.sent();
        forget_before(&mut sent, now);
        if sent.len() < self.per_second {
            return None;
        }
        // After the (len - per_second + 1) oldest leave, fewer than per_second are left.
        let leaving = sent.get(sent.len() - self.per_second).copied().unwrap_or(now);
        Some((leaving + WINDOW).max(now + Duration::nanoseconds(1)))
    }

    /// How many messages are counted in the second before `now`.
    pub fn used(&self, now: DateTime<Utc>) -> usize {
        let mut sent = self.sent();
        forget_before(&mut sent, now);
        sent.len()
    }
}

/// Drops the sends a second or more before `now` (as Telegram's window does).
fn forget_before(sent: &mut VecDeque<DateTime<Utc>>, now: DateTime<Utc>) {
    while sent.front().is_some_and(|at| now - *at >= WINDOW) {
        sent.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_736_571_600, 0).unwrap() + Duration::milliseconds(ms)
    }

    /// Sends as fast as the budget lets, trying every millisecond from `from` to `to`; the times sent.
    fn send_greedily(budget: &Budget, from: i64, to: i64) -> Vec<DateTime<Utc>> {
        let mut times = Vec::new();
        for ms in from..to {
            if budget.free_at(t(ms)).is_none() {
                budget.record(t(ms));
                times.push(t(ms));
            }
        }
        times
    }

    fn assert_never_over(times: &[DateTime<Utc>], per_second: usize) {
        for (i, start) in times.iter().enumerate() {
            if let Some(end) = times.get(i + per_second) {
                assert!(*end - *start >= WINDOW, "{} sends within a second from {start}", per_second + 1);
            }
        }
    }

    #[test]
    fn a_burst_never_exceeds_per_second_in_any_sliding_second() {
        let budget = Budget::new(30);
        let times = send_greedily(&budget, 0, 5_000);
        assert_never_over(&times, 30);
        // And the rate is used: 30 in each of the five seconds.
        assert_eq!(times.len(), 150);
        // Full: the next one is free when the oldest in the window leaves it.
        let budget = Budget::new(3);
        for ms in [0, 10, 20] {
            assert_eq!(budget.free_at(t(ms)), None);
            budget.record(t(ms));
        }
        assert_eq!(budget.free_at(t(500)), Some(t(1000)));
        assert_eq!(budget.free_at(t(1000)), None);
        assert_eq!(budget.used(t(1015)), 1);
    }

    #[test]
    fn replies_reduce_what_the_outbox_may_send_that_second() {
        let budget = Budget::new(10);
        let replies = [0, 0, 0, 0].map(t);
        let mut outbox = Vec::new();
        for ms in 0..1_000 {
            for reply in replies.iter().filter(|r| **r == t(ms)) {
                budget.reply(*reply);
            }
            outbox.extend(send_greedily(&budget, ms, ms + 1));
        }
        assert_eq!(outbox.len(), 6, "ten a second, four of them replies: {outbox:?}");
        // Replies and the outbox together never over the limit.
        let mut all: Vec<_> = outbox.iter().copied().chain(replies).collect();
        all.sort();
        assert_never_over(&all, 10);
        // The next second: two replies, eight for the outbox.
        budget.reply(t(1_000));
        budget.reply(t(1_000));
        assert_eq!(send_greedily(&budget, 1_000, 2_000).len(), 8);
    }

    #[test]
    fn replies_are_never_refused_and_hold_the_outbox_back_while_they_last() {
        let budget = Budget::new(5);
        for ms in 0..20 {
            // Counted whatever the window holds.
            budget.reply(t(ms * 10));
        }
        assert_eq!(budget.used(t(190)), 20);
        // The outbox waits until fewer than five replies are left in the window.
        assert_eq!(budget.free_at(t(200)), Some(t(1150)));
        assert_eq!(budget.free_at(t(1150)), None);
    }

    #[test]
    fn a_clock_set_back_does_not_empty_the_window() {
        let budget = Budget::new(2);
        budget.record(t(1000));
        budget.record(t(0));
        assert!(budget.free_at(t(1500)).is_some(), "both are still counted");
    }
}
