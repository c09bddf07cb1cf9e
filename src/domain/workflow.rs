//! The closed loop of a case (立案 → 派遣 → 处置 → 核查 → 结案) as a pure state
//! machine: which action moves a case from which state to which, and who may
//! take it. Storage and HTTP apply it; nothing here does I/O.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Reported,
    Filed,
    Rejected,
    Dispatched,
    Handled,
    Closed,
    Suspended,
    Void,
}

impl CaseState {
    pub const ALL: [CaseState; 8] = [
        CaseState::Reported,
        CaseState::Filed,
        CaseState::Rejected,
        CaseState::Dispatched,
        CaseState::Handled,
        CaseState::Closed,
        CaseState::Suspended,
        CaseState::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Reported => "reported",
            CaseState::Filed => "filed",
            CaseState::Rejected => "rejected",
            CaseState::Dispatched => "dispatched",
            CaseState::Handled => "handled",
            CaseState::Closed => "closed",
            CaseState::Suspended => "suspended",
            CaseState::Void => "void",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Still in the loop: a new report nearby may be its duplicate.
    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }

    /// No action leaves these.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            CaseState::Closed | CaseState::Rejected | CaseState::Void
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Inspector,
    Operator,
    Dispatcher,
    Department,
    Kiosk,
    Admin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    File,
    Reject,
    Dispatch,
    Return,
    RequestExtension,
    ApproveExtension,
    Handle,
    VerifyPass,
    VerifyFail,
    Close,
    Suspend,
    Resume,
    Void,
    Urge,
    Merge,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Action::File,
        Action::Reject,
        Action::Dispatch,
        Action::Return,
        Action::RequestExtension,
        Action::ApproveExtension,
        Action::Handle,
        Action::VerifyPass,
        Action::VerifyFail,
        Action::Close,
        Action::Suspend,
        Action::Resume,
        Action::Void,
        Action::Urge,
        Action::Merge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::File => "file",
            Action::Reject => "reject",
            Action::Dispatch => "dispatch",
            Action::Return => "return",
            Action::RequestExtension => "request_extension",
            Action::ApproveExtension => "approve_extension",
            Action::Handle => "handle",
            Action::VerifyPass => "verify_pass",
            Action::VerifyFail => "verify_fail",
            Action::Close => "close",
            Action::Suspend => "suspend",
            Action::Resume => "resume",
            Action::Void => "void",
            Action::Urge => "urge",
            Action::Merge => "merge",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The roles that may take this action (admin may take any).
    pub fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Action::File | Action::Reject | Action::Close | Action::Merge => &[Operator, Admin],
            Action::Dispatch | Action::ApproveExtension | Action::Suspend | Action::Resume => {
                &[Dispatcher, Admin]
            }
            Action::Return => &[Dispatcher, Department, Admin],
            Action::RequestExtension | Action::Handle => &[Department, Admin],
            Action::VerifyPass | Action::VerifyFail => &[Inspector, Admin],
            Action::Void => &[Operator, Dispatcher, Admin],
            Action::Urge => &[Operator, Dispatcher, Admin],
        }
    }

    pub fn allowed_for(self, role: Role) -> bool {
        self.roles().contains(&role)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("{action:?} is not possible while the case is {state:?}")]
    InvalidTransition { state: CaseState, action: Action },
    #[error("the case was handled but not yet verified: verify it before closing")]
    NotVerified,
}

/// What the state machine needs to know of a case besides its state.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseFacts {
    /// The state it was suspended from (to resume into).
    pub suspended_from: Option<CaseState>,
    /// An inspector has passed the handling since it was last handled.
    pub verified: bool,
}

/// The state after `action`, or why the action is not possible now.
pub fn next_state(
    state: CaseState,
    facts: CaseFacts,
    action: Action,
) -> Result<CaseState, TransitionError> {
    use CaseState::*;
    let invalid = Err(TransitionError::InvalidTransition { state, action });
    let next = match (action, state) {
        (Action::File, Reported) => Filed,
        (Action::Reject, Reported) => Rejected,
        (Action::Dispatch, Filed) => Dispatched,
        (Action::Return, Dispatched) => Filed,
        (Action::RequestExtension | Action::ApproveExtension | Action::Urge, Dispatched) => {
            Dispatched
        }
        (Action::Handle, Dispatched) => Handled,
        (Action::VerifyPass, Handled) => Handled,
        // Rework (返工): back to the department.
        (Action::VerifyFail, Handled) => Dispatched,
        (Action::Close, Handled) => {
            if !facts.verified {
                return Err(TransitionError::NotVerified);
            }
            Closed
        }
        (Action::Suspend, Filed | Dispatched) => Suspended,
        (Action::Resume, Suspended) => match facts.suspended_from {
            Some(prev @ (Filed | Dispatched)) => prev,
            _ => Filed,
        },
        (Action::Void, Reported | Filed | Dispatched | Suspended) => Void,
        (Action::Merge, Reported | Filed) => Void,
        _ => return invalid,
    };
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CaseState::*;

    fn step(state: CaseState, action: Action) -> Result<CaseState, TransitionError> {
        next_state(state, CaseFacts::default(), action)
    }

    #[test]
    fn the_closed_loop() {
        let mut s = Reported;
        for a in [
            Action::File,
            Action::Dispatch,
            Action::Handle,
            Action::VerifyPass,
        ] {
            s = step(s, a).unwrap();
        }
        assert_eq!(s, Handled);
        let facts = CaseFacts {
            verified: true,
            ..Default::default()
        };
        assert_eq!(next_state(s, facts, Action::Close), Ok(Closed));
    }

    #[test]
    fn close_needs_verification_and_rework_goes_back_to_the_department() {
        assert_eq!(
            step(Handled, Action::Close),
            Err(TransitionError::NotVerified)
        );
        assert_eq!(step(Handled, Action::VerifyFail), Ok(Dispatched));
        assert_eq!(step(Dispatched, Action::Return), Ok(Filed));
    }

    #[test]
    fn suspension_resumes_where_it_stopped() {
        assert_eq!(step(Dispatched, Action::Suspend), Ok(Suspended));
        let facts = CaseFacts {
            suspended_from: Some(Dispatched),
            ..Default::default()
        };
        assert_eq!(next_state(Suspended, facts, Action::Resume), Ok(Dispatched));
    }

    #[test]
    fn terminal_states_allow_nothing() {
        for s in [Closed, Rejected, Void] {
            assert!(s.is_terminal());
            for a in Action::ALL {
                let facts = CaseFacts {
                    verified: true,
                    suspended_from: Some(Filed),
                };
                assert!(next_state(s, facts, a).is_err(), "{a:?} from {s:?}");
            }
        }
    }

    #[test]
    fn names_round_trip_and_match_serde() {
        for s in CaseState::ALL {
            assert_eq!(CaseState::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(a));
            assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
        }
        assert_eq!(Action::parse("dispatch "), None);
    }

    #[test]
    fn roles() {
        assert!(Action::Dispatch.allowed_for(Role::Dispatcher));
        assert!(!Action::Dispatch.allowed_for(Role::Department));
        assert!(Action::Handle.allowed_for(Role::Department));
        assert!(!Action::Handle.allowed_for(Role::Inspector));
        assert!(Action::VerifyFail.allowed_for(Role::Inspector));
        for a in Action::ALL {
            assert!(a.allowed_for(Role::Admin));
            assert!(
                !a.allowed_for(Role::Kiosk),
                "kiosks take no workflow action"
            );
        }
    }
}
