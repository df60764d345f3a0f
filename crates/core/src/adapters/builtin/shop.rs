//! The catalogue and new orders.
//!
//! A new order is written in one transaction that starts with the order row: the unique index
//! on (customer, idempotency key) makes a repeated key find the first order, and the order
//! number (the highest numeric one plus one) is taken again when a concurrent order took it.

use super::*;
use crate::domain::money::{from_minor, to_minor};
use crate::store::time_to_db;

/// How many times a taken order number is replaced before giving up.
const NUMBER_ATTEMPTS: usize = 8;

/// The highest order number made of digits only (at most 18 of them), plus one.
async fn next_number(conn: &mut AnyConnection) -> AdapterResult<i64> {
    let row = sqlx::query(
        "SELECT MAX(CAST(number AS BIGINT)) AS n FROM orders \
         WHERE number <> '' AND LENGTH(number) <= 18 AND LTRIM(number, '0123456789') = ''",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    Ok(Cols::new(&row, "orders").opt_i64("n")?.unwrap_or(0).saturating_add(1))
}

/// The order this key created for the customer: (number, total in minor units).
async fn order_by_key(conn: &mut AnyConnection, id: &CustomerId, key: &str) -> AdapterResult<Option<(String, i64)>> {
    let row = sqlx::query("SELECT number, total FROM orders WHERE customer_id = $1 AND idempotency_key = $2")
        .bind(id.as_str().to_owned())
        .bind(key.to_owned())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db)?;
    let Some(row) = row else { return Ok(None) };
    let c = Cols::new(&row, "orders");
    Ok(Some((c.text("number")?, c.i64("total")?)))
}

/// The lines with the quantities of a repeated SKU added up, in the order first seen.
fn merged(lines: &[(String, i64)]) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = Vec::new();
    for (sku, qty) in lines {
        match out.iter_mut().find(|(s, _)| s == sku) {
            Some((_, total)) => *total = total.saturating_add(*qty),
            None => out.push((sku.clone(), *qty)),
        }
    }
    out
}

/// A `catalog` row (sku, name, price, in_stock, category) as a product.
fn product_of(row: &AnyRow) -> AdapterResult<Product> {
    let c = Cols::new(row, "catalog");
    Ok(Product {
        sku: c.text("sku")?,
        name: c.json("name")?,
        price: c.money("price")?,
        in_stock: c.i64("in_stock")?,
        category: c.opt_text("category")?.filter(|c| !c.is_empty()),
    })
}

impl Builtin {
    pub(super) async fn product(&self, sku: &str) -> AdapterResult<Option<Product>> {
        let row = sqlx::query("SELECT sku, name, price, in_stock, category FROM catalog WHERE sku = $1")
            .bind(sku.to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?;
        row.as_ref().map(product_of).transpose()
    }

    async fn existing_order(&self, number: String, total: i64) -> AdapterResult<CreatedOrder> {
        Ok(CreatedOrder { number, total: from_minor(total), currency: self.currency().await?, new: false })
    }

    /// Writes the order; `Ok(Err(skus))` when the stock ran out meanwhile.
    async fn insert_order(
        &self,
        id: &CustomerId,
        lines: &[(String, i64, i64)],
        address: Option<String>,
        key: &str,
    ) -> AdapterResult<Result<CreatedOrder, OrderRefusal>> {
        let total = lines.iter().fold(0i64, |sum, (_, qty, price)| sum.saturating_add(price.saturating_mul(*qty)));
        let created_at = time_to_db(self.clock.now());
        let mut number = next_number(&mut *self.pool().acquire().await.map_err(db)?).await?;
        for _ in 0..NUMBER_ATTEMPTS {
            let mut tx = self.pool().begin().await.map_err(db)?;
            // Writing first (SQLite: a transaction that starts with a read cannot wait for a
            // concurrent writer). Any unique conflict, on the number or on the key, writes
            // nothing; PostgreSQL first waits for the transaction that holds the conflicting
            // row.
            let inserted = sqlx::query(
                "INSERT INTO orders (number, customer_id, created_at, status, total, delivered_at, idempotency_key) \
                 VALUES ($1, $2, $3, 'new', $4, NULL, $5) ON CONFLICT DO NOTHING",
            )
            .bind(number.to_string())
            .bind(id.as_str().to_owned())
            .bind(created_at.clone())
            .bind(total)
            .bind(key.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
            if inserted == 0 {
                let existing = order_by_key(&mut tx, id, key).await?;
                let next = next_number(&mut tx).await?;
                tx.rollback().await.map_err(db)?;
                if let Some((number, total)) = existing {
                    return self.existing_order(number, total).await.map(Ok);
                }
                number = next.max(number.saturating_add(1));
                continue;
            }
            let number_text = number.to_string();
            for (line, (sku, qty, price)) in lines.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO order_items (order_number, line, sku, qty, price) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(number_text.clone())
                .bind(i64::try_from(line).unwrap_or(i64::MAX))
                .bind(sku.clone())
                .bind(*qty)
                .bind(*price)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            }
            if let Some(address) = &address {
                sqlx::query("INSERT INTO deliveries (order_number, address) VALUES ($1, $2)")
                    .bind(number_text.clone())
                    .bind(address.clone())
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
            }
            let mut short = Vec::new();
            for (sku, qty, _) in lines {
                let taken =
                    sqlx::query("UPDATE catalog SET in_stock = in_stock - $1 WHERE sku = $2 AND in_stock >= $1")
                        .bind(*qty)
                        .bind(sku.clone())
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?
                        .rows_affected();
                if taken == 0 {
                    short.push(sku.clone());
                }
            }
            if !short.is_empty() {
                tx.rollback().await.map_err(db)?;
                return Ok(Err(OrderRefusal::OutOfStock(short)));
            }
            tx.commit().await.map_err(db)?;
            return Ok(Ok(CreatedOrder {
                number: number_text,
                total: from_minor(total),
                currency: self.currency().await?,
                new: true,
            }));
        }
        Err(AdapterError::Unavailable("no free order number".to_owned()))
    }
}

#[async_trait]
impl Shop for Builtin {
    async fn products(&self, skus: &[String]) -> AdapterResult<Vec<Product>> {
        let mut out: Vec<Product> = Vec::with_capacity(skus.len());
        for sku in skus {
            if out.iter().any(|p| p.sku == *sku) {
                continue;
            }
            if let Some(product) = self.product(sku).await? {
                out.push(product);
            }
        }
        Ok(out)
    }

    async fn catalogue(&self) -> AdapterResult<Vec<Product>> {
        let rows = sqlx::query("SELECT sku, name, price, in_stock, category FROM catalog ORDER BY category, sku")
            .fetch_all(self.pool())
            .await
            .map_err(db)?;
        rows.iter().map(product_of).collect()
    }

    async fn last_delivered_order(&self, id: &CustomerId) -> AdapterResult<Option<Order>> {
        // NULLs sort last when descending on SQLite but first on PostgreSQL: a delivered order
        // without a delivery time comes after those with one on both.
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = $1 AND status = 'delivered' \
             ORDER BY CASE WHEN delivered_at IS NULL THEN 1 ELSE 0 END, delivered_at DESC, created_at DESC, \
             number DESC LIMIT 1"
        );
        let row = sqlx::query(&sql).bind(id.as_str().to_owned()).fetch_optional(self.pool()).await.map_err(db)?;
        let Some(row) = row else { return Ok(None) };
        let currency = self.currency().await?;
        Ok(self.full_orders(std::slice::from_ref(&row), &currency).await?.into_iter().next())
    }

    async fn create_order(
        &self,
        id: &CustomerId,
        order: &NewOrder,
        idempotency_key: &str,
    ) -> AdapterResult<Result<CreatedOrder, OrderRefusal>> {
        // A repeat answers with the first order even when the stock has run out since, and
        // whatever lines it brings (the caller may no longer have them).
        let existing = order_by_key(&mut *self.pool().acquire().await.map_err(db)?, id, idempotency_key).await?;
        if let Some((number, total)) = existing {
            return self.existing_order(number, total).await.map(Ok);
        }
        if order.lines.is_empty() || order.lines.iter().any(|(_, qty)| *qty <= 0) {
            return Ok(Err(OrderRefusal::Empty));
        }

        let mut lines = Vec::new();
        let mut short = Vec::new();
        for (sku, qty) in merged(&order.lines) {
            match self.product(&sku).await? {
                Some(p) if p.in_stock >= qty => lines.push((sku, qty, to_minor(p.price))),
                _ => short.push(sku),
            }
        }
        if !short.is_empty() {
            return Ok(Err(OrderRefusal::OutOfStock(short)));
        }

        let row = sqlx::query("SELECT address FROM customers WHERE id = $1")
            .bind(id.as_str().to_owned())
            .fetch_optional(self.pool())
            .await
            .map_err(db)?
            .ok_or_else(|| AdapterError::Invalid(format!("no customer {id}")))?;
        let address = match &order.address {
            Some(address) => Some(address.clone()),
            None => Cols::new(&row, "customers").opt_text("address")?,
        };
        self.insert_order(id, &lines, address, idempotency_key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_skus_are_merged_in_the_order_first_seen() {
        let lines = vec![("A".to_owned(), 1), ("B".to_owned(), 2), ("A".to_owned(), 3)];
        assert_eq!(merged(&lines), vec![("A".to_owned(), 4), ("B".to_owned(), 2)]);
    }
}
