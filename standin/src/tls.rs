//! In-memory TLS material for the stand-in: a fresh CA and a server certificate it
//! signed for `127.0.0.1` and `localhost`, served by rustls on the ring provider.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::StandinError;

/// The generated certificates and the rustls configuration that serves them.
pub(crate) struct TlsMaterial {
    /// PEM of the CA certificate; clients trust exactly this.
    pub ca_pem: Vec<u8>,
    /// DER of the CA certificate.
    pub ca_der: Vec<u8>,
    /// rustls server configuration (ring provider, ALPN `http/1.1`).
    pub server: Arc<rustls::ServerConfig>,
}

fn cert_err(e: rcgen::Error) -> StandinError {
    StandinError::Cert(e.to_string())
}

/// Generates a CA and a server certificate signed by it, and builds the server config.
pub(crate) fn generate() -> Result<TlsMaterial, StandinError> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(cert_err)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "livegate stand-in CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(cert_err)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(cert_err)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .map_err(cert_err)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "livegate stand-in");
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(cert_err)?;
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(cert_err)?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let chain = vec![CertificateDer::from(leaf_cert.der().to_vec())];
    let mut server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| StandinError::Tls(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| StandinError::Tls(e.to_string()))?;
    server.alpn_protocols = vec![b"http/1.1".to_vec()];

    Ok(TlsMaterial {
        ca_pem: ca_cert.pem().into_bytes(),
        ca_der: ca_cert.der().to_vec(),
        server: Arc::new(server),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_a_pem_ca_and_a_server_config() {
        let m = generate().expect("tls material");
        let pem = String::from_utf8(m.ca_pem.clone()).expect("utf8");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(!m.ca_der.is_empty());
        assert_eq!(m.server.alpn_protocols, vec![b"http/1.1".to_vec()]);
        // Each call makes a different CA.
        let other = generate().expect("tls material");
        assert_ne!(other.ca_der, m.ca_der);
    }
}
