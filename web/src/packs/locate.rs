//! Where a JSON pointer's value is in a file: the line an admin should open.
//!
//! serde_json keeps no positions, so this walks the text once and notes the line of every
//! value (the line of its key, inside an object). A pointer that names nothing in the file (a
//! missing required key, say) resolves to its nearest ancestor that exists.

use std::collections::HashMap;

/// The line of every value of one JSON text, by pointer.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    lines: HashMap<String, usize>,
}

impl Lines {
    /// Scans `text`; a malformed text yields whatever was found before the fault.
    pub(crate) fn of(text: &str) -> Lines {
        let mut scanner = Scanner { bytes: text.as_bytes(), pos: 0, line: 1, lines: HashMap::new() };
        scanner.skip_ws();
        let line = scanner.line;
        scanner.value(String::new(), line);
        Lines { lines: scanner.lines }
    }

    /// The 1-based line of the value at `pointer`, or of its nearest existing ancestor.
    pub(crate) fn line(&self, pointer: &str) -> usize {
        let mut pointer = pointer;
        loop {
            if let Some(line) = self.lines.get(pointer) {
                return *line;
            }
            match pointer.rfind('/') {
                Some(cut) => pointer = &pointer[..cut],
                None => return 1,
            }
        }
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    lines: HashMap<String, usize>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.bump();
        }
    }

    /// Records `pointer` at `line` (the key's line inside objects), then skips the value.
    fn value(&mut self, pointer: String, line: usize) {
        self.skip_ws();
        match self.peek() {
            Some(b'{') => {
                self.lines.insert(pointer.clone(), line);
                self.object(&pointer);
            }
            Some(b'[') => {
                self.lines.insert(pointer.clone(), line);
                self.array(&pointer);
            }
            Some(b'"') => {
                self.lines.insert(pointer, line);
                self.string();
            }
            Some(_) => {
                self.lines.insert(pointer, line);
                while self.peek().is_some_and(|b| !matches!(b, b',' | b'}' | b']') && !b.is_ascii_whitespace()) {
                    self.bump();
                }
            }
            None => {}
        }
    }

    fn object(&mut self, pointer: &str) {
        self.bump();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return,
                Some(b'}') => {
                    self.bump();
                    return;
                }
                Some(b',') => self.bump(),
                Some(b'"') => {
                    let line = self.line;
                    let key = self.string();
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return;
                    }
                    self.bump();
                    let escaped = key.replace('~', "~0").replace('/', "~1");
                    self.value(format!("{pointer}/{escaped}"), line);
                }
                Some(_) => return,
            }
        }
    }

    fn array(&mut self, pointer: &str) {
        self.bump();
        let mut index = 0;
        loop {
            self.skip_ws();
            match self.peek() {
                None => return,
                Some(b']') => {
                    self.bump();
                    return;
                }
                Some(b',') => self.bump(),
                Some(_) => {
                    let before = self.pos;
                    let line = self.line;
                    self.value(format!("{pointer}/{index}"), line);
                    index += 1;
                    if self.pos == before {
                        return;
                    }
                }
            }
        }
    }

    /// Skips a string and returns its content with the escapes keys use decoded.
    fn string(&mut self) -> String {
        self.bump();
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            self.bump();
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(escaped) = self.peek() else { break };
                    self.bump();
                    match escaped {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let end = (self.pos + 4).min(self.bytes.len());
                            let hex = std::str::from_utf8(&self.bytes[self.pos..end]).unwrap_or("");
                            let c = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32).unwrap_or('\u{fffd}');
                            out.extend_from_slice(c.to_string().as_bytes());
                            self.pos = end;
                        }
                        other => out.push(other),
                    }
                }
                other => out.push(other),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_resolve_to_the_line_of_their_key_or_ancestor() {
        let text = r#"{
  "title": "T",
  "trigger": { "form": "account",
               "on": ["created",
                      "updated"] },
  "actions": [
    { "set": { "a/b": "1", "x~y": 2 } },
    { "script": "let x = \"}\"; x" }
  ],
  "n": null
}"#;
        let lines = Lines::of(text);
        assert_eq!(lines.line(""), 1);
        assert_eq!(lines.line("/title"), 2);
        assert_eq!(lines.line("/trigger/form"), 3);
        assert_eq!(lines.line("/trigger/on/1"), 5);
        assert_eq!(lines.line("/actions/0/set/a~1b"), 7);
        assert_eq!(lines.line("/actions/0/set/x~0y"), 7);
        assert_eq!(lines.line("/actions/1/script"), 8);
        assert_eq!(lines.line("/n"), 10);
        assert_eq!(lines.line("/trigger/missing/deeper"), 3, "nearest ancestor");
        assert_eq!(lines.line("/nothing"), 1);
    }
}
