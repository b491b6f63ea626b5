//! Hospitals, department trees, doctors and schedules: the read side.

use axum::Json;
use axum::extract::State;
use chrono::Duration;
use fairslot_core::search::{HospitalFilter, filter_departments};
use fairslot_core::time::hospital_today;
use fairslot_core::{
    DepartmentTree, DoctorList, HospitalLevel, HospitalList, MAX_SCHEDULE_DAYS, Schedule,
    field_code,
};
use serde::Deserialize;

use super::AppState;
use crate::extract::{ApiPath, ApiQuery, check_length, parse_days, parse_from};
use crate::problem::ApiError;
use crate::store::{SessionQuery, StoreError};

/// Longest accepted search text.
const MAX_QUERY_CHARS: usize = 100;
/// Days a schedule covers when the request does not say.
const DEFAULT_SCHEDULE_DAYS: u32 = 7;
/// How far from today a schedule may start, either way.
const SCHEDULE_WINDOW_DAYS: i64 = 92;

#[derive(Debug, Deserialize)]
pub struct HospitalQuery {
    q: Option<String>,
    district: Option<String>,
    level: Option<String>,
}

pub async fn hospitals(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<HospitalQuery>,
) -> Result<Json<HospitalList>, ApiError> {
    let text = query.q.unwrap_or_default();
    check_length("q", &text, MAX_QUERY_CHARS)?;
    let district = query.district.filter(|d| !d.trim().is_empty());
    if let Some(d) = &district {
        check_length("district", d, MAX_QUERY_CHARS)?;
    }
    let level = match query
        .level
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        None => None,
        Some(code) => Some(HospitalLevel::from_code(code).ok_or_else(|| {
            ApiError::invalid_field("level", "unknown", "level is one of 3A, 3B, 2A, 2B, 1")
        })?),
    };
    let filter = HospitalFilter {
        query: text,
        district,
        level,
    };
    let now = state.clock.now();
    let all = state.with_store(move |s| s.hospitals(now)).await?;
    let items = filter.apply(&all).into_iter().cloned().collect();
    Ok(Json(HospitalList { items }))
}

pub async fn hospital(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<fairslot_core::Hospital>, ApiError> {
    let now = state.clock.now();
    Ok(Json(state.with_store(move |s| s.hospital(&id, now)).await?))
}

#[derive(Debug, Deserialize)]
pub struct DepartmentQuery {
    q: Option<String>,
}

pub async fn departments(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<DepartmentQuery>,
) -> Result<Json<DepartmentTree>, ApiError> {
    let text = query.q.unwrap_or_default();
    check_length("q", &text, MAX_QUERY_CHARS)?;
    let now = state.clock.now();
    let (hospital, groups) = state
        .with_store(move |s| {
            let hospital = s.hospital(&id, now)?;
            let groups = s.department_groups(&id)?;
            Ok((hospital, groups))
        })
        .await?;
    let groups = if text.trim().is_empty() {
        groups
    } else {
        filter_departments(&groups, &text)
    };
    Ok(Json(DepartmentTree { hospital, groups }))
}

pub async fn doctors(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<DoctorList>, ApiError> {
    let now = state.clock.now();
    let list = state
        .with_store(move |s| {
            let entry = s.department(&id)?;
            Ok(DoctorList {
                hospital: s.hospital(&entry.hospital_id, now)?,
                items: s.doctors(&id)?,
                department: entry.department,
            })
        })
        .await?;
    Ok(Json(list))
}

#[derive(Debug, Deserialize)]
pub struct ScheduleQuery {
    department: Option<String>,
    doctor: Option<String>,
    from: Option<String>,
    days: Option<String>,
}

/// A department's schedule, or one doctor's (`doctor`, alone or within `department`).
pub async fn schedule(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<ScheduleQuery>,
) -> Result<Json<Schedule>, ApiError> {
    let days = parse_days(
        query.days.as_deref(),
        DEFAULT_SCHEDULE_DAYS,
        MAX_SCHEDULE_DAYS,
    )?;
    let department = query.department.filter(|d| !d.is_empty());
    let doctor = query.doctor.filter(|d| !d.is_empty());
    if department.is_none() && doctor.is_none() {
        return Err(ApiError::invalid_field(
            "department",
            field_code::REQUIRED,
            "give a department or a doctor",
        ));
    }
    let now = state.clock.now();
    let wanted = doctor.clone();
    let (department_id, hospital, doctors) = state
        .with_store(move |s| {
            let department_id = match department {
                Some(id) => id,
                None => {
                    s.doctor(wanted.as_deref().unwrap_or_default())?
                        .department_id
                }
            };
            let entry = s.department(&department_id)?;
            let hospital = s.hospital(&entry.hospital_id, now)?;
            let mut doctors = s.doctors(&department_id)?;
            if let Some(wanted) = &wanted {
                doctors.retain(|d| &d.id == wanted);
                if doctors.is_empty() {
                    return Err(StoreError::NotFound("doctor"));
                }
            }
            Ok((department_id, hospital, doctors))
        })
        .await?;
    let today = hospital_today(now, hospital.utc_offset_minutes);
    let from = parse_from(query.from.as_deref(), today, today, SCHEDULE_WINDOW_DAYS)?;
    let session_query = SessionQuery {
        department_id,
        doctor_id: doctor,
        from,
        to: from + Duration::days(i64::from(days) - 1),
    };
    let sessions = state
        .with_store(move |s| s.sessions(&session_query, now))
        .await?;
    Ok(Json(Schedule {
        from,
        days,
        utc_offset_minutes: hospital.utc_offset_minutes,
        doctors,
        sessions,
    }))
}
