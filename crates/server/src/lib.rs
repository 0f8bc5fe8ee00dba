//! AegisClaw's network front doors: the REST/WebSocket API and dashboard, the MCP server and
//! gateway, and the LLM proxy. Each will call `aegisclaw-engine`; none re-implements a step.
//! Nothing is served yet: `aegisclaw serve` and `aegisclaw mcp-server` say so and exit 2.
#![forbid(unsafe_code)]
