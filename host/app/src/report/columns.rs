//! Aligned text columns, for every table the CLI prints.

use std::io::Write;

/// A column: its title and whether its cells are right-aligned (numbers).
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// The header.
    pub title: &'static str,
    /// Right-aligned (numbers).
    pub right: bool,
}

impl Column {
    /// A left-aligned column.
    pub const fn left(title: &'static str) -> Self {
        Column {
            title,
            right: false,
        }
    }

    /// A right-aligned column.
    pub const fn right(title: &'static str) -> Self {
        Column { title, right: true }
    }
}

/// Writes a header and `rows`, each line starting with `indent`, columns two spaces apart and
/// trailing spaces trimmed.
pub fn write_columns(
    out: &mut dyn Write,
    indent: &str,
    columns: &[Column],
    rows: &[Vec<String>],
) -> std::io::Result<()> {
    let mut widths: Vec<usize> = columns.iter().map(|c| c.title.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = columns.iter().map(|c| c.title.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(indent);
        for ((cell, column), width) in row.iter().zip(columns).zip(&widths) {
            let pad = width.saturating_sub(cell.chars().count());
            if column.right {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
            line.push_str("  ");
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_left_and_right() {
        let mut out = Vec::new();
        let rows = vec![
            vec!["main".to_string(), "7".to_string()],
            vec!["a-long-branch".to_string(), "12".to_string()],
        ];
        write_columns(
            &mut out,
            "  ",
            &[Column::left("branch"), Column::right("ahead")],
            &rows,
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  branch         ahead\n  main               7\n  a-long-branch     12\n"
        );
    }
}
