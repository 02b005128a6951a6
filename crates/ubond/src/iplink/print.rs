//! iproute2's printing layer (`lib/json_print.c`, `lib/json_writer.c`), so that the show
//! code can follow `ip`'s own print calls one for one: each call names a JSON key, a text
//! format and a value, and prints whichever of the two the output is.
//!
//! Formats are iproute2's `printf` strings with one conversion (`%s`, `%u`, `%d`, `%x`,
//! optionally with a width such as `%-16s`), copied as they are.

use std::fmt::Write as _;

/// Where a print call goes (`enum output_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Out {
    /// Text only (`PRINT_FP`).
    Fp,
    /// JSON only (`PRINT_JSON`).
    Json,
    /// Both, whichever the output is (`PRINT_ANY`).
    Any,
}

/// `json_writer_t`: a streaming JSON writer with iproute2's separators and pretty layout.
#[derive(Debug)]
struct JsonWriter {
    depth: usize,
    pretty: bool,
    sep: bool,
}

/// Collects one command's output, as text or as JSON.
#[derive(Debug)]
pub struct Printer {
    out: String,
    json: Option<JsonWriter>,
    /// `_SL_`: what ends a line inside one record (`\` with `-oneline`).
    sl: &'static str,
}

/// `printf` with one conversion: `%s`, `%d`, `%u`, `%x`, `%llu`, with `-` and a width.
fn format1(fmt: &str, value: &str) -> String {
    let Some(start) = fmt.find('%') else { return fmt.to_string() };
    let rest = &fmt[start + 1..];
    let left = rest.starts_with('-');
    let digits = rest.trim_start_matches('-');
    let width_len = digits.bytes().take_while(u8::is_ascii_digit).count();
    let width: usize = digits[..width_len].parse().unwrap_or(0);
    let after_width = &digits[width_len..];
    let conv_at = after_width.find(|c: char| !matches!(c, 'l' | 'h')).unwrap_or(0);
    let tail = after_width.get(conv_at + 1..).unwrap_or("");
    let padded = match (left, value.len() < width) {
        (true, true) => format!("{value:<width$}"),
        (false, true) => format!("{value:>width$}"),
        _ => value.to_string(),
    };
    format!("{}{padded}{tail}", &fmt[..start])
}

/// `jsonw_puts`: a JSON string with C escapes and `\uXXXX` for other control characters.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            '\u{8}' => out.push_str("\\b"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Printer {
    /// Text output; `oneline` joins each record's lines with `\` (`ip -o`).
    pub fn text(oneline: bool) -> Printer {
        Printer { out: String::new(), json: None, sl: if oneline { "\\" } else { "\n" } }
    }

    /// JSON output (`new_json_obj`): an array of records, `pretty` indented (`ip -j -p`).
    pub fn json(pretty: bool) -> Printer {
        let mut p = Printer::text(false);
        p.json = Some(JsonWriter { depth: 0, pretty, sep: false });
        p.begin('[');
        if pretty {
            p.out.push(' ');
        }
        p
    }

    /// The output so far, closed (`delete_json_obj`: the array's end and a newline).
    pub fn finish(mut self) -> String {
        if self.json.is_some() {
            self.end_array();
            self.out.push('\n');
        }
        self.out
    }

    /// `is_json_context()`.
    pub fn is_json(&self) -> bool {
        self.json.is_some()
    }

    fn fp(&self, t: Out) -> bool {
        self.json.is_none() && t != Out::Json
    }

    fn js(&self, t: Out) -> bool {
        self.json.is_some() && t != Out::Fp
    }

    // --- json_writer.c -----------------------------------------------------------------

    fn eor(&mut self) {
        if let Some(j) = &mut self.json {
            if j.sep {
                self.out.push(',');
            }
            j.sep = true;
        }
    }

    fn eol(&mut self) {
        if let Some(j) = &self.json {
            if j.pretty {
                self.out.push('\n');
                for _ in 0..j.depth {
                    self.out.push_str("    ");
                }
            }
        }
    }

    fn begin(&mut self, c: char) {
        self.eor();
        self.out.push(c);
        if let Some(j) = &mut self.json {
            j.depth += 1;
            j.sep = false;
        }
    }

    fn end(&mut self, c: char) {
        let sep = self.json.as_ref().is_some_and(|j| j.sep);
        if let Some(j) = &mut self.json {
            j.depth = j.depth.saturating_sub(1);
        }
        if sep {
            self.eol();
        }
        self.out.push(c);
        if let Some(j) = &mut self.json {
            j.sep = true;
        }
    }

    fn end_array(&mut self) {
        if let Some(j) = &mut self.json {
            if j.pretty && j.sep {
                self.out.push(' ');
            }
            j.sep = false;
        }
        self.end(']');
    }

    fn name(&mut self, name: &str) {
        self.eor();
        self.eol();
        if let Some(j) = &mut self.json {
            j.sep = false;
        }
        json_string(&mut self.out, name);
        self.out.push(':');
        if self.json.as_ref().is_some_and(|j| j.pretty) {
            self.out.push(' ');
        }
    }

    /// A bare JSON value (number, `true`, `null`) under `key`, or in the current array.
    fn raw(&mut self, key: Option<&str>, value: &str) {
        if let Some(k) = key {
            self.name(k);
        }
        self.eor();
        self.out.push_str(value);
    }

    // --- json_print.c ------------------------------------------------------------------

    /// `print_string`.
    pub fn string(&mut self, t: Out, key: Option<&str>, fmt: &str, value: &str) {
        if self.js(t) {
            if let Some(k) = key {
                self.name(k);
            }
            self.eor();
            json_string(&mut self.out, value);
        } else if self.fp(t) {
            self.out.push_str(&format1(fmt, value));
        }
    }

    /// `print_uint` (and `print_u64`, `print_hu`, ...).
    pub fn uint(&mut self, t: Out, key: Option<&str>, fmt: &str, value: u64) {
        self.number(t, key, fmt, &value.to_string());
    }

    /// `print_int`.
    pub fn int(&mut self, t: Out, key: Option<&str>, fmt: &str, value: i64) {
        self.number(t, key, fmt, &value.to_string());
    }

    fn number(&mut self, t: Out, key: Option<&str>, fmt: &str, value: &str) {
        if self.js(t) {
            self.raw(key, value);
        } else if self.fp(t) {
            self.out.push_str(&format1(fmt, value));
        }
    }

    /// `print_hex`: a hexadecimal number, a string in JSON.
    pub fn hex(&mut self, t: Out, key: Option<&str>, fmt: &str, value: u32) {
        self.string(t, key, fmt, &format!("{value:x}"));
    }

    /// `print_bool`: `true`/`false` in JSON; the format (given the word) in text.
    pub fn bool(&mut self, t: Out, key: Option<&str>, fmt: &str, value: bool) {
        if self.js(t) {
            self.raw(key, if value { "true" } else { "false" });
        } else if self.fp(t) {
            self.out.push_str(&format1(fmt, if value { "true" } else { "false" }));
        }
    }

    /// `print_on_off`: `true`/`false` in JSON, `on`/`off` in text.
    pub fn on_off(&mut self, t: Out, key: Option<&str>, fmt: &str, value: bool) {
        if self.js(t) {
            self.raw(key, if value { "true" } else { "false" });
        } else if self.fp(t) {
            self.out.push_str(&format1(fmt, if value { "on" } else { "off" }));
        }
    }

    /// `print_null`: `null` in JSON, the format with `text` in text.
    pub fn null(&mut self, t: Out, key: Option<&str>, fmt: &str, text: &str) {
        if self.js(t) {
            self.raw(key, "null");
        } else if self.fp(t) {
            self.out.push_str(&format1(fmt, text));
        }
    }

    /// `open_json_object`.
    pub fn open_object(&mut self, key: Option<&str>) {
        if self.json.is_some() {
            if let Some(k) = key {
                self.name(k);
            }
            self.begin('{');
        }
    }

    /// `close_json_object`.
    pub fn close_object(&mut self) {
        if self.json.is_some() {
            self.end('}');
        }
    }

    /// `open_json_array`: the array `s` in JSON, the text `s` in text.
    pub fn open_array(&mut self, t: Out, s: &str) {
        if self.js(t) {
            self.name(s);
            self.begin('[');
            if self.json.as_ref().is_some_and(|j| j.pretty) {
                self.out.push(' ');
            }
        } else if self.fp(t) {
            self.out.push_str(s);
        }
    }

    /// `close_json_array`: the array's end in JSON, the text `s` in text.
    pub fn close_array(&mut self, t: Out, s: &str) {
        if self.js(t) {
            self.end_array();
        } else if self.fp(t) {
            self.out.push_str(s);
        }
    }

    /// `print_nl`: a new line of the same record (text only).
    pub fn nl(&mut self) {
        if self.json.is_none() {
            self.out.push_str(self.sl);
        }
    }

    /// `_SL_`.
    pub fn sl(&self) -> &'static str {
        self.sl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printf_with_one_conversion() {
        assert_eq!(format1("mtu %u ", "1500"), "mtu 1500 ");
        assert_eq!(format1("%-16s ", "eth0"), "eth0             ");
        assert_eq!(format1("%-14s ", "UP"), "UP             ");
        assert_eq!(format1("    %s_slave ", "bond"), "    bond_slave ");
        assert_eq!(format1("LACPDU Rx %llu\n", "3"), "LACPDU Rx 3\n");
        assert_eq!(format1("> ", "x"), "> ");
    }

    /// The same calls give iproute2's compact JSON and its text.
    #[test]
    fn json_and_text_from_the_same_calls() {
        let calls = |p: &mut Printer| {
            p.open_object(None);
            p.int(Out::Any, Some("ifindex"), "%d: ", 3);
            p.string(Out::Any, Some("ifname"), "%s: ", "eth0");
            p.open_array(Out::Any, if p.is_json() { "flags" } else { "<" });
            p.string(Out::Any, None, "%s,", "UP");
            p.string(Out::Any, None, "%s", "LOWER_UP");
            p.close_array(Out::Any, "> ");
            p.nl();
            p.open_object(Some("linkinfo"));
            p.on_off(Out::Any, Some("pi"), "pi %s ", false);
            p.null(Out::Json, Some("arp_validate"), "", "");
            p.close_object();
            p.close_object();
        };
        let mut j = Printer::json(false);
        calls(&mut j);
        assert_eq!(
            j.finish(),
            "[{\"ifindex\":3,\"ifname\":\"eth0\",\"flags\":[\"UP\",\"LOWER_UP\"],\"linkinfo\":{\"pi\":false,\"arp_validate\":null}}]\n"
        );
        let mut t = Printer::text(false);
        calls(&mut t);
        assert_eq!(t.finish(), "3: eth0: <UP,LOWER_UP> \npi off ");
        let mut o = Printer::text(true);
        calls(&mut o);
        assert_eq!(o.finish(), "3: eth0: <UP,LOWER_UP> \\pi off ");
    }

    /// `-j -p`: four spaces per level, a space inside array brackets (json_writer.c).
    #[test]
    fn pretty_json_layout() {
        let mut p = Printer::json(true);
        p.open_object(None);
        p.uint(Out::Any, Some("mtu"), "", 1500);
        p.open_array(Out::Json, "flags");
        p.string(Out::Any, None, "", "UP");
        p.close_array(Out::Json, "");
        p.close_object();
        assert_eq!(
            p.finish(),
            "[ {\n        \"mtu\": 1500,\n        \"flags\": [ \"UP\" ]\n    } ]\n"
        );
    }

    #[test]
    fn json_strings_escaped_as_jsonw_puts() {
        let mut s = String::new();
        json_string(&mut s, "a\"b\\c\td\u{1}");
        assert_eq!(s, "\"a\\\"b\\\\c\\td\\u0001\"");
    }
}
