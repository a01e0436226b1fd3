//! Tool parameters (JSON Schema) → what Gemini's `parametersJsonSchema` accepts
//! (docs/providers.md, "gemini"; the field the official client sends,
//! tests/fixtures/captures/gemini-request.json).
//!
//! The rule: keep the keywords Gemini documents for JSON Schema (`type`, `format`, `title`,
//! `description`, `enum` of strings and numbers, `items`, `prefixItems`, `minItems`,
//! `maxItems`, `minimum`, `maximum`, `anyOf`, `oneOf`, `properties`, `additionalProperties`,
//! `required`, `propertyOrdering`, `$id`, `$defs`, `$ref`, `$anchor`), rewrite the ones it
//! can express another way (`const` → a one-value `enum`; `allOf` of object schemas merged
//! into their parent; draft-07 `definitions` → `$defs`), and drop the rest (`$schema`,
//! `default`, `examples`, `pattern`, `minLength`, `if`/`then`/`else`, `not`, …) — at every
//! schema position, never inside `properties` (whose keys are names, not keywords). The top
//! level is always an object schema.

use serde_json::{Map, Value};

const KEPT: &[&str] = &[
    "type",
    "format",
    "title",
    "description",
    "enum",
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "anyOf",
    "oneOf",
    "properties",
    "additionalProperties",
    "required",
    "propertyOrdering",
    "$id",
    "$defs",
    "$ref",
    "$anchor",
];

/// The parameters of one tool, converted.
pub(super) fn parameters(schema: &Value) -> Value {
    let mut out = match schema {
        Value::Object(_) => convert(schema),
        _ => Value::Object(Map::new()),
    };
    if let Value::Object(m) = &mut out {
        m.entry("type").or_insert_with(|| Value::from("object"));
        if m.get("type") == Some(&Value::from("object")) {
            m.entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    out
}

fn convert(schema: &Value) -> Value {
    let Value::Object(src) = schema else {
        // `true`/`false` schemas and anything odd pass through.
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in src {
        match k.as_str() {
            "properties" | "$defs" | "definitions" => {
                if let Value::Object(props) = v {
                    let converted: Map<String, Value> = props
                        .iter()
                        .map(|(name, s)| (name.clone(), convert(s)))
                        .collect();
                    let key = if k == "properties" {
                        "properties"
                    } else {
                        "$defs"
                    };
                    out.insert(key.to_string(), Value::Object(converted));
                }
            }
            "items" | "additionalProperties" => {
                let converted = match v {
                    // Draft-07 tuple form.
                    Value::Array(list) if k == "items" => {
                        out.insert(
                            "prefixItems".into(),
                            Value::Array(list.iter().map(convert).collect()),
                        );
                        continue;
                    }
                    _ => convert(v),
                };
                out.insert(k.clone(), converted);
            }
            "anyOf" | "oneOf" | "prefixItems" => {
                if let Value::Array(list) = v {
                    out.insert(k.clone(), Value::Array(list.iter().map(convert).collect()));
                }
            }
            "$ref" => {
                let r = v.as_str().unwrap_or_default();
                let r = match r.strip_prefix("#/definitions/") {
                    Some(name) => format!("#/$defs/{name}"),
                    None => r.to_string(),
                };
                out.insert(k.clone(), Value::String(r));
            }
            "enum" => {
                if let Some(values) = enum_values(v) {
                    out.insert(k.clone(), values);
                }
            }
            "const" => {
                if !src.contains_key("enum")
                    && let Some(values) = enum_values(&Value::Array(vec![v.clone()]))
                {
                    out.insert("enum".into(), values);
                }
            }
            "allOf" => {}
            key if KEPT.contains(&key) => {
                out.insert(k.clone(), v.clone());
            }
            _ => {}
        }
    }
    if let Some(Value::Array(parts)) = src.get("allOf") {
        merge_all_of(&mut out, parts);
    }
    if let (Some(Value::Object(props)), Some(Value::Array(required))) =
        (out.get("properties"), out.get("required"))
    {
        let kept: Vec<Value> = required
            .iter()
            .filter(|r| r.as_str().is_some_and(|n| props.contains_key(n)))
            .cloned()
            .collect();
        out.insert("required".into(), Value::Array(kept));
    }
    Value::Object(out)
}

/// `enum` keeps strings and numbers (what Gemini documents); nothing left → no `enum`.
fn enum_values(v: &Value) -> Option<Value> {
    let list = v.as_array()?;
    let kept: Vec<Value> = list
        .iter()
        .filter(|x| x.is_string() || x.is_number())
        .cloned()
        .collect();
    (!kept.is_empty()).then_some(Value::Array(kept))
}

/// `allOf: [{properties, required}, …]` folded into the parent object schema.
fn merge_all_of(out: &mut Map<String, Value>, parts: &[Value]) {
    for part in parts {
        let Value::Object(p) = convert(part) else {
            continue;
        };
        for (k, v) in p {
            match (k.as_str(), out.get_mut(&k), v) {
                ("properties", Some(Value::Object(mine)), Value::Object(theirs)) => {
                    mine.extend(theirs);
                }
                ("required", Some(Value::Array(mine)), Value::Array(theirs)) => {
                    for r in theirs {
                        if !mine.contains(&r) {
                            mine.push(r);
                        }
                    }
                }
                (_, Some(_), _) => {}
                (_, None, v) => {
                    out.insert(k, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn documented_keywords_stay_and_others_go_at_every_level() {
        let s = json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "pattern": {"type": "string", "description": "a regex", "minLength": 1, "pattern": "^x"},
                "default": {"type": "integer", "minimum": 1, "maximum": 9, "default": 3, "examples": [4]},
                "tags": {"type": "array", "items": {"type": "string", "format": "email", "maxLength": 9}, "maxItems": 3},
                "mode": {"const": "fast"},
                "kind": {"enum": ["a", 1, true, null]},
                "flag": {"enum": [true, false], "type": "boolean"}
            },
            "required": ["pattern", "missing"]
        });
        assert_eq!(
            parameters(&s),
            json!({
                "type": "object",
                "additionalProperties": false,
                "properties": {
                    "pattern": {"type": "string", "description": "a regex"},
                    "default": {"type": "integer", "minimum": 1, "maximum": 9},
                    "tags": {"type": "array", "items": {"type": "string", "format": "email"}, "maxItems": 3},
                    "mode": {"enum": ["fast"]},
                    "kind": {"enum": ["a", 1]},
                    "flag": {"type": "boolean"}
                },
                "required": ["pattern"]
            })
        );
    }

    #[test]
    fn refs_unions_tuples_and_all_of() {
        let s = json!({
            "definitions": {"Pt": {"type": "object", "properties": {"x": {"type": "number", "exclusiveMinimum": 0}}}},
            "properties": {
                "at": {"$ref": "#/definitions/Pt"},
                "either": {"oneOf": [{"type": "string", "not": {}}, {"type": "null"}]},
                "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}]}
            },
            "allOf": [
                {"properties": {"extra": {"type": "boolean", "default": true}}, "required": ["extra"]},
                {"if": {}, "then": {}}
            ]
        });
        assert_eq!(
            parameters(&s),
            json!({
                "type": "object",
                "$defs": {"Pt": {"type": "object", "properties": {"x": {"type": "number"}}}},
                "properties": {
                    "at": {"$ref": "#/$defs/Pt"},
                    "either": {"oneOf": [{"type": "string"}, {"type": "null"}]},
                    "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
                    "extra": {"type": "boolean"}
                },
                "required": ["extra"]
            })
        );
    }

    #[test]
    fn the_top_level_is_always_an_object_schema() {
        assert_eq!(
            parameters(&json!(null)),
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            parameters(&json!({})),
            json!({"type": "object", "properties": {}})
        );
        // The shape of the capture's tools survives unchanged.
        let capture = json!({"type": "object", "properties": {"start_line": {
            "description": "Optional: The 1-based line number to start reading from.",
            "type": "integer", "minimum": 1}}, "required": ["start_line"]});
        assert_eq!(parameters(&capture), capture);
    }
}
