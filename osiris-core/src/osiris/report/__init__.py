"""Run reports: an offline HTML page per session and the AI Operation Package (AIOP).

Both read only what a session directory holds (``events.jsonl``, ``metrics.jsonl``,
``status.json``, the compiled manifest, the OML copy, artifacts), so a report can be made long
after the run, on another machine, and says nothing the session does not.

- ``model``: the session read back into one view (steps, times, rows, environment, artifacts).
- ``dag`` / ``timeline``: the pipeline graph and the Gantt chart as inline SVG.
- ``html``: the page shell and a session's page, built from ``sections`` (a run's), ``chat``
  (a conversation, a discovery), ``index`` (the list of sessions), ``fmt`` (numbers, times);
  ``site`` writes the files. Inline CSS and JS from ``assets/``, nothing from the network.
- ``aiop``: the package's layers; ``narrative``: its sentences; ``delta``: the previous run;
  ``budget``: the size limit; ``runcard``: the Markdown card; ``export``: the ``aiop/`` files.
- ``settings``: reading the ``aiop:`` section of ``osiris.yaml``.
"""
