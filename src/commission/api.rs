//! `livegate test api`: is the key accepted, and how long does a GET take? No frame
//! is posted.

use std::io::Write;
use std::time::Duration;

use crate::actions::Part;
use crate::api::{AigenClient, ApiError, ClientOptions};

/// The sequence the check asks for: the configured `api.mode`, `api.part` and
/// `api.select`, so that a wrong one shows here and not at the gate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sequence {
    pub mode: u8,
    pub part: Option<Part>,
    pub select: Vec<String>,
}

/// What the check found.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiReport {
    /// Latency of each GET that answered.
    pub latencies: Vec<Duration>,
    /// The first action the service asked for.
    pub first_action: Option<String>,
}

/// Why the check failed; the text says what to do.
#[derive(Debug, thiserror::Error)]
pub enum ApiTestError {
    #[error("cannot write the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("{advice}")]
    Api { error: ApiError, advice: String },
    #[error("{0}")]
    Client(String),
}

/// Plain words on what to do about an API error.
pub fn advice(e: &ApiError) -> String {
    match e {
        ApiError::Unauthorized { .. } | ApiError::Forbidden { .. } => format!(
            "The service rejected the API key ({e}). Check the key file \
             (/etc/livegate/aigen-key, or api.key_file) holds the key from your AIGEN account."
        ),
        ApiError::OutOfCredit { .. } => {
            format!("The account is out of credit ({e}). Top it up in the AIGEN console.")
        }
        ApiError::Tls(_) => format!(
            "The secure connection failed ({e}). Check the clock (`date`: a wrong date \
             breaks certificates) and, behind an inspecting proxy, api.ca_file."
        ),
        ApiError::Timeout { .. } | ApiError::Network(_) => format!(
            "The service could not be reached ({e}). Check the network cable or Wi-Fi, DNS \
             (`getent hosts apis.aigen.online`) and the firewall (outgoing HTTPS, port 443)."
        ),
        ApiError::Server { .. } | ApiError::UnexpectedStatus { .. } => format!(
            "The service answered with an error ({e}). Check api.base_url; if it is right, \
             the service may be down: try again later."
        ),
        ApiError::Unprocessable { .. } | ApiError::Garbled(_) => format!(
            "The service did not understand us or answered nonsense ({e}). Check api.mode, \
             api.part and api.select, and api.base_url."
        ),
    }
}

/// Runs `gets` GETs for `sequence` and reports each. Each GET opens (and abandons)
/// one liveness session on the account, and says so.
pub async fn test_api(
    opts: ClientOptions,
    sequence: &Sequence,
    gets: u32,
    w: &mut dyn Write,
) -> Result<ApiReport, ApiTestError> {
    let gets = gets.max(1);
    writeln!(
        w,
        "Checking the AIGEN API at {}",
        crate::secret::show_url(&opts.base_url, Some(&opts.key))
    )?;
    let part = sequence.part.map_or("any", Part::as_str);
    let select = if sequence.select.is_empty() {
        "any action".to_owned()
    } else {
        sequence.select.join(", ")
    };
    writeln!(
        w,
        "Asking for {} action{} (api.mode), part {part} (api.part), from {select} \
         (api.select). Each request opens one liveness session on the account: {gets} \
         session{} in all, no frame sent.",
        sequence.mode,
        if sequence.mode == 1 { "" } else { "s" },
        if gets == 1 { "" } else { "s" },
    )?;
    let client = AigenClient::new(opts).map_err(|e| ApiTestError::Client(e.to_string()))?;
    let mut report = ApiReport {
        latencies: Vec::new(),
        first_action: None,
    };
    for i in 1..=gets {
        let t = tokio::time::Instant::now();
        match client
            .sequence(sequence.mode, sequence.part, &sequence.select)
            .await
        {
            Ok(answer) => {
                let took = t.elapsed();
                report.latencies.push(took);
                if report.first_action.is_none() {
                    report.first_action = answer.next_choice.clone();
                }
                writeln!(
                    w,
                    "  request {i}: key accepted, answered in {} ms (first action: {})",
                    took.as_millis(),
                    answer.next_choice.as_deref().unwrap_or("none")
                )?;
            }
            Err(error) => {
                let advice = advice(&error);
                writeln!(w, "  request {i}: failed: {error}")?;
                writeln!(w, "API problem: {advice}")?;
                return Err(ApiTestError::Api { error, advice });
            }
        }
    }
    let n = report.latencies.len().max(1) as u32;
    let avg = report.latencies.iter().sum::<Duration>() / n;
    writeln!(
        w,
        "API OK: the key is accepted; a request takes about {} ms. No frame was sent.",
        avg.as_millis()
    )?;
    Ok(report)
}
