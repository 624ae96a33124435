"""``osiris init [DIR]``: a project a new user can run right away and then adapt."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from osiris.errors import InvalidInputError

PIPELINE = """\
# An example pipeline: read a CSV, summarise it with DuckDB SQL, write a CSV.
# Run it with:  osiris run pipeline.yaml      (needs: pip install osiris-driver-filesystem)
oml_version: "0.1.0"
name: movies-per-director
description: Count movies and average rating per director.
params:
  min_rating: {default: 0}
steps:
  - id: extract_movies
    component: filesystem.csv_extractor
    mode: read
    config:
      path: data/movies.csv
  - id: per_director
    component: duckdb.processor
    mode: transform
    needs: [extract_movies]
    config:
      query: >-
        SELECT director, count(*) AS movies, round(avg(rating), 2) AS avg_rating
        FROM df_extract_movies WHERE rating >= ${params.min_rating}
        GROUP BY director ORDER BY director
  - id: write_summary
    component: filesystem.csv_writer
    mode: write
    needs: [per_director]
    config:
      path: output/per_director.csv
      create_dirs: true
"""

MOVIES = """\
id,title,director,year,rating
1,Alien,Ridley Scott,1979,8.5
2,Blade Runner,Ridley Scott,1982,8.1
3,Arrival,Denis Villeneuve,2016,7.9
4,Dune,Denis Villeneuve,2021,8.0
5,Heat,Michael Mann,1995,8.3
"""

CONNECTIONS = """\
# Named connections, referenced from pipelines as "@family.alias" (e.g. "@mysql.default").
# Values like ${MYSQL_PASSWORD} come from the environment or a .env file (never commit .env);
# ${VAR:-default} supplies a default. Secrets are masked in every log and output.
version: 1
connections:
  mysql:
    default:
      host: ${MYSQL_HOST:-127.0.0.1}
      port: 3306
      database: movies
      user: ${MYSQL_USER:-root}
      password: ${MYSQL_PASSWORD}
  supabase:
    default:
      url: ${SUPABASE_URL}
      key: ${SUPABASE_SERVICE_ROLE_KEY}
"""

ENV_EXAMPLE = """\
# Copy to .env and fill in. Exported environment variables win over this file.
MYSQL_HOST=127.0.0.1
MYSQL_USER=root
MYSQL_PASSWORD=
SUPABASE_URL=https://your-project.supabase.co
SUPABASE_SERVICE_ROLE_KEY=
"""

GITIGNORE = """\
.env
logs/
output/
compiled/
.osiris/
"""

FILES = {
    "pipeline.yaml": PIPELINE,
    "data/movies.csv": MOVIES,
    "osiris_connections.yaml": CONNECTIONS,
    ".env.example": ENV_EXAMPLE,
    ".gitignore": GITIGNORE,
}


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init(directory: Path, force: bool) -> None:
    """Create an example project in DIRECTORY (default: here)."""
    existing = [name for name in FILES if (directory / name).exists()]
    if existing and not force:
        raise InvalidInputError(
            f"{directory} already has {', '.join(existing)}; nothing was written.",
            hint="Use --force to overwrite them, or choose another directory.",
        )
    for name, text in FILES.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        click.echo(f"{'overwrote' if name in existing else 'created'} {path}")
    # In the order they work: the example runs as it is; validate also checks the example
    # connections, whose variables are unset until .env is filled in.
    steps = [] if directory == Path(".") else [f"cd {shlex.quote(str(directory))}"]
    steps += [
        "osiris run pipeline.yaml         # the example (needs osiris-driver-filesystem)",
        "cp .env.example .env             # then fill in your MySQL / Supabase values",
        "osiris validate                  # plugins, connections and what is still missing",
    ]
    click.echo("\nNext steps:\n" + "\n".join(f"  {step}" for step in steps))
