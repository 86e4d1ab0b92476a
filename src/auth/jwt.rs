//! Our own access tokens: HS256 with `SECRET_KEY`, claims `sub` (the user id) and `exp`
//! only, exactly as the old backend minted them, so its tokens keep working.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: i64,
}

/// Why a token was refused; never shown to the client beyond "could not validate".
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid token: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("the subject is not a user id")]
    SubjectNotAUserId,
}

pub fn issue(user_id: Uuid, secret: &str, lifetime: Duration) -> Result<String, TokenError> {
    let exp = chrono::Utc::now().timestamp() + lifetime.as_secs() as i64;
    let claims = Claims {
        sub: user_id.to_string(),
        exp,
    };
    Ok(jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )?)
}

/// The user id of a valid, unexpired HS256 token signed with `secret`. Any other
/// algorithm, `alg: none` included, is refused.
pub fn verify(token: &str, secret: &str) -> Result<Uuid, TokenError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Claims>(
        token,
        &DecodingKey::from_secret(secret.as_bytes()),
        &validation,
    )?;
    Uuid::parse_str(&data.claims.sub).map_err(|_| TokenError::SubjectNotAUserId)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "unit-test-secret-unit-test-secret";

    #[test]
    fn issued_token_verifies_to_its_user() {
        let id = Uuid::new_v4();
        let token = issue(id, SECRET, Duration::from_secs(60)).unwrap();
        assert_eq!(verify(&token, SECRET).unwrap(), id);
    }

    #[test]
    fn wrong_secret_is_refused() {
        let token = issue(Uuid::new_v4(), SECRET, Duration::from_secs(60)).unwrap();
        assert!(verify(&token, "another-secret-another-secret-xx").is_err());
    }

    #[test]
    fn token_carries_exactly_sub_and_exp() {
        let token = issue(Uuid::new_v4(), SECRET, Duration::from_secs(60)).unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.insecure_disable_signature_validation();
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            &token,
            &DecodingKey::from_secret(b""),
            &validation,
        )
        .unwrap()
        .claims;
        let mut keys: Vec<_> = claims.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["exp", "sub"]);
    }
}
