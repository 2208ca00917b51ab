//! Reading a spreadsheet's CSV export into rows with the line numbers the
//! operator sees: the part the remote-worker and global formats share.
//!
//! - **Bounded**: the caller gives the byte limit; rows are read one at a
//!   time so that a limit on rows stops the reading, and cells past the
//!   header's width are only checked for being empty, never copied.
//! - **Separator**: `;` or `,` (SPEC PRO-6), whichever the first non-blank
//!   line has more of; a tie is `;`, the separator terminal management
//!   saves with (seed 004 §4.1: "format CSV avec caractère séparateur ;").
//! - **Spreadsheet habits**: a UTF-8 byte order mark is skipped (Excel's
//!   "CSV UTF-8" writes one), CRLF and LF both end rows, quoted cells may
//!   hold the separator, `""` and line breaks, rows whose cells are all
//!   blank are skipped, and trailing empty cells past the header are
//!   ignored.
//! - **Title rows**: the vendor's spreadsheet puts a title row above the
//!   header (`;TERMINAL - SUBSCRIBER;;;SYSTEM;;;;;COMPULSORY;...`, seed
//!   000 §6.3), whose first cell is empty. Rows before the header whose
//!   first cell is empty are skipped; the header is the first row whose
//!   first cell is not.
//! - **Lines**: 1-based line of the file on which a row starts, so a row
//!   after blank lines or after a cell with a line break still gets the
//!   number an editor shows.

use csv::{ByteRecord, ReaderBuilder};

use crate::csv_error::{CsvColumn, CsvError, CsvProblem, Errors};

/// The UTF-8 byte order mark.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One row: the line it starts on and its cells as text, untrimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) line: usize,
    pub(crate) cells: Vec<String>,
}

impl Row {
    /// The cell under column `index` (0-based); a row shorter than the
    /// header reads as empty cells there (some exports drop trailing empty
    /// cells).
    pub(crate) fn cell(&self, index: usize) -> &str {
        self.cells.get(index).map_or("", String::as_str)
    }
}

/// Rows of a CSV file, read lazily after the header.
pub(crate) struct Table<'a> {
    data: &'a [u8],
    reader: csv::Reader<&'a [u8]>,
    record: ByteRecord,
    /// Cells kept per data row: the header's width.
    width: usize,
}

impl<'a> Table<'a> {
    /// Checks the size, skips the BOM and title rows and reads the header
    /// row (trailing empty header cells dropped).
    ///
    /// # Errors
    /// The file's problems (too large, no header, header not UTF-8).
    pub(crate) fn open(
        input: &'a [u8],
        max_bytes: usize,
        expected: &'static str,
    ) -> Result<(Self, Row), Vec<CsvError>> {
        if input.len() > max_bytes {
            return Err(vec![CsvError::file(CsvProblem::TooLarge {
                limit: max_bytes,
            })]);
        }
        let data = input.strip_prefix(BOM).unwrap_or(input);
        let reader = ReaderBuilder::new()
            .delimiter(sniff_delimiter(data))
            .has_headers(false)
            .flexible(true)
            .from_reader(data);
        let mut table = Self {
            data,
            reader,
            record: ByteRecord::new(),
            width: usize::MAX,
        };
        let mut errors = Errors::default();
        loop {
            let Some((line, blank)) = table.advance(&mut errors) else {
                if errors.is_empty() {
                    errors.push(CsvError::file(CsvProblem::NoHeader { expected }));
                }
                return Err(errors.into_vec());
            };
            if blank || table.record.get(0).is_none_or(is_blank) {
                continue;
            }
            let mut width = table.record.len();
            while width > 0 && table.record.get(width - 1).is_some_and(is_blank) {
                width -= 1;
            }
            table.width = width;
            let header = table.row(line, &mut errors);
            return if errors.is_empty() {
                Ok((table, header))
            } else {
                Err(errors.into_vec())
            };
        }
    }

    /// The next non-blank data row; cells beyond the header's width that
    /// are not empty, and cells that are not UTF-8, are reported to
    /// `errors` and the row is still returned (with those cells empty) so
    /// that its other problems are found too.
    pub(crate) fn next_row(&mut self, errors: &mut Errors) -> Option<Row> {
        loop {
            let (line, blank) = self.advance(errors)?;
            if blank {
                continue;
            }
            for (i, cell) in self.record.iter().enumerate().skip(self.width) {
                if !is_blank(cell) {
                    let column = CsvColumn {
                        index: i + 1,
                        name: None,
                    };
                    errors.push(CsvError::cell(
                        line,
                        column,
                        CsvProblem::ValueInUnnamedColumn,
                    ));
                    break;
                }
            }
            return Some(self.row(line, errors));
        }
    }

    /// Reads the next record; `None` at the end of the input. Returns its
    /// line and whether all its cells are blank.
    fn advance(&mut self, errors: &mut Errors) -> Option<(usize, bool)> {
        // Reading from a byte slice cannot fail on I/O, byte records are
        // not checked for UTF-8 and `flexible` allows rows of any length,
        // so the `csv` reader has no error left to return today. Should a
        // later version find one, the rows end there and the file is
        // refused, rather than imported cut short.
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => {}
            Ok(false) => return None,
            Err(e) => {
                let line = e.position().map(|p| line_of(self.data, p));
                let problem = CsvProblem::Malformed;
                errors.push(match line {
                    Some(line) => CsvError::line(line, problem),
                    None => CsvError::file(problem),
                });
                return None;
            }
        }
        let line = self.record.position().map_or(1, |p| line_of(self.data, p));
        let blank = self.record.iter().all(is_blank);
        Some((line, blank))
    }

    /// The current record's first `width` cells as text.
    fn row(&self, line: usize, errors: &mut Errors) -> Row {
        let cells = self
            .record
            .iter()
            .take(self.width)
            .enumerate()
            .map(|(i, cell)| match std::str::from_utf8(cell) {
                Ok(text) => text.to_owned(),
                Err(_) => {
                    let column = CsvColumn {
                        index: i + 1,
                        name: None,
                    };
                    errors.push(CsvError::cell(line, column, CsvProblem::NotUtf8));
                    String::new()
                }
            })
            .collect();
        Row { line, cells }
    }
}

/// Spreadsheet cells that hold only spaces count as empty.
fn is_blank(cell: &[u8]) -> bool {
    cell.iter().all(|b| matches!(b, b' ' | b'\t'))
}

/// `;` or `,`: whichever the first non-blank line has more of, `;` on a
/// tie (module docs).
fn sniff_delimiter(data: &[u8]) -> u8 {
    let first_line = data
        .split(|&b| b == b'\n')
        .find(|line| !line.iter().all(u8::is_ascii_whitespace))
        .unwrap_or_default();
    let count = |sep| first_line.iter().filter(|&&b| b == sep).count();
    if count(b',') > count(b';') {
        b','
    } else {
        b';'
    }
}

/// The 1-based file line a record starts on. The `csv` crate reports a
/// record that follows blank lines as starting on the first blank line, so
/// the line breaks at its byte offset are skipped and counted. Public for
/// `outpost-store`'s device import, which numbers its lines the same way.
pub fn line_of(data: &[u8], position: &csv::Position) -> usize {
    let line = usize::try_from(position.line()).unwrap_or(usize::MAX);
    let start = usize::try_from(position.byte()).unwrap_or(usize::MAX);
    let skipped = data
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count();
    line.saturating_add(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(input: &str) -> (Row, Vec<Row>, Vec<CsvError>) {
        let (mut table, header) = Table::open(input.as_bytes(), 1 << 20, "test").unwrap();
        let mut errors = Errors::default();
        let mut rows = Vec::new();
        while let Some(row) = table.next_row(&mut errors) {
            rows.push(row);
        }
        (header, rows, errors.into_vec())
    }

    fn cells(row: &Row) -> Vec<&str> {
        row.cells.iter().map(String::as_str).collect()
    }

    #[test]
    fn semicolons_commas_bom_crlf_and_quotes() {
        let (header, data, errors) = rows("\u{feff}A;B\r\n1;\"x;y\"\r\n");
        assert_eq!(cells(&header), ["A", "B"]);
        assert_eq!(cells(&data[0]), ["1", "x;y"]);
        assert!(errors.is_empty());
        let (header, data, _) = rows("A,B\n1,\"say \"\"hi\"\"\"\n");
        assert_eq!(cells(&header), ["A", "B"]);
        assert_eq!(cells(&data[0]), ["1", "say \"hi\""]);
        // One of each: the tie goes to ';'.
        let (header, _, _) = rows("A;B,C\n");
        assert_eq!(cells(&header), ["A", "B,C"]);
    }

    #[test]
    fn lines_as_an_editor_shows_them() {
        let input = "\n;TITLE;;\nA;B\n\n\n1;\"two\nlines\"\n  ;  \n3;4\n";
        let (header, data, _) = rows(input);
        assert_eq!(header.line, 3);
        assert_eq!(data.len(), 2);
        assert_eq!(data[0].line, 6);
        assert_eq!(data[1].line, 9);
    }

    #[test]
    fn trailing_cells_and_short_rows() {
        let (header, data, errors) = rows("A;B;;\n1;2;;\n1\n1;2;;x\n");
        assert_eq!(cells(&header), ["A", "B"]);
        assert_eq!(cells(&data[0]), ["1", "2"]);
        assert_eq!(data[1].cell(1), "");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].line, Some(4));
        assert_eq!(
            errors[0].column.as_ref().map(CsvColumn::letter).as_deref(),
            Some("D")
        );
        assert_eq!(errors[0].problem, CsvProblem::ValueInUnnamedColumn);
    }

    #[test]
    fn not_utf8_cells_name_their_column() {
        let (mut table, _) = Table::open(b"A;B\n1;caf\xe9\n", 100, "test").unwrap();
        let mut errors = Errors::default();
        let row = table.next_row(&mut errors).unwrap();
        assert_eq!(row.cell(1), "");
        let errors = errors.into_vec();
        assert_eq!(errors[0].line, Some(2));
        assert_eq!(errors[0].column.as_ref().map(|c| c.index), Some(2));
        assert_eq!(errors[0].problem, CsvProblem::NotUtf8);
        let header_errors = Table::open(b"\xff;B\n", 100, "test").err().unwrap();
        assert_eq!(header_errors[0].problem, CsvProblem::NotUtf8);
    }

    #[test]
    fn size_and_emptiness() {
        let errors = Table::open(b"A;B\n", 3, "x").err().unwrap();
        assert_eq!(errors[0].problem, CsvProblem::TooLarge { limit: 3 });
        for empty in ["", "\n\r\n", " ; \n", "\u{feff}"] {
            let errors = Table::open(empty.as_bytes(), 100, "x").err().unwrap();
            assert_eq!(
                errors[0].problem,
                CsvProblem::NoHeader { expected: "x" },
                "{empty:?}"
            );
        }
    }
}
