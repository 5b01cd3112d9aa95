//! `livegate test api`: is the key accepted, and how long does a GET take? No frame
//! is posted.

use std::io::Write;
use std::time::Duration;

use crate::api::{AigenClient, ApiError, ClientOptions};

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

/// Runs `gets` GETs (mode 1) and reports each. Each GET starts (and abandons) a
/// liveness session on the account.
pub async fn test_api(
    opts: ClientOptions,
    gets: u32,
    w: &mut dyn Write,
) -> Result<ApiReport, ApiTestError> {
    writeln!(
        w,
        "Checking the AIGEN API at {}",
        crate::secret::show_url(&opts.base_url, Some(&opts.key))
    )?;
    let client = AigenClient::new(opts).map_err(|e| ApiTestError::Client(e.to_string()))?;
    let mut report = ApiReport {
        latencies: Vec::new(),
        first_action: None,
    };
    for i in 1..=gets.max(1) {
        let t = tokio::time::Instant::now();
        match client.sequence(1, None, &[]).await {
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
