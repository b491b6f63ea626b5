//! Per-channel figures recomputed from the ledger's entries: how many places each channel booked,
//! how many of those in the first minutes after a release (when the best places go), and how long
//! after a release its bookings came. The app's ledger page and the monitor both show these, so a
//! channel can see for itself whether another was favoured.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::Entry;

/// What one channel did, as the entries show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChannelFigures {
    pub channel: String,
    /// Places booked (cancelled ones included: they were taken).
    pub booked: u64,
    /// Of those, booked within the early window after their session's release.
    pub early: u64,
    pub cancelled: u64,
    /// The median time from a session's release to a booking of this channel, in seconds.
    pub median_seconds_after_release: Option<i64>,
}

/// The whole ledger at a glance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    pub entries: u64,
    pub sessions_released: u64,
    pub places_released: u64,
    /// Entries of kinds this version does not know.
    pub other: u64,
    /// Per channel, by name.
    pub channels: Vec<ChannelFigures>,
}

impl Figures {
    /// Every figure from the entries in ledger order; `early` is the window after a release that
    /// counts as the rush.
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a Entry>, early: TimeDelta) -> Self {
        let mut figures = Figures::default();
        let mut released: HashMap<&str, DateTime<Utc>> = HashMap::new();
        let mut channel_of: HashMap<&str, &str> = HashMap::new();
        let mut channels: BTreeMap<&str, (ChannelFigures, Vec<i64>)> = BTreeMap::new();
        for entry in entries {
            figures.entries += 1;
            match entry {
                Entry::Released {
                    session,
                    places,
                    at,
                    ..
                } => {
                    figures.sessions_released += 1;
                    figures.places_released += u64::from(*places);
                    released.insert(session, *at);
                }
                Entry::Booked {
                    entry,
                    session,
                    channel,
                    at,
                    ..
                } => {
                    channel_of.insert(entry, channel);
                    let (f, waits) = channels.entry(channel).or_default();
                    f.booked += 1;
                    if let Some(release) = released.get(session.as_str()) {
                        let after = *at - *release;
                        waits.push(after.num_seconds());
                        if after >= TimeDelta::zero() && after < early {
                            f.early += 1;
                        }
                    }
                }
                Entry::Cancelled { entry, .. } => {
                    if let Some(channel) = channel_of.get(entry.as_str()) {
                        channels.entry(channel).or_default().0.cancelled += 1;
                    }
                }
                Entry::Other => figures.other += 1,
            }
        }
        figures.channels = channels
            .into_iter()
            .map(|(name, (mut f, mut waits))| {
                f.channel = name.to_string();
                waits.sort_unstable();
                f.median_seconds_after_release = waits.get(waits.len() / 2).copied();
                f
            })
            .collect();
        figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Policy;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn booked(entry: &str, channel: &str, at: &str) -> Entry {
        Entry::Booked {
            entry: entry.into(),
            session: "s1".into(),
            slot: "s1-1".into(),
            channel: channel.into(),
            at: t(at),
        }
    }

    #[test]
    fn each_channel_is_counted_from_the_entries_alone() {
        let entries = [
            Entry::Released {
                session: "s1".into(),
                doctor: "d1".into(),
                start: t("2026-12-14T00:00:00Z"),
                places: 20,
                policy: Policy::Fcfs,
                at: t("2026-12-07T00:00:00Z"),
            },
            booked("a", "web", "2026-12-07T00:00:01Z"),
            booked("b", "partner-a", "2026-12-07T00:00:02Z"),
            booked("c", "web", "2026-12-07T00:30:00Z"),
            Entry::Cancelled {
                entry: "a".into(),
                at: t("2026-12-08T00:00:00Z"),
            },
            Entry::Other,
        ];
        let f = Figures::of(&entries, TimeDelta::minutes(10));
        assert_eq!((f.entries, f.places_released, f.other), (6, 20, 1));
        assert_eq!(
            f.channels,
            vec![
                ChannelFigures {
                    channel: "partner-a".into(),
                    booked: 1,
                    early: 1,
                    cancelled: 0,
                    median_seconds_after_release: Some(2),
                },
                ChannelFigures {
                    channel: "web".into(),
                    booked: 2,
                    early: 1,
                    cancelled: 1,
                    median_seconds_after_release: Some(1800),
                },
            ]
        );
    }
}
