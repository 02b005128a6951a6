//! Text helpers shared by the parsers: logical lines with positions, words, did-you-mean.

use crate::finding::Span;

/// A piece of text whose every byte remembers its (line, column) in the source file, so that
/// text joined from continued lines or several lines still reports exact places.
#[derive(Debug, Clone, Default)]
pub(crate) struct PosText {
    pub text: String,
    /// (line, column) of each byte of `text`.
    pos: Vec<(u32, u32)>,
    /// Where the text ends (for findings about something missing).
    end: (u32, u32),
}

impl PosText {
    pub fn push_str(&mut self, s: &str, line: u32, first_col: u32) {
        let mut col = first_col;
        for ch in s.chars() {
            for _ in 0..ch.len_utf8() {
                self.pos.push((line, col));
            }
            self.text.push(ch);
            col = col.saturating_add(1);
        }
        self.end = (line, col);
    }

    /// The (line, column) of byte `at` (the end position beyond the text).
    pub fn at(&self, at: usize) -> (u32, u32) {
        self.pos.get(at).copied().unwrap_or(self.end)
    }

    pub fn span(&self, file: &str, at: usize) -> Span {
        let (l, c) = self.at(at);
        Span::new(file, l.max(1), c.max(1))
    }

    /// The sub-text from byte `from` to byte `to` (clamped to char boundaries).
    pub fn slice(&self, from: usize, to: usize) -> PosText {
        let to = floor_boundary(&self.text, to.min(self.text.len()));
        let from = floor_boundary(&self.text, from.min(to));
        PosText {
            text: self.text[from..to].to_owned(),
            pos: self.pos[from..to].to_vec(),
            end: if to < self.pos.len() { self.pos[to] } else { self.end },
        }
    }

    /// Appends another text (keeping its positions), after a separating space.
    pub fn append(&mut self, other: &PosText) {
        if !self.text.is_empty() {
            self.text.push(' ');
            self.pos.push(other.pos.first().copied().unwrap_or(other.end));
        }
        self.text.push_str(&other.text);
        self.pos.extend_from_slice(&other.pos);
        self.end = other.end;
    }

    /// White-space separated words with their byte offsets.
    pub fn words(&self) -> Vec<(usize, &str)> {
        words(&self.text)
    }
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// White-space separated words and their byte offsets.
pub(crate) fn words(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, ch) in s.char_indices() {
        if ch.is_whitespace() {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// Logical lines of a file: comments (`#` as the first non-blank character) dropped, lines
/// ending in `\` joined with the next. Each line keeps the positions of its bytes.
pub(crate) fn logical_lines(text: &str, hash_comments: bool) -> Vec<PosText> {
    let mut out = Vec::new();
    let mut cur: Option<PosText> = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed = raw.trim_start();
        if cur.is_none() && (trimmed.is_empty() || (hash_comments && trimmed.starts_with('#'))) {
            continue;
        }
        let (body, cont) = match raw.strip_suffix('\\') {
            Some(b) => (b, true),
            None => (raw, false),
        };
        let mut piece = PosText::default();
        piece.push_str(body, line_no, 1);
        let lt = cur.get_or_insert_with(PosText::default);
        lt.text.push_str(&piece.text);
        lt.pos.extend_from_slice(&piece.pos);
        lt.end = piece.end;
        if !cont {
            if let Some(done) = cur.take() {
                if !done.text.trim().is_empty() {
                    out.push(done);
                }
            }
        }
    }
    if let Some(done) = cur.take() {
        if !done.text.trim().is_empty() {
            out.push(done);
        }
    }
    out
}

/// Optimal-string-alignment distance (Levenshtein plus swaps of neighbours: "bondign" is one
/// edit from "bonding"). Inputs longer than 64 characters are not compared.
fn distance(a: &str, b: &str) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len() > 64 || b.len() > 64 {
        return None;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d.last().copied()
}

/// The candidate closest to `input` (case-insensitively), if it is close enough to be a
/// typo: at most a third of the word's length, between 1 and 3 edits.
pub(crate) fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = input.to_ascii_lowercase();
    let limit = (input.chars().count() / 3).clamp(1, 3);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let Some(d) = distance(&lower, &c.to_ascii_lowercase()) else { continue };
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `" (did you mean 'x'?)"` or nothing.
pub(crate) fn suggestion_suffix(s: Option<&str>) -> String {
    s.map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("optinons", ["options", "alias"]), Some("options"));
        assert_eq!(did_you_mean("bondign", ["bonding", "bonding_slave"]), Some("bonding"));
        assert_eq!(did_you_mean("xyzzy", ["options", "alias"]), None);
    }

    #[test]
    fn continuation_keeps_positions() {
        let l = logical_lines("# c\noptions bonding \\\n  mode=1\n", true);
        assert_eq!(l.len(), 1);
        let at = l[0].text.find("mode").unwrap_or(0);
        assert_eq!(l[0].at(at), (3, 3));
    }
}
