//! The crate's one error enum (ARCHITECTURE rule 5), over the errors of
//! each format, for callers that handle them all the same way. Each module
//! returns its own error type, so a caller that knows which format it read
//! can match on the precise problem.

use crate::config_file::{ConfigError, ParameterError};
use crate::csv_error::CsvError;
use crate::global_csv::ExtraFileNameError;
use crate::mac::MacError;
use crate::system_values::SystemValuesError;

/// Anything this crate refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// A configuration file that cannot be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A parameter that cannot be written.
    #[error(transparent)]
    Parameter(#[from] ParameterError),
    /// A text that is not a MAC address.
    #[error(transparent)]
    Mac(#[from] MacError),
    /// A refused CSV file: every problem found, in file order.
    #[error("{}", CsvErrorList(.0))]
    Csv(Vec<CsvError>),
    /// A refused extra file name.
    #[error(transparent)]
    ExtraFileName(#[from] ExtraFileNameError),
    /// The gateway's name or hash key cannot be used.
    #[error(transparent)]
    SystemValues(#[from] SystemValuesError),
}

impl From<Vec<CsvError>> for ProvisionError {
    fn from(errors: Vec<CsvError>) -> Self {
        Self::Csv(errors)
    }
}

/// One problem per line, for a message that shows them all.
struct CsvErrorList<'a>(&'a [CsvError]);

impl std::fmt::Display for CsvErrorList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote_worker_csv::parse_remote_worker_csv;

    #[test]
    fn csv_errors_are_listed_one_per_line() {
        let errors = parse_remote_worker_csv(b"MAC_ADDRESS\nbad\n00085D23742\n", None).unwrap_err();
        let message = ProvisionError::from(errors).to_string();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), 2, "{message}");
        assert!(
            lines[0].starts_with("line 2, column A (MAC_ADDRESS): "),
            "{message}"
        );
        assert!(
            lines[1].starts_with("line 3, column A (MAC_ADDRESS): "),
            "{message}"
        );
    }
}
