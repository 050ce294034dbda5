//! Terway's own credential file (`credential_path`, `/var/addon/token-config`).

use std::path::PathBuf;

use serde_json::Value;

use super::{Credential, CredentialError, Secret, err};
use crate::cloud::sign::base64_decode;
use crate::cloud::time::parse_iso8601;

/// Terway's `credential_path` file: each value is base64(IV ‖ AES-CBC(PKCS#7)),
/// keyed by the raw bytes of `keyring`.
pub fn read(path: &PathBuf) -> Result<Credential, CredentialError> {
    const S: &str = "Terway credential file";
    let text = std::fs::read_to_string(path)
        .map_err(|e| err(S, format!("cannot read {}: {e}", path.display())))?;
    let v: Value = serde_json::from_str(&text)
        .map_err(|e| err(S, format!("{} is not JSON: {e}", path.display())))?;
    if v.get("error").is_some_and(|e| !e.is_null()) {
        return Err(err(
            S,
            "the file reports an error from the credential provider",
        ));
    }
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| err(S, format!("missing {k}")))
    };
    let keyring = field("keyring")?.as_bytes().to_vec();
    let open = |k: &str| -> Result<String, CredentialError> {
        decrypt(field(k)?, &keyring).ok_or_else(|| err(S, format!("cannot decrypt {k}")))
    };
    Ok(Credential {
        access_key_id: Secret::new(open("access.key.id")?),
        access_key_secret: Secret::new(open("access.key.secret")?),
        security_token: Some(Secret::new(open("security.token")?))
            .filter(|t| !t.expose().is_empty()),
        expiration: v
            .get("expiration")
            .and_then(Value::as_str)
            .and_then(parse_iso8601),
        source: "Terway credential file",
    })
}

pub fn decrypt(b64: &str, key: &[u8]) -> Option<String> {
    use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
    let data = base64_decode(b64)?;
    if data.len() < 32 || data.len() % 16 != 0 {
        return None;
    }
    let (iv, ct) = data.split_at(16);
    let plain = match key.len() {
        16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .ok()?,
        24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .ok()?,
        32 => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
            .ok()?
            .decrypt_padded_vec_mut::<Pkcs7>(ct)
            .ok()?,
        _ => return None,
    };
    String::from_utf8(plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypts_aes_cbc_with_pkcs7() {
        use cbc::cipher::{BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
        let key = b"0123456789abcdef0123456789abcdef";
        let iv = [7u8; 16];
        let ct = cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &iv)
            .unwrap()
            .encrypt_padded_vec_mut::<Pkcs7>(b"LTAI5tHello");
        let blob = crate::cloud::sign::base64(&[&iv[..], &ct].concat());
        assert_eq!(decrypt(&blob, key).as_deref(), Some("LTAI5tHello"));
        assert_eq!(decrypt(&blob, b"wrong key 16 byt"), None);
        assert_eq!(decrypt("AAAA", key), None);
    }
}
