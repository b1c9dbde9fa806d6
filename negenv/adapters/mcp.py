"""An MCP tool server: negotiation sessions as tools, for agent frameworks and chat clients.

    python -m negenv.adapters.mcp                    # stdio, for MCP clients
    python -m negenv.adapters.mcp --http --port 8765  # streamable HTTP on 127.0.0.1

Tools (every answer is JSON):

* ``start(scenario, seed, episode)`` — a session on episode ``episode`` of ``seed`` (the
  episode :func:`negenv.rollout.run` plays as number ``episode``); returns its id and agents.
* ``brief(session, agent)`` — the agent's system prompt and its answer schema.
* ``observe(session, agent)`` — the step's prompt, the view as JSON and the fields read now.
* ``act(session, agent, answer)`` — a JSON answer (text). An unusable answer comes back with
  the error and the tries left (``retries`` per agent and step); when none are left the agent
  takes the text view's default and the failure is counted. Once every live agent has an
  action the env steps and the rewards come back.
* ``outcome(session)`` — the outcome record once the episode is over, with ``answer_failures``.
* ``close(session)``.

The server holds the sessions in memory (at most ``max_sessions``; the oldest is dropped).
Requires the ``llm`` extra (``fastmcp``).
"""

from __future__ import annotations

import argparse

from negenv.adapters.text_session import Sessions, jsonable

__all__ = ["Sessions", "build_server", "jsonable", "main"]


def build_server(retries: int = 2, max_sessions: int = 64):
    """The FastMCP server over a fresh :class:`Sessions`."""
    from fastmcp import FastMCP

    sessions = Sessions(retries, max_sessions)
    mcp = FastMCP(
        "negenv",
        instructions="Multilateral negotiation under asymmetric power. start a session, then "
        "for each step observe and act for every live agent; read the outcome at the end.",
    )

    @mcp.tool
    def start(scenario: str = "multilateral_5", seed: int = 0, episode: int = 0) -> dict:
        """Open a session on a scenario's episode; returns its id and agents."""
        return sessions.start(scenario, seed, episode)

    @mcp.tool
    def brief(session: str, agent: str) -> dict:
        """The agent's role brief (system prompt) and the JSON Schema of its answers."""
        return sessions.brief(session, agent)

    @mcp.tool
    def observe(session: str, agent: str) -> dict:
        """The agent's prompt for the current step, its view as JSON, and the fields read."""
        return sessions.observe(session, agent)

    @mcp.tool
    def act(session: str, agent: str, answer: str) -> dict:
        """Submit the agent's answer (one JSON object as text) for the current step."""
        return sessions.act(session, agent, answer)

    @mcp.tool
    def outcome(session: str) -> dict:
        """The outcome record once the episode is over."""
        return sessions.outcome(session)

    @mcp.tool
    def close(session: str) -> dict:
        """Drop a session."""
        return sessions.close(session)

    mcp.sessions = sessions  # for tests and embedding
    return mcp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="negenv as an MCP tool server")
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    server = build_server(args.retries)
    if args.http:
        server.run(transport="http", host="127.0.0.1", port=args.port)
    else:
        server.run()


if __name__ == "__main__":
    main()
