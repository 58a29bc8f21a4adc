//! The status page's policy section: the rules in force per ecosystem, what they refused today
//! (UTC), and the latest refused releases.

use super::esc;
use crate::policy::Policy;
use larder_adapter::policy::format_rfc3339;
use larder_adapter::AgeRules;
use std::fmt::Write as _;

/// The section's HTML (empty when no `[policy]` rule is set).
pub fn section(policy: &Policy, now: i64) -> String {
    let ecosystems = policy.ecosystems();
    if ecosystems.is_empty() {
        return String::new();
    }
    let mut html = String::from("<h2>Policy in force</h2><table><tr><th>ecosystem</th><th>age</th><th>allow</th><th>deny</th></tr>");
    for (name, rules) in &ecosystems {
        let mut age = Vec::new();
        if let Some(min_age) = rules.settings.min_age {
            age.push(format!("min_age {}", humantime::format_duration(min_age)));
        }
        if let Some(date) = &rules.settings.exclude_newer_text {
            age.push(format!("exclude_newer {date}"));
        }
        let age = match (rules.ages, age.is_empty()) {
            (AgeRules::DoNotApply(why), false) => format!("does not apply: {why}"),
            (_, true) => "none".to_string(),
            (_, false) => age.join(", "),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(&age),
            esc(&rules.settings.allow.join(", ")),
            esc(&rules.settings.deny.join(", "))
        );
    }
    html.push_str("</table>");
    if let Some(deny_file) = &policy.deny_file {
        let _ = write!(
            html,
            "<p>deny_file <code>{}</code>: {} records, re-read when it changes.</p>",
            esc(&deny_file.path().display().to_string()),
            deny_file.current().count
        );
    }
    let (today, recent) = policy.report.today(now);
    let total: u64 = today.iter().map(|(_, count)| count).sum();
    let _ = write!(html, "<h3>Refused today: {total}</h3>");
    if !today.is_empty() {
        html.push_str("<table><tr><th>ecosystem</th><th>rule</th><th>refusals</th></tr>");
        for ((ecosystem, rule), count) in today {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{count}</td></tr>",
                esc(ecosystem),
                esc(rule)
            );
        }
        html.push_str("</table>");
    }
    if !recent.is_empty() {
        html.push_str("<table><tr><th>when</th><th>release</th><th>why</th></tr>");
        for entry in recent {
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{} {} {}</td><td>{}</td></tr>",
                esc(&format_rfc3339(entry.at)),
                esc(entry.refusal.ecosystem),
                esc(&entry.refusal.package),
                esc(&entry.refusal.version),
                esc(&entry.refusal.message(entry.at))
            );
        }
        html.push_str("</table>");
    }
    html
}
