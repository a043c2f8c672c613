"""Explicit, versioned pyarrow schemas of the datasets newsbeam writes."""

from newsbeam.schemas.article import ARTICLE_SCHEMA, ENTITY, SCHEMA_VERSION
from newsbeam.schemas.errors import ERROR_SCHEMA

__all__ = ["ARTICLE_SCHEMA", "ENTITY", "ERROR_SCHEMA", "SCHEMA_VERSION"]
