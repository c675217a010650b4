//! Names of spaces and of their definitions (forms, workflows, views, dashboards, webhook
//! endpoints, inbound hooks): lowercase slugs, checked once at the edge.
//!
//! The names end up in URLs, storage keys and rhai code, so the rule is strict and the same for
//! all of them; the newtypes make an unchecked name impossible to pass around.

use std::borrow::Borrow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::NameError;

/// Longest accepted name; keeps storage keys and URL segments short.
pub const MAX_NAME_LEN: usize = 63;

/// The slug rule as a JSON Schema `pattern` (with [`MAX_NAME_LEN`] as `maxLength`), for API
/// documents to tell clients what a name may be.
pub const NAME_PATTERN: &str = "^[a-z](?:[a-z0-9]|-(?!-)|_(?!_))*(?<![-_])$";

/// The one slug rule behind every name type.
fn check_slug(name: &str) -> Result<(), &'static str> {
    let bytes = name.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err("must not be empty");
    };
    if bytes.len() > MAX_NAME_LEN {
        return Err("must be at most 63 characters long");
    }
    if !first.is_ascii_lowercase() {
        return Err("must start with a lowercase letter (a-z)");
    }
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'_';
    if !bytes.iter().all(allowed) {
        return Err("may only contain lowercase letters (a-z), digits, `-` and `_`");
    }
    if matches!(bytes.last(), Some(b'-' | b'_')) {
        return Err("must not end with `-` or `_`");
    }
    if name.contains("--") || name.contains("__") {
        return Err("must not contain `--` or `__`");
    }
    Ok(())
}

macro_rules! slug_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(String);

        impl $name {
            /// Checks `name` against the slug rule.
            pub fn parse(name: &str) -> Result<Self, NameError> {
                Self::try_from(name.to_owned())
            }

            /// A name written in the code, such as a test's or a built-in's. Like
            /// `http::HeaderName::from_static`, it panics when `name` breaks the slug rule,
            /// which only a programming error can cause: input from outside goes through
            /// [`Self::parse`].
            #[track_caller]
            pub fn from_static(name: &'static str) -> Self {
                match Self::parse(name) {
                    Ok(parsed) => parsed,
                    Err(err) => panic!("{err}"),
                }
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = NameError;

            fn try_from(name: String) -> Result<Self, NameError> {
                match check_slug(&name) {
                    Ok(()) => Ok(Self(name)),
                    Err(reason) => Err(NameError { name, reason }),
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = NameError;

            fn try_from(name: &str) -> Result<Self, NameError> {
                Self::parse(name)
            }
        }

        impl FromStr for $name {
            type Err = NameError;

            fn from_str(name: &str) -> Result<Self, NameError> {
                Self::parse(name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        // Lets maps keyed by a name be looked up with a plain `&str`; Eq/Ord/Hash agree with
        // the inner string's because they are derived from it.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(name: $name) -> String {
                name.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }
    };
}

slug_name!(
    /// The name of a space (a department's namespace), e.g. `customer-success`.
    SpaceName
);
slug_name!(
    /// The name of a form (an entity type), e.g. `account` or `nps_response`.
    FormName
);
slug_name!(
    /// The name of a workflow, e.g. `health-drop-alert`.
    WorkflowName
);
slug_name!(
    /// The name of a saved view of a form's records, e.g. `at-risk`.
    ViewName
);
slug_name!(
    /// The name of a dashboard, e.g. `renewals`.
    DashboardName
);
slug_name!(
    /// The name of an outgoing webhook endpoint, e.g. `slack`.
    EndpointName
);
slug_name!(
    /// The name of an inbound hook, e.g. `usage`.
    HookName
);

#[cfg(test)]
mod tests;
