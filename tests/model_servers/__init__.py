"""Scripted model servers for the real agent CLIs: our own code, loopback only.

`AnthropicServer` (Messages API, for claude and opencode), `ResponsesServer` (OpenAI Responses
API, for codex) and `GeminiServer` (Gemini API, for gemini) answer from a `Scenario` and record
every request; see `scenario.py` for how a scenario scripts each turn.
"""
