//! A form as a page shows it again after a refusal: the values entered
//! (never a password) and each error next to the field it concerns (the
//! service's errors name their field, [`ServiceError::field`]); an error
//! without a field, or naming a field the form does not have, is shown
//! above the form. The templates' macros (`templates/ui/forms.html`)
//! read it.

use crate::service::ServiceError;

use super::auth::FormData;

/// Values and errors of one form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormState {
    values: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    /// An error that concerns no one field.
    pub general: Option<String>,
}

impl FormState {
    /// An empty form, with these defaults.
    pub fn with_defaults(defaults: &[(&str, &str)]) -> Self {
        Self {
            values: defaults
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Self::default()
        }
    }

    /// The form as posted, keeping the fields named in `keep` (so that
    /// passwords are never sent back).
    pub fn from_posted(form: &FormData, keep: &[&str]) -> Self {
        Self {
            values: form
                .0
                .iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .cloned()
                .collect(),
            ..Self::default()
        }
    }

    /// Records `error`: next to its field when it names one of `fields`
    /// (the names of the form's inputs), else above the form.
    pub fn refuse(&mut self, error: &ServiceError, fields: &[&str]) {
        self.refuse_field(error.field(), &error.public_message(), fields);
    }

    /// Records `message` about `field` (see [`FormState::refuse`]).
    pub fn refuse_field(&mut self, field: Option<&str>, message: &str, fields: &[&str]) {
        match field.filter(|f| fields.contains(f)) {
            Some(f) => self.errors.push((f.to_owned(), message.to_owned())),
            None => self.general = Some(message.to_owned()),
        }
    }

    /// The value of `name` to show, or `""`.
    pub fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Whether the checkbox `name` is ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.values.iter().any(|(k, _)| k == name)
    }

    /// The error about `name`, if any.
    pub fn error(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether anything was refused.
    pub fn has_errors(&self) -> bool {
        self.general.is_some() || !self.errors.is_empty()
    }
}

/// A whole number from field `name`: `None` when empty, a 422 naming the
/// field when it does not parse.
///
/// # Errors
/// [`ServiceError::Invalid`] naming `name`.
pub fn number<T: std::str::FromStr>(
    form: &FormData,
    name: &str,
) -> Result<Option<T>, ServiceError> {
    let text = form.text(name);
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ServiceError::invalid(name, format!("{text:?} is not a whole number in range"))
    })
}
