//! Signatures: an ed25519 signature over the raw 32-byte sha256 of the component, made with
//! `trellis plugin sign` and checked at install against the keys the user trusts.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

use trellis_runtime::plugin::Manifest;

/// Which signatures an install accepts.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// Refuse plugins without a signature from a trusted key.
    pub require_signatures: bool,
    /// Trusted public keys.
    pub keys: Vec<VerifyingKey>,
}

/// A key, signature or digest that is not what it should be.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TrustError(pub String);

fn hex_array<const N: usize>(text: &str, what: &str) -> Result<[u8; N], TrustError> {
    let bytes = hex::decode(text.trim())
        .map_err(|e| TrustError(format!("{what} is not hexadecimal: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| TrustError(format!("{what} must be {N} bytes ({} hex digits)", 2 * N)))
}

/// Parses a public key (64 hex digits).
pub fn public_key(text: &str) -> Result<VerifyingKey, TrustError> {
    VerifyingKey::from_bytes(&hex_array::<32>(text, "public key")?)
        .map_err(|e| TrustError(format!("invalid public key: {e}")))
}

impl Trust {
    /// Trust from config: `require_signatures` and keys as hex strings.
    pub fn new(require_signatures: bool, keys: &[String]) -> Result<Self, TrustError> {
        let keys = keys
            .iter()
            .map(|k| public_key(k))
            .collect::<Result<_, _>>()?;
        Ok(Trust {
            require_signatures,
            keys,
        })
    }

    /// Checks the manifest's signature over `sha256`. Returns the verifying key (hex), `None`
    /// for an unsigned plugin when signatures are not required, or why it is refused.
    pub fn check(&self, manifest: &Manifest, sha256: &str) -> Result<Option<String>, String> {
        let Some(signature) = &manifest.signature else {
            return if self.require_signatures {
                Err("unsigned, and [trust] require_signatures is on".into())
            } else {
                Ok(None)
            };
        };
        let digest = hex_array::<32>(sha256, "sha256").map_err(|e| e.0)?;
        let signature =
            Signature::from_bytes(&hex_array::<64>(signature, "signature").map_err(|e| e.0)?);
        if self.keys.is_empty() {
            return if self.require_signatures {
                Err("signed, but no key is trusted ([trust] keys is empty)".into())
            } else {
                tracing::warn!(plugin = %manifest.id, "signature not checked: no trusted keys configured");
                Ok(None)
            };
        }
        self.keys
            .iter()
            .find(|key| key.verify(&digest, &signature).is_ok())
            .map(|key| Some(hex::encode(key.as_bytes())))
            .ok_or_else(|| "the signature does not verify with any trusted key".to_string())
    }
}

/// A new signing key: `(secret, public)` as hex.
pub fn generate_key() -> Result<(String, String), TrustError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| TrustError(format!("no randomness: {e}")))?;
    let key = SigningKey::from_bytes(&seed);
    Ok((
        hex::encode(seed),
        hex::encode(key.verifying_key().as_bytes()),
    ))
}

/// Signs a component's sha256 (hex) with a secret key (hex); returns the signature as hex.
pub fn sign(secret: &str, sha256: &str) -> Result<String, TrustError> {
    let key = SigningKey::from_bytes(&hex_array::<32>(secret, "secret key")?);
    let digest = hex_array::<32>(sha256, "sha256")?;
    Ok(hex::encode(key.sign(&digest).to_bytes()))
}

/// The public key (hex) of a secret key (hex).
pub fn public_of(secret: &str) -> Result<String, TrustError> {
    let key = SigningKey::from_bytes(&hex_array::<32>(secret, "secret key")?);
    Ok(hex::encode(key.verifying_key().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn manifest(signature: Option<&str>) -> Manifest {
        let mut text = String::from(
            "id = \"p\"\nversion = \"1.0.0\"\nkind = \"analyzer\"\napi = \"^0.1\"\nwasm = \"p.wasm\"\n",
        );
        if let Some(s) = signature {
            text.push_str(&format!("signature = \"{s}\"\n"));
        }
        Manifest::parse(&text, Path::new("plugin.toml")).unwrap()
    }

    #[test]
    fn signatures_verify_only_with_the_right_key_and_digest() {
        let (secret, public) = generate_key().unwrap();
        let (_, other) = generate_key().unwrap();
        let sha = "ab".repeat(32);
        let sig = sign(&secret, &sha).unwrap();
        let trust = Trust::new(true, std::slice::from_ref(&public)).unwrap();
        assert_eq!(
            trust.check(&manifest(Some(&sig)), &sha).unwrap(),
            Some(public.clone())
        );
        // Another digest, another key, no signature: all refused when required.
        assert!(
            trust
                .check(&manifest(Some(&sig)), &"cd".repeat(32))
                .is_err()
        );
        assert!(
            Trust::new(true, &[other])
                .unwrap()
                .check(&manifest(Some(&sig)), &sha)
                .is_err()
        );
        assert!(trust.check(&manifest(None), &sha).is_err());
        // Unsigned plugins pass when signatures are not required.
        assert_eq!(Trust::default().check(&manifest(None), &sha).unwrap(), None);
        assert_eq!(public_of(&secret).unwrap(), public);
    }
}
