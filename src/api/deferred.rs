//! Backends whose code is a part of its own (see `crate::parts`), fetched with the first request
//! that needs it.
//!
//! - The FHIR adapter is a part as a whole: a deployment on the native API never downloads it.
//! - The native adapter answers the hospital list from the main module; everything after the
//!   first screen, with the readers of its answers, is a part.

use chrono::NaiveDate;
use fairslot_core::{
    Booking, BookingRequest, DepartmentTree, DoctorList, Hold, HospitalList, Schedule,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{
    Api, ApiError, ApiFuture, BookingApi, CodeAccess, Dialect, FhirApi, KeyedAnswer, NativeApi,
    ScheduleTarget, Transport,
};
use crate::browser::PartMissing;

type Loading = Pin<Box<dyn Future<Output = Result<Api, PartMissing>>>>;

#[leptos::wasm_split::wasm_split(fhir, wasm_split_path = ::leptos::wasm_split, fallible)]
fn load_fhir(
    urls: Vec<String>,
    timeout: Duration,
    channel: String,
    gateway: bool,
) -> Result<Api, PartMissing> {
    Ok(Arc::new(FhirApi::new(
        Transport::new(urls, Dialect::Fhir, timeout),
        channel,
        gateway,
    )))
}

/// The native adapter as a whole: turning it into an [`Api`] here is what puts its other calls
/// in this part rather than in the main module.
#[leptos::wasm_split::wasm_split(native, wasm_split_path = ::leptos::wasm_split, fallible)]
fn load_native(native: Arc<NativeApi>) -> Result<Api, PartMissing> {
    Ok(native)
}

/// Stands in for an adapter until its part is loaded, then hands every call to it.
pub struct Deferred {
    /// The native adapter, for the calls the first screen makes.
    first: Option<Arc<NativeApi>>,
    holds: bool,
    code_access: CodeAccess,
    load: Box<dyn Fn() -> Loading + Send + Sync>,
    api: OnceLock<Api>,
}

impl Deferred {
    pub fn fhir(urls: Vec<String>, timeout: Duration, channel: String, gateway: bool) -> Self {
        Self {
            first: None,
            holds: super::fhir::HOLDS,
            code_access: super::fhir::code_access(gateway),
            load: Box::new(move || {
                Box::pin(load_fhir(urls.clone(), timeout, channel.clone(), gateway))
            }),
            api: OnceLock::new(),
        }
    }

    pub fn native(native: NativeApi) -> Self {
        let native = Arc::new(native);
        let part = Arc::clone(&native);
        Self {
            first: Some(native),
            holds: super::native::HOLDS,
            code_access: CodeAccess::Proven,
            load: Box::new(move || Box::pin(load_native(Arc::clone(&part)))),
            api: OnceLock::new(),
        }
    }

    /// The adapter, fetching its part first if need be. A part that cannot be fetched is a
    /// request that never went out: explained like being offline, retried as certainly unsent.
    async fn api(&self) -> Result<Api, ApiError> {
        if let Some(api) = self.api.get() {
            return Ok(api.clone());
        }
        let api = (self.load)()
            .await
            .map_err(|PartMissing| ApiError::NotSent)?;
        Ok(self.api.get_or_init(|| api).clone())
    }
}

impl BookingApi for Deferred {
    fn holds(&self) -> bool {
        self.holds
    }
    fn code_access(&self) -> CodeAccess {
        self.code_access
    }
    fn prepare(&self) -> ApiFuture<'_, ()> {
        Box::pin(async move { self.api().await.map(|_| ()) })
    }
    fn takes_bookings(&self) -> ApiFuture<'_, bool> {
        Box::pin(async move { self.api().await?.takes_bookings().await })
    }
    fn hospitals(&self) -> ApiFuture<'_, HospitalList> {
        if let Some(native) = &self.first {
            return native.hospitals();
        }
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
    fn booking_by_key(
        &self,
        idempotency_key: &str,
        document_last4: Option<&str>,
    ) -> ApiFuture<'_, KeyedAnswer> {
        let key = idempotency_key.to_owned();
        let proof = document_last4.map(str::to_owned);
        Box::pin(async move {
            self.api()
                .await?
                .booking_by_key(&key, proof.as_deref())
                .await
        })
    }
    fn lookup(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        let (code, last4) = (code.to_owned(), document_last4.to_owned());
        Box::pin(async move { self.api().await?.lookup(&code, &last4).await })
    }
    fn cancel(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        let (code, last4) = (code.to_owned(), document_last4.to_owned());
        Box::pin(async move { self.api().await?.cancel(&code, &last4).await })
    }
}
