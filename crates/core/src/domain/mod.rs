//! Parse-don't-validate domain types: a value of these types is always valid.

pub mod datetime;
pub mod hours;
pub mod locale;
pub mod money;
pub mod period;
pub mod phone;

pub use locale::Locale;
pub use period::Period;
pub use phone::{Phone, PhoneError};
