"""Run reports: an offline HTML page per session and the AI Operation Package (AIOP).

Both read only what a session directory holds (``events.jsonl``, ``metrics.jsonl``,
``status.json``, the compiled manifest, the OML copy, artifacts), so a report can be made long
after the run, on another machine, and says nothing the session does not.

- ``model``: the session read back into one view (steps, times, rows, environment, artifacts).
- ``dag`` / ``timeline``: the pipeline graph and the Gantt chart as inline SVG.
- ``html``: the self-contained pages (inline CSS and JS, no network).
- ``aiop`` / ``narrative`` / ``delta`` / ``runcard`` / ``export``: the AIOP and its files.
- ``settings``: the ``aiop:`` section of ``osiris.yaml``.
"""
