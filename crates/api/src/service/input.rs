//! Helpers the resource services (ICPs, devices, the guard) share: the
//! mapping of store errors to [`ServiceError`], and fields that may be
//! set to `null` in a change (`"mac": null` removes the MAC address).
//!
//! It does not parse requests (see `http::extract`) and holds no state.

use outpost_store::StoreError;
use serde::{Deserialize, Deserializer};

use super::ServiceError;

/// A store error as the service reports it: refused input is 422 naming
/// the first field, an ICP still used by devices 409, a CSV input too
/// large 413; the rest as [`ServiceError`]'s own conversion does.
pub(crate) fn store_error(e: StoreError) -> ServiceError {
    match e {
        e @ StoreError::IcpInUse { .. } => ServiceError::Conflict(e.to_string()),
        StoreError::ImportTooLarge { limit_bytes } => ServiceError::PayloadTooLarge { limit_bytes },
        e @ StoreError::ImportRead(_) => ServiceError::BadRequest {
            field: None,
            message: e.to_string(),
        },
        e @ StoreError::Import(_) => ServiceError::invalid("csv", e.to_string()),
        other => ServiceError::from(other),
    }
}

/// Deserializes a field that distinguishes "absent" (`None`, the field's
/// `#[serde(default)]`) from "null" (`Some(None)`) and a value
/// (`Some(Some(v))`).
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Patch {
        #[serde(default, deserialize_with = "nullable")]
        mac: Option<Option<String>>,
    }

    #[test]
    fn absent_null_and_value_differ() {
        let absent: Patch = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.mac, None);
        let null: Patch = serde_json::from_str(r#"{"mac": null}"#).unwrap();
        assert_eq!(null.mac, Some(None));
        let value: Patch = serde_json::from_str(r#"{"mac": "00085d842061"}"#).unwrap();
        assert_eq!(value.mac, Some(Some("00085d842061".to_owned())));
    }

    #[test]
    fn an_icp_in_use_is_a_conflict() {
        let e = store_error(StoreError::IcpInUse {
            name: "pbx".into(),
            devices: 2,
        });
        assert_eq!(e.status(), 409);
        assert!(e.to_string().contains("2 device(s)"), "{e}");
    }
}
