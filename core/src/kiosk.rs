//! The kiosk's idle policy: when a screen shared by strangers warns that it is about to start over,
//! and when it does. Pure, so the timing rules are tested without a browser.

/// How long the warning lasts before the reset: at least 20 s, as WCAG 2.2.1 asks of a time limit
/// the user can extend.
pub const WARNING_SECONDS: u32 = 20;

/// Longest the reset waits for a booking that is still being sent, so the next patient is never
/// locked out by a network that stays down.
pub const MAX_FINISH_SECONDS: u32 = 300;

/// Where an idle kiosk stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idle {
    /// Someone is using it, or was a short while ago.
    Active,
    /// Nobody has touched it for a while: ask whether anyone is still there.
    Warning { seconds_left: u32 },
    /// Time is up: start over.
    Expired,
}

/// The state after `idle_ms` without a touch, for a kiosk that resets after `idle_seconds`. The
/// warning takes the last [`WARNING_SECONDS`] of that time (the config allows no less than 30 s).
pub fn idle_state(idle_seconds: u32, idle_ms: f64) -> Idle {
    let limit_ms = f64::from(idle_seconds) * 1000.0;
    let warn_ms = f64::from(idle_seconds.saturating_sub(WARNING_SECONDS)) * 1000.0;
    if !idle_ms.is_finite() || idle_ms >= limit_ms {
        Idle::Expired
    } else if idle_ms >= warn_ms {
        // Rounded up: "1 second left" until the very end, never "0".
        let left = ((limit_ms - idle_ms) / 1000.0).ceil() as u32;
        Idle::Warning {
            seconds_left: left.clamp(1, WARNING_SECONDS),
        }
    } else {
        Idle::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ninety_second_kiosk_warns_for_its_last_twenty_seconds() {
        assert_eq!(idle_state(90, 0.0), Idle::Active);
        assert_eq!(idle_state(90, 69_999.0), Idle::Active);
        assert_eq!(idle_state(90, 70_000.0), Idle::Warning { seconds_left: 20 });
        assert_eq!(idle_state(90, 80_500.0), Idle::Warning { seconds_left: 10 });
        assert_eq!(idle_state(90, 89_999.0), Idle::Warning { seconds_left: 1 });
        assert_eq!(idle_state(90, 90_000.0), Idle::Expired);
    }

    #[test]
    fn the_shortest_kiosk_still_gives_twenty_seconds_to_answer() {
        assert_eq!(idle_state(30, 9_999.0), Idle::Active);
        assert_eq!(idle_state(30, 10_000.0), Idle::Warning { seconds_left: 20 });
    }

    #[test]
    fn a_clock_gone_wrong_resets_rather_than_keeps_someone_s_details() {
        assert_eq!(idle_state(90, f64::INFINITY), Idle::Expired);
        assert_eq!(idle_state(90, f64::NAN), Idle::Expired);
        // A device clock set back: idle time below zero is simply "active".
        assert_eq!(idle_state(90, -5_000.0), Idle::Active);
    }
}
