//! Plain-text tables for the CLI: left-aligned columns, two spaces apart, a header row.

/// Renders `rows` under `headers`; every row has as many cells as there are headers.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i + 1 == widths.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_owned()
    };
    let mut lines = vec![line(&mut headers.iter().copied())];
    lines.extend(rows.iter().map(|r| line(&mut r.iter().map(String::as_str))));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn columns_line_up_and_lines_have_no_trailing_space() {
        let rows = vec![vec!["standup".into(), "3".into()], vec!["a".into(), "".into()]];
        assert_eq!(render(&["NAME", "N"], &rows), "NAME     N\nstandup  3\na");
        assert_eq!(render(&["NAME"], &[]), "NAME");
    }
}
