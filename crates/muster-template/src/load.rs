//! YAML and JSON to one JSON tree. CloudFormation's short forms (`!Ref X`, `!Sub "..."`,
//! `!GetAtt A.B`) are YAML tags; they become the long forms (`{"Ref": "X"}`, `{"Fn::Sub": "..."}`,
//! `{"Fn::GetAtt": ["A", "B"]}`), so everything after loading sees one shape.

use serde_json::{Map, Value};
use serde_norway::value::{TaggedValue, Value as Yaml};

/// Parses YAML (JSON is read as YAML too) into JSON, with tags turned into intrinsic functions.
pub fn to_json(text: &str) -> Result<Value, String> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"));
    }
    let yaml: Yaml = serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    convert(yaml)
}

fn convert(y: Yaml) -> Result<Value, String> {
    Ok(match y {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the number {n} has no JSON form"))?
            }
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(convert).collect::<Result<_, _>>()?),
        Yaml::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(format!("a mapping key must be a string, not {other:?}")),
                };
                if out.insert(key.clone(), convert(v)?).is_some() {
                    return Err(format!("the key {key:?} appears twice"));
                }
            }
            Value::Object(out)
        }
        Yaml::Tagged(t) => tagged(*t)?,
    })
}

fn tagged(t: TaggedValue) -> Result<Value, String> {
    let tag = t.tag.to_string();
    let name = tag.trim_start_matches('!');
    let value = convert(t.value)?;
    let long = match name {
        "Ref" => "Ref".to_string(),
        "Condition" => "Condition".to_string(),
        "GetAtt" => {
            // `!GetAtt Res.Attr` splits at the first dot; the list form passes through.
            return Ok(match value {
                Value::String(s) => match s.split_once('.') {
                    Some((r, a)) => serde_json::json!({"Fn::GetAtt": [r, a]}),
                    None => return Err(format!("!GetAtt {s:?} must be Resource.Attribute")),
                },
                other => serde_json::json!({"Fn::GetAtt": other}),
            });
        }
        "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select" | "Split" | "Sub"
        | "Transform" | "And" | "Equals" | "If" | "Not" | "Or" | "Length" | "ToJsonString" => format!("Fn::{name}"),
        other => return Err(format!("unknown tag !{other}")),
    };
    let mut m = Map::new();
    m.insert(long, value);
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let doc = to_json(
            "a: !Ref X\nb: !Sub 'x-${Y}'\nc: !GetAtt Role.Arn\nd: !Join [',', [a, b]]\ne: !If [Cond, 1, 2]\nf: !Equals [!Ref P, prod]\n",
        )
        .expect("valid");
        assert_eq!(
            doc,
            json!({
                "a": {"Ref": "X"},
                "b": {"Fn::Sub": "x-${Y}"},
                "c": {"Fn::GetAtt": ["Role", "Arn"]},
                "d": {"Fn::Join": [",", ["a", "b"]]},
                "e": {"Fn::If": ["Cond", 1, 2]},
                "f": {"Fn::Equals": [{"Ref": "P"}, "prod"]}
            })
        );
    }

    #[test]
    fn unknown_tags_and_duplicate_keys_are_refused() {
        assert!(to_json("a: !Bogus x").expect_err("unknown").contains("!Bogus"));
        assert!(to_json("a: 1\na: 2").is_err());
        assert!(to_json("{\"a\": ").is_err());
    }

    #[test]
    fn the_template_version_date_stays_a_string() {
        let doc = to_json("AWSTemplateFormatVersion: 2010-09-09\nN: 60\nV: \"1\"").expect("valid");
        assert_eq!(doc, json!({"AWSTemplateFormatVersion": "2010-09-09", "N": 60, "V": "1"}));
    }
}
