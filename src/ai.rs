//! Chore suggestions from an AI provider: an OpenAI-compatible chat completions API or
//! Google's Gemini, chosen by `AI_PROVIDER`. Every failure (no key, timeout, an error
//! status, an answer that is not the JSON asked for) yields no suggestions, never an error.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{AiProvider, AiSettings};

/// Most suggestions kept from one answer.
const MAX_SUGGESTIONS: usize = 10;
const PRIORITIES: [&str; 3] = ["low", "medium", "high"];
const CATEGORIES: [&str; 5] = ["chores", "financial", "shopping", "maintenance", "other"];

#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    pub title: String,
    pub description: String,
    pub priority: String,
    pub category: String,
    pub reasoning: String,
}

pub struct AiClient {
    http: reqwest::Client,
    settings: AiSettings,
}

#[derive(Deserialize)]
struct RawSuggestion {
    title: Option<String>,
    description: Option<String>,
    priority: Option<String>,
    category: Option<String>,
    reasoning: Option<String>,
}

impl AiClient {
    pub fn new(settings: AiSettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(settings.timeout)
                .build()?,
            settings,
        })
    }

    /// Suggestions for a household described by `context`; empty on any failure.
    pub async fn suggest(&self, context: &str) -> Vec<Suggestion> {
        let prompt = prompt(context);
        let answer = match self.settings.provider {
            AiProvider::OpenAi => self.openai(&prompt).await,
            AiProvider::Gemini => self.gemini(&prompt).await,
        };
        match answer {
            Ok(Some(text)) => parse(&text),
            Ok(None) => Vec::new(),
            Err(reason) => {
                tracing::warn!(provider = ?self.settings.provider, reason = %reason, "AI suggestions unavailable");
                Vec::new()
            }
        }
    }

    async fn openai(&self, prompt: &str) -> Result<Option<String>, String> {
        let Some(key) = &self.settings.openai_api_key else {
            return Ok(None);
        };
        let url = format!(
            "{}/chat/completions",
            self.settings.openai_base_url.trim_end_matches('/')
        );
        let body = json!({
            "model": self.settings.openai_model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0.4,
        });
        let answer = self
            .post(self.http.post(url).bearer_auth(key).json(&body))
            .await?;
        Ok(answer["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned))
    }

    async fn gemini(&self, prompt: &str) -> Result<Option<String>, String> {
        let Some(key) = &self.settings.gemini_api_key else {
            return Ok(None);
        };
        let url = format!(
            "{}/v1beta/models/{}:generateContent",
            self.settings.gemini_base_url.trim_end_matches('/'),
            self.settings.gemini_model
        );
        let body = json!({"contents": [{"parts": [{"text": prompt}]}]});
        let answer = self
            .post(
                self.http
                    .post(url)
                    .header("x-goog-api-key", key)
                    .json(&body),
            )
            .await?;
        Ok(answer["candidates"][0]["content"]["parts"][0]["text"]
            .as_str()
            .map(str::to_owned))
    }

    async fn post(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let response = request
            .send()
            .await
            .map_err(|err| err.without_url().to_string())?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("provider answered {status}"));
        }
        response
            .json()
            .await
            .map_err(|err| err.without_url().to_string())
    }
}

fn prompt(context: &str) -> String {
    format!(
        "You help flatmates share chores. From this household's recent activity, suggest up to \
         five useful tasks. Answer with JSON only: an array of objects with the keys title, \
         description, priority (low, medium or high), category (chores, financial, shopping, \
         maintenance or other) and reasoning.\n\n{context}"
    )
}

/// The suggestions in a model's answer: a JSON array (or `{"suggestions": [...]}`), possibly
/// inside a Markdown code fence. Entries without a title are dropped; unknown priorities
/// and categories fall back to `medium` and `other`.
pub fn parse(text: &str) -> Vec<Suggestion> {
    let trimmed = text.trim();
    let json = trimmed
        .strip_prefix("```json")
        .or_else(|| trimmed.strip_prefix("```"))
        .and_then(|rest| rest.strip_suffix("```"))
        .unwrap_or(trimmed);
    let raw: Vec<RawSuggestion> = match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        Ok(Value::Object(mut object)) => match object.remove("suggestions") {
            Some(Value::Array(items)) => items
                .into_iter()
                .filter_map(|v| serde_json::from_value(v).ok())
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    raw.into_iter()
        .filter_map(|r| {
            let title = r
                .title
                .map(|t| t.trim().chars().take(200).collect::<String>())
                .filter(|t| !t.is_empty())?;
            let pick = |value: Option<String>, allowed: &[&str], fallback: &str| {
                value
                    .map(|v| v.trim().to_ascii_lowercase())
                    .filter(|v| allowed.contains(&v.as_str()))
                    .unwrap_or_else(|| fallback.to_owned())
            };
            Some(Suggestion {
                title,
                description: r
                    .description
                    .unwrap_or_default()
                    .chars()
                    .take(2000)
                    .collect(),
                priority: pick(r.priority, &PRIORITIES, "medium"),
                category: pick(r.category, &CATEGORIES, "other"),
                reasoning: r
                    .reasoning
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| "AI suggestion".to_owned()),
            })
        })
        .take(MAX_SUGGESTIONS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn arrays_objects_and_fenced_answers_are_read() {
        let array = r#"[{"title": "Clean fridge", "priority": "HIGH", "category": "chores"}]"#;
        let parsed = parse(array);
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            (parsed[0].priority.as_str(), parsed[0].category.as_str()),
            ("high", "chores")
        );
        assert_eq!(parsed[0].reasoning, "AI suggestion");
        assert_eq!(parse(&format!("```json\n{array}\n```")), parsed);
        assert_eq!(parse(&format!(r#"{{"suggestions": {array}}}"#)), parsed);
    }

    #[test]
    fn bad_entries_fall_back_or_are_dropped() {
        let parsed = parse(
            r#"[{"title": ""}, {"title": "Pay rent", "priority": "urgent", "category": "money"}, 5]"#,
        );
        assert_eq!(parsed.len(), 1);
        assert_eq!(
            (parsed[0].priority.as_str(), parsed[0].category.as_str()),
            ("medium", "other")
        );
        assert!(parse("Sure! Here are some ideas").is_empty());
    }
}
