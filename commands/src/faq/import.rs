//! Reading a library to import: the TOML format the library ships in, or a spreadsheet saved as
//! CSV or tab-separated text (Excel, WPS, Numbers), in UTF-8, UTF-8 with BOM, UTF-16 (Excel's
//! "Unicode text") or GBK/GB18030 (Excel on a Chinese Windows). Every row is checked on its own:
//! a broken row is rejected with its row number and reason, and the rest can still be imported
//! (the store writes them in one transaction, so nothing is ever half-imported).

use std::collections::HashSet;

use super::entry::{FaqEntry, FaqRules, LibraryFile};

/// The file formats `zhibu faq import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Toml,
    /// Comma- or tab-separated, with a header row.
    Table,
}

impl ImportFormat {
    /// From a file name: `.toml` is TOML, anything else (`.csv`, `.tsv`, `.txt`) a table.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("toml") => ImportFormat::Toml,
            _ => ImportFormat::Table,
        }
    }
}

/// A row that cannot be imported, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The row: the line of the file for a table, the `[[entry]]`'s position for TOML.
    pub row: usize,
    pub id: Option<String>,
    pub reasons: Vec<String>,
}

/// What a file holds: the usable entries, rules if the file has any, the rejected rows, and
/// notes on things ignored (unknown columns).
#[derive(Debug, Clone, Default)]
pub struct ImportFile {
    pub entries: Vec<FaqEntry>,
    pub rules: Option<FaqRules>,
    pub rejected: Vec<Rejected>,
    pub notes: Vec<String>,
}

/// The file as a whole is unusable: nothing in it is imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("not valid TOML: {0}")]
    Toml(String),
    #[error("not a readable table: {0}")]
    Table(String),
    #[error("the header row has no {0} column (the first row must name the columns: 问题, 答案, and optionally 编号, 其他问法, 关键词, 来源, 分类)")]
    MissingColumn(&'static str),
}

/// Reads `bytes` as `format`.
pub fn read_import(bytes: &[u8], format: ImportFormat) -> Result<ImportFile, ImportError> {
    let text = decode(bytes);
    match format {
        ImportFormat::Toml => read_toml(&text),
        ImportFormat::Table => read_table(&text),
    }
}

/// Text from a file in whatever encoding a spreadsheet saved it in.
pub fn decode(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

fn read_toml(text: &str) -> Result<ImportFile, ImportError> {
    let file: LibraryFile = toml::from_str(text).map_err(|e| ImportError::Toml(e.to_string()))?;
    let rules = FaqRules { synonyms: file.synonyms, decline: file.decline, keywords: file.keyword };
    let mut out = ImportFile { rules: (rules != FaqRules::default()).then_some(rules), ..ImportFile::default() };
    let mut seen = HashSet::new();
    for (i, entry) in file.entry.into_iter().enumerate() {
        accept(&mut out, &mut seen, i + 1, entry);
    }
    Ok(out)
}

fn accept(out: &mut ImportFile, seen: &mut HashSet<String>, row: usize, entry: FaqEntry) {
    let mut reasons = entry.problems();
    if !seen.insert(entry.id.clone()) {
        reasons.push(format!("id `{}` appears twice in the file", entry.id));
    }
    if reasons.is_empty() {
        out.entries.push(entry);
    } else {
        out.rejected.push(Rejected { row, id: Some(entry.id).filter(|id| !id.is_empty()), reasons });
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Column {
    Id,
    Topic,
    Question,
    Alternatives,
    Keywords,
    Answer,
    Source,
}

fn column(name: &str) -> Option<Column> {
    Some(match name.trim().to_lowercase().as_str() {
        "id" | "编号" | "序号id" => Column::Id,
        "分类" | "主题" | "类别" | "topic" => Column::Topic,
        "问题" | "标准问题" | "question" => Column::Question,
        "其他问法" | "相似问法" | "别名" | "alternatives" => Column::Alternatives,
        "关键词" | "关键字" | "keywords" => Column::Keywords,
        "答案" | "回答" | "answer" => Column::Answer,
        "来源" | "出处" | "依据" | "source" => Column::Source,
        _ => return None,
    })
}

fn read_table(text: &str) -> Result<ImportFile, ImportError> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.contains('\t') && !first_line.contains(',') { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(true).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| ImportError::Table(e.to_string()))?.clone();
    let mut out = ImportFile::default();
    let columns: Vec<Option<Column>> = headers.iter().map(column).collect();
    for (name, col) in headers.iter().zip(&columns) {
        if col.is_none() && !name.trim().is_empty() {
            out.notes.push(format!("column `{}` is not a library field; ignored", name.trim()));
        }
    }
    let index_of = |c: Column| columns.iter().position(|x| *x == Some(c));
    let question_col = index_of(Column::Question).ok_or(ImportError::MissingColumn("问题 (question)"))?;
    let answer_col = index_of(Column::Answer).ok_or(ImportError::MissingColumn("答案 (answer)"))?;
    let mut seen = HashSet::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let row = e.position().map_or(0, |p| p.line() as usize);
                out.rejected.push(Rejected { row, id: None, reasons: vec![format!("unreadable row: {e}")] });
                continue;
            }
        };
        let row = record.position().map_or(0, |p| p.line() as usize);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim().to_owned();
        let question = get(Some(question_col));
        let id = match get(index_of(Column::Id)) {
            id if id.is_empty() && !question.is_empty() => derived_id(&question),
            id => id,
        };
        let entry = FaqEntry {
            id,
            topic: get(index_of(Column::Topic)),
            question,
            alternatives: split_list(&get(index_of(Column::Alternatives)), false),
            keywords: split_list(&get(index_of(Column::Keywords)), true),
            answer: get(Some(answer_col)),
            source: get(index_of(Column::Source)),
        };
        accept(&mut out, &mut seen, row, entry);
    }
    Ok(out)
}

/// A stable id for a row without one, from its question: importing the same sheet again
/// updates these entries instead of adding copies.
fn derived_id(question: &str) -> String {
    let norm: String = super::text::normalize(question).chars().filter(|c| c.is_alphanumeric()).collect();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in norm.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("q-{:08x}", hash >> 32)
}

/// Items of a list cell: separated by `；`, `;`, `|` or line breaks (and, for keywords, also
/// `、` and commas; a question may contain commas).
fn split_list(cell: &str, keywords: bool) -> Vec<String> {
    cell.split(|c: char| matches!(c, '；' | ';' | '|' | '\n') || (keywords && matches!(c, '、' | '，' | ',')))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The library as a table, the way [`read_import`] reads it back (UTF-8 with a BOM, so that
/// Excel opens it with the Chinese intact).
pub fn write_table(entries: &[FaqEntry]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(b"\xef\xbb\xbf".to_vec());
    writer.write_record(["编号", "分类", "问题", "其他问法", "关键词", "答案", "来源"])?;
    for e in entries {
        writer.write_record([&e.id, &e.topic, &e.question, &e.alternatives.join("；"), &e.keywords.join("；"), &e.answer, &e.source])?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sheet_with_broken_rows_reports_each_and_keeps_the_rest() {
        let sheet = "编号,问题,答案,其他问法,备注\n\
                     a1,预备期多久,一年,\"预备期多长；考察期多久\",x\n\
                     ,没有答案的问题,,,\n\
                     a1,重复的编号,答案,,\n\
                     Bad Id,问题,答案,,\n\
                     ,,,,\n\
                     ,支部活动室在哪,\"学院楼 302，\n工作日开放\",,\n";
        let file = read_import(sheet.as_bytes(), ImportFormat::Table).unwrap();
        assert_eq!(file.entries.len(), 2, "{file:?}");
        assert_eq!(file.entries[0].alternatives, ["预备期多长", "考察期多久"]);
        assert!(file.entries[1].id.starts_with("q-") && file.entries[1].answer.contains('\n'));
        let rows: Vec<usize> = file.rejected.iter().map(|r| r.row).collect();
        assert_eq!(rows, [3, 4, 5], "{:?}", file.rejected);
        assert!(file.rejected[0].reasons[0].contains("empty answer"));
        assert!(file.rejected[1].reasons[0].contains("twice"));
        assert_eq!(file.notes, ["column `备注` is not a library field; ignored"]);
    }

    #[test]
    fn spreadsheet_encodings_and_tabs_are_read() {
        let utf8 = "问题\t答案\n党费交给谁\t交给党小组长\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(utf8);
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(utf8.encode_utf16().flat_map(u16::to_le_bytes));
        let mut bom = b"\xef\xbb\xbf".to_vec();
        bom.extend_from_slice(utf8.as_bytes());
        for bytes in [utf8.as_bytes().to_vec(), gbk.into_owned(), utf16, bom] {
            let file = read_import(&bytes, ImportFormat::Table).unwrap();
            assert_eq!(file.entries.len(), 1);
            assert_eq!(file.entries[0].answer, "交给党小组长");
        }
    }

    #[test]
    fn a_table_without_the_needed_columns_is_refused_whole() {
        assert!(matches!(read_import("q,a\nx,y\n".as_bytes(), ImportFormat::Table), Err(ImportError::MissingColumn(_))));
        assert!(matches!(read_import(b"[[entry]\n", ImportFormat::Toml), Err(ImportError::Toml(_))));
    }

    #[test]
    fn the_exported_table_reads_back_the_same() {
        let (entries, _) = crate::shipped::faq_library().unwrap();
        let table = write_table(&entries).unwrap();
        let back = read_import(&table, ImportFormat::Table).unwrap();
        assert!(back.rejected.is_empty(), "{:?}", back.rejected);
        assert_eq!(back.entries, entries);
    }
}
