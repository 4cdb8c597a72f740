//! One YAML or JSON text into a JSON value plus the line of every node, addressed by JSON
//! pointer. serde_yaml_ng gives values without positions; the findings of the auditor must name
//! the line, so we build the value ourselves from yaml-rust2's marked events (JSON is read by the
//! same YAML 1.2 parser). The builder is iterative (an explicit stack), so nesting depth is a
//! counted limit rather than a stack overflow, and aliases are counted as the nodes they expand
//! to, so a "billion laughs" document is refused by the node limit.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Limits on one document's shape (its size in bytes is checked by the loader).
#[derive(Debug, Clone, Copy)]
pub struct ShapeLimits {
    /// Deepest nesting of mappings and sequences.
    pub max_depth: usize,
    /// Most nodes, aliases counted as the nodes they stand for.
    pub max_nodes: usize,
}

/// A parsed document: the value and the 1-based line of each node (of its key, for mapping
/// entries), by JSON pointer.
#[derive(Debug, Clone)]
pub struct ParsedText {
    /// The document as JSON.
    pub value: Value,
    /// Line of each node by JSON pointer (`""` is the root).
    pub lines: HashMap<String, u32>,
}

/// Why a text is not a document, with the 1-based line where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextError {
    /// 1-based line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// Parses one YAML (or JSON) document.
pub fn parse(text: &str, limits: ShapeLimits) -> Result<ParsedText, TextError> {
    let mut builder = Builder::new(limits);
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        return Err(TextError {
            line: line_of(e.marker()),
            message: e.info().to_string(),
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    match builder.done {
        Some(value) => Ok(ParsedText {
            value,
            lines: builder.lines,
        }),
        None => Err(TextError {
            line: 1,
            message: "the document is empty".into(),
        }),
    }
}

/// Escapes one JSON pointer reference token (RFC 6901).
pub fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn line_of(mark: &Marker) -> u32 {
    u32::try_from(mark.line()).unwrap_or(u32::MAX).max(1)
}

/// A container being built.
enum Frame {
    Seq {
        pointer: String,
        items: Vec<Value>,
        anchor: usize,
        nodes: usize,
    },
    Map {
        pointer: String,
        map: Map<String, Value>,
        pending_key: Option<String>,
        anchor: usize,
        nodes: usize,
    },
}

struct Builder {
    limits: ShapeLimits,
    stack: Vec<Frame>,
    lines: HashMap<String, u32>,
    /// Anchored values and the number of nodes each expands to.
    anchors: HashMap<usize, (Value, usize)>,
    nodes: usize,
    documents: usize,
    done: Option<Value>,
    error: Option<TextError>,
}

impl Builder {
    fn new(limits: ShapeLimits) -> Self {
        Self {
            limits,
            stack: Vec::new(),
            lines: HashMap::new(),
            anchors: HashMap::new(),
            nodes: 0,
            documents: 0,
            done: None,
            error: None,
        }
    }

    fn fail(&mut self, line: u32, message: String) {
        if self.error.is_none() {
            self.error = Some(TextError { line, message });
        }
    }

    /// The pointer the next node will have, or `None` when the next node is a mapping key.
    fn next_pointer(&self) -> Option<String> {
        match self.stack.last() {
            None => Some(String::new()),
            Some(Frame::Seq { pointer, items, .. }) => Some(format!("{pointer}/{}", items.len())),
            Some(Frame::Map {
                pointer,
                pending_key,
                ..
            }) => pending_key
                .as_ref()
                .map(|k| format!("{pointer}/{}", escape_token(k))),
        }
    }

    fn count(&mut self, n: usize, line: u32) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            let max = self.limits.max_nodes;
            self.fail(
                line,
                format!("the document has more than {max} nodes (aliases counted expanded)"),
            );
            return false;
        }
        true
    }

    /// Places a finished value (of `nodes` nodes) into its parent, or as the document.
    fn place(&mut self, value: Value, nodes: usize, line: u32) {
        let mut key_pointer = None;
        match self.stack.last_mut() {
            None => {
                self.done = Some(value);
            }
            Some(Frame::Seq {
                items, nodes: n, ..
            }) => {
                items.push(value);
                *n += nodes;
            }
            Some(Frame::Map {
                pointer,
                map,
                pending_key,
                nodes: n,
                ..
            }) => match pending_key.take() {
                Some(key) => {
                    *n += nodes;
                    map.insert(key, value);
                }
                None => {
                    // A key: only scalars are keys in JSON.
                    let key = match value {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => "null".into(),
                        _ => {
                            self.fail(line, "a mapping key must be a scalar".into());
                            return;
                        }
                    };
                    if map.contains_key(&key) {
                        self.fail(line, format!("duplicate key `{key}`"));
                        return;
                    }
                    key_pointer = Some(format!("{pointer}/{}", escape_token(&key)));
                    *pending_key = Some(key);
                }
            },
        }
        // A mapping entry's line is its key's line.
        if let Some(p) = key_pointer {
            self.lines.insert(p, line);
        }
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&str>,
        line: u32,
    ) {
        let value = match (style, tag) {
            (_, Some("str")) => Value::String(text),
            (TScalarStyle::Plain, _) => plain_scalar(&text),
            _ => Value::String(text),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), 1));
        }
        if !self.count(1, line) {
            return;
        }
        if let Some(p) = self.next_pointer() {
            self.lines.entry(p).or_insert(line);
        }
        self.place(value, 1, line);
    }

    fn open(&mut self, seq: bool, anchor: usize, line: u32) {
        if self.stack.len() >= self.limits.max_depth {
            let max = self.limits.max_depth;
            self.fail(line, format!("nesting deeper than {max} levels"));
            return;
        }
        if !self.count(1, line) {
            return;
        }
        let Some(pointer) = self.next_pointer() else {
            self.fail(line, "a mapping key must be a scalar".into());
            return;
        };
        self.lines.entry(pointer.clone()).or_insert(line);
        self.stack.push(if seq {
            Frame::Seq {
                pointer,
                items: Vec::new(),
                anchor,
                nodes: 1,
            }
        } else {
            Frame::Map {
                pointer,
                map: Map::new(),
                pending_key: None,
                anchor,
                nodes: 1,
            }
        });
    }

    fn close(&mut self, line: u32) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let (value, anchor, nodes) = match frame {
            Frame::Seq {
                items,
                anchor,
                nodes,
                ..
            } => (Value::Array(items), anchor, nodes),
            Frame::Map {
                map, anchor, nodes, ..
            } => (Value::Object(map), anchor, nodes),
        };
        if anchor > 0 {
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        self.place(value, nodes, line);
    }

    fn alias(&mut self, id: usize, line: u32) {
        let Some((value, nodes)) = self.anchors.get(&id).cloned() else {
            self.fail(line, "alias to an unknown anchor".into());
            return;
        };
        if !self.count(nodes, line) {
            return;
        }
        if let Some(p) = self.next_pointer() {
            self.lines.entry(p).or_insert(line);
        }
        self.place(value, nodes, line);
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let line = line_of(&mark);
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(line, "more than one YAML document in the file".into());
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                let core = tag
                    .as_ref()
                    .filter(|t| t.handle == "tag:yaml.org,2002:" || t.handle == "!!")
                    .map(|t| t.suffix.clone());
                self.scalar(text, style, anchor, core.as_deref(), line);
            }
            Event::SequenceStart(anchor, _) => self.open(true, anchor, line),
            Event::MappingStart(anchor, _) => self.open(false, anchor, line),
            Event::SequenceEnd | Event::MappingEnd => self.close(line),
            Event::Alias(id) => self.alias(id, line),
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

/// YAML 1.2 core schema resolution of a plain scalar.
fn plain_scalar(text: &str) -> Value {
    match Yaml::from_str(text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(|| Value::String(text.to_string()), Value::Number),
        _ => Value::String(text.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ShapeLimits = ShapeLimits {
        max_depth: 64,
        max_nodes: 10_000,
    };

    #[test]
    fn values_and_lines_of_yaml() {
        let doc =
            parse("a:\n  b: 1\n  '200':\n    - x\n    - true\nc: ~\n", LIMITS).expect("parses");
        assert_eq!(doc.value["a"]["b"], 1);
        assert_eq!(doc.value["a"]["200"][1], true);
        assert_eq!(doc.value["c"], Value::Null);
        assert_eq!(doc.lines["/a/b"], 2);
        assert_eq!(doc.lines["/a/200/1"], 5);
        assert_eq!(doc.lines["/c"], 6);
    }

    #[test]
    fn json_is_read_with_lines_and_numeric_keys_become_strings() {
        let doc = parse(
            "{\n \"paths\": {\n  \"/a~b\": {\"x\": \"1\"}\n },\n \"n\": 2.5\n}",
            LIMITS,
        )
        .expect("parses");
        assert_eq!(doc.value["paths"]["/a~b"]["x"], "1");
        assert_eq!(doc.value["n"], 2.5);
        assert_eq!(doc.lines["/paths/~1a~0b/x"], 3);
        let doc = parse("200: ok\n", LIMITS).expect("parses");
        assert_eq!(doc.value["200"], "ok");
    }

    #[test]
    fn duplicate_keys_deep_nesting_and_alias_bombs_are_refused_with_a_line() {
        let err = parse("a: 1\nb: 2\na: 3\n", LIMITS).expect_err("duplicate");
        assert_eq!(err.line, 3);
        assert!(err.message.contains("duplicate key `a`"), "{}", err.message);

        let deep = "[".repeat(100) + &"]".repeat(100);
        let err = parse(&deep, LIMITS).expect_err("too deep");
        assert!(err.message.contains("deeper than 64"), "{}", err.message);

        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, prev) in ["b", "c", "d", "e"].iter().zip(["a", "b", "c", "d"]) {
            bomb.push_str(&format!("{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        let err = parse(&bomb, LIMITS).expect_err("bomb");
        assert!(
            err.message.contains("more than 10000 nodes"),
            "{}",
            err.message
        );
    }

    #[test]
    fn syntax_errors_and_empty_or_multi_documents_name_a_line() {
        let err = parse("a: 1\nb: [1, 2\n", LIMITS).expect_err("unclosed");
        assert!(err.line >= 2, "{err:?}");
        assert!(parse("", LIMITS).is_err());
        let err = parse("a: 1\n---\nb: 2\n", LIMITS).expect_err("two docs");
        assert!(err.message.contains("more than one"), "{}", err.message);
    }

    #[test]
    fn quoted_and_tagged_scalars_stay_strings() {
        let doc = parse("a: '1'\nb: !!str 2\nc: \"true\"\n", LIMITS).expect("parses");
        assert_eq!(doc.value["a"], "1");
        assert_eq!(doc.value["b"], "2");
        assert_eq!(doc.value["c"], "true");
    }
}
