"""OML v0.1.0: parse pipeline files and validate them against the installed components.

``load_pipeline(path)`` returns a ``Pipeline`` or raises ``OmlValidationError`` whose ``issues``
list every problem; ``validate_document`` returns the issues without raising.
"""

from osiris.oml.issues import Issue, OmlValidationError, format_path
from osiris.oml.validate import OML_VERSION, Pipeline, Step, load_pipeline, validate_document
from osiris.oml.yamlload import Document, load_document, parse_document

__all__ = [
    "OML_VERSION",
    "Document",
    "Issue",
    "OmlValidationError",
    "Pipeline",
    "Step",
    "format_path",
    "load_document",
    "load_pipeline",
    "parse_document",
    "validate_document",
]
