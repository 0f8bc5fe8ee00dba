//! Words that exist in the CLI tree but whose work has not landed: they say which work area
//! brings them and exit 2, so no command ever prints output it did not earn.

use crate::exit::Exit;
use crate::output::Printer;

/// The work area that will bring a word.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Area {
    /// Approvals broker, secret backends, notifications.
    ApprovalsAndNotifications,
    /// Server and dashboard.
    Server,
    /// MCP server and gateway.
    Mcp,
    /// Skill registry, simulate, behaviour profiles.
    SkillEcosystem,
}

impl Area {
    fn describe(self) -> &'static str {
        match self {
            Area::ApprovalsAndNotifications => {
                "the approvals broker, secret backends and notifications"
            }
            Area::Server => "the server and dashboard",
            Area::Mcp => "the MCP server and gateway",
            Area::SkillEcosystem => "the skill registry, simulate and behaviour profiles",
        }
    }
}

/// Reports that `word` is not available yet and returns exit 2.
pub(crate) fn not_available(printer: &Printer, word: &str, area: Area) -> anyhow::Result<Exit> {
    if printer.is_json() {
        printer.json(&serde_json::json!({
            "error": "not available yet",
            "command": word,
            "arrives_with": area.describe(),
            "exit_code": Exit::Usage.code(),
        }));
    } else {
        printer.stderr(format_args!(
            "not available yet: `aegisclaw {word}` arrives with {}",
            area.describe()
        ));
    }
    Ok(Exit::Usage)
}
