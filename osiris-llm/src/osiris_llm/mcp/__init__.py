"""``osiris mcp serve``: Osiris as an MCP server that discovers, authors, compiles and runs
pipelines (DESIGN §13). The tools call ``osiris_llm.operations``, the module the chat agent's
tools use too. The ``mcp`` SDK is imported only when a server is built.
"""
