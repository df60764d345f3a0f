//! Temporary stub so that the crate builds until the built-in Booking lands.

use super::*;

#[async_trait]
impl Booking for Builtin {
    async fn services(&self) -> AdapterResult<Vec<Service>> {
        todo!()
    }
    async fn staff(&self) -> AdapterResult<Vec<StaffMember>> {
        todo!()
    }
    async fn preferred_staff(&self, _id: &CustomerId) -> AdapterResult<Option<String>> {
        todo!()
    }
    async fn free_slots(
        &self,
        _service: &str,
        _staff: Option<&str>,
        _from: DateTime<Utc>,
        _to: DateTime<Utc>,
    ) -> AdapterResult<Vec<Slot>> {
        todo!()
    }
    async fn book(
        &self,
        _id: &CustomerId,
        _service: &str,
        _slot: &Slot,
        _idempotency_key: &str,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        todo!()
    }
    async fn appointments(&self, _id: &CustomerId, _from: DateTime<Utc>) -> AdapterResult<Vec<Appointment>> {
        todo!()
    }
    async fn appointment(&self, _id: &CustomerId, _booking_id: &str) -> AdapterResult<Option<Appointment>> {
        todo!()
    }
    async fn reschedule(
        &self,
        _id: &CustomerId,
        _booking_id: &str,
        _slot: &Slot,
    ) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        todo!()
    }
    async fn cancel(&self, _id: &CustomerId, _booking_id: &str) -> AdapterResult<Result<Appointment, BookingRefusal>> {
        todo!()
    }
    async fn upcoming(&self, _from: DateTime<Utc>, _to: DateTime<Utc>) -> AdapterResult<Vec<(CustomerId, Appointment)>> {
        todo!()
    }
}
