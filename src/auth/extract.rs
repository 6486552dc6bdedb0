//! Typed callers. A handler names the caller it accepts by taking one of these as an
//! argument; a request without a valid token gets 401, a valid token of the wrong kind 403.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use super::tokens::{AMR_OTP, Claims, OfficerRole, PrincipalKind};
use crate::error::AppError;
use crate::state::AppState;

/// Any valid access token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

fn bearer(req: &HttpRequest) -> Result<&str, AppError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        AppError::unauthorized("send an access token: Authorization: Bearer <token>")
    })?;
    let text = value
        .to_str()
        .map_err(|_| AppError::unauthorized("the Authorization header is not readable text"))?;
    match text.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(AppError::unauthorized(
            "expected Authorization: Bearer <token>",
        )),
    }
}

fn authenticate(req: &HttpRequest) -> Result<Claims, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("application state missing")))?;
    let token = bearer(req)?;
    let claims = state
        .tokens
        .verify(token, state.clock.now().timestamp())
        .map_err(|e| AppError::Unauthorized {
            detail: format!("{e}; obtain a new access token"),
            challenge: "Bearer realm=\"tracegate\", error=\"invalid_token\"",
        })?;
    if state.revocations.is_revoked(&claims) {
        return Err(AppError::Unauthorized {
            detail: "the session or client this token was issued to has ended; sign in again"
                .into(),
            challenge: "Bearer realm=\"tracegate\", error=\"invalid_token\"",
        });
    }
    Ok(claims)
}

fn second_factor_required(req: &HttpRequest, claims: &Claims) -> Result<(), AppError> {
    let required = req
        .app_data::<web::Data<AppState>>()
        .is_none_or(|s| s.config.auth.require_officer_totp);
    if required && !claims.amr.iter().any(|m| m == AMR_OTP) {
        return Err(AppError::forbidden(
            "officer routes need a second factor: enrol one with POST /v1/me/totp, confirm it, and log in again with the code",
        ));
    }
    Ok(())
}

macro_rules! from_claims {
    ($ty:ty, $convert:expr) => {
        impl FromRequest for $ty {
            type Error = AppError;
            type Future = Ready<Result<Self, AppError>>;

            fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
                let convert: fn(&HttpRequest, Claims) -> Result<$ty, AppError> = $convert;
                ready(authenticate(req).and_then(|claims| convert(req, claims)))
            }
        }
    };
}

from_claims!(Authenticated, |_, claims| Ok(Authenticated(claims)));

/// A person with an account (seller or officer), for their own account's routes. Officers
/// pass without a second factor here so that they can enrol one.
#[derive(Debug, Clone)]
pub struct AccountAuth {
    pub account_id: String,
    pub kind: PrincipalKind,
    pub session_id: Option<String>,
}

from_claims!(AccountAuth, |_, claims| match claims.kind {
    PrincipalKind::Seller | PrincipalKind::Officer => Ok(AccountAuth {
        account_id: claims.sub,
        kind: claims.kind,
        session_id: claims.sid,
    }),
    _ => Err(AppError::forbidden(
        "this route is for sellers and officers signed in as people"
    )),
});

/// A seller.
#[derive(Debug, Clone)]
pub struct SellerAuth {
    pub account_id: String,
    pub session_id: Option<String>,
}

from_claims!(SellerAuth, |_, claims| match claims.kind {
    PrincipalKind::Seller => Ok(SellerAuth {
        account_id: claims.sub,
        session_id: claims.sid,
    }),
    _ => Err(AppError::forbidden("this route is for sellers")),
});

/// An officer of any role, with their province scope.
#[derive(Debug, Clone)]
pub struct OfficerAuth {
    pub account_id: String,
    pub role: OfficerRole,
    pub provinces: Vec<String>,
}

from_claims!(
    OfficerAuth,
    |req, claims| match (claims.kind, claims.role) {
        (PrincipalKind::Officer, Some(role)) => {
            second_factor_required(req, &claims)?;
            Ok(OfficerAuth {
                account_id: claims.sub,
                role,
                provinces: claims.provinces,
            })
        }
        _ => Err(AppError::forbidden("this route is for officers")),
    }
);

/// Someone who may be party to a case (a seller, the platform that filed it) or an officer
/// (with a second factor); the service checks which case is theirs.
#[derive(Debug, Clone)]
pub enum PartyAuth {
    Officer(OfficerAuth),
    Seller(SellerAuth),
    Platform(PlatformAuth),
}

from_claims!(PartyAuth, |req, claims| match (claims.kind, claims.role) {
    (PrincipalKind::Officer, Some(role)) => {
        second_factor_required(req, &claims)?;
        Ok(PartyAuth::Officer(OfficerAuth {
            account_id: claims.sub,
            role,
            provinces: claims.provinces,
        }))
    }
    (PrincipalKind::Seller, _) => Ok(PartyAuth::Seller(SellerAuth {
        account_id: claims.sub,
        session_id: claims.sid,
    })),
    (PrincipalKind::Platform, _) => Ok(PartyAuth::Platform(PlatformAuth {
        scopes: scopes(&claims),
        client_id: claims.sub,
    })),
    _ => Err(AppError::forbidden(
        "this route is for the parties to a case and officers"
    )),
});

/// An officer with the admin role.
#[derive(Debug, Clone)]
pub struct AdminAuth {
    pub account_id: String,
}

from_claims!(AdminAuth, |req, claims| match (claims.kind, claims.role) {
    (PrincipalKind::Officer, Some(OfficerRole::Admin)) => {
        second_factor_required(req, &claims)?;
        Ok(AdminAuth {
            account_id: claims.sub,
        })
    }
    _ => Err(AppError::forbidden("this route is for administrators")),
});

/// A machine client: platform or issuer.
#[derive(Debug, Clone)]
pub struct ClientAuth {
    pub client_id: String,
    pub kind: PrincipalKind,
    pub scopes: Vec<String>,
}

fn scopes(claims: &Claims) -> Vec<String> {
    claims
        .scope
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

from_claims!(ClientAuth, |_, claims| match claims.kind {
    PrincipalKind::Platform | PrincipalKind::Issuer => Ok(ClientAuth {
        scopes: scopes(&claims),
        client_id: claims.sub,
        kind: claims.kind,
    }),
    _ => Err(AppError::forbidden(
        "this route is for platform and issuer clients"
    )),
});

/// An e-commerce platform.
#[derive(Debug, Clone)]
pub struct PlatformAuth {
    pub client_id: String,
    pub scopes: Vec<String>,
}

from_claims!(PlatformAuth, |_, claims| match claims.kind {
    PrincipalKind::Platform => Ok(PlatformAuth {
        scopes: scopes(&claims),
        client_id: claims.sub,
    }),
    _ => Err(AppError::forbidden("this route is for platform clients")),
});

/// A code issuer.
#[derive(Debug, Clone)]
pub struct IssuerAuth {
    pub client_id: String,
    pub scopes: Vec<String>,
}

from_claims!(IssuerAuth, |_, claims| match claims.kind {
    PrincipalKind::Issuer => Ok(IssuerAuth {
        scopes: scopes(&claims),
        client_id: claims.sub,
    }),
    _ => Err(AppError::forbidden("this route is for issuer clients")),
});

/// Refuses a machine client whose token lacks `scope`.
pub fn require_scope(scopes: &[String], scope: &str) -> Result<(), AppError> {
    if scopes.iter().any(|s| s == scope) {
        Ok(())
    } else {
        Err(AppError::forbidden(format!(
            "this route needs the `{scope}` scope"
        )))
    }
}
