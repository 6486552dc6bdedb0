//! Languages people read tracegate in: Vietnamese by default, English on request, and the
//! one catalogue of the words pages and mails show.

pub mod catalogue;
mod fold;

pub use catalogue::{label, lookup};
pub use fold::fold;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    Vi,
    En,
}

impl Language {
    pub fn code(self) -> &'static str {
        match self {
            Language::Vi => "vi",
            Language::En => "en",
        }
    }

    /// Reads a stored language code; anything unknown falls back to Vietnamese.
    pub fn from_code(code: &str) -> Self {
        match code {
            "en" => Language::En,
            _ => Language::Vi,
        }
    }

    /// For templates: `{% if lang.is_vi() %}`.
    pub fn is_vi(self) -> bool {
        self == Language::Vi
    }
}
