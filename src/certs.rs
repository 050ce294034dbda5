//! A CA and a serving certificate for the webhook (`certs`, `serve --dev`, tests).

use std::net::IpAddr;
use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot generate certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("at least one DNS name or IP is needed")]
    NoNames,
}

/// PEM texts of a fresh CA and a serving certificate it signed.
pub struct Bundle {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

/// Generates a CA and a serving cert for `names` (DNS names or IP addresses).
pub fn generate(names: &[String]) -> Result<Bundle, CertError> {
    if names.is_empty() {
        return Err(CertError::NoNames);
    }
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "terway-guard CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate()?;
    let mut leaf = CertificateParams::new(Vec::<String>::new())?;
    leaf.distinguished_name
        .push(DnType::CommonName, names[0].clone());
    for n in names {
        leaf.subject_alt_names.push(match n.parse::<IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(n.clone().try_into()?),
        });
    }
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // An ECDSA key only signs (TLS 1.2 ECDHE and 1.3): no keyEncipherment.
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.not_after = rcgen::date_time_ymd(2036, 1, 1);
    let cert = leaf.signed_by(&key, &issuer)?;
    Ok(Bundle {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Writes `ca.crt`, `tls.crt` and `tls.key` (mode 0600) into `dir`.
pub fn write(dir: &Path, b: &Bundle) -> Result<(), CertError> {
    let io = |path: &Path, source| CertError::Write {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    for (name, text) in [
        ("ca.crt", &b.ca_pem),
        ("tls.crt", &b.cert_pem),
        ("tls.key", &b.key_pem),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| io(&path, e))?;
        if name == "tls.key" {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_pem_for_names_and_ips() {
        let b = generate(&["localhost".into(), "127.0.0.1".into()]).unwrap();
        assert!(b.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(b.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(b.key_pem.contains("PRIVATE KEY"));
        assert!(matches!(generate(&[]), Err(CertError::NoNames)));
    }

    #[test]
    fn the_serving_key_only_signs() {
        let b = generate(&["localhost".into()]).unwrap();
        let body: String = b
            .cert_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = crate::cloud::sign::base64_decode(&body).unwrap();
        // keyUsage (2.5.29.15), critical, BIT STRING: digitalSignature alone
        // is 03 02 07 80; with keyEncipherment it would be 03 02 05 a0.
        let oid = [0x06, 0x03, 0x55, 0x1d, 0x0f];
        let at = der
            .windows(5)
            .position(|w| w == oid)
            .expect("a keyUsage extension");
        let ext = &der[at..at + 16];
        assert!(
            ext.windows(4).any(|w| w == [0x03, 0x02, 0x07, 0x80]),
            "{ext:02x?}"
        );
    }
}
