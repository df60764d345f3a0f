//! Reading store rows into Rust values: every failure names the table and column, so a
//! corrupt record surfaces as [`StoreError::Corrupt`] instead of a panic.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use sqlx::any::AnyRow;
use sqlx::{Any, Decode, Row, Type};

use super::{StoreError, StoreResult, time_from_db};
use crate::domain::money::from_minor;
use crate::domain::{Locale, Phone};

/// A row of `table`, read column by column.
pub(crate) struct Cols<'r> {
    row: &'r AnyRow,
    table: &'static str,
}

impl<'r> Cols<'r> {
    pub(crate) fn new(row: &'r AnyRow, table: &'static str) -> Self {
        Self { row, table }
    }

    fn corrupt(&self, col: &str, what: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(format!("{}.{col}: {what}", self.table))
    }

    fn get<T>(&self, col: &str) -> StoreResult<T>
    where
        T: for<'a> Decode<'a, Any> + Type<Any>,
    {
        self.row.try_get::<T, _>(col).map_err(|e| self.corrupt(col, e))
    }

    pub(crate) fn i64(&self, col: &str) -> StoreResult<i64> {
        self.get(col)
    }

    pub(crate) fn opt_i64(&self, col: &str) -> StoreResult<Option<i64>> {
        self.get(col)
    }

    pub(crate) fn opt_f64(&self, col: &str) -> StoreResult<Option<f64>> {
        self.get(col)
    }

    pub(crate) fn text(&self, col: &str) -> StoreResult<String> {
        self.get(col)
    }

    pub(crate) fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.get(col)
    }

    /// Integer minor units as a decimal amount.
    pub(crate) fn money(&self, col: &str) -> StoreResult<Decimal> {
        self.i64(col).map(from_minor)
    }

    pub(crate) fn opt_money(&self, col: &str) -> StoreResult<Option<Decimal>> {
        Ok(self.opt_i64(col)?.map(from_minor))
    }

    pub(crate) fn time(&self, col: &str) -> StoreResult<DateTime<Utc>> {
        let text = self.text(col)?;
        time_from_db(&text).ok_or_else(|| self.corrupt(col, format_args!("not a time: {text:?}")))
    }

    pub(crate) fn opt_time(&self, col: &str) -> StoreResult<Option<DateTime<Utc>>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(text) => {
                time_from_db(&text).map(Some).ok_or_else(|| self.corrupt(col, format_args!("not a time: {text:?}")))
            }
        }
    }

    pub(crate) fn opt_date(&self, col: &str) -> StoreResult<Option<NaiveDate>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(text) => NaiveDate::parse_from_str(&text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| self.corrupt(col, format_args!("not a date: {text:?}"))),
        }
    }

    pub(crate) fn phone(&self, col: &str) -> StoreResult<Phone> {
        let text = self.text(col)?;
        Phone::parse(&text).map_err(|_| self.corrupt(col, "not a phone number"))
    }

    pub(crate) fn locale(&self, col: &str) -> StoreResult<Locale> {
        let text = self.text(col)?;
        Locale::parse(&text).ok_or_else(|| self.corrupt(col, format_args!("not a locale: {text:?}")))
    }

    pub(crate) fn opt_locale(&self, col: &str) -> StoreResult<Option<Locale>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(text) => {
                Locale::parse(&text).map(Some).ok_or_else(|| self.corrupt(col, format_args!("not a locale: {text:?}")))
            }
        }
    }

    /// A JSON text column.
    pub(crate) fn json<T: DeserializeOwned>(&self, col: &str) -> StoreResult<T> {
        let text = self.text(col)?;
        serde_json::from_str(&text).map_err(|e| self.corrupt(col, e))
    }

    pub(crate) fn opt_json<T: DeserializeOwned>(&self, col: &str) -> StoreResult<Option<T>> {
        match self.opt_text(col)? {
            None => Ok(None),
            Some(text) => serde_json::from_str(&text).map(Some).map_err(|e| self.corrupt(col, e)),
        }
    }
}
