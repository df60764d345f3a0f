//! Documents. The built-in adapter keeps no files: a document's file is its printable data,
//! built from the customer's tariff, options and payments.

use std::collections::BTreeMap;

use super::*;

const DOCUMENT_COLUMNS: &str = "id, kind, period, title";

fn info(row: &AnyRow) -> AdapterResult<DocumentInfo> {
    let c = Cols::new(row, "documents");
    let period = c.text("period")?;
    Ok(DocumentInfo {
        id: c.text("id")?,
        kind: c.text("kind")?,
        period: Period::parse(&period)
            .map_err(|_| AdapterError::Invalid(format!("documents.period: not a period: {period:?}")))?,
        title: c.json("title")?,
    })
}

/// A text in Russian and English.
fn ru_en(ru: String, en: String) -> LocalizedText {
    LocalizedText(BTreeMap::from([("ru".to_owned(), ru), ("en".to_owned(), en)]))
}

/// One unit of a service at its monthly fee.
fn line(description: LocalizedText, amount: Decimal) -> DocumentLine {
    DocumentLine { description, qty: Decimal::ONE, unit_price: amount, amount }
}

fn tariff_line(tariff: &Tariff) -> DocumentLine {
    let description = ru_en(
        format!("Услуги по тарифу «{}»", tariff.name.get(Locale::Ru)),
        format!("{} plan", tariff.name.get(Locale::En)),
    );
    line(description, tariff.monthly_fee)
}

fn option_line(option: &Tariff) -> DocumentLine {
    let description =
        ru_en(format!("Опция «{}»", option.name.get(Locale::Ru)), format!("{} option", option.name.get(Locale::En)));
    line(description, option.monthly_fee)
}

impl Builtin {
    async fn document_row(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentInfo>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE customer_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(id.as_str().to_owned())
            .bind(doc_id.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.as_ref().map(info).transpose()
    }

    /// The customer's top-ups made within the period (business time zone), oldest first.
    async fn top_up_lines(&self, id: &CustomerId, period: Period, tz: Tz) -> AdapterResult<Vec<DocumentLine>> {
        let rows = sqlx::query(
            "SELECT at, amount, title FROM transactions WHERE customer_id = $1 AND kind = 'top_up' ORDER BY at, seq",
        )
        .bind(id.as_str().to_owned())
        .fetch_all(self.pool())
        .await
        .map_err(db)?;
        let mut lines = Vec::new();
        for row in &rows {
            let c = Cols::new(row, "transactions");
            if period.contains(c.time("at")?.with_timezone(&tz).date_naive()) {
                lines.push(line(c.json("title")?, c.money("amount")?));
            }
        }
        Ok(lines)
    }

    /// The printable data of a document of the customer's.
    async fn document_data(&self, id: &CustomerId, info: DocumentInfo) -> AdapterResult<DocumentData> {
        let business = self.business().await?;
        let row = sqlx::query("SELECT name, address FROM customers WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_one(self.pool())
            .await
            .map_err(db)?;
        let c = Cols::new(&row, "customers");
        let customer_name = c.text("name")?;
        let customer_lines: Vec<String> = c.opt_text("address")?.into_iter().collect();

        let account = self.account(id).await?;
        let tariff = account.as_ref().and_then(|a| a.tariff.as_ref());
        let tariff_lines = || tariff.map(tariff_line).into_iter().collect::<Vec<_>>();
        let with_options = || {
            let mut lines = tariff_lines();
            if let Some(account) = &account {
                lines.extend(account.options.iter().map(option_line));
            }
            lines
        };
        let lines = match info.kind.as_str() {
            "contract" => tariff_lines(),
            "receipt" => {
                let top_ups = self.top_up_lines(id, info.period, business.tz).await?;
                if top_ups.is_empty() { tariff_lines() } else { top_ups }
            }
            _ => with_options(),
        };
        let issued = match info.kind.as_str() {
            "contract" => info.period.first_day(),
            _ => info.period.last_day(),
        };
        let total = lines.iter().map(|l| l.amount).sum::<Decimal>();
        Ok(DocumentData {
            info,
            issued,
            customer_name,
            customer_lines,
            account: Some(id.to_string()),
            lines,
            total,
            currency: business.currency,
        })
    }
}

#[async_trait]
impl Documents for Builtin {
    async fn documents(&self, id: &CustomerId) -> AdapterResult<Vec<DocumentInfo>> {
        let sql = format!("SELECT {DOCUMENT_COLUMNS} FROM documents WHERE customer_id = $1 ORDER BY period DESC, id");
        let rows = sqlx::query(&sql).bind(id.as_str().to_owned()).fetch_all(self.pool()).await.map_err(db)?;
        rows.iter().map(info).collect()
    }

    async fn document(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentInfo>> {
        self.document_row(id, doc_id).await
    }

    async fn file(&self, id: &CustomerId, doc_id: &str) -> AdapterResult<Option<DocumentFile>> {
        let Some(info) = self.document_row(id, doc_id).await? else {
            return Ok(None);
        };
        Ok(Some(DocumentFile::Data(self.document_data(id, info).await?)))
    }
}
