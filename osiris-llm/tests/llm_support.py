"""Shared values of osiris-llm's tests: the planted secret, the memtest data, a pipeline."""

SECRET = "PlantedS3cret-7f3a9c"
"""The memtest token: it must never appear in any tool result, resource, log or error."""

TABLES = {
    "movies": [
        {"id": 1, "title": "The Last Lighthouse", "director": "Sofia Marchetti"},
        {"id": 2, "title": "The Hidden Harbor", "director": "Kenji Watanabe"},
        {"id": 3, "title": "Glass Rivers", "director": "Amara Okafor"},
    ],
    "directors": [{"id": 1, "name": "Sofia Marchetti"}, {"id": 2, "name": "Kenji Watanabe"}],
}

PIPELINE = """\
oml_version: "0.1.0"
name: copy-movies
steps:
  - id: read_movies
    component: memtest.extractor
    mode: read
    config: {connection: "@memtest.default", table: movies}
  - id: write_movies
    component: memtest.writer
    mode: write
    needs: [read_movies]
    config: {path: output/movies.jsonl}
"""
