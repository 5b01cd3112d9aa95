//! How a session ended ([`Verdict`]), why a session was denied ([`DenyReason`]) and
//! the words a person reads for it.

use crate::aigen::ApiError;

/// How a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Deny(DenyReason),
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Deny(_) => "deny",
        }
    }
}

/// The reason a person reads for a failure of the service.
pub fn deny_reason_for(e: &ApiError) -> DenyReason {
    match e {
        ApiError::Unauthorized { .. } | ApiError::Forbidden { .. } => DenyReason::KeyRejected,
        ApiError::OutOfCredit { .. } => DenyReason::OutOfCredit,
        ApiError::Unprocessable { .. } => DenyReason::DeviceError,
        ApiError::Server { .. }
        | ApiError::UnexpectedStatus { .. }
        | ApiError::Timeout { .. }
        | ApiError::Tls(_)
        | ApiError::Network(_)
        | ApiError::Garbled(_) => DenyReason::ServiceUnavailable,
    }
}

/// Why a session was denied, in words a person understands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyReason {
    /// The person did not perform the action before its time ran out.
    ActionTimeout,
    /// The service did not confirm the actions (wrong actions, a photo, …).
    NotVerified,
    /// The whole session took longer than its limit.
    SessionTimeout,
    /// Network failure, timeout, TLS failure or 5xx.
    ServiceUnavailable,
    /// 401/403: the device's API key is not accepted.
    KeyRejected,
    /// 429: the account is out of credit.
    OutOfCredit,
    /// 422 or an answer that makes no sense: a fault of this device or the service.
    DeviceError,
    /// No frame from the camera.
    CameraUnavailable,
    /// Too many failed attempts: locked out for a while.
    TooManyAttempts,
    /// Stopped by an operator.
    Cancelled,
    /// The service stopped during the session.
    Shutdown,
}

impl DenyReason {
    /// Every reason, in the order of the screens and the metrics.
    pub const ALL: [DenyReason; 11] = [
        DenyReason::ActionTimeout,
        DenyReason::NotVerified,
        DenyReason::SessionTimeout,
        DenyReason::ServiceUnavailable,
        DenyReason::KeyRejected,
        DenyReason::OutOfCredit,
        DenyReason::DeviceError,
        DenyReason::CameraUnavailable,
        DenyReason::TooManyAttempts,
        DenyReason::Cancelled,
        DenyReason::Shutdown,
    ];

    /// A stable name for logs and events.
    pub fn code(self) -> &'static str {
        match self {
            DenyReason::ActionTimeout => "action_timeout",
            DenyReason::NotVerified => "not_verified",
            DenyReason::SessionTimeout => "session_timeout",
            DenyReason::ServiceUnavailable => "service_unavailable",
            DenyReason::KeyRejected => "key_rejected",
            DenyReason::OutOfCredit => "out_of_credit",
            DenyReason::DeviceError => "device_error",
            DenyReason::CameraUnavailable => "camera_unavailable",
            DenyReason::TooManyAttempts => "too_many_attempts",
            DenyReason::Cancelled => "cancelled",
            DenyReason::Shutdown => "shutdown",
        }
    }

    /// The words on the screen: short enough for a 128x64 panel.
    pub fn words(self) -> &'static str {
        match self {
            DenyReason::ActionTimeout => "Action not done in time",
            DenyReason::NotVerified => "Not verified",
            DenyReason::SessionTimeout => "Took too long",
            DenyReason::ServiceUnavailable => "Service unavailable",
            DenyReason::KeyRejected => "API key rejected",
            DenyReason::OutOfCredit => "Out of credit",
            DenyReason::DeviceError => "Device error",
            DenyReason::CameraUnavailable => "Camera unavailable",
            DenyReason::TooManyAttempts => "Too many attempts",
            DenyReason::Cancelled => "Cancelled",
            DenyReason::Shutdown => "Gate shutting down",
        }
    }

    /// Whether the person failed (counts toward the lockout), as opposed to the
    /// device or the service failing.
    pub fn is_person_failure(self) -> bool {
        matches!(
            self,
            DenyReason::ActionTimeout | DenyReason::NotVerified | DenyReason::SessionTimeout
        )
    }
}
