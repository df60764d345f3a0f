//! Phone numbers in E.164.

/// A phone number in E.164 form ("+77011234567").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("not a phone number")]
    Invalid,
}

impl Phone {
    /// Normalises what people and Telegram send ("8 701 123 45 67", "77011234567",
    /// "+7 (701) 123-45-67", "+44 7700 900123") to E.164; rejects garbage.
    pub fn parse(s: &str) -> Result<Phone, PhoneError> {
        todo!("{s}")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle digits hidden ("+7 701 ***-**-67"), for staff cards and logs.
    pub fn masked(&self) -> String {
        todo!()
    }
}

impl std::fmt::Display for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
