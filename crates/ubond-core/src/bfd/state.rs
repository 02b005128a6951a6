//! The BFD session state machine (RFC 5880 6.2, Figure "BFD State Machine"; the transitions
//! as 6.8.4, 6.8.6 and 6.8.16 spell them out).
//!
//! ```text
//!                             +--+
//!                             |  | UP, ADMIN DOWN, TIMER
//!                             |  V
//!                     DOWN  +------+  INIT
//!              +------------|      |------------+
//!              |            | DOWN |            |
//!              |  +-------->|      |<--------+  |
//!              |  |         +------+         |  |
//!              |  |                          |  |
//!              |  |               ADMIN DOWN,|  |
//!              |  |ADMIN DOWN,          DOWN,|  |
//!              |  |TIMER                TIMER|  |
//!              V  |                          |  V
//!            +------+                      +------+
//!       +----|      |                      |      |----+
//!   DOWN|    | INIT |--------------------->|  UP  |    |INIT, UP
//!       +--->|      | INIT, UP             |      |<---+
//!            +------+                      +------+
//! ```
//!
//! The edges are named by the State field of a received packet and by TIMER, the Detection
//! Time expiring. The local administrative state (6.8.16) is a global transition into
//! AdminDown, left only by the administrator, into Down.

use ubond_wire::bfd::{Diagnostic, State};

use super::session::Session;
use crate::time::Instant;

/// What the state machine looks at: one input at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Input {
    /// A Control packet that passed the reception checks of 6.8.6, with this State field.
    Received(State),
    /// The Detection Time passed with no such packet (6.8.4).
    DetectionTimeExpired,
    /// The administrator holds the session down (6.8.16; FRRouting's `shutdown`).
    Shutdown,
    /// The administrator releases it (6.8.16; `no shutdown`).
    NoShutdown,
}

/// The next state, or `None` to stay.
pub fn next_state(state: State, input: Input) -> Option<State> {
    use Input::*;
    use State::*;
    match (state, input) {
        // 6.8.16: a global transition; held until the administrator releases the session.
        (AdminDown, NoShutdown) => Some(Down),
        (AdminDown, _) => None,
        (_, Shutdown) => Some(AdminDown),
        (_, NoShutdown) => None,
        // 6.8.6: "If bfd.SessionState is Down: If received State is Down, set
        // bfd.SessionState to Init; Else if received State is Init, set bfd.SessionState to
        // Up". Up and AdminDown from the remote, and the timer, leave Down alone.
        (Down, Received(Down)) => Some(Init),
        (Down, Received(Init)) => Some(Up),
        (Down, Received(Up | AdminDown) | DetectionTimeExpired) => None,
        // 6.8.6: "Else if bfd.SessionState is Init: If received State is Init or Up, set
        // bfd.SessionState to Up".
        (Init, Received(Init | Up)) => Some(Up),
        (Init, Received(Down)) => None,
        // 6.8.6: "If received state is AdminDown: If bfd.SessionState is not Down ... set
        // bfd.SessionState to Down".
        (Init | Up, Received(AdminDown)) => Some(Down),
        // 6.8.6: "Else (bfd.SessionState is Up): If received State is Down ... set
        // bfd.SessionState to Down".
        (Up, Received(Down)) => Some(Down),
        (Up, Received(Init | Up)) => None,
        // 6.8.4: the Detection Time passing takes Init and Up down.
        (Init | Up, DetectionTimeExpired) => Some(Down),
    }
}

/// The diagnostic a transition into `to` records (bfd.LocalDiag, 6.8.1: "the reason for the
/// most recent change in the local session state").
pub fn diagnostic(to: State, input: Input) -> Diagnostic {
    match (to, input) {
        // 6.8.16.
        (State::AdminDown, _) => Diagnostic::AdministrativelyDown,
        // 6.8.4 / 6.8.6 ("set bfd.LocalDiag to 1 (Control Detection Time Expired)").
        (State::Down, Input::DetectionTimeExpired) => Diagnostic::ControlDetectionTimeExpired,
        // 6.8.6 ("set bfd.LocalDiag to 3 (Neighbor signaled session down)").
        (State::Down, Input::Received(_)) => Diagnostic::NeighborSignaledSessionDown,
        // Out of AdminDown, and Init/Up: nothing went wrong (FRRouting clears it on Up too).
        _ => Diagnostic::NoDiagnostic,
    }
}

/// The entry actions of `state`, reached from `from` by `input` at `now`.
pub(crate) fn enter(session: &mut Session, state: State, from: State, input: Input, now: Instant) {
    session.session_state = state;
    session.local_diag = diagnostic(state, input);
    if input == Input::DetectionTimeExpired {
        // 6.8.1 bfd.RemoteDiscr: "If a period of a Detection Time passes without the receipt
        // of a valid, authenticated BFD packet from the remote system, this variable MUST be
        // set to zero." The remote's state is unknown again.
        session.remote_discr = 0;
        session.remote_session_state = State::Down;
    }
    match state {
        State::Up => session.stats.up_count += 1,
        State::AdminDown => session.detect_deadline = None,
        _ => {}
    }
    if from == State::Up {
        session.stats.down_count += 1;
    }
    // 6.8.3: while not Up, Desired Min TX is at least one second; Up, the configured value,
    // through a Poll Sequence (6.8.2). The session recomputes what it advertises and uses.
    session.update_intervals(now);
    // A state change is announced at once (as FRRouting and BIRD do), not at the next
    // periodic transmission.
    session.request_immediate();
    session.push_state_event(from, state);
}

#[cfg(test)]
mod tests {
    use super::Input::*;
    use super::*;
    use State::*;

    /// Each row: (state, input, expected next state, expected diagnostic if it moves, clause).
    #[test]
    fn transition_table() {
        let no = Diagnostic::NoDiagnostic;
        let rows: &[(State, Input, Option<State>, Diagnostic, &str)] = &[
            (Down, Received(Down), Some(Init), no, "6.8.6: Down, received Down -> Init"),
            (Down, Received(Init), Some(Up), no, "6.8.6: Down, received Init -> Up"),
            (Down, Received(Up), None, no, "6.2: Down ignores UP"),
            (Down, Received(AdminDown), None, no, "6.8.6: AdminDown received while Down"),
            (Down, DetectionTimeExpired, None, no, "6.2: Down ignores TIMER"),
            (Init, Received(Init), Some(Up), no, "6.8.6: Init, received Init -> Up"),
            (Init, Received(Up), Some(Up), no, "6.8.6: Init, received Up -> Up"),
            (Init, Received(Down), None, no, "6.2: Init stays on DOWN"),
            (
                Init,
                Received(AdminDown),
                Some(Down),
                Diagnostic::NeighborSignaledSessionDown,
                "6.8.6: received AdminDown while not Down -> Down, diag 3",
            ),
            (
                Init,
                DetectionTimeExpired,
                Some(Down),
                Diagnostic::ControlDetectionTimeExpired,
                "6.8.4: Init, TIMER -> Down, diag 1",
            ),
            (Up, Received(Up), None, no, "6.2: Up stays on UP"),
            (Up, Received(Init), None, no, "6.2: Up stays on INIT"),
            (
                Up,
                Received(Down),
                Some(Down),
                Diagnostic::NeighborSignaledSessionDown,
                "6.8.6: Up, received Down -> Down, diag 3",
            ),
            (
                Up,
                Received(AdminDown),
                Some(Down),
                Diagnostic::NeighborSignaledSessionDown,
                "6.8.6: Up, received AdminDown -> Down, diag 3",
            ),
            (
                Up,
                DetectionTimeExpired,
                Some(Down),
                Diagnostic::ControlDetectionTimeExpired,
                "6.8.4: Up, TIMER -> Down, diag 1",
            ),
            (
                Up,
                Shutdown,
                Some(AdminDown),
                Diagnostic::AdministrativelyDown,
                "6.8.16: administratively down, diag 7",
            ),
            (
                Down,
                Shutdown,
                Some(AdminDown),
                Diagnostic::AdministrativelyDown,
                "6.8.16: from any state",
            ),
            (AdminDown, NoShutdown, Some(Down), no, "6.8.16: released into Down"),
            (AdminDown, Received(Up), None, no, "6.8.6: AdminDown discards packets"),
            (AdminDown, Received(Down), None, no, "6.8.6: AdminDown discards packets"),
            (AdminDown, DetectionTimeExpired, None, no, "6.8.16: no timer in AdminDown"),
            (AdminDown, Shutdown, None, no, "already down"),
            (Up, NoShutdown, None, no, "not administratively down"),
        ];
        for &(state, input, want, diag, clause) in rows {
            assert_eq!(next_state(state, input), want, "{state:?} {input:?}: {clause}");
            if let Some(to) = want {
                assert_eq!(diagnostic(to, input), diag, "{state:?} {input:?}: {clause}");
            }
        }
    }

    /// No sequence of inputs reaches Up without the remote saying Init or Up, and Up is never
    /// reached straight from a remote in Down or AdminDown (the three-way handshake, 6.2).
    #[test]
    fn up_needs_the_remote_in_init_or_up() {
        for from in [Down, Init, Up, AdminDown] {
            for input in
                [Received(Down), Received(AdminDown), DetectionTimeExpired, Shutdown, NoShutdown]
            {
                assert_ne!(next_state(from, input), Some(Up), "{from:?} {input:?}");
            }
        }
    }
}
