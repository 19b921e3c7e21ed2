"""What people see: Jinja templates, static files, and the functions that turn query rows into pages."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
