//! The FHIR adapter as a part of its own (see `crate::parts`): a deployment on the native API
//! never downloads it, and a FHIR deployment fetches it with its first request.

use chrono::NaiveDate;
use fairslot_core::{
    Booking, BookingRequest, DepartmentTree, DoctorList, Hold, HospitalList, Schedule,
};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{Api, ApiError, ApiFuture, BookingApi, Dialect, FhirApi, ScheduleTarget, Transport};
use crate::parts::PartMissing;

#[leptos::wasm_split::wasm_split(fhir, wasm_split_path = ::leptos::wasm_split, fallible)]
fn load_fhir(urls: Vec<String>, timeout: Duration, channel: String) -> Result<Api, PartMissing> {
    Ok(Arc::new(FhirApi::new(
        Transport::new(urls, Dialect::Fhir, timeout),
        channel,
    )))
}

/// Stands in for the FHIR adapter until its part is loaded, then hands every call to it.
pub struct DeferredFhir {
    urls: Vec<String>,
    timeout: Duration,
    channel: String,
    api: OnceLock<Api>,
}

impl DeferredFhir {
    pub fn new(urls: Vec<String>, timeout: Duration, channel: String) -> Self {
        Self {
            urls,
            timeout,
            channel,
            api: OnceLock::new(),
        }
    }

    /// The adapter, fetching its part first if need be. A part that cannot be fetched is a
    /// request that could not reach the network, and is explained and retried like one.
    async fn api(&self) -> Result<Api, ApiError> {
        if let Some(api) = self.api.get() {
            return Ok(api.clone());
        }
        let api = load_fhir(self.urls.clone(), self.timeout, self.channel.clone())
            .await
            .map_err(|PartMissing| ApiError::Network)?;
        Ok(self.api.get_or_init(|| api).clone())
    }
}

impl BookingApi for DeferredFhir {
    fn holds(&self) -> bool {
        super::fhir::HOLDS
    }
    fn takes_bookings(&self) -> ApiFuture<'_, bool> {
        Box::pin(async move { self.api().await?.takes_bookings().await })
    }
    fn hospitals(&self) -> ApiFuture<'_, HospitalList> {
        Box::pin(async move { self.api().await?.hospitals().await })
    }
    fn departments(&self, hospital_id: &str) -> ApiFuture<'_, DepartmentTree> {
        let hospital_id = hospital_id.to_owned();
        Box::pin(async move { self.api().await?.departments(&hospital_id).await })
    }
    fn doctors(&self, department_id: &str) -> ApiFuture<'_, DoctorList> {
        let department_id = department_id.to_owned();
        Box::pin(async move { self.api().await?.doctors(&department_id).await })
    }
    fn schedule(
        &self,
        target: ScheduleTarget,
        from: NaiveDate,
        days: u32,
    ) -> ApiFuture<'_, Schedule> {
        Box::pin(async move { self.api().await?.schedule(target, from, days).await })
    }
    fn hold(&self, slot_id: &str) -> ApiFuture<'_, Hold> {
        let slot_id = slot_id.to_owned();
        Box::pin(async move { self.api().await?.hold(&slot_id).await })
    }
    fn release_hold(&self, hold_id: &str) -> ApiFuture<'_, ()> {
        let hold_id = hold_id.to_owned();
        Box::pin(async move { self.api().await?.release_hold(&hold_id).await })
    }
    fn book(&self, request: BookingRequest, idempotency_key: String) -> ApiFuture<'_, Booking> {
        Box::pin(async move { self.api().await?.book(request, idempotency_key).await })
    }
    fn booking_by_key(&self, idempotency_key: &str) -> ApiFuture<'_, Booking> {
        let key = idempotency_key.to_owned();
        Box::pin(async move { self.api().await?.booking_by_key(&key).await })
    }
    fn lookup(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        let (code, last4) = (code.to_owned(), document_last4.to_owned());
        Box::pin(async move { self.api().await?.lookup(&code, &last4).await })
    }
    fn cancel(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        let (code, last4) = (code.to_owned(), document_last4.to_owned());
        Box::pin(async move { self.api().await?.cancel(&code, &last4).await })
    }
    fn read_raw(&self, path: &str) -> ApiFuture<'_, String> {
        let path = path.to_owned();
        Box::pin(async move { self.api().await?.read_raw(&path).await })
    }
}
