//! The open ledger (公开账本): what each channel booked, and how soon after a release, recomputed
//! on this device from the ledger's entries, with each check that makes the figures trustworthy
//! shown as it was made.

use std::sync::Arc;

use fairslot_core::ledger::LedgerError;
use fairslot_core::ledger::figures::Figures;
use leptos::prelude::*;

use crate::api::ledger::{EARLY_MINUTES, LedgerFailure, LedgerSource, Report};
use crate::browser;
use crate::components::remote_view;
use crate::i18n::{I18n, Msg, use_i18n};

/// The deployment's ledger, if its backend keeps one; provided by the shell.
#[derive(Clone)]
pub struct Ledger(pub Option<Arc<LedgerSource>>);

/// What went wrong, in words a patient or a partner's engineer can act on.
pub fn failure_msg(e: &LedgerError) -> Msg {
    match e {
        LedgerError::Rewritten | LedgerError::Shrunk { .. } | LedgerError::OtherLog => {
            Msg::LedgerRewritten
        }
        LedgerError::EntriesDisagree => Msg::LedgerEntriesDisagree,
        LedgerError::BadSignature | LedgerError::Unsigned => Msg::LedgerBadSignature,
        LedgerError::NotIncluded => Msg::LedgerNotIncluded,
        LedgerError::Malformed(_) => Msg::LedgerMalformed,
    }
}

#[component]
pub fn LedgerPage() -> impl IntoView {
    let i18n = use_i18n();
    Effect::new(move |_| browser::set_title(Msg::LedgerTitle.text(i18n.locale.get())));
    let source = use_context::<Ledger>().and_then(|l| l.0);
    let body = match source {
        None => view! { <p class="notice">{i18n.t(Msg::LedgerNone)}</p> }.into_any(),
        Some(source) => {
            // A ledger that could not be read is an outage like any other (with a retry); one
            // that was read and does not hold up is a finding.
            let report = LocalResource::new(move || {
                let source = Arc::clone(&source);
                async move {
                    match source.audit().await {
                        Ok(report) => Ok(Ok(report)),
                        Err(LedgerFailure::Ledger(e)) => Ok(Err(e)),
                        Err(LedgerFailure::Api(e)) => Err(e),
                    }
                }
            });
            remote_view(report, 4, move |report| match report {
                Ok(report) => view! { <Verified report=report /> }.into_any(),
                Err(e) => view! {
                    <div class="notice notice-error ledger-failed" role="alert">
                        <p><strong>{i18n.t(Msg::LedgerFailed)}</strong></p>
                        <p>{i18n.t(failure_msg(&e))}</p>
                    </div>
                }
                .into_any(),
            })
            .into_any()
        }
    };
    view! {
        <h1>{i18n.t(Msg::LedgerTitle)}</h1>
        <p>{i18n.t(Msg::LedgerIntro)}</p>
        {body}
    }
}

#[component]
fn Verified(report: Report) -> impl IntoView {
    let i18n = use_i18n();
    let size = report.audited.checkpoint.size;
    let origin = report.audited.checkpoint.origin.clone();
    let kept = report.kept_size;
    let figures = report.audited.figures;
    view! {
        <section class="ledger-checks" aria-labelledby="ledger-verified">
            <p class="notice notice-success" role="status" id="ledger-verified">
                <strong>{i18n.t(Msg::LedgerVerified)}</strong>
            </p>
            <ul>
                <li>{move || i18n.fmt_all(Msg::LedgerSigned, &[&size.to_string(), &origin])}</li>
                <li>
                    {move || match kept {
                        Some(kept) => i18n.fmt(Msg::LedgerConsistent, kept),
                        None => i18n.t(Msg::LedgerFirstSeen)().to_string(),
                    }}
                </li>
                <li>{move || i18n.fmt(Msg::LedgerRecomputed, size)}</li>
            </ul>
        </section>
        <ChannelTable figures=figures />
    }
}

/// `part` of `whole` as a percentage with one decimal, in integers (no float printing).
fn percent(part: u64, whole: u64) -> String {
    let permille = (part * 1000 + whole / 2).checked_div(whole).unwrap_or(0);
    format!("{}.{}%", permille / 10, permille % 10)
}

fn duration(i18n: I18n, seconds: Option<i64>) -> String {
    match seconds {
        None => "–".into(),
        Some(s) if s.abs() < 120 => i18n.fmt(Msg::LedgerSeconds, s),
        Some(s) => i18n.fmt(Msg::LedgerMinutes, s / 60),
    }
}

#[component]
fn ChannelTable(figures: Figures) -> impl IntoView {
    let i18n = use_i18n();
    if figures.channels.is_empty() {
        return view! { <p>{i18n.t(Msg::LedgerNoBookings)}</p> }.into_any();
    }
    let booked: u64 = figures.channels.iter().map(|c| c.booked).sum();
    let early: u64 = figures.channels.iter().map(|c| c.early).sum();
    let rows = figures
        .channels
        .into_iter()
        .map(|c| {
            let median = c.median_seconds_after_release;
            view! {
                <tr data-channel=c.channel.clone()>
                    <th scope="row">{c.channel.clone()}</th>
                    <td>{c.booked}</td>
                    <td>{percent(c.booked, booked)}</td>
                    <td>{format!("{} ({})", c.early, percent(c.early, early))}</td>
                    <td>{move || duration(i18n, median)}</td>
                    <td>{c.cancelled}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        // Scrolls sideways on a narrow phone, so it takes focus for keyboard users.
        <table class="ledger-table" tabindex="0">
            <caption>{i18n.t(Msg::LedgerByChannel)}</caption>
            <thead>
                <tr>
                    <th scope="col">{i18n.t(Msg::LedgerChannel)}</th>
                    <th scope="col">{i18n.t(Msg::LedgerBooked)}</th>
                    <th scope="col">{i18n.t(Msg::LedgerShare)}</th>
                    <th scope="col">{move || i18n.fmt(Msg::LedgerEarly, EARLY_MINUTES)}</th>
                    <th scope="col">{i18n.t(Msg::LedgerMedian)}</th>
                    <th scope="col">{i18n.t(Msg::LedgerCancelled)}</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// The ticket's line about its booking's ledger entry: checked in this browser against the
/// ledger's signed checkpoint.
#[component]
pub fn LedgerLine(entry: fairslot_core::LedgerRef) -> impl IntoView {
    let i18n = use_i18n();
    let source = use_context::<Ledger>().and_then(|l| l.0)?;
    let index = entry.index;
    let checked = LocalResource::new(move || {
        let source = Arc::clone(&source);
        let entry = entry.clone();
        async move { source.verify_entry(&entry).await }
    });
    Some(view! {
        <p class="ledger-line" role="status">
            {move || match checked.get() {
                None => i18n.t(Msg::LedgerEntryChecking)().to_string(),
                Some(Ok(())) => i18n.fmt(Msg::LedgerEntryVerified, index),
                Some(Err(LedgerFailure::Ledger(e))) => {
                    format!("{} {}", i18n.fmt(Msg::LedgerEntryFailed, index), i18n.t(failure_msg(&e))())
                }
                Some(Err(LedgerFailure::Api(_))) => i18n.fmt(Msg::LedgerEntryUnchecked, index),
            }}
        </p>
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_rounded_to_a_tenth_without_floats() {
        assert_eq!(percent(1, 3), "33.3%");
        assert_eq!(percent(2, 3), "66.7%");
        assert_eq!(percent(0, 0), "0.0%");
        assert_eq!(percent(5, 5), "100.0%");
    }
}
