//! Results tables as Apache Parquet (the `parquet` crate's own writer and reader, no Arrow in between).
//!
//! **Types.** A column the kind declares as text, or with a text in its first row group, is a UTF-8 string
//! column (a number in it is written as the CSV writes it); any other column is a nullable `DOUBLE`, or a
//! nullable `BOOLEAN` when its first row group holds flags and nothing else; an empty cell is a null. A column keeps the type its first row group gave it: a later
//! cell of another type is an error naming the column (no kind mixes them).
//!
//! **Identical bytes.** Rows go into row groups of [`ROW_GROUP`] rows whatever the jobs or shards they came
//! from; the writer's settings are fixed (Snappy pages, dictionary encoding, chunk statistics, `created_by`
//! `cirl VERSION`, no timestamps) and numbers are stored as their exact bits (−0 and every NaN too). So the
//! same rows in the same order give the same file, byte for byte: a sharded, merged or resumed run's
//! results.parquet is the unsharded run's, as its results.csv is.

use std::io::Write;
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, Type as Physical};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::writer::SerializedFileWriter;
use parquet::record::Field;
use parquet::schema::types::Type;

use super::table::{Cell, Table};
use crate::error::{Error, Result};

/// Rows per row group of a results file.
pub const ROW_GROUP: usize = 65_536;

/// The format of a run's results tables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated text (numbers in shortest round-trip form).
    #[default]
    Csv,
    /// Apache Parquet: typed, compressed columns.
    Parquet,
}

impl Format {
    /// Parses `csv` or `parquet` (the `--format` flag).
    pub fn parse(s: &str) -> Result<Format> {
        match s {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            _ => Err(Error::invalid(
                "--format",
                format!("'{s}' is not a results format; use csv or parquet"),
            )),
        }
    }

    /// The file extension: `csv` or `parquet`.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

/// A column's stored type.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    Double,
    Bool,
}

fn pq(path: &str) -> impl Fn(parquet::errors::ParquetError) -> Error + '_ {
    move |e| Error::invalid(path, format!("Parquet: {e}"))
}

/// The types of `columns` from the rows of `first` (text columns as declared).
fn kinds(columns: &[String], text: &[&str], first: &[Vec<Cell>]) -> Vec<Kind> {
    (0..columns.len())
        .map(|c| {
            let cells = || first.iter().map(|r| &r[c]);
            if text.contains(&columns[c].as_str()) || cells().any(|x| matches!(x, Cell::Text(_))) {
                return Kind::Text;
            }
            let flags = cells().any(|x| matches!(x, Cell::Bool(_)));
            if flags && cells().all(|x| matches!(x, Cell::Bool(_) | Cell::Empty)) {
                Kind::Bool
            } else {
                Kind::Double
            }
        })
        .collect()
}

fn schema(columns: &[String], kinds: &[Kind]) -> Result<Arc<Type>> {
    let fields = columns
        .iter()
        .zip(kinds)
        .map(|(name, k)| {
            let b = match k {
                Kind::Text => Type::primitive_type_builder(name, Physical::BYTE_ARRAY)
                    .with_logical_type(Some(LogicalType::String)),
                Kind::Double => Type::primitive_type_builder(name, Physical::DOUBLE),
                Kind::Bool => Type::primitive_type_builder(name, Physical::BOOLEAN),
            };
            b.with_repetition(Repetition::OPTIONAL)
                .build()
                .map(Arc::new)
                .map_err(pq("results"))
        })
        .collect::<Result<Vec<_>>>()?;
    Type::group_type_builder("results")
        .with_fields(fields)
        .build()
        .map(Arc::new)
        .map_err(pq("results"))
}

/// How a file is encoded: compactly (results: dictionaries, Snappy, statistics) or quickly (a job's journal
/// file, read back once: plain values, no compression, no statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Dictionary-encoded, Snappy-compressed pages with chunk statistics.
    Compact,
    /// Plain, uncompressed pages without statistics.
    Fast,
}

fn properties(meta: Vec<(String, String)>, encoding: Encoding) -> Arc<WriterProperties> {
    let compact = encoding == Encoding::Compact;
    Arc::new(
        WriterProperties::builder()
            .set_writer_version(WriterVersion::PARQUET_1_0)
            .set_compression(if compact {
                Compression::SNAPPY
            } else {
                Compression::UNCOMPRESSED
            })
            .set_dictionary_enabled(compact)
            .set_statistics_enabled(if compact {
                EnabledStatistics::Chunk
            } else {
                EnabledStatistics::None
            })
            .set_created_by(format!("cirl {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(
                (!meta.is_empty())
                    .then(|| meta.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect()),
            )
            .build(),
    )
}

/// Writes a table to Parquet as it arrives, a row group of [`ROW_GROUP`] rows at a time; the column types are
/// fixed by the first row group (see the module's notes).
pub struct Writer<W: Write + Send> {
    columns: Vec<String>,
    text: Vec<&'static str>,
    name: String,
    meta: Vec<(String, String)>,
    encoding: Encoding,
    pending: Vec<Vec<Cell>>,
    kinds: Option<Vec<Kind>>,
    out: Option<W>,
    file: Option<SerializedFileWriter<W>>,
}

impl<W: Write + Send> Writer<W> {
    /// A writer of a table with `columns` (of which `text` are text columns) into `out`; `name` names the file
    /// in errors; `meta` goes into the footer's key–value metadata.
    pub fn new(
        out: W,
        columns: &[String],
        text: &[&'static str],
        name: &str,
        meta: Vec<(String, String)>,
        encoding: Encoding,
    ) -> Self {
        Writer {
            columns: columns.to_vec(),
            text: text.to_vec(),
            name: name.to_string(),
            meta,
            encoding,
            pending: Vec::new(),
            kinds: None,
            out: Some(out),
            file: None,
        }
    }

    /// Appends a table's rows; the first table gives the columns of a writer made with none, and every
    /// later table must have the same.
    pub fn push_table(&mut self, t: Table) -> Result<()> {
        if self.columns.is_empty() && self.file.is_none() && self.pending.is_empty() {
            self.columns = t.columns.clone();
        } else if t.columns != self.columns {
            return Err(Error::invalid(
                self.name.clone(),
                format!("rows under columns {:?}, not {:?}", t.columns, self.columns),
            ));
        }
        self.push(t.rows)
    }

    /// Appends rows (a cell per column).
    pub fn push(&mut self, rows: impl IntoIterator<Item = Vec<Cell>>) -> Result<()> {
        for r in rows {
            if r.len() != self.columns.len() {
                return Err(Error::invalid(
                    self.name.clone(),
                    format!(
                        "a row of {} cells under {} columns",
                        r.len(),
                        self.columns.len()
                    ),
                ));
            }
            self.pending.push(r);
            if self.pending.len() == ROW_GROUP {
                self.flush_group()?;
            }
        }
        Ok(())
    }

    fn open(&mut self) -> Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let kinds = kinds(&self.columns, &self.text, &self.pending);
        let schema = schema(&self.columns, &kinds)?;
        let out = self.out.take().expect("opened once");
        let props = properties(std::mem::take(&mut self.meta), self.encoding);
        self.file = Some(SerializedFileWriter::new(out, schema, props).map_err(pq(&self.name))?);
        self.kinds = Some(kinds);
        Ok(())
    }

    fn flush_group(&mut self) -> Result<()> {
        self.open()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut rows = std::mem::take(&mut self.pending);
        let kinds = self.kinds.as_ref().expect("open");
        let name = self.name.clone();
        let file = self.file.as_mut().expect("open");
        let mut group = file.next_row_group().map_err(pq(&name))?;
        let mut c = 0;
        while let Some(mut col) = group.next_column().map_err(pq(&name))? {
            let mut def = Vec::with_capacity(rows.len());
            let wrong = |cell: &Cell, what: &str| {
                Error::invalid(
                    name.clone(),
                    format!(
                        "column `{}` holds {what} in its first {ROW_GROUP} rows but {cell:?} later; a results column holds one type",
                        self.columns[c]
                    ),
                )
            };
            match kinds[c] {
                Kind::Text => {
                    let mut v = Vec::with_capacity(rows.len());
                    for r in &mut rows {
                        def.push(i16::from(r[c] != Cell::Empty));
                        match std::mem::replace(&mut r[c], Cell::Empty) {
                            Cell::Empty => {}
                            Cell::Text(s) => v.push(ByteArray::from(s.into_bytes())),
                            other => v.push(ByteArray::from(other.render().into_bytes())),
                        }
                    }
                    col.typed::<ByteArrayType>()
                        .write_batch(&v, Some(&def), None)
                        .map_err(pq(&name))?;
                }
                Kind::Double => {
                    let mut v = Vec::with_capacity(rows.len());
                    for r in &rows {
                        def.push(i16::from(r[c] != Cell::Empty));
                        match &r[c] {
                            Cell::Empty => {}
                            Cell::Num(x) => v.push(*x),
                            other => return Err(wrong(other, "numbers")),
                        }
                    }
                    col.typed::<DoubleType>()
                        .write_batch(&v, Some(&def), None)
                        .map_err(pq(&name))?;
                }
                Kind::Bool => {
                    let mut v = Vec::with_capacity(rows.len());
                    for r in &rows {
                        def.push(i16::from(r[c] != Cell::Empty));
                        match &r[c] {
                            Cell::Empty => {}
                            Cell::Bool(b) => v.push(*b),
                            other => return Err(wrong(other, "flags")),
                        }
                    }
                    col.typed::<BoolType>()
                        .write_batch(&v, Some(&def), None)
                        .map_err(pq(&name))?;
                }
            }
            col.close().map_err(pq(&name))?;
            c += 1;
        }
        group.close().map_err(pq(&name))?;
        Ok(())
    }

    /// Writes the last row group and the footer, and returns the sink.
    pub fn finish(mut self) -> Result<W> {
        self.flush_group()?;
        let name = self.name.clone();
        self.file
            .take()
            .expect("open")
            .into_inner()
            .map_err(pq(&name))
    }
}

/// A whole table as Parquet bytes (one row group per [`ROW_GROUP`] rows), with `meta` in the footer.
pub fn to_bytes(
    t: &Table,
    text: &[&'static str],
    meta: Vec<(String, String)>,
    encoding: Encoding,
) -> Result<Vec<u8>> {
    let mut w = Writer::new(Vec::new(), &t.columns, text, "table", meta, encoding);
    w.push(t.rows.iter().cloned())?;
    w.finish()
}

/// A Parquet file's reader, its column names and its footer's key–value metadata.
type Opened = (
    SerializedFileReader<bytes::Bytes>,
    Vec<String>,
    Vec<(String, String)>,
);

fn open(bytes: bytes::Bytes) -> std::result::Result<Opened, String> {
    let reader = SerializedFileReader::new(bytes).map_err(|e| e.to_string())?;
    let meta = reader.metadata().file_metadata();
    let kv = meta
        .key_value_metadata()
        .map(|v| {
            v.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let columns = meta
        .schema_descr()
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    Ok((reader, columns, kv))
}

/// Hands the rows of `reader` to `take`, a vector of cells per row.
fn rows(
    reader: &SerializedFileReader<bytes::Bytes>,
    mut take: impl FnMut(Vec<Cell>) -> std::result::Result<(), String>,
) -> std::result::Result<(), String> {
    for row in reader.get_row_iter(None).map_err(|e| e.to_string())? {
        let row = row.map_err(|e| e.to_string())?;
        let cells = row
            .get_column_iter()
            .map(|(name, f)| match f {
                Field::Null => Ok(Cell::Empty),
                Field::Bool(b) => Ok(Cell::Bool(*b)),
                Field::Double(x) => Ok(Cell::Num(*x)),
                Field::Str(s) => Ok(Cell::Text(s.clone())),
                other => Err(format!("column `{name}` holds {other:?}, not a cirl cell")),
            })
            .collect::<std::result::Result<Vec<Cell>, String>>()?;
        take(cells)?;
    }
    Ok(())
}

/// Reads a Parquet file written by [`Writer`] a chunk of `chunk` rows at a time, each handed to `take` as a
/// table; returns the footer's key–value metadata. Errors are text (the caller names the file).
pub fn read(
    bytes: bytes::Bytes,
    chunk: usize,
    mut take: impl FnMut(Table) -> Result<()>,
) -> std::result::Result<Vec<(String, String)>, String> {
    let (reader, columns, kv) = open(bytes)?;
    let mut t = Table::new(&[]);
    t.columns = columns;
    rows(&reader, |cells| {
        t.rows.push(cells);
        if t.rows.len() == chunk {
            let next = Table {
                columns: t.columns.clone(),
                rows: Vec::new(),
            };
            take(std::mem::replace(&mut t, next)).map_err(|e| e.to_string())?;
        }
        Ok(())
    })?;
    if !t.rows.is_empty() {
        take(t).map_err(|e| e.to_string())?;
    }
    Ok(kv)
}

/// Reads a whole Parquet file written by [`Writer`]: the table and the footer's key–value metadata.
pub fn read_table(
    bytes: bytes::Bytes,
) -> std::result::Result<(Table, Vec<(String, String)>), String> {
    let (reader, columns, kv) = open(bytes)?;
    let mut t = Table::new(&[]);
    t.columns = columns;
    rows(&reader, |cells| {
        t.rows.push(cells);
        Ok(())
    })?;
    Ok((t, kv))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(n: usize) -> Table {
        let mut t = Table::new(&["label", "x", "flag", "maybe"]);
        for i in 0..n {
            t.push(vec![
                Cell::Text(format!("r{}", i % 7)),
                Cell::Num(match i % 5 {
                    0 => -0.0,
                    1 => f64::NAN,
                    2 => f64::INFINITY,
                    _ => i as f64 / 3.0,
                }),
                Cell::Bool(i % 3 == 0),
                if i % 4 == 0 {
                    Cell::Empty
                } else {
                    Cell::Num(i as f64)
                },
            ]);
        }
        t
    }

    fn same_bits(a: &Table, b: &Table) -> bool {
        a.columns == b.columns
            && a.rows.len() == b.rows.len()
            && a.rows.iter().zip(&b.rows).all(|(x, y)| {
                x.iter().zip(y).all(|(p, q)| match (p, q) {
                    (Cell::Num(p), Cell::Num(q)) => p.to_bits() == q.to_bits(),
                    _ => p == q,
                })
            })
    }

    #[test]
    fn tables_round_trip_to_the_bit_in_any_chunks() {
        let t = table(ROW_GROUP + 1234);
        let bytes = to_bytes(
            &t,
            &["label"],
            vec![("k".into(), "v".into())],
            Encoding::Compact,
        )
        .unwrap();
        let (whole, kv) = read_table(bytes::Bytes::from(bytes.clone())).unwrap();
        assert_eq!(kv, vec![("k".to_string(), "v".to_string())]);
        assert!(same_bits(&t, &whole));
        for chunk in [1000, ROW_GROUP, usize::MAX] {
            let mut back = Table::new(&[]);
            let kv = read(bytes::Bytes::from(bytes.clone()), chunk, |part| {
                if back.columns.is_empty() {
                    back = part;
                } else {
                    back.rows.extend(part.rows);
                }
                Ok(())
            })
            .unwrap();
            assert_eq!(kv, vec![("k".to_string(), "v".to_string())]);
            assert!(same_bits(&t, &back), "chunk {chunk}");
        }
    }

    #[test]
    fn the_bytes_depend_on_the_rows_only() {
        let t = table(2 * ROW_GROUP + 17);
        let whole = to_bytes(&t, &["label"], vec![], Encoding::Compact).unwrap();
        // Pushed in uneven pieces (as jobs arrive), the file is the same.
        let mut w = Writer::new(
            Vec::new(),
            &t.columns,
            &["label"],
            "t",
            vec![],
            Encoding::Compact,
        );
        for piece in t.rows.chunks(977) {
            w.push(piece.iter().cloned()).unwrap();
        }
        assert_eq!(w.finish().unwrap(), whole);
    }

    #[test]
    fn a_column_keeps_one_type() {
        let mut t = Table::new(&["flag"]);
        for _ in 0..ROW_GROUP {
            t.push(vec![Cell::Bool(true)]);
        }
        t.push(vec![Cell::Num(1.0)]);
        let e = to_bytes(&t, &[], vec![], Encoding::Fast)
            .unwrap_err()
            .to_string();
        assert!(e.contains("column `flag` holds flags"), "{e}");
    }

    #[test]
    fn formats_parse() {
        assert_eq!(Format::parse("parquet").unwrap(), Format::Parquet);
        let e = Format::parse("xlsx").unwrap_err().to_string();
        assert!(e.starts_with("--format: 'xlsx'"), "{e}");
    }
}
