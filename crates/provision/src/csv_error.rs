//! Errors of the two CSV formats: each names the line and column as a
//! spreadsheet user sees them (line 7, column B) and says what to change.
//!
//! An import is all or nothing, so a refused file comes back with every
//! problem found (up to [`MAX_ERRORS`]), not just the first: the operator
//! fixes them all in one round trip. No message quotes a cell's value
//! except a MAC address: cells hold passwords, and errors end up in API
//! answers and logs.

use std::fmt;

use crate::config_file::ParameterError;
use crate::mac::{Mac, MacError};

/// Most problems reported for one file; beyond, one
/// [`CsvProblem::TooManyErrors`] ends the list.
pub const MAX_ERRORS: usize = 100;

/// A column of the file: its 1-based position and, once the header is
/// read, the name it has there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvColumn {
    /// 1-based position (A is 1).
    pub index: usize,
    /// The header cell, when there is one.
    pub name: Option<String>,
}

impl CsvColumn {
    /// The spreadsheet letter of the column: A..Z, AA..AZ, ...
    #[must_use]
    pub fn letter(&self) -> String {
        let mut n = self.index;
        let mut letters = Vec::new();
        while n > 0 {
            let rem = (n - 1) % 26;
            // `rem` < 26, so the addition stays within 'A'..='Z'.
            letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
            n = (n - 1) / 26;
        }
        letters.iter().rev().collect()
    }
}

impl fmt::Display for CsvColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}", self.letter())?;
        match &self.name {
            Some(name) if !name.is_empty() => write!(f, " ({name})"),
            _ => Ok(()),
        }
    }
}

/// One problem in a CSV file, where it is, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{problem}", Location(*line, column.as_ref()))]
pub struct CsvError {
    /// 1-based line in the file (the header is on line 1 unless title rows
    /// come first); `None` for problems with the whole file.
    pub line: Option<usize>,
    /// The column, when the problem is in one cell or header cell.
    pub column: Option<CsvColumn>,
    /// What is wrong and how to fix it.
    pub problem: CsvProblem,
}

impl CsvError {
    /// A problem with the whole file.
    pub(crate) const fn file(problem: CsvProblem) -> Self {
        Self {
            line: None,
            column: None,
            problem,
        }
    }

    /// A problem on a line.
    pub(crate) const fn line(line: usize, problem: CsvProblem) -> Self {
        Self {
            line: Some(line),
            column: None,
            problem,
        }
    }

    /// A problem in one cell.
    pub(crate) const fn cell(line: usize, column: CsvColumn, problem: CsvProblem) -> Self {
        Self {
            line: Some(line),
            column: Some(column),
            problem,
        }
    }
}

struct Location<'a>(Option<usize>, Option<&'a CsvColumn>);

impl fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0, self.1) {
            (Some(line), Some(column)) => write!(f, "line {line}, {column}: "),
            (Some(line), None) => write!(f, "line {line}: "),
            (None, Some(column)) => write!(f, "{column}: "),
            (None, None) => Ok(()),
        }
    }
}

/// What is wrong, with the fix in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsvProblem {
    /// The file is larger than the format's limit.
    #[error("the file is larger than {limit} bytes; split it into smaller files")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// A cell (or the header) is not UTF-8.
    #[error(
        "not valid UTF-8 text; save the file as UTF-8 CSV (in Excel: \"CSV UTF-8\"), or \
         remove the accented characters"
    )]
    NotUtf8,
    /// The `csv` reader could not go on (see `csv_table`).
    #[error(
        "the file cannot be read as CSV from here on; save it again from the spreadsheet as CSV"
    )]
    Malformed,
    /// Nothing but blank lines.
    #[error("the file is empty; the first line names the columns ({expected})")]
    NoHeader {
        /// What the header should hold.
        expected: &'static str,
    },
    /// A required column is not in the header row.
    #[error("no {name} column in the header row; the header names the columns ({expected})")]
    MissingColumn {
        /// The column's name.
        name: &'static str,
        /// What the header should hold.
        expected: &'static str,
    },
    /// The same column twice.
    #[error("the same column as {first}; name each column once")]
    DuplicateColumn {
        /// The first one.
        first: CsvColumn,
    },
    /// A header cell that is not a phone parameter name.
    #[error("{0}")]
    BadColumnName(ParameterError),
    /// A parameter name in a row that is not a phone parameter name.
    #[error("{0}")]
    BadParameterName(ParameterError),
    /// A header cell the format does not know.
    #[error("unknown column; the columns are {expected}")]
    UnknownColumn {
        /// The columns there may be.
        expected: &'static str,
    },
    /// More columns than [`crate::remote_worker_csv::MAX_COLUMNS`].
    #[error("more than {limit} columns; a file holds at most {limit}")]
    TooManyColumns {
        /// The limit.
        limit: usize,
    },
    /// A value under a header cell that is empty.
    #[error(
        "a value in a column with no name in the header row; name the column in the header, \
         or clear the cell"
    )]
    ValueInUnnamedColumn,
    /// The MAC cell is not a MAC address.
    #[error("{0}")]
    BadMac(MacError),
    /// The MAC is on an earlier line too.
    #[error(
        "MAC address {mac} is also on line {first_line}; each phone appears once, remove one of the lines"
    )]
    DuplicateMac {
        /// The MAC, in canonical form.
        mac: Mac,
        /// The earlier line.
        first_line: usize,
    },
    /// More rows than the format allows (terminal management takes at most
    /// 1500 phones per file, seed 004 §1.1 and §4.1–4.4).
    #[error(
        "more than {limit} phones in one file; split the file into several of at most \
         {limit} rows"
    )]
    TooManyPhones {
        /// The limit.
        limit: usize,
    },
    /// More parameter rows than the global format allows.
    #[error("more than {limit} parameters; the global file holds at most {limit}")]
    TooManyParameters {
        /// The limit.
        limit: usize,
    },
    /// A header but no data rows.
    #[error("no {what} after the header row; add one row per {what_one}")]
    NoRows {
        /// What the rows are ("phones", "parameters").
        what: &'static str,
        /// One of them.
        what_one: &'static str,
    },
    /// An empty cell in a phone parameter column.
    #[error(
        "empty cell; write the value, or NOTDEFINED to leave the parameter out of this \
         phone's file (the phone then keeps its current value)"
    )]
    EmptyCell,
    /// An empty system cell and no gateway values to fill it with.
    #[error(
        "empty cell, and no gateway name and hash are configured to fill it in; configure \
         them, write the value, or write NOTDEFINED to leave the parameter out"
    )]
    EmptySystemCell,
    /// An empty parameter name in the global file.
    #[error("empty parameter name; write the name in the PARAMETERS column, or clear the row")]
    EmptyParameterName,
    /// A value that cannot be written to a configuration file.
    #[error("{0}")]
    BadValue(ParameterError),
    /// An `https path` that is not the gateway's hash: the phone would
    /// fetch its next configuration from a path that does not exist.
    #[error(
        "this is not the gateway's hash key, so the phone could not download its \
         configuration any more (was the file made for another gateway or an older hash?); \
         clear the cell and Outpost fills in its hash, or write the current one \
         (outpost provisioning hash show)"
    )]
    WrongHashPath,
    /// The same parameter on two rows of the global file.
    #[error("the parameter {name:?} is also on line {first_line}; set each parameter once")]
    DuplicateParameter {
        /// Its name.
        name: String,
        /// The earlier line.
        first_line: usize,
    },
    /// [`MAX_ERRORS`] problems were reported; the rest are not.
    #[error("more than {limit} problems; fix these and import the file again")]
    TooManyErrors {
        /// [`MAX_ERRORS`].
        limit: usize,
    },
}

/// The problems found so far, capped at [`MAX_ERRORS`].
#[derive(Debug, Default)]
pub(crate) struct Errors {
    list: Vec<CsvError>,
}

impl Errors {
    /// Records a problem; once [`MAX_ERRORS`] are recorded, records
    /// [`CsvProblem::TooManyErrors`] instead and returns `false` (stop).
    pub(crate) fn push(&mut self, error: CsvError) -> bool {
        if self.list.len() < MAX_ERRORS {
            self.list.push(error);
            true
        } else {
            if self.list.len() == MAX_ERRORS {
                self.list.push(CsvError::file(CsvProblem::TooManyErrors {
                    limit: MAX_ERRORS,
                }));
            }
            false
        }
    }

    /// Whether the cap was reached.
    pub(crate) fn full(&self) -> bool {
        self.list.len() > MAX_ERRORS
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems in file order: by line, then by column, as the
    /// operator reads the spreadsheet (a row's cells are checked in more
    /// than one pass); [`CsvProblem::TooManyErrors`] stays last.
    pub(crate) fn into_vec(mut self) -> Vec<CsvError> {
        self.list.sort_by_key(|e| {
            (
                matches!(e.problem, CsvProblem::TooManyErrors { .. }),
                e.line.unwrap_or(0),
                e.column.as_ref().map_or(0, |c| c.index),
            )
        });
        self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(index: usize) -> CsvColumn {
        CsvColumn { index, name: None }
    }

    #[test]
    fn spreadsheet_letters() {
        let letters: Vec<String> = [1, 2, 26, 27, 52, 53, 256, 702, 703]
            .into_iter()
            .map(|i| column(i).letter())
            .collect();
        assert_eq!(
            letters,
            ["A", "B", "Z", "AA", "AZ", "BA", "IV", "ZZ", "AAA"]
        );
    }

    #[test]
    fn messages_name_line_column_and_fix() {
        let error = CsvError::cell(
            7,
            CsvColumn {
                index: 1,
                name: Some("MAC_ADDRESS".to_owned()),
            },
            CsvProblem::BadMac(MacError::Length { chars: 11 }),
        );
        assert_eq!(
            error.to_string(),
            "line 7, column A (MAC_ADDRESS): 11 characters; a MAC address is 12 hex digits, \
             written 00085D842061, 00-08-5D-84-20-61 or 00:08:5D:84:20:61"
        );
        let error = CsvError::file(CsvProblem::TooLarge { limit: 10 });
        assert!(
            error.to_string().starts_with("the file is larger"),
            "{error}"
        );
        let error = CsvError::line(3, CsvProblem::NotUtf8);
        assert!(
            error.to_string().starts_with("line 3: not valid UTF-8"),
            "{error}"
        );
    }

    #[test]
    fn errors_come_out_in_file_order() {
        let mut errors = Errors::default();
        errors.push(CsvError::cell(
            4,
            column(6),
            CsvProblem::ValueInUnnamedColumn,
        ));
        errors.push(CsvError::cell(4, column(1), CsvProblem::EmptyCell));
        errors.push(CsvError::line(2, CsvProblem::NotUtf8));
        errors.push(CsvError::file(CsvProblem::TooLarge { limit: 1 }));
        let order: Vec<(Option<usize>, Option<usize>)> = errors
            .into_vec()
            .iter()
            .map(|e| (e.line, e.column.as_ref().map(|c| c.index)))
            .collect();
        assert_eq!(
            order,
            [
                (None, None),
                (Some(2), None),
                (Some(4), Some(1)),
                (Some(4), Some(6))
            ]
        );
    }

    #[test]
    fn errors_are_capped() {
        let mut errors = Errors::default();
        for _ in 0..MAX_ERRORS {
            assert!(errors.push(CsvError::line(1, CsvProblem::EmptyCell)));
        }
        assert!(!errors.full());
        assert!(!errors.push(CsvError::line(1, CsvProblem::EmptyCell)));
        assert!(!errors.push(CsvError::line(1, CsvProblem::EmptyCell)));
        assert!(errors.full());
        let list = errors.into_vec();
        assert_eq!(list.len(), MAX_ERRORS + 1);
        assert_eq!(
            list[MAX_ERRORS].problem,
            CsvProblem::TooManyErrors { limit: MAX_ERRORS }
        );
    }
}
